"""The demo's seed: every coordinator view has something to show (without a browser; the page
itself is tested in tests/test_demo_browser.py)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from bot.analytics import report
from bot.app.demo import COORDINATOR, PAST_SERIES, seed
from bot.app.service import Service
from bot.store import audiences, coordinators, meetings, report_data
from bot.store.schema import checkin_markers, checkin_pool, checkin_responses


async def test_the_seed_gives_attendance_rsvps_broadcast_audiences_and_an_unsuppressed_report(settings):
    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        await seed(service)  # a second start seeds nothing twice
        now = service.now()
        async with service.db.transaction() as connection:
            assert await coordinators.is_coordinator(connection, "demo", COORDINATOR)
            upcoming, past = await meetings.coordinator_meetings(connection, now)
            built = await report_data.build(connection, settings, now)
            responses = await connection.scalar(select(func.count()).select_from(checkin_responses))
            markers = await connection.scalar(select(func.count()).select_from(checkin_markers))
            pooled = await connection.scalar(select(func.count()).select_from(checkin_pool))
            everyone = await audiences.count(connection, ["all"], settings.areas, now)
    finally:
        await service.stop()

    # /attendance: the last meeting of the series that began weeks ago, nobody ticked yet
    [last] = [m for m in past if m.series_name == PAST_SERIES]
    assert len(last.lines) == 6 and all(line.present is None for line in last.lines)
    # /rsvps: its next meeting, with answers
    [coming] = [m for m in upcoming if m.series_name == PAST_SERIES]
    assert {line.answer for line in coming.lines} == {"coming", "not_coming", None}
    assert everyone >= 7  # /broadcast reaches someone

    # every made-up week is over: flushed out of the pool, its markers erased
    assert responses >= 400
    assert markers == pooled == 0
    # /report: several closed months (issue 12), every area cell of the full ones shown with
    # its loneliness (the map), and a trend
    assert len(built.months) >= 4
    full_months = built.months[1:]  # the first may hold only the seed's first week or two
    cells = [report.area_cell(month, area) for month in full_months for area in built.areas]
    assert [cell for cell in cells if built.shown(cell) is None] == []
    assert all(built.shown(cell).respondents >= 10 for cell in cells)
    assert all(built.shown(cell).share_lonely is not None for cell in cells)
    first, last_month = (built.shown(report.month_key(m)) for m in (built.months[0], built.months[-1]))
    assert last_month.share_lonely < first.share_lonely  # the made-up trend has a direction
    assert built.by_series and any(s.attendances for s in built.by_series)
