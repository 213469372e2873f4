"""``systemctl stop``, ``systemctl restart`` (at every upgrade) and ``docker stop`` end
``meedoen run`` with SIGTERM. That must be a clean stop, not a crash: the outbox senders finish
the requests under way and record them, so nothing is left ``sending`` (which the next start
would have to mark ``uncertain`` and never send), and the process exits 0."""

from __future__ import annotations

import asyncio
import signal

from tests.fakes.telegram_api import FakeTelegram
from tests.test_crash_safety import pending, service_env, spawn, statuses
from tests.test_delivery import one_broadcast


async def stop_with(process: asyncio.subprocess.Process, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    returncode = await asyncio.wait_for(process.wait(), timeout=60)
    return returncode, (await process.stderr.read()).decode()


async def test_sigterm_during_a_broadcast_is_a_clean_stop(settings, db, tmp_path):
    addresses = [300_000 + n for n in range(400)]
    await one_broadcast(db, addresses)
    async with FakeTelegram() as tg:
        env = service_env(settings, tg, MEEDOEN_TELEGRAM_RATE="400")
        process = await spawn(env, tmp_path)
        await tg.wait_for(lambda: len(tg.sent) >= 40 or process.returncode is not None, timeout=60)
        assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]

        returncode, log = await stop_with(process, signal.SIGTERM)
        assert returncode == 0, log[-2000:]
        assert "service: stopped" in log
        assert "sending" not in (await statuses(db)).values()
        assert len(tg.sent) < len(addresses), "the broadcast was over before the stop; nothing was tested"

        # Started again, it finishes the broadcast: everyone exactly once, nobody uncertain.
        process = await spawn(env, tmp_path)
        try:
            for _ in range(600):
                if await pending(db) == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            returncode, log = await stop_with(process, signal.SIGTERM)
        assert returncode == 0, log[-2000:]
        states = await statuses(db)
        assert "uncertain" not in states.values() and "uncertain" not in log
        wrong = {a: (tg.count_to(a), states[str(a)]) for a in addresses if tg.count_to(a) != 1}
        assert wrong == {}
