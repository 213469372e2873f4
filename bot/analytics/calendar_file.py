"""A series as an iCalendar file (RFC 5545) a man can add to his own calendar. Pure: no I/O.

One recurring event per series, so Google Calendar, Apple Calendar and Outlook show it as
one series that a later file updates rather than duplicates:

- ``DTSTART``/``DTEND`` in the organisation's time zone (``TZID``) with a ``VTIMEZONE`` built
  from the zoneinfo rules for the years of the series, so a 19:00 meeting stays at 19:00 on
  both sides of a daylight-saving change;
- ``RRULE:FREQ=WEEKLY;COUNT=n`` over the meetings' *slots*: meeting number k belongs in the
  k-th week from the first meeting, at the series' weekday and time;
- a cancelled meeting is an ``EXDATE`` of its slot; a meeting that is not at its slot (moved,
  or added at the end one week after a moved last meeting) is a second ``VEVENT`` with the
  same ``UID`` and a ``RECURRENCE-ID`` naming its slot;
- the ``UID`` is stable for the series, and ``SEQUENCE`` (counted up by every cancelled or
  moved meeting, see ``bot.domain.meeting_changes``) tells the calendar which file is newer.

The output has CRLF line endings and lines folded at 75 octets (the ``icalendar`` package).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.common.calendar import first_meeting_date

MEETING_LENGTH = timedelta(hours=2)
"""How long a meeting lasts in the calendar (a series stores only when it starts)."""

PRODID = "-//Meedoen//Meedoen calendar//EN"
MIME_TYPE = "text/calendar"


@dataclass(frozen=True)
class Meeting:
    number: int  # 1, 2, ... in the series
    starts_at: datetime  # UTC, aware
    cancelled: bool = False


@dataclass(frozen=True)
class SeriesCalendar:
    """Everything the file says about one series; texts already in the man's language."""

    uid: str
    title: str
    description: str
    location: str
    weekday: int  # 0 = Monday
    start_time: time  # wall clock in ``timezone``
    start_date: date  # the series' start; its first slot is the first ``weekday`` on or after it
    timezone: str
    sequence: int
    meetings: tuple[Meeting, ...]


def slot(series: SeriesCalendar, number: int) -> datetime:
    """Where meeting ``number`` belongs by the weekly rule, as a local time in the series'
    zone (aware): the wall-clock time, whatever the UTC offset that week."""
    first = first_meeting_date(series.start_date, series.weekday)
    day = first + timedelta(weeks=number - 1)
    return datetime.combine(day, series.start_time, tzinfo=ZoneInfo(series.timezone))


def file_name(title: str) -> str:
    """A plain file name for the series: letters, digits and hyphens, then ``.ics``; at most
    20 characters, as Twilio advises for WhatsApp."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:16].strip("-")
    return f"{slug or 'meetings'}.ics"


def build(series: SeriesCalendar, stamp: datetime) -> bytes:
    """The ``.ics`` file of ``series``; ``stamp`` (UTC) is its ``DTSTAMP``. A series without
    meetings gives a calendar without events."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", series.title)
    calendar.add("x-wr-timezone", series.timezone)
    meetings = sorted(series.meetings, key=lambda m: m.number)
    if meetings:
        zone = ZoneInfo(series.timezone)
        count = meetings[-1].number
        master = _event(series, stamp, slot(series, 1))
        master.add("rrule", vRecur(freq="WEEKLY", count=count))
        cancelled = [slot(series, m.number) for m in meetings if m.cancelled]
        if cancelled:
            master.add("exdate", cancelled)
        calendar.add_component(master)
        for meeting in meetings:
            local = meeting.starts_at.astimezone(zone)
            if not meeting.cancelled and local != slot(series, meeting.number):
                override = _event(series, stamp, local)
                override.add("recurrence-id", slot(series, meeting.number))
                calendar.add_component(override)
        # The zone's rules from 1 January of the first meeting's year to the end of the year
        # after the last: the first observance is then a plain winter one, which every
        # client reads alike.
        times = [slot(series, 1), *(m.starts_at.astimezone(zone) for m in meetings)]
        calendar.add_missing_timezones(
            first_date=date(min(times).year, 1, 1), last_date=date(max(times).year + 1, 12, 31)
        )
    content: bytes = calendar.to_ical()
    return content


def _event(series: SeriesCalendar, stamp: datetime, start: datetime) -> Event:
    event = Event()
    event.add("uid", series.uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", series.sequence)
    event.add("dtstart", start)
    event.add("dtend", start + MEETING_LENGTH)
    event.add("summary", series.title)
    if series.location:
        event.add("location", series.location)
    event.add("description", series.description)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event
