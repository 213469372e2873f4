from datetime import UTC, date, datetime, time

import pytest

from bot.common.calendar import first_meeting_date, local_instant, parse_weekday, weekly_meetings

UTC = UTC


@pytest.mark.parametrize("text, number", [("mon", 0), ("thu", 3), ("Thursday", 3), ("SUN", 6), ("4", 4)])
def test_parse_weekday(text, number):
    assert parse_weekday(text) == number


def test_parse_weekday_refuses_nonsense():
    with pytest.raises(ValueError, match="unknown weekday"):
        parse_weekday("someday")


def test_first_meeting_is_the_first_matching_weekday_on_or_after_start():
    assert first_meeting_date(date(2026, 12, 3), 3) == date(2026, 12, 3)  # a Thursday
    assert first_meeting_date(date(2026, 12, 4), 3) == date(2026, 12, 10)


def test_meetings_keep_their_wall_clock_time_across_both_dst_changes():
    # Thursdays at 19:00 from mid-March to early April 2026 (DST starts Sunday 29 March)
    spring = weekly_meetings(date(2026, 3, 19), 3, time(19, 0), 3, "Europe/Amsterdam")
    assert spring == [
        datetime(2026, 3, 19, 18, 0, tzinfo=UTC),
        datetime(2026, 3, 26, 18, 0, tzinfo=UTC),
        datetime(2026, 4, 2, 17, 0, tzinfo=UTC),
    ]
    # DST ends Sunday 25 October 2026
    autumn = weekly_meetings(date(2026, 10, 18), 6, time(10, 0), 2, "Europe/Amsterdam")
    assert autumn == [
        datetime(2026, 10, 18, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 9, 0, tzinfo=UTC),
    ]


def test_a_time_in_the_spring_gap_lands_an_hour_later():
    assert local_instant(date(2026, 3, 29), time(2, 30), "Europe/Amsterdam") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
