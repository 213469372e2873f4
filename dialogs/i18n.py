"""Translation: gettext catalogs, the current locale in a ContextVar, and bidi hygiene.

The locale is per conversation, so it lives in a ``ContextVar`` (each asyncio task sees its
own) and never in a module global. Catalogs are read from ``locales/<lang>/LC_MESSAGES/
messages.po``; when a compiled ``messages.mo`` exists and is at least as new it is used,
otherwise the ``.po`` is compiled in memory with Babel, so a fresh checkout needs no build step.

Arabic is right-to-left: every line of an Arabic message starts with U+200F (RIGHT-TO-LEFT
MARK); values inserted into it are isolated (U+2066 LEFT-TO-RIGHT ISOLATE for a Latin name or a
number, U+2068 FIRST STRONG ISOLATE for anything with Arabic letters, each closed by U+2069);
and ``directed`` isolates every left-to-right run still bare in the finished text (a
``/command``, a number, a phone number, a Latin word), so that apps show "/stop" and
"088 0767 000" as they are written, never "stop/" or "000 0767 088".
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from dialogs.types import DEFAULT_LANGUAGE, LANGUAGES

RLM = "\u200f"
LRI = "\u2066"
RLI = "\u2067"
FSI = "\u2068"
PDI = "\u2069"
RTL_LANGUAGES = frozenset({"ar"})

ARABIC_PLURAL_FORMS = (
    "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
    "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;"
)
"""GNU gettext's rule. Babel writes "many" and "other" swapped for Arabic (babel #816)."""

_locale: ContextVar[str] = ContextVar("meedoen_locale", default=DEFAULT_LANGUAGE)
_looked_up: ContextVar[list[str] | None] = ContextVar("meedoen_looked_up", default=None)


def current_locale() -> str:
    return _locale.get()


@contextmanager
def use_locale(language: str) -> Iterator[None]:
    """Speak ``language`` inside the block (falls back to English if unknown)."""
    token = _locale.set(language if language in LANGUAGES else "en")
    try:
        yield
    finally:
        _locale.reset(token)


@cache
def catalog(language: str) -> _gettext.NullTranslations:
    folder = resources.files("locales") / language / "LC_MESSAGES"
    po_file, mo_file = folder / "messages.po", folder / "messages.mo"
    try:
        po_mtime = _mtime(po_file)
    except FileNotFoundError:
        return _gettext.NullTranslations()
    if mo_file.is_file() and _mtime(mo_file) >= po_mtime:
        with mo_file.open("rb") as handle:
            return _gettext.GNUTranslations(handle)
    with po_file.open("rb") as handle:
        messages = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def _mtime(traversable: Traversable) -> float:
    with resources.as_file(traversable) as path:
        return path.stat().st_mtime


@contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the msgids looked up inside the block (the reviewers' export uses it to say
    where each string appears)."""
    found: list[str] = []
    token = _looked_up.set(found)
    try:
        yield found
    finally:
        _looked_up.reset(token)


def gettext(message: str) -> str:
    if (found := _looked_up.get()) is not None:
        found.append(message)
    return catalog(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if (found := _looked_up.get()) is not None:
        found.append(singular)
    return catalog(current_locale()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


class Phrase(str):
    """Text already written in the reader's language (a translated fragment); ``fill``
    inserts it as it is, without isolating it as a foreign value."""


def isolate(value: object) -> str:
    """A value to insert into a message: isolated when the message is right-to-left, as
    left-to-right when it holds no right-to-left letter (a Latin name, a number, a phone
    number), else by its first strong letter."""
    text = str(value)
    if current_locale() in RTL_LANGUAGES and not isinstance(value, Phrase):
        opener = FSI if any(_is_rtl(ch) for ch in text) else LRI
        return f"{opener}{text}{PDI}"
    return text


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


_LTR_WORD = r"(?:/[a-z]+|[+]?[0-9A-Za-z\u00c0-\u024f][0-9A-Za-z\u00c0-\u024f'’]*)"
LTR_RUN = re.compile(rf"{_LTR_WORD}(?:[ .,:/–\-]+{_LTR_WORD})*")
"""A left-to-right run inside right-to-left text: ``/command``, number, phone number, Latin
words, with the spaces and punctuation between them (``0–10``, ``088 0767 000``)."""


def isolate_runs(text: str) -> str:
    """Wrap every bare left-to-right run of ``text`` in LRI … PDI; text already inside an
    isolate (an inserted value) is left as it is."""
    def bare(part: str) -> str:
        return LTR_RUN.sub(lambda run: f"{LRI}{run.group(0)}{PDI}", part)

    pieces, depth, start = [], 0, 0
    for index, ch in enumerate(text):
        if ch in (LRI, RLI, FSI):
            if depth == 0:
                pieces.append(bare(text[start:index]))
                start = index
            depth += 1
        elif ch == PDI and depth:
            depth -= 1
            if depth == 0:
                pieces.append(text[start : index + 1])
                start = index + 1
    rest = text[start:]
    pieces.append(rest if depth else bare(rest))
    return "".join(pieces)


def fill(template: str, **values: object) -> str:
    """``template % values`` with each value isolated for the current script direction."""
    return template % {key: isolate(value) for key, value in values.items()}


def directed(text: str) -> str:
    """The finished message text. In a right-to-left language every line starts with RLM
    (apps lay out each line on its own, and a line that opens with a Latin word, ``/start`` or
    a group's name, would otherwise run left-to-right) and every bare left-to-right run is
    isolated (see ``LTR_RUN``). Applying it twice changes nothing."""
    if current_locale() not in RTL_LANGUAGES:
        return text
    return "\n".join(
        RLM + line if line and not line.startswith(RLM) else line
        for line in isolate_runs(text).split("\n")
    )


def fill_place(at_place: str, no_place: str, place: str, **values: object) -> str:
    """A message that names where a meeting is, or says nothing of the place when the series
    has none (``meedoen series add`` without ``--location``): ``at_place`` (with
    ``%(place)s``) or ``no_place`` (the same sentence without it), both marked with ``N_`` and
    translated here. A whole sentence per case, never cut out of a translation: word order and
    prepositions differ per language ("at", "in", "في", a comma in Somali)."""
    where = place.strip()
    if where:
        return fill(gettext(at_place), place=where, **values)
    return fill(gettext(no_place), **values)
