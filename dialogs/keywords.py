"""Words that act as commands in every language, so that someone who cannot type a slash
command (or is on WhatsApp, which has none) can still stop, start, get help, erase, or
ask for his chat address (``whoami``, which a coordinator needs to be added)."""

from __future__ import annotations

import re
import unicodedata

from dialogs.typed import fold
from dialogs.types import Command, Event, Text

_WORDS: dict[str, tuple[str, ...]] = {
    "stop": (
        "stop", "stoppen", "afmelden", "unsubscribe",  # nl, en
        "jooji", "joogso", "istaag",  # so
        "توقف", "ستوب", "ايقاف", "قف",  # ar
    ),
    "start": (
        "start", "begin", "beginnen",  # nl, en
        "bilow", "bilaw",  # so
        "ابدأ", "ابدا", "بدء", "ابدء",  # ar
    ),
    "help": (
        "help", "hulp", "info",  # nl, en
        "caawin", "caawimo", "i caawi",  # so
        "مساعدة", "ساعدني",  # ar
    ),
    "delete": (
        "delete", "verwijder", "verwijderen", "wis", "wissen",  # nl, en
        "tirtir", "masax",  # so
        "احذف", "حذف", "امسح",  # ar
    ),
    "whoami": (
        "whoami", "who am i", "wie ben ik",  # en, nl
        "yaan ahay", "aniga waa kuma",  # so
        "من انا",  # ar
    ),
}

KEYWORDS: dict[str, str] = {fold(word): command for command, words in _WORDS.items() for word in words}
"""A folded word (see ``dialogs.typed.fold``: case, accents, Arabic vowel marks and letter
variants, punctuation and emoji ignored) → command. Only a message that is exactly one of
these words counts, so "stop" ends the messages but "stop at 7" is just text."""


def as_command(event: Event) -> Event:
    """``/start@bot arg`` and keyword texts become ``Command``; anything else is unchanged."""
    if not isinstance(event, Text):
        return event
    text = "".join(ch for ch in event.text if unicodedata.category(ch) != "Cf").strip()
    if text.startswith("/") and len(text) > 1:
        head, *rest = re.split(r"\s", text[1:], maxsplit=1)  # "/broadcast\nText" too
        argument = rest[0] if rest else ""
        name = head.split("@", 1)[0].lower()
        if name.isascii() and name.isalnum():
            return Command(name, argument.strip())
        return event
    command = KEYWORDS.get(fold(text))
    return Command(command) if command else event
