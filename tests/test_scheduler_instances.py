"""Two or three instances tick at the same moment on one PostgreSQL: every reminder, offer and
"we missed you" is queued once, a lapsed waiting-list seat is offered once, a week's
check-ins move once, and a wake-up is handed out once (docs/scaling.md, "The scheduler
across instances"). Each instance is a real ``Service`` with its own connections; the clock
is injected, the same for all."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, select

from bot.app.service import Service
from bot.store import checkins, conversations
from bot.store import series as series_store
from bot.store.database import Database
from bot.store.schema import (
    attendance,
    checkin_pool,
    checkin_responses,
    meetings,
    outbox,
    participants,
    signups,
    waitlist_offers,
)
from tests.conftest import NOW

TICK_AT = datetime(2026, 10, 2, 8, 30, tzinfo=UTC)  # Friday 10:30 in Amsterdam
YESTERDAY = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


async def add_series(connection, name: str, weekday: int, at: time, start: date, capacity: int) -> int:
    new = series_store.NewSeries(name, weekday, at, start, 4, capacity, "Huis van de Wijk", "Osdorp")
    return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def add_man(connection, series_id: int, address: int, *, consented: datetime, signup: str = "confirmed") -> int:
    result = await connection.execute(
        insert(participants).values(
            channel="telegram", address=str(address), language="nl", consented_at=consented, status="active"
        )
    )
    man = result.inserted_primary_key[0]
    await connection.execute(
        insert(signups).values(series_id=series_id, participant_id=man, status=signup, created_at=consented)
    )
    return man


async def a_busy_morning(db: Database) -> dict[str, int]:
    """What falls due at ``TICK_AT``: a reminder for ten men, the morning after a meeting
    (check-in offers for ten, "we missed you" for the five absent, a listening offer for the
    ten who signed up yesterday, and the statements, since it was the series' first), a waiting-list offer that lapsed with one seat to offer on,
    and last week's three check-ins to move. Returns the messages expected per kind."""
    async with db.transaction() as connection:
        soon = await add_series(connection, "Vaders en zonen", 4, time(11, 0), date(2026, 10, 2), 20)
        for n in range(10):
            await add_man(connection, soon, 1000 + n, consented=YESTERDAY - timedelta(days=5))
        last_night = await add_series(connection, "Mannen in gesprek", 3, time(19, 0), date(2026, 10, 1), 20)
        meeting = await connection.scalar(
            select(meetings.c.id).where(meetings.c.series_id == last_night, meetings.c.number == 1)
        )
        for n in range(10):
            man = await add_man(connection, last_night, 2000 + n, consented=YESTERDAY)
            await connection.execute(
                insert(attendance).values(participant_id=man, meeting_id=meeting, present=int(n < 5), marked_at=TICK_AT)
            )
        one_seat = await add_series(connection, "Buurtvaders", 2, time(19, 0), date(2026, 10, 7), 1)
        lapsed = await add_man(connection, one_seat, 3000, consented=YESTERDAY - timedelta(days=5), signup="waitlist")
        await add_man(connection, one_seat, 3001, consented=YESTERDAY - timedelta(days=5), signup="waitlist")
        await connection.execute(
            insert(waitlist_offers).values(
                series_id=one_seat, participant_id=lapsed, status="open",
                offered_at=TICK_AT - timedelta(days=2), expires_at=TICK_AT - timedelta(hours=1),
            )
        )
        for n in range(3):
            week, month = checkins.markers(b"k", "telegram", f"old{n}", "2026-W39")
            await checkins.record(connection, week, "2026-W39", {"language": "nl", "area": None}, month_marker=month)
    return {"reminder": 10, "checkin": 10, "followup": 5, "listening": 10, "offer": 1, "statements": 10}


async def test_three_instances_ticking_at_once_queue_everything_once(postgres_url):
    settings = dataclasses.replace(
        _settings(postgres_url), reminders=(timedelta(hours=1),), timezone="Europe/Amsterdam"
    )
    first = Database(postgres_url)
    await first.upgrade()
    expected = await a_busy_morning(first)
    instances = [Service(settings, now=lambda: TICK_AT) for _ in range(3)]
    try:
        for _ in range(2):  # and once more: nothing new
            await asyncio.gather(*(instance.scheduler.tick() for instance in instances))
        async with first.transaction() as connection:
            rows = list(await connection.execute(select(outbox.c.kind, outbox.c.address)))
            offers = (await connection.execute(select(waitlist_offers.c.participant_id, waitlist_offers.c.status))).all()
            moved = await connection.scalar(select(func.count()).select_from(checkin_responses))
            pooled = await connection.scalar(select(func.count()).select_from(checkin_pool))
    finally:
        for instance in instances:
            await instance.db.close()
        await first.close()
    per_kind = Counter(kind for kind, _address in rows)
    assert dict(per_kind) == expected
    assert max(Counter(rows).values()) == 1, "a man got the same kind of message twice"
    assert sorted(status for _man, status in offers) == ["expired", "open"]  # one seat, one new offer
    assert (moved, pooled) == (3, 0)


async def test_a_wake_up_is_handed_to_one_instance(postgres_url):
    """Each instance takes the due wake-ups in the same instant; every chat is woken by one."""
    databases = [Database(postgres_url) for _ in range(3)]
    await databases[0].upgrade()
    async with databases[0].transaction() as connection:
        for n in range(300):
            await conversations.save(connection, "telegram", str(n), {"q": 1}, NOW, wake=_wake(NOW))
    try:

        async def take(db: Database) -> list[tuple[str, str]]:
            async with db.transaction() as connection:
                return await conversations.take_due_wakes(connection, NOW + timedelta(minutes=1))

        taken = await asyncio.gather(*(take(db) for db in databases))
    finally:
        for db in databases:
            await db.close()
    everyone = [chat for chats in taken for chat in chats]
    assert len(everyone) == 300 and len(set(everyone)) == 300


def _wake(at: datetime):
    from dialogs.types import WakeAt

    return WakeAt(at)


def _settings(url: str):
    from bot.config import Settings

    return Settings(database_url=url, secret_key="test-secret-key-0123456789")
