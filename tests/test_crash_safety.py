"""A real ``meedoen run`` process, killed with SIGKILL at random moments while reminders or a
broadcast go out, then restarted: every man gets exactly one copy, counted at the local Bot
API server. The only exception is the documented one (see ``bot.delivery.outbox``): a message whose
HTTP request was in flight at the kill is marked ``uncertain`` and not resent, so it arrives
at most once. Nobody ever gets two."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.delivery.outbox import GROUP_SIZE
from bot.domain import broadcasts
from bot.store import participants
from bot.store import series as series_store
from bot.store.schema import outbox
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import free_port
from tests.test_delivery import one_broadcast

UTC = UTC
KILLS = 4


def service_env(settings, tg: FakeTelegram, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env.update(
        MEEDOEN_DATABASE_URL=settings.database_url,
        MEEDOEN_SECRET_KEY=settings.secret_key,
        MEEDOEN_HTTP_PORT=str(free_port()),
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE_URL=tg.base_url,
        **extra,
    )
    return env


async def spawn(env: dict, cwd) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


async def pending(db) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(
            select(func.count()).where(outbox.c.status.in_(("pending", "claimed", "sending")))
        )


async def statuses(db) -> dict[str, str]:
    async with db.transaction() as connection:
        return dict((await connection.execute(select(outbox.c.address, outbox.c.status))).all())


async def kill_and_restart(db, env, cwd, tg, rng: random.Random, first_delivery_timeout=30.0) -> list[int]:
    """Run the service, SIGKILL it ``KILLS`` times at random moments while messages are going
    out, then let a last run finish the job. Returns how many messages each kill cut short."""
    kills = []
    for _ in range(KILLS):
        process = await spawn(env, cwd)
        before = len(tg.sent)
        await tg.wait_for(lambda before=before, process=process: len(tg.sent) > before or process.returncode is not None, timeout=first_delivery_timeout)
        assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        await process.wait()
        kills.append(len(tg.sent) - before)
        if await pending(db) == 0:
            break
    process = await spawn(env, cwd)
    try:
        for _ in range(600):
            if await pending(db) == 0:
                break
            await asyncio.sleep(0.1)
        assert await pending(db) == 0, "the last run did not finish"
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    return kills


def check_exactly_once(tg: FakeTelegram, addresses: list[int], states: dict[str, str]) -> int:
    """Every man exactly once, except uncertain ones at most once; returns the uncertain count."""
    uncertain = 0
    for address in addresses:
        copies = tg.count_to(address)
        if states[str(address)] == "uncertain":
            uncertain += 1
            assert copies <= 1, f"{address} got {copies} copies"
        else:
            assert copies == 1, f"{address} got {copies} copies (state {states[str(address)]})"
    return uncertain


async def test_sigkill_during_a_2000_recipient_broadcast(settings, db, tmp_path):
    rng = random.Random(20261121)
    addresses = [100_000 + n for n in range(2000)]
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        for address in addresses:
            await participants.create(connection, "telegram", str(address), rng.choice(["nl", "ar", "so", "en"]), now)
        await broadcasts.create(
            connection, created_by="cli", audience_keys=("all",), texts={"nl": "Uitnodiging", "ar": "دعوة"},
            invite_series_id=None, areas=(), now=now,
        )
    async with FakeTelegram() as tg:
        env = service_env(settings, tg, MEEDOEN_TELEGRAM_RATE="100000")
        kills = await kill_and_restart(db, env, tmp_path, tg, rng)
        states = await statuses(db)
        uncertain = check_exactly_once(tg, addresses, states)
        assert tg.violations == []
    assert len(kills) >= 2, "the service was never killed while sending"
    assert uncertain <= len(kills) * GROUP_SIZE  # at most one group claimed and unrecorded per kill
    assert sum(1 for a in addresses if tg.count_to(a) == 1) >= len(addresses) - uncertain


async def test_sigkill_while_reminders_go_out(settings, db, tmp_path):
    rng = random.Random(3)
    addresses = [200_000 + n for n in range(600)]
    now = datetime.now(UTC)
    start = (now + timedelta(minutes=40)).astimezone(timezone(timedelta(hours=1)))
    new = series_store.NewSeries("Mannen in gesprek", start.weekday(), start.time().replace(second=0, microsecond=0, tzinfo=None),
                                 start.date(), 1, 1000, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", now)
        for address in addresses:
            pid = await participants.create(connection, "telegram", str(address), rng.choice(["nl", "ar", "so", "en"]), now)
            await series_store.sign_up(connection, pid, series_id, waitlist=False, now=now)
        [meeting] = await series_store.meeting_rows(connection, series_id)
    assert meeting.starts_at > now  # the 1 h reminder is due at once, its meeting still ahead
    async with FakeTelegram() as tg:
        env = service_env(settings, tg, MEEDOEN_TELEGRAM_RATE="200", MEEDOEN_REMINDERS="1h")
        kills = await kill_and_restart(db, env, tmp_path, tg, rng)
        states = await statuses(db)
        uncertain = check_exactly_once(tg, addresses, states)
        assert tg.violations == []
    assert len(kills) >= 2
    assert uncertain <= len(kills) * 64
    assert date.today()  # the test ran against the real clock


async def test_sigkills_at_telegrams_pace_lose_only_messages_whose_request_had_started(settings, db, tmp_path):
    """At 30 a second a message waits for its send slot most of the time; that wait is
    ``claimed``, not ``sending``, so a kill then puts it back in line. Lost (never arrived) is
    then at most the requests that had started at a kill: the ``uncertain`` rows."""
    rng = random.Random(30)
    addresses = [500_000 + n for n in range(200)]
    await one_broadcast(db, addresses)
    async with FakeTelegram() as tg:
        env = service_env(settings, tg, MEEDOEN_TELEGRAM_RATE="30")
        kills = []
        for _ in range(8):
            process = await spawn(env, tmp_path)
            before = len(tg.sent)
            await tg.wait_for(lambda before=before, process=process: len(tg.sent) > before or process.returncode is not None, timeout=30)
            assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            kills.append(len(tg.sent) - before)
        process = await spawn(env, tmp_path)
        try:
            for _ in range(600):
                if await pending(db) == 0:
                    break
                await asyncio.sleep(0.1)
            assert await pending(db) == 0, "the last run did not finish"
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        states = await statuses(db)
        copies = {address: tg.count_to(address) for address in addresses}
        assert tg.violations == []
    doubled = [a for a, n in copies.items() if n > 1]
    lost = [a for a, n in copies.items() if n == 0]
    started = [a for a in addresses if states[str(a)] == "uncertain"]
    print(
        f"\n{len(kills)} kills at 30/s: doubled {len(doubled)}, lost {len(lost)}, "
        f"uncertain (request started) {len(started)}, of which arrived {len(started) - len(lost)}"
    )
    assert doubled == []
    assert set(lost) <= set(started)  # only a message whose request had started can be lost
    # ... and its request had really started: a kill must fall in the instant between the
    # ``sending`` commit and the request reaching the server. When ``sending`` was committed
    # while the message still waited for its slot, a run of this test lost 4 in 8 kills
    # (10 uncertain, 6 of them arrived); since, 0 lost in every run.
    assert len(lost) <= len(kills) // 4
    assert all(states[str(a)] == "sent" for a in addresses if a not in started)


async def test_a_message_awaiting_its_retry_is_not_uncertain_after_a_kill(settings, db, tmp_path):
    addresses = [600_000 + n for n in range(5)]
    await one_broadcast(db, addresses)
    async with FakeTelegram() as tg:
        tg.fail_next(len(addresses), 502, method="sendMessage")
        env = service_env(settings, tg)
        process = await spawn(env, tmp_path)
        await tg.wait_for(
            lambda: sum(call.method == "sendMessage" for call in tg.rejected) == len(addresses), timeout=30
        )
        for _ in range(100):  # the failures are recorded: every row waits for its retry
            if set((await statuses(db)).values()) == {"pending"}:
                break
            await asyncio.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert set((await statuses(db)).values()) == {"pending"}
        process = await spawn(env, tmp_path)
        try:
            await tg.wait_for(lambda: all(tg.count_to(a) == 1 for a in addresses), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        assert tg.violations == []
    assert set((await statuses(db)).values()) == {"sent"}
