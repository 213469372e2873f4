"""Dates, times and lists written the way the reader's language writes them (Babel)."""

from __future__ import annotations

from datetime import datetime, time
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time, get_day_names

from dialogs.i18n import N_, Phrase, current_locale, gettext

LANGUAGE_NAMES = {"nl": "Nederlands", "ar": "العربية", "so": "Soomaali", "en": "English"}
"""Each language in its own name and script, as the language menu shows it."""

_NAMES_IN_TEXT = {"nl": N_("Dutch"), "ar": N_("Arabic"), "so": N_("Somali"), "en": N_("English")}


def language_in_text(code: str) -> Phrase:
    """A language named in the reader's language, for use inside a sentence: "Schrijf het in
    het Arabisch", not "in het العربية" (which also breaks the line's direction)."""
    return Phrase(gettext(_NAMES_IN_TEXT[code]))


def meeting_time(instant: datetime, zone: str, *, now: datetime | None = None) -> str:
    """``Isniin 30 Maarso 09:00`` / ``الاثنين 30 مارس 09:00`` in the current language; given
    ``now``, with the year when the meeting's (local) year is not ``now``'s."""
    local = ZoneInfo(zone)
    pattern = "EEEE d MMMM HH:mm"
    if now is not None and instant.astimezone(local).year != now.astimezone(local).year:
        pattern = "EEEE d MMMM y HH:mm"
    return format_datetime(instant, pattern, tzinfo=local, locale=current_locale())


def weekday_name(weekday: int) -> str:
    """0 → ``maandag`` / ``Isniin`` / ``الاثنين`` / ``Monday``."""
    return _weekday_names(current_locale())[weekday]


def clock(at: time) -> str:
    return _clock(at, current_locale())


# Babel looks its locale data up anew on every call; a series list names a weekday and a
# time per series on every turn, and there are only so many of either.
@cache
def _weekday_names(locale: str) -> tuple[str, ...]:
    names = get_day_names("wide", locale=locale)
    return tuple(names[day] for day in range(7))


@lru_cache(maxsize=1024)
def _clock(at: time, locale: str) -> str:
    return format_time(at, "HH:mm", locale=locale)


def cannot_read(event: object) -> str:
    """What a flow says before asking its question again, after something it cannot read (a
    sticker, a photo). After a voice note he has been thanked already (``dialogs.router``)."""
    if getattr(event, "kind", None) == "voice":
        return gettext("You can answer with the buttons, or with a short text.")
    return gettext("Sorry, I can only read text and buttons.")
