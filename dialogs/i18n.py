"""Translation: gettext catalogs, the current locale in a ContextVar, and bidi hygiene.

The locale is per conversation, so it lives in a ``ContextVar`` (each asyncio task sees its
own) and never in a module global. Catalogs are read from ``locales/<lang>/LC_MESSAGES/
messages.po``; when a compiled ``messages.mo`` exists and is at least as new it is used,
otherwise the ``.po`` is compiled in memory with Babel, so a fresh checkout needs no build step.

Arabic is right-to-left: every Arabic message starts with U+200F (RIGHT-TO-LEFT MARK) and
values inserted into it (names, numbers, places) are wrapped in U+2068 ... U+2069 (FIRST
STRONG ISOLATE ... POP DIRECTIONAL ISOLATE) so that apps lay the line out correctly.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Iterator

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from dialogs.types import DEFAULT_LANGUAGE, LANGUAGES

RLM = "\u200f"
FSI = "\u2068"
PDI = "\u2069"
RTL_LANGUAGES = frozenset({"ar"})

ARABIC_PLURAL_FORMS = (
    "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
    "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;"
)
"""GNU gettext's rule. Babel writes "many" and "other" swapped for Arabic (babel #816)."""

_locale: ContextVar[str] = ContextVar("meedoen_locale", default=DEFAULT_LANGUAGE)


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


@lru_cache(maxsize=None)
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


def _mtime(traversable) -> float:
    with resources.as_file(traversable) as path:
        return path.stat().st_mtime


def gettext(message: str) -> str:
    return catalog(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(current_locale()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


class Phrase(str):
    """Text already written in the reader's language (a translated fragment); ``fill``
    inserts it as it is, without isolating it as a foreign value."""


def isolate(value: object) -> str:
    """A value to insert into a message: isolated when the message is right-to-left."""
    text = str(value)
    if current_locale() in RTL_LANGUAGES and not isinstance(value, Phrase):
        return f"{FSI}{text}{PDI}"
    return text


def fill(template: str, **values: object) -> str:
    """``template % values`` with each value isolated for the current script direction."""
    return template % {key: isolate(value) for key, value in values.items()}


def directed(text: str) -> str:
    """The finished message text. In a right-to-left language every line starts with RLM:
    apps lay out each line on its own, and a line that opens with a Latin word (``/start``,
    a series name) would otherwise run left-to-right."""
    if current_locale() not in RTL_LANGUAGES:
        return text
    return "\n".join(line if line.startswith(RLM) or not line else RLM + line for line in text.split("\n"))
