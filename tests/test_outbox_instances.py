"""The outbox with several instances on one PostgreSQL (issue 18; docs/scaling.md).

A row in hand names its owner, and only the rows of an owner whose lease ran out are
recovered; one instance per channel sends (an elected sender), so the platform's limits hold
together; and, with real ``meedoen run`` processes against the Telegram stand-in, one of them
SIGKILLed and restarted again and again, nobody gets two copies, the missing stay within the
"uncertain" bound, and the stand-in never sees more than the rate in any sliding second nor
two messages to one chat within a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import signal
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.channels.base import Incoming
from bot.config import Settings
from bot.delivery.instance import LEASE
from bot.delivery.outbox import GROUP_SIZE, recover
from bot.domain import broadcasts
from bot.store import outbox_owners, participants
from bot.store.database import Database
from bot.store.schema import outbox
from bot.store.sender_election import POLL, Election
from dialogs.types import Command
from tests.fakes.telegram_api import PER_CHAT_TOLERANCE, FakeTelegram
from tests.telegram_chat import free_port, running, telegram_settings
from tests.test_crash_safety import check_exactly_once, pending, service_env, statuses
from tests.test_delivery import one_broadcast

SECRET = "test-secret-key-0123456789"


async def in_hand_of(db, owner: str, addresses: list[int]) -> list[int]:
    """Leave the outbox as a crash of ``owner`` would: its first row claimed (waiting for its
    slot), the others ``sending`` (requests under way). Returns the rows' ids."""
    async with db.transaction() as connection:
        ids = list((await connection.scalars(
            select(outbox.c.id).where(outbox.c.address.in_([str(a) for a in addresses])).order_by(outbox.c.id)
        )).all())
        await connection.execute(update(outbox).where(outbox.c.id == ids[0]).values(status="claimed", owner=owner))
        await connection.execute(update(outbox).where(outbox.c.id.in_(ids[1:])).values(status="sending", owner=owner))
    return ids


async def states_of(db, ids: list[int]) -> list[str]:
    async with db.transaction() as connection:
        rows = dict((await connection.execute(select(outbox.c.id, outbox.c.status).where(outbox.c.id.in_(ids)))).all())
    return [rows[i] for i in ids]


async def test_a_live_instances_rows_are_left_alone_until_its_lease_runs_out(postgres_url):
    db = Database(postgres_url)
    await db.upgrade()
    try:
        await one_broadcast(db, [1, 2, 3])
        now = datetime.now(UTC)
        async with db.transaction() as connection:
            await outbox_owners.renew(connection, "instance-a", now + LEASE)
            await outbox_owners.renew(connection, "instance-b", now + LEASE)
        ids = await in_hand_of(db, "instance-a", [1, 2, 3])

        # B starts, or becomes the sender, while A lives: A's rows are A's.
        assert await recover(db, "telegram", "instance-b", now, alone=False) == []
        assert await states_of(db, ids) == ["claimed", "sending", "sending"]
        # Whatever the clock says, an instance never recovers its own rows.
        assert await recover(db, "telegram", "instance-a", now + 2 * LEASE, alone=False) == []
        assert await states_of(db, ids) == ["claimed", "sending", "sending"]

        # A died (nobody renews its lease): once the lease has run out, B recovers its rows.
        later = now + LEASE + timedelta(seconds=1)
        assert sorted(await recover(db, "telegram", "instance-b", later, alone=False)) == ids[1:]
        assert await states_of(db, ids) == ["pending", "uncertain", "uncertain"]
        async with db.transaction() as connection:
            left = set((await connection.scalars(select(outbox_owners.outbox_owners.c.owner))).all())
        assert left == set(), "expired leases are forgotten once their rows are recovered"
    finally:
        await db.close()


async def test_on_sqlite_the_one_instance_recovers_its_previous_runs_rows_at_once(db):
    """One instance per SQLite database: at start, every other owner is a previous run of
    this one, however fresh its lease (a quick restart after a crash)."""
    await one_broadcast(db, [4, 5])
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        await outbox_owners.renew(connection, "previous-run", now + LEASE)
    ids = await in_hand_of(db, "previous-run", [4, 5])
    assert await recover(db, "telegram", "this-run", now, alone=True) == ids[1:]
    assert await states_of(db, ids) == ["pending", "uncertain"]


async def wait_until(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_one_sender_per_channel_another_takes_over_and_is_woken_by_the_others(postgres_url):
    woken: list[str] = []
    first = Election(postgres_url, "telegram", lambda: woken.append("first"))
    second = Election(postgres_url, "telegram", lambda: woken.append("second"))
    other_channel = Election(postgres_url, "whatsapp", lambda: None)
    try:
        await first.start()
        await wait_until(lambda: first.leading)
        await second.start()
        await other_channel.start()
        await wait_until(lambda: other_channel.leading)  # each channel has its own sender
        await asyncio.sleep(4 * POLL)
        assert not second.leading

        second.notify()  # a message queued on an instance that does not send: the sender hears
        await wait_until(lambda: "first" in woken)

        await first.stop()
        assert not first.leading
        await wait_until(lambda: second.leading, timeout=3 * POLL + 2)
    finally:
        for election in (first, second, other_channel):
            await election.stop()


async def test_a_reply_made_on_an_instance_that_does_not_send_overtakes_the_broadcast(postgres_url):
    """His message is handled where it arrived; the sender, elsewhere, hears of the reply
    (NOTIFY) and sends it ahead of the broadcast's copies still waiting."""
    db = Database(postgres_url)
    await db.upgrade()
    try:
        broadcast_id = await one_broadcast(db, range(8700, 8790))
        async with FakeTelegram(rate_limits=True) as tg:
            configured = dataclasses.replace(
                telegram_settings(Settings(database_url=postgres_url, secret_key=SECRET), tg), telegram_chat_interval=1.0
            )
            async with running(configured) as sending:
                await wait_until(lambda: sending.senders["telegram"].leadership.leading)
                async with running(configured) as other:
                    await asyncio.sleep(4 * POLL)
                    assert not other.senders["telegram"].leadership.leading
                    await tg.wait_for(lambda: len(tg.sent) >= 10)
                    await other.handle(Incoming(channel="telegram", address="8799", event=Command("help")))
                    await tg.wait_for(lambda: tg.count_to(8799) >= 1, timeout=5)
                    delivered_when_answered = sum(1 for m in tg.sent if 8700 <= m["chat"]["id"] < 8790)
                    async with db.transaction() as connection:
                        _recipients, tally = await broadcasts.status(connection, broadcast_id)
            assert_within_limits(tg, 30)
        assert tally["waiting"] > 30  # the broadcast was far from done when he got his answer
        assert delivered_when_answered < 60
    finally:
        await db.close()


# --- real processes ---------------------------------------------------------------------------


async def spawn(env: dict, cwd, number: int) -> asyncio.subprocess.Process:
    """``meedoen run`` on a port of its own; its log goes to a file (a pipe nobody reads would
    fill and block it)."""
    with open(cwd / f"instance-{number}.log", "wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.app.cli", "run", env={**env, "MEEDOEN_HTTP_PORT": str(free_port())}, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )


async def senders_pid(db) -> int | None:
    """The process sending now: the owner (host-pid-random) of a row in hand, or of the
    last one sent."""
    async with db.transaction() as connection:
        owner = await connection.scalar(
            select(outbox.c.owner).where(outbox.c.status.in_(("claimed", "sending")), outbox.c.owner.is_not(None)).limit(1)
        ) or await connection.scalar(
            select(outbox.c.owner).where(outbox.c.owner.is_not(None)).order_by(outbox.c.sent_at.desc()).limit(1)
        )
    return int(owner.rsplit("-", 2)[1]) if owner else None


async def run_three_instances(db, env: dict, cwd, tg: FakeTelegram, rng: random.Random, kills: int) -> list[int]:
    """Three instances; ``kills`` times, the one sending is SIGKILLed at a random moment while
    messages go out and another started in its place; then all finish the job and stop.
    Returns how many messages had arrived by each kill since the previous one."""
    processes = [await spawn(env, cwd, n) for n in range(3)]
    spawned = 3
    arrived = []
    try:
        for _ in range(kills):
            before = len(tg.sent)
            await tg.wait_for(lambda before=before: len(tg.sent) > before + 5, timeout=60)
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            assert all(p.returncode is None for p in processes), [p.returncode for p in processes]
            pid = await senders_pid(db)
            [victim] = [p for p in processes if p.pid == pid] or processes[:1]
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            arrived.append(len(tg.sent) - before)
            processes[processes.index(victim)] = await spawn(env, cwd, spawned)
            spawned += 1
            if await pending(db) == 0:
                break
        for _ in range(1200):
            if await pending(db) == 0:
                break
            assert all(p.returncode is None for p in processes), [p.returncode for p in processes]
            await asyncio.sleep(0.1)
        assert await pending(db) == 0, "the instances did not finish"
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
    return arrived


async def seed_men(db, addresses: list[int], texts: list[str]) -> None:
    rng = random.Random(18)
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        for address in addresses:
            await participants.create(connection, "telegram", str(address), rng.choice(["nl", "ar", "so", "en"]), now)
        for text in texts:
            await broadcasts.create(
                connection, created_by="cli", audience_keys=("all",), texts={"nl": text, "ar": text},
                invite_series_id=None, areas=(), now=now,
            )


def assert_within_limits(tg: FakeTelegram, rate: int) -> None:
    """What the server saw: no 429, never more than ``rate`` requests in a sliding second, never
    two to one chat within a second (the stand-in's own timer tolerance aside)."""
    assert tg.too_many_requests == 0
    assert tg.busiest_second() <= rate, tg.busiest_second()
    assert tg.closest_to_one_chat() >= 1.0 - PER_CHAT_TOLERANCE, tg.closest_to_one_chat()
    assert tg.violations == []


async def test_three_instances_broadcast_to_2000_men_once_each_within_the_limits_while_the_sender_is_killed(
    postgres_url, tmp_path
):
    """The issue's test. At 100 a second rather than 30 (the limits asserted are 100's), so that
    it takes seconds, not minutes; the next test keeps Telegram's own 30 a second."""
    rate = 100
    addresses = [100_000 + n for n in range(2000)]
    db = Database(postgres_url)
    await db.upgrade()
    try:
        await seed_men(db, addresses, ["Uitnodiging"])
        async with FakeTelegram(rate_limits=True, per_second=rate) as tg:
            env = service_env(Settings(database_url=postgres_url, secret_key=SECRET), tg,
                              MEEDOEN_TELEGRAM_RATE=str(rate))
            arrived = await run_three_instances(db, env, tmp_path, tg, random.Random(2000), kills=4)
            states = await statuses(db)
            uncertain = check_exactly_once(tg, addresses, states)
            assert_within_limits(tg, rate)
        assert len(arrived) >= 3, "the sender was hardly ever killed while sending"
        assert uncertain <= len(arrived) * GROUP_SIZE  # per kill, at most one group in flight
        print(f"\n{len(arrived)} kills of the sender: uncertain {uncertain}, busiest second {tg.busiest_second()}")
    finally:
        await db.close()


async def test_three_instances_keep_telegrams_own_30_a_second_and_a_second_per_chat(postgres_url, tmp_path):
    """The default pace (``MEEDOEN_TELEGRAM_RATE`` unset: 30), two broadcasts to each man, so
    that the per-chat second is at stake too, across a takeover."""
    addresses = [300_000 + n for n in range(120)]
    texts = ["Eerste bericht", "Tweede bericht"]
    db = Database(postgres_url)
    await db.upgrade()
    try:
        await seed_men(db, addresses, texts)
        async with FakeTelegram(rate_limits=True) as tg:
            env = service_env(Settings(database_url=postgres_url, secret_key=SECRET), tg)
            assert "MEEDOEN_TELEGRAM_RATE" not in env
            arrived = await run_three_instances(db, env, tmp_path, tg, random.Random(30), kills=2)
            assert_within_limits(tg, 30)
            for address in addresses:
                got = [message["text"] for message in tg.messages_to(address)]
                assert all(got.count(text) <= 1 for text in texts), (address, got)
        assert len(arrived) == 2
    finally:
        await db.close()


def test_the_stand_ins_windows_count_what_it_saw():
    """``busiest_second`` and ``closest_to_one_chat`` (which the tests above trust) on requests
    with known arrival times."""
    from tests.fakes.telegram_api import Call

    tg = FakeTelegram()
    tg.calls = [Call("sendMessage", {"chat_id": chat}, t) for chat, t in
                [(1, 0.0), (2, 0.5), (3, 0.99), (1, 1.0), (2, 1.2), (4, 1.3)]]
    assert tg.busiest_second() == 5  # 0.5 to 1.3 (at 1.0, the one at 0.0 has left)
    assert tg.closest_to_one_chat() == pytest.approx(0.7)  # chat 2: 0.5 then 1.2
