"""The .ics file of a series (bot/analytics/calendar_file.py), read back with the real
``icalendar`` parser and checked against the rules of RFC 5545 that calendar apps rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from bot.analytics.calendar_file import Meeting, SeriesCalendar, build, file_name, slot
from bot.common.calendar import weekly_meetings

ZONE = "Europe/Amsterdam"
STAMP = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def series(meetings, *, start=date(2026, 10, 11), weekday=6, at=time(19, 0), sequence=0, description="Welkom!",
           location="Huis van de Wijk Geuzenveld, Lambertus Zijlplein 1, 1067 KL Amsterdam") -> SeriesCalendar:
    return SeriesCalendar(
        uid="series-7-20261001T080000@meedoen", title="Mannen in gesprek", description=description,
        location=location, weekday=weekday, start_time=at, start_date=start, timezone=ZONE,
        sequence=sequence, meetings=tuple(meetings),
    )


def plain(start=date(2026, 10, 11), count=4, weekday=6, at=time(19, 0)) -> list[Meeting]:
    return [Meeting(n, moment) for n, moment in enumerate(weekly_meetings(start, weekday, at, count, ZONE), 1)]


def events(raw: bytes):
    calendar = Calendar.from_ical(raw)
    return calendar, list(calendar.walk("VEVENT"))


def occurrences(raw: bytes) -> list[datetime]:
    """What a calendar app shows: the rule's dates without the EXDATEs, with each override
    (RECURRENCE-ID) in place of its date; all as UTC instants."""
    calendar, found = events(raw)
    master = next(e for e in found if "RECURRENCE-ID" not in e)
    start = master.decoded("DTSTART")
    rule = rrulestr(master["RRULE"].to_ical().decode(), dtstart=start)
    excluded = set()
    for exdate in master.get("EXDATE", []) if isinstance(master.get("EXDATE"), list) else [master.get("EXDATE")]:
        if exdate is not None:
            excluded |= {d.dt for d in exdate.dts}
    moved = {e.decoded("RECURRENCE-ID"): e.decoded("DTSTART") for e in found if "RECURRENCE-ID" in e}
    shown = []
    for moment in rule:
        if moment in excluded:
            continue
        shown.append(moved.pop(moment, moment))
    assert not moved, f"an override for a date the rule does not have: {moved}"
    return sorted(m.astimezone(UTC) for m in shown)


def test_a_series_across_the_autumn_dst_change_keeps_its_wall_clock_time():
    # Sundays 19:00 from 11 October 2026; DST ends on Sunday 25 October (the last of the month)
    meetings = plain()
    raw = build(series(meetings), STAMP)
    assert occurrences(raw) == [m.starts_at for m in meetings]
    assert [m.starts_at.hour for m in meetings] == [17, 17, 18, 18]  # UTC moves, the clock does not
    _calendar, (master,) = events(raw)
    assert master.decoded("DTSTART") == datetime(2026, 10, 11, 19, 0, tzinfo=ZoneInfo(ZONE))
    assert master["DTSTART"].params["TZID"] == ZONE
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4"


def test_the_spring_dst_change_too():
    # Thursdays 19:00 from 19 March 2026; DST starts Sunday 29 March (the last of the month)
    meetings = plain(start=date(2026, 3, 19), count=3, weekday=3)
    raw = build(series(meetings, start=date(2026, 3, 19), weekday=3), STAMP)
    assert occurrences(raw) == [m.starts_at for m in meetings]
    assert [m.starts_at.hour for m in meetings] == [18, 18, 17]


def test_vtimezone_matches_the_zone_on_both_sides_of_each_change():
    raw = build(series(plain(start=date(2026, 3, 1), count=40)), STAMP)
    calendar, found = events(raw)
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == ZONE
    kinds = {component.name for component in timezone.subcomponents}
    assert kinds == {"STANDARD", "DAYLIGHT"}
    for component in timezone.subcomponents:  # RFC 5545 3.6.5: each needs these three
        for prop in ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO"):
            assert prop in component, (component.name, prop)
        assert component.decoded("DTSTART").tzinfo is None  # local time, never UTC
    # The rules the file carries give every moment of the series the zone's real offset.
    tz = timezone.to_tz()
    zone = ZoneInfo(ZONE)
    moments = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 1, tzinfo=UTC),
               datetime(2026, 10, 25, 0, 59, tzinfo=UTC), datetime(2026, 10, 25, 1, 1, tzinfo=UTC),
               datetime(2027, 1, 15, 12, tzinfo=UTC), datetime(2027, 7, 15, 12, tzinfo=UTC)]
    for moment in moments:
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(zone).utcoffset(), moment
    # Every TZID used by a property has its VTIMEZONE (RFC 5545 3.2.19).
    for event in found:
        for name in ("DTSTART", "DTEND"):
            assert event[name].params["TZID"] == ZONE


def test_a_cancelled_meeting_is_an_exdate_of_its_slot_and_a_moved_one_an_override():
    meetings = plain(count=5)
    cancelled = Meeting(2, meetings[1].starts_at, cancelled=True)
    moved_to = datetime(2026, 10, 27, 18, 30, tzinfo=UTC)  # a Tuesday 19:30, after the DST change
    moved = Meeting(3, moved_to)
    added = Meeting(6, meetings[4].starts_at + timedelta(weeks=1))  # added at the end for the cancelled one
    held = [meetings[0], cancelled, moved, meetings[3], meetings[4], added]
    raw = build(series(held, sequence=2), STAMP)
    assert occurrences(raw) == sorted(m.starts_at for m in held if not m.cancelled)
    _calendar, found = events(raw)
    master = next(e for e in found if "RECURRENCE-ID" not in e)
    (exdate,) = master["EXDATE"].dts
    # RFC 5545 3.8.5.1: an EXDATE has DTSTART's value type and zone, and is one of the rule's dates
    assert exdate.dt == slot(series(held), 2) and exdate.params["TZID"] == ZONE
    (override,) = [e for e in found if "RECURRENCE-ID" in e]
    assert override.decoded("RECURRENCE-ID") == datetime(2026, 10, 25, 19, 0, tzinfo=ZoneInfo(ZONE))
    assert override.decoded("DTSTART") == moved_to
    assert override.decoded("DTEND") - override.decoded("DTSTART") == timedelta(hours=2)
    # one series: one UID, and the override carries the same SEQUENCE as the master
    assert {str(e["UID"]) for e in found} == {"series-7-20261001T080000@meedoen"}
    assert {int(e["SEQUENCE"]) for e in found} == {2}
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6"


def test_required_properties_uid_and_stamp():
    raw = build(series(plain()), STAMP)
    calendar, (event,) = events(raw)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])  # RFC 5545 3.6: both required
    assert str(event["UID"]) == "series-7-20261001T080000@meedoen"
    assert event.decoded("DTSTAMP") == STAMP and event["DTSTAMP"].to_ical().endswith(b"Z")  # UTC
    assert str(event["LOCATION"]).startswith("Huis van de Wijk Geuzenveld, Lambertus")
    assert str(event["SUMMARY"]) == "Mannen in gesprek"
    # The same series gives the same UID in a later file, and no other changes but the stamp.
    later = build(series(plain()), STAMP + timedelta(days=3))
    assert later.replace(b"20261004T080000Z", b"20261001T080000Z") == raw


def test_lines_end_in_crlf_and_are_folded_at_75_octets_without_splitting_a_character():
    arabic = "مجموعة حوار للرجال، تنظمها مؤسسة مِيدون: كل يوم أحد الساعة 19:00. هل لديك سؤال؟ " * 3
    raw = build(series(plain(), description=arabic), STAMP)
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # no bare LF anywhere
    lines = raw.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the long description is folded
    for line in lines:
        line.decode("utf-8")  # every physical line is whole UTF-8: no character cut in two
    _calendar, (event,) = events(raw)
    assert str(event["DESCRIPTION"]) == arabic  # and unfolds to the very text


def test_no_meetings_no_event_and_a_plain_file_name():
    raw = build(series([]), STAMP)
    assert events(raw)[1] == []
    assert file_name("Mannen in gesprek") == "mannen-in-gespre.ics"  # 20 characters at most
    assert file_name("مجموعة الحوار") == "meetings.ics"
    assert len(file_name("A very long name for a series of meetings")) <= 20


@pytest.mark.parametrize("weekday, start", [(0, date(2026, 12, 30)), (4, date(2027, 3, 26))])
def test_a_series_over_the_new_year_or_from_a_dst_weekend(weekday, start):
    meetings = plain(start=start, count=6, weekday=weekday, at=time(10, 30))
    raw = build(series(meetings, start=start, weekday=weekday, at=time(10, 30)), STAMP)
    assert occurrences(raw) == [m.starts_at for m in meetings]
