"""The morning-after check-in offer: who gets one, when, and never twice (real SQLite file)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import insert, select

from bot.delivery import outbox
from bot.store import checkins, conversations
from bot.store import series as series_store
from bot.store.schema import meetings, participants, schedule_runs, signups
from bot.store.schema import outbox as outbox_table
from dialogs import checkin
from scheduler.checkin_offers import queue_checkin_offers
from tests.conftest import NOW

# Series on Thursdays at 19:00 from 1 October 2026 (CEST: 17:00 UTC).
MEETING_1 = datetime(2026, 10, 1, 17, 0, tzinfo=UTC)
MORNING_AFTER = datetime(2026, 10, 2, 7, 0, tzinfo=UTC)  # Friday 09:00 in Amsterdam


async def add_series(connection, name: str) -> int:
    new = series_store.NewSeries(name, 3, time(19, 0), date(2026, 10, 1), 6, 12, "Huis van de Wijk", "Osdorp")
    return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def add_man(connection, series_id: int, address: str, language: str, *, status="active", signup="confirmed") -> int:
    result = await connection.execute(
        insert(participants).values(
            channel="telegram", address=address, language=language, consented_at=NOW, status=status
        )
    )
    participant_id = result.inserted_primary_key[0]
    await connection.execute(
        insert(signups).values(series_id=series_id, participant_id=participant_id, status=signup, created_at=NOW)
    )
    return participant_id


async def queued_offers(db) -> dict:
    async with db.transaction() as connection:
        rows = await connection.execute(select(outbox_table).where(outbox_table.c.kind == "checkin"))
        return {row.address: (row, outbox.decode(row.payload)) for row in rows}


async def test_offers_the_morning_after_to_the_right_men_once(db, settings):
    secret = settings.secret_key.encode()
    async with db.transaction() as connection:
        series_id = await add_series(connection, "Mannen in gesprek")
        other_series = await add_series(connection, "Vaders en zonen")
        a = await add_man(connection, series_id, "101", "so")
        await add_man(connection, series_id, "102", "nl", signup="waitlist")
        await add_man(connection, series_id, "103", "nl", status="stopped")
        await add_man(connection, series_id, "104", "ar")  # said "not now" this morning
        await conversations.save(connection, "telegram", "104", {"q": 9, checkin.LATER: "2026-10-02"}, NOW)
        await add_man(connection, series_id, "105", "ar")  # said "not now" yesterday: fine today
        await conversations.save(connection, "telegram", "105", {"q": 9, checkin.LATER: "2026-10-01"}, NOW)
        await add_man(connection, series_id, "106", "nl")  # already checked in this ISO week
        week_marker, month_marker = checkins.markers(secret, "telegram", "106", checkins.iso_week(MORNING_AFTER))
        await checkins.record(
            connection, week_marker, checkins.iso_week(MORNING_AFTER), {"language": "nl", "area": None},
            month_marker=month_marker,
        )
        await add_man(connection, series_id, "107", "en")  # answering a check-in right now
        await conversations.save(connection, "telegram", "107", {"q": 3, "flow": "checkin", "checkin": {"answers": []}}, NOW)
        await add_man(connection, other_series, "108", "nl")  # another series' meeting is the same evening
        h = await add_man(connection, series_id, "109", "nl")  # checked in LAST week: offered
        week_marker, month_marker = checkins.markers(secret, "telegram", "109", "2026-W39")
        await checkins.record(
            connection, week_marker, "2026-W39", {"language": "nl", "area": None}, month_marker=month_marker,
        )
        meeting_1 = await connection.scalar(
            select(meetings.c.id).where(meetings.c.series_id == series_id, meetings.c.number == 1)
        )

    assert await queue_checkin_offers(db, settings, datetime(2026, 10, 2, 6, 59, tzinfo=UTC)) == 0
    assert await queued_offers(db) == {}

    assert await queue_checkin_offers(db, settings, MORNING_AFTER) == 4  # two meetings: both series
    offers = await queued_offers(db)
    assert set(offers) == {"101", "105", "109", "108"}
    row, message = offers["101"]
    expected = checkin.offer("so")
    assert (message.text, message.options, message.question) == (expected.text, expected.options, expected.question)
    assert [o.key for o in message.options] == ["ck:go", "ck:later"]
    assert row.priority == outbox.BULK and row.dedupe_key == f"checkin:{meeting_1}:{a}"
    assert offers["105"][1].text == checkin.offer("ar").text
    assert offers["109"][0].dedupe_key == f"checkin:{meeting_1}:{h}"

    async with db.transaction() as connection:
        runs = list(await connection.execute(select(schedule_runs).where(schedule_runs.c.kind == "checkin")))
    assert len(runs) == 2 and {r.outcome for r in runs} == {"queued"} and {r.offset_minutes for r in runs} == {0}

    later_that_day = datetime(2026, 10, 2, 15, 0, tzinfo=UTC)
    assert await queue_checkin_offers(db, settings, later_that_day) == 0, "once per meeting"
    assert len(await queued_offers(db)) == 4


async def test_not_before_nine_and_dropped_when_the_day_after_has_passed(db, settings):
    async with db.transaction() as connection:
        series_id = await add_series(connection, "Mannen in gesprek")
        await add_man(connection, series_id, "201", "nl")
    before_nine = datetime(2026, 10, 2, 6, 59, tzinfo=UTC)  # 08:59 in Amsterdam
    assert await queue_checkin_offers(db, settings, before_nine) == 0
    async with db.transaction() as connection:
        assert list(await connection.execute(select(schedule_runs))) == []

    # The service was down all of Friday 2 October: on Saturday the offer is not sent late.
    saturday = datetime(2026, 10, 3, 8, 0, tzinfo=UTC)
    assert await queue_checkin_offers(db, settings, saturday) == 0
    async with db.transaction() as connection:
        runs = list(await connection.execute(select(schedule_runs)))
    assert [(r.kind, r.outcome) for r in runs] == [("checkin", "dropped")]
    assert await queued_offers(db) == {}

    # The next meeting (Thursday 8 October) is offered normally on Friday 9 October.
    assert await queue_checkin_offers(db, settings, datetime(2026, 10, 9, 7, 30, tzinfo=UTC)) == 1
