"""Which language a man who writes first most likely reads, from what the channel knows.

Pure: fed the text of his message and the platform's hint (Telegram's ``language_code``,
WhatsApp's country code), it returns one of ``LANGUAGES`` or ``None`` when nothing points
anywhere (then the assistant starts in Dutch). The guess only decides the language of the
first messages and which language the language menu offers first: the menu is always one
tap away, and he chooses.

Signs, strongest first:

1. Arabic script (letters or Arabic-Indic digits) → Arabic;
2. common Somali words → Somali (they are distinctive; one is enough when no other language
   has more);
3. a sentence of Dutch or English (two or more of its common words, more than the other);
4. the platform's hint, when it is one of our languages;
5. a single Dutch or English word ("hallo", "hello": a greeting says little);
6. another script (Cyrillic, Ge'ez, ...) → English: a sign of another language, so not Dutch
   by default.
"""

from __future__ import annotations

import re
import unicodedata

from dialogs.types import LANGUAGES

SOMALI_WORDS = frozenset(
    """
    waan waxaan waxaad waxay waa waad iyo soo aad haa maya haye mahadsanid mahadsan
    fadlan salaan nabad iska warran sidee tahay ahay wanaagsan galab subax magacaygu
    magacayga magacaa aniga adiga rabaa doonayaa doonaa kulan kulanka kulamada diiwaan
    diiwaangeli isdiiwaangeli bilow caawin jooji tirtir hagaag maxaa maxaad halkan hadda
    walaal walaalayaal qoraal soomaali ragga inaan inaad sideed caawimaad jiraa ayaan
    ayaad baan miyaa miyaad hooyo aabe shaqada wadahadal ka qeyb qayb qeybgal
    """.split()
)
"""Common Somali words. Left out on purpose: words that are also common Dutch or English
("aan", "af", "is", "ma", "la") and greetings shared across languages ("salaam")."""

DUTCH_WORDS = frozenset(
    """
    ik je jij u wij jullie hallo hoi goedemorgen goedemiddag goedenavond dag ja nee graag
    wil wilt willen aanmelden aanmelding meedoen bedankt dank dankjewel dankuwel het een
    en van niet wat hoe waar wanneer welke ben bent mijn mij met voor ook maar kan kunt
    alsjeblieft alstublieft groet groeten bijeenkomst bijeenkomsten vraag vragen over naar
    zijn heb hebt hebben goed prima doen mag mogen
    """.split()
)
"""Common Dutch words. Left out: words English shares ("is", "me", "we", "of", "help")."""

ENGLISH_WORDS = frozenset(
    """
    hello hi hey i i'm im want would like to the yes please thanks thank you my name sign
    up join how what where when can good morning evening meeting meetings register for
    with this that it are do am your about
    """.split()
)
"""Common English words. Left out: words Dutch shares ("is", "me", "we", "of", "help")."""

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def likely_language(text: str | None, hint: str | None) -> str | None:
    """The language he most likely reads, or ``None`` when nothing says (see the module)."""
    hint = hint if hint in LANGUAGES else None
    if not text or text.lstrip().startswith("/"):  # a command tells nothing but the hint
        return hint
    if _has_arabic_script(text):
        return "ar"
    words = [word.lower() for word in _WORD.findall(text)]
    somali = sum(word in SOMALI_WORDS for word in words)
    dutch = sum(word in DUTCH_WORDS for word in words)
    english = sum(word in ENGLISH_WORDS for word in words)
    if somali and somali >= max(dutch, english):
        return "so"
    best, count = ("nl", dutch) if dutch > english else ("en", english)
    if count >= 2 and dutch != english:
        return best
    if hint is not None:
        return hint
    if count == 1 and dutch != english:
        return best
    if any(_other_script(ch) for ch in text):
        return "en"
    return None


def _has_arabic_script(text: str) -> bool:
    return any(
        _is_arabic(ch) and unicodedata.category(ch)[0] in "LN" for ch in text
    )


def _is_arabic(ch: str) -> bool:
    code = ord(ch)
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF
        or 0xFE70 <= code <= 0xFEFF
    )


def _other_script(ch: str) -> bool:
    """A letter that is neither Latin nor Arabic (Cyrillic, Ge'ez, Chinese, ...)."""
    if not ch.isalpha() or _is_arabic(ch):
        return False
    return not unicodedata.name(ch, "").startswith("LATIN")
