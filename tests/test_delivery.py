"""The outbox against the platform's answers: server errors are retried, a refused message is
not, a 429 pauses the channel, and a man who writes during a long broadcast is answered
before it ends."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.channels.base import Outgoing
from bot.delivery import outbox as outbox_queue
from bot.delivery.outbox import GROUP_SIZE
from bot.delivery.pacing import Pacer
from bot.domain import broadcasts
from bot.store import participants
from bot.store.schema import outbox
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


async def one_broadcast(db, addresses, text="Uitnodiging") -> int:
    async with db.transaction() as connection:
        for address in addresses:
            await participants.create(connection, "telegram", str(address), "nl", NOW)
        broadcast_id, _ = await broadcasts.create(
            connection, created_by="cli", audience_keys=("all",), texts={"nl": text},
            invite_series_id=None, areas=(), now=datetime.now(UTC),
        )
    return broadcast_id


async def row_of(db, address: int):
    async with db.transaction() as connection:
        return (await connection.execute(select(outbox).where(outbox.c.address == str(address)))).one()


async def wait_state(db, address: int, state: str, timeout: float = 15.0):
    for _ in range(int(timeout * 20)):
        row = await row_of(db, address)
        if row.status == state:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{address} stayed {row.status}, expected {state}")


async def test_server_errors_are_retried_until_delivered(settings, db):
    await one_broadcast(db, [8601])
    async with FakeTelegram() as tg:
        tg.fail_next(2, status=500, method="sendMessage")
        async with running(telegram_settings(settings, tg)):
            row = await wait_state(db, 8601, "sent")
        assert tg.violations == []
        assert tg.count_to(8601) == 1
    assert row.attempts == 3 and row.error == "NetworkError"


async def test_a_refused_message_is_not_retried(settings, db):
    await one_broadcast(db, [8602])
    async with FakeTelegram() as tg:
        tg.fail_next(1, status=400, description="Bad Request: chat not found", method="sendMessage")
        async with running(telegram_settings(settings, tg)):
            row = await wait_state(db, 8602, "failed")
            await asyncio.sleep(0.5)
        assert tg.count_to(8602) == 0
    assert row.attempts == 1 and row.error.startswith("400")


async def test_a_429_pauses_the_channel_and_the_message_still_goes_once(settings, db):
    await one_broadcast(db, [8603, 8604])
    async with FakeTelegram() as tg:
        tg.fail_next(1, status=429, method="sendMessage")
        async with running(telegram_settings(settings, tg)):
            await wait_state(db, 8603, "sent")
            await wait_state(db, 8604, "sent")
        assert [tg.count_to(8603), tg.count_to(8604)] == [1, 1]
        rejected = [call for call in tg.rejected if call.method == "sendMessage"]
        accepted = [call for call in tg.calls if call.method == "sendMessage"]
    assert len(rejected) == 1
    assert min(call.time for call in accepted) >= rejected[0].time + 1.0  # retry_after honoured


async def test_a_man_who_writes_during_a_long_broadcast_is_answered_before_it_ends(settings, db):
    broadcast_id = await one_broadcast(db, range(8700, 8790))
    async with FakeTelegram(rate_limits=True) as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_chat_interval=1.0)
        async with running(configured):
            await tg.wait_for(lambda: len(tg.sent) >= 10)
            chat = Chat(tg, 8799)
            await chat.command("/help")
            delivered_when_answered = sum(1 for m in tg.sent if 8700 <= m["chat"]["id"] < 8790)
            async with db.transaction() as connection:
                _recipients, tally = await broadcasts.status(connection, broadcast_id)
        assert tg.violations == [] and tg.too_many_requests == 0
    assert tally["waiting"] > 30  # the broadcast was far from done when he got his answer
    assert delivered_when_answered < 60


@pytest.mark.sqlite_only("SQLite's write lock")
async def test_a_stopped_sender_leaves_the_database_free(settings, db):
    """Stopping must not cancel the sender inside a transaction: SQLAlchemy would then close
    that SQLite connection by force and it could keep the write lock, so the next writer
    (the CLI, or a restarted service) would meet "database is locked"."""
    path = make_url(settings.database_url).database
    async with FakeTelegram() as tg:
        for _ in range(12):
            async with running(telegram_settings(settings, tg)) as service:
                task = service.senders["telegram"]._task
                await asyncio.sleep(0.01 * random.random())
            assert task.done() and not task.cancelled()
            probe = sqlite3.connect(path, isolation_level=None, timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")  # raises "database is locked" if a lock lingers
                probe.execute("ROLLBACK")
            finally:
                probe.close()


async def test_no_broadcast_copy_goes_to_a_man_while_his_message_is_being_handled(settings, db):
    """A copy sent meanwhile would take the chat's one-a-second slot and make his answer
    wait for it; it goes once his message has been handled."""
    async with FakeTelegram(rate_limits=True) as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_chat_interval=1.0)
        async with running(configured) as service:
            sender = service.senders["telegram"]
            with sender.conversing("8900"):
                await one_broadcast(db, range(8900, 8911))  # he is first in line
                service.wake_all()
                await tg.wait_for(lambda: len(tg.sent) == 10)  # everybody else has his copy
                await asyncio.sleep(0.3)
                assert tg.count_to(8900) == 0
            await tg.wait_for(lambda: tg.count_to(8900) == 1)
        assert tg.violations == [] and tg.too_many_requests == 0
    assert [m["chat"]["id"] for m in tg.sent][-1] == 8900


async def test_a_failed_claim_gives_its_send_slots_back(settings, db):
    """If committing the claim fails, nothing went out: the booked slots must not count as
    under way, or a slow channel (here one a second) would be held for ever."""
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_rate=1.0)
        async with running(configured) as service:
            sender = service.senders["telegram"]
            claim, failures = sender._claim, []

            async def fails_once(rows, slots):
                if not failures:
                    failures.append(len(rows))
                    raise RuntimeError("database went away")
                return await claim(rows, slots)

            sender._claim = fails_once
            await one_broadcast(db, [8951, 8952, 8953])
            service.wake_all()
            row = await wait_state(db, 8953, "sent", timeout=20)
            assert failures and row.attempts == 1
        assert [tg.count_to(a) for a in (8951, 8952, 8953)] == [1, 1, 1]


async def test_copies_claimed_ahead_of_their_slots_are_cancelled_with_the_broadcast_and_released_at_a_stop(settings, db):
    """At Telegram's pace the sender claims the next bulk copies in one transaction, ahead of
    their slots. Such a copy has not gone out: a cancel stops it, and a stop puts the others
    back in line (``pending``), none left ``claimed``."""
    addresses = range(8960, 9000)
    first = await one_broadcast(db, addresses[:20])
    async with FakeTelegram(rate_limits=True) as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_chat_interval=1.0)
        async with running(configured) as service:
            await tg.wait_for(lambda: len(tg.sent) >= 3)
            async with db.transaction() as connection:
                # FOR UPDATE: on PostgreSQL (read committed) the sender could otherwise mark one
                # of them ``sending`` between this read and the cancel, and send it.
                claimed = set(await connection.scalars(
                    select(outbox.c.address).where(outbox.c.status == "claimed").with_for_update()
                ))
                await broadcasts.cancel(connection, first, datetime.now(UTC))
            assert claimed  # copies were claimed ahead
            await one_broadcast(db, addresses[20:])
            service.wake_all()
            await tg.wait_for(lambda: any(8980 <= m["chat"]["id"] for m in tg.sent))
            await asyncio.sleep(0.2)
        async with db.transaction() as connection:
            states = dict((await connection.execute(select(outbox.c.address, outbox.c.status))).all())
        assert tg.violations == [] and tg.too_many_requests == 0
    assert not any(tg.count_to(int(address)) for address in claimed)  # cancelled before their slot
    assert "claimed" not in states.values()  # the stop put them back in line
    assert {states[str(a)] for a in addresses[20:]} <= {"sent", "pending"}
    assert "pending" in {states[str(a)] for a in addresses[20:]}



async def test_unthrottled_a_group_is_claimed_in_one_statement_not_each_message_marked(settings, db):
    """Far above what can be reached (the capacity benchmarks), a group's slots have all come
    when it is claimed, so it is booked ``sending`` at once; rows claimed ahead of their
    slots would each get an ``UPDATE`` (and a transaction) of their own (docs/benchmarks.md)."""
    from sqlalchemy import event

    addresses = range(8700, 8900)
    statements: list[str] = []
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), telegram_rate=1_000_000.0)
        async with running(configured) as service:
            event.listen(service.db.engine.sync_engine, "before_cursor_execute",
                         lambda _conn, _cursor, sql, *_rest: statements.append(sql))
            await one_broadcast(db, addresses)
            service.wake_all()
            for address in addresses:
                await wait_state(db, address, "sent", timeout=30)
        assert [tg.count_to(a) for a in addresses] == [1] * len(addresses)
    claims = [sql for sql in statements if sql.startswith("UPDATE outbox") and "outbox.attempts +" in sql]
    assert claims, "the sender's statements were not seen"
    one_by_one = [sql for sql in claims if "WHERE outbox.id = " in sql]  # ``_mark_sending``
    # At most the first group: on PostgreSQL a new sender waits a second before its first send
    # (``takeover_wait``), and the slots booked just before that wait ends are still ahead.
    assert len(one_by_one) <= GROUP_SIZE < len(addresses)
    assert len(claims) - len(one_by_one) < len(addresses) // 8  # then a group of up to 64 at a time


class SlowPass(Pacer):
    """A pacer whose clock moves on by ``step`` seconds with every slot it is asked for: a
    pass over the outbox's window that the machine's load stretches (three instances on two
    busy cores), made the same in every run."""

    def __init__(self, rate: float, chat_interval: float, step: float) -> None:
        self.skew = 0.0
        self.step = step
        super().__init__(rate, chat_interval, monotonic=lambda: time.monotonic() + self.skew)

    def reserve(self, address: str, within: float = 0.0) -> float | None:
        try:
            return super().reserve(address, within)
        finally:
            self.skew += self.step


async def test_his_answers_go_out_in_order_when_the_clock_moves_on_during_a_pass(settings, db):
    """His first answer just misses the channel's next slot; by the time the pass reaches his
    second one the slot is within reach. The second must still wait for the first: once
    overtaken, the first would only go a chat interval later, after it (seen under load)."""
    async with FakeTelegram() as tg:
        async with running(telegram_settings(settings, tg)) as service:
            sender = service.senders["telegram"]
            await tg.wait_for(lambda: sender.leadership.leading and sender._leading)
            # 10 a second: a slot every 0.1 s; each booking "takes" 0.04 s of the pass.
            sender.pacer = SlowPass(10.0, sender.channel.limits.chat_interval, step=0.04)
            async with db.transaction() as connection:
                for address, text in ((9101, "Voor een ander"), (9102, "Eerste antwoord"), (9102, "Tweede antwoord")):
                    await outbox_queue.enqueue(
                        connection, channel="telegram", address=str(address), message=Outgoing(text),
                        kind="reply", priority=outbox_queue.REPLY, now=datetime.now(UTC),
                    )
            service.wake_all()
            await tg.wait_for(lambda: tg.count_to(9102) == 2)
        assert tg.violations == []
    assert [message["text"] for message in tg.messages_to(9102)] == ["Eerste antwoord", "Tweede antwoord"]


async def test_his_answer_refused_with_a_429_still_goes_before_his_next_one(settings, db):
    """A 429 puts his first answer back in line; his second, already read, must not take its
    place: the sender reads the line again before his next send."""
    async with FakeTelegram() as tg:
        async with running(telegram_settings(settings, tg)) as service:
            sender = service.senders["telegram"]
            await tg.wait_for(lambda: sender.leadership.leading and sender._leading)
            tg.fail_next(1, status=429, method="sendMessage")
            async with db.transaction() as connection:
                for text in ("Eerste antwoord", "Tweede antwoord"):
                    await outbox_queue.enqueue(
                        connection, channel="telegram", address="9103", message=Outgoing(text),
                        kind="reply", priority=outbox_queue.REPLY, now=datetime.now(UTC),
                    )
            service.wake_all()
            await tg.wait_for(lambda: tg.count_to(9103) == 2, timeout=15)
        assert tg.violations == []
        assert len([call for call in tg.rejected if call.method == "sendMessage"]) == 1
    assert [message["text"] for message in tg.messages_to(9103)] == ["Eerste antwoord", "Tweede antwoord"]
