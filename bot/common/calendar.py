"""Meeting calendars: a weekly series becomes a list of meeting instants.

A series meets on a fixed weekday at a fixed wall-clock time in the organisation's time zone.
Instants are computed per date with ``zoneinfo``, so a 19:00 meeting stays at 19:00 local
time across the daylight-saving changes (its UTC instant moves by an hour instead).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekday(value: str) -> int:
    """``"thu"``, ``"Thursday"`` or ``"3"`` → 3 (Monday is 0)."""
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    for number, short in enumerate(WEEKDAYS):
        if text[:3] == short:
            return number
    raise ValueError(f"unknown weekday {value!r}; use mon, tue, wed, thu, fri, sat or sun")


def first_meeting_date(start: date, weekday: int) -> date:
    """The first date on or after ``start`` that falls on ``weekday``."""
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def local_instant(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``.

    With ``fold=0`` (the default) a time inside the spring-forward gap lands one hour later,
    as a clock on the wall would show it, and an ambiguous autumn time takes its first
    occurrence.
    """
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def weekly_meetings(start: date, weekday: int, at: time, count: int, zone: str) -> list[datetime]:
    """``count`` weekly meeting instants (UTC) from the first ``weekday`` on or after ``start``."""
    first = first_meeting_date(start, weekday)
    return [local_instant(first + timedelta(weeks=n), at, zone) for n in range(count)]


def month_of(iso_week: str) -> str:
    """``2026-W01`` → ``2026-01``: the report month of an ISO week, the month of its Thursday
    (the ISO rule for the week's year, applied to months)."""
    year, week = iso_week.split("-W")
    return date.fromisocalendar(int(year), int(week), 4).strftime("%Y-%m")
