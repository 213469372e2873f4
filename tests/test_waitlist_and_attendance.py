"""The waiting list moves when a seat frees up; a coordinator takes attendance and the man who
missed a meeting without a word gets one kind message the next day. End to end on Telegram
with an injectable clock."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.domain.waitlist import OFFER_FOR
from bot.store import participants
from bot.store import series as series_store
from bot.store.schema import signups, waitlist_offers
from dialogs.i18n import _, use_locale
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings

UTC = UTC


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def in_(language: str, text: str) -> str:
    with use_locale(language):
        return _(text)


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def full_series_with_waitlist(db, now):
    """A one-seat series: 7101 holds the seat, 7102 and 7103 wait (in that order)."""
    new = series_store.NewSeries("Vaders en zonen", 3, time(19), date(2026, 12, 3), 4, 1, "Buurtkamer", "Osdorp")
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", now)
        for address, language in ((7101, "nl"), (7102, "so"), (7103, "ar")):
            pid = await participants.create(connection, "telegram", str(address), language, now)
            await series_store.sign_up(connection, pid, series_id, waitlist=address != 7101, now=now)
    return series_id


async def statuses(db) -> dict[int, str]:
    async with db.transaction() as connection:
        rows = await connection.execute(select(signups.c.participant_id, signups.c.status))
        return dict(rows.all())


async def test_a_freed_seat_is_offered_in_turn_accepted_declined_or_lapsed(tg, settings, db):
    clock = Clock(datetime(2026, 11, 25, 10, tzinfo=UTC))
    series_id = await full_series_with_waitlist(db, clock())
    async with running(telegram_settings(settings, tg), now=clock) as service:
        holder = Chat(tg, 7101)
        await holder.command("/cancel")
        await holder.tap(f"c:{series_id}")  # he leaves: the first man waiting is offered the seat
        await tg.wait_for(lambda: tg.count_to(7102) == 1)
        first = Chat(tg, 7102)
        assert first.keys() == [k for k in first.keys() if k.startswith("wo:")] and len(first.keys()) == 2
        assert tg.count_to(7103) == 0  # one seat, one offer
        declined = await first.tap(first.keys()[1])  # "No, thank you"
        assert in_("so", "Okay. The seat goes to the next person on the waiting list.") in declined["text"]
        await tg.wait_for(lambda: tg.count_to(7103) == 1)  # the next one is offered
        # he lets it lapse: after the deadline the seat goes round again (nobody else waits)
        clock.at += OFFER_FOR + timedelta(minutes=1)
        await service.scheduler.tick()
        second = Chat(tg, 7103)
        # offered again: he is the only one left. The same tick may offer him the listening poll
        # (he joined the waiting list yesterday), sent a moment later: tap the offer itself.
        await tg.wait_for(lambda: tg.count_to(7103) >= 2)
        offer = [m for m in second.messages if second.keys(m) and second.keys(m)[0].startswith("wo:")][-1]
        accepted = await second.tap(second.keys(offer)[0], message=offer)
        assert "Vaders en zonen" in accepted["text"] and accepted["text"].startswith("\u200f")
        stale = await first.tap(first.keys(first.messages[0])[0], message=first.messages[0]) if first.keys(first.messages[0]) else None
        assert stale is None  # the answered offer's buttons were taken off
    final = await statuses(db)
    assert sorted(final.values()) == ["confirmed"]  # 7101 left, 7102 declined (off the list), 7103 in
    async with db.transaction() as connection:
        offers = (await connection.execute(select(waitlist_offers.c.status).order_by(waitlist_offers.c.id))).scalars().all()
    assert offers == ["declined", "expired", "accepted"]


async def test_an_open_offer_holds_the_seat(tg, settings, db):
    clock = Clock(datetime(2026, 11, 25, 10, tzinfo=UTC))
    series_id = await full_series_with_waitlist(db, clock())
    async with running(telegram_settings(settings, tg), now=clock):
        holder = Chat(tg, 7101)
        await holder.command("/cancel")
        await holder.tap(f"c:{series_id}")
        await tg.wait_for(lambda: tg.count_to(7102) == 1)
        newcomer = Chat(tg, 7104)
        await newcomer.command("/start")
        await newcomer.tap("lang:en")
        await newcomer.tap("yes")
        await newcomer.tap("skip")
        offer = await newcomer.tap(f"s:{series_id}")
        assert newcomer.keys(offer) == ["wait", "other"]  # the seat is held for 7102


async def test_attendance_and_we_missed_you_the_next_day(tg, settings, db):
    new = series_store.NewSeries("Mannen in gesprek", 3, time(19), date(2026, 12, 3), 3, 10, "Huis van de Wijk", "Osdorp")
    clock = Clock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", clock())
        ids = {}
        for address, language, name in ((7201, "so", "Cabdi"), (7202, "nl", "Jan"), (7203, "ar", "Yusuf")):
            pid = await participants.create(connection, "telegram", str(address), language, clock())
            await participants.change(connection, pid, name=name)
            await series_store.sign_up(connection, pid, series_id, waitlist=False, now=clock())
            ids[address] = pid
    configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",), reminders=())
    async with running(configured, now=clock) as service:
        # Yusuf says beforehand that he can't come (answering the reminder)
        clock.at = datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
        await service.scheduler.tick()
        # the meeting takes place; the coordinator ticks Cabdi present
        clock.at = datetime(2026, 12, 3, 20, 30, tzinfo=UTC)
        boss = Chat(tg, 9001, language_code="nl")
        await boss.command("/attendance")
        meeting_key = boss.keys()[0]
        await boss.tap(meeting_key)
        assert {f"co:p:{pid}" for pid in ids.values()} <= set(boss.keys())
        ticked = await boss.tap(f"co:p:{ids[7201]}")
        assert any(label.startswith("✅") and "Cabdi" in label for label in boss.labels(ticked))
        await boss.tap("co:done")
        async with service.db.transaction() as connection:
            from bot.store import meetings as meeting_store

            await meeting_store.answer(connection, ids[7203], int(meeting_key.split(":")[2]), "not_coming", clock())
        # the evening itself: nothing yet
        await service.scheduler.tick()
        await asyncio.sleep(0.2)
        assert missed(tg, 7202) == 0  # (the listening poll's offer, the day after sign-up, may be there)
        # the next morning at 10:00 local: only Jan, who missed it without a word
        clock.at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
        await service.scheduler.tick()
        await tg.wait_for(lambda: missed(tg, 7202) == 1)
        await service.scheduler.tick()  # once only
        await asyncio.sleep(0.2)
    assert missed(tg, 7202) == 1
    [message] = [m["text"] for m in tg.messages_to(7202) if "Mannen in gesprek" in m["text"] and not statements_offer(m)]
    assert "donderdag 10 december 19:00" in message
    assert missed(tg, 7201) == 0 and missed(tg, 7203) == 0


def missed(tg, chat: int) -> int:
    """How many "we missed you" messages (they name the series) reached ``chat``; the
    morning-after check-in offer and the listening poll's offer arrive too, and do not name it, and the statements offer
    at the first meeting (which names it) is told apart by its button."""
    return sum("Mannen in gesprek" in m["text"] and not statements_offer(m) for m in tg.messages_to(chat))


def statements_offer(message: dict) -> bool:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(button["callback_data"].split("|")[1].startswith("st:go:") for row in rows for button in row)
