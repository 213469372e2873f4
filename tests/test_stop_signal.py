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


async def test_a_stop_signal_while_the_service_starts_lets_the_start_finish_then_stops(
    settings, db, monkeypatch
):
    """``systemctl stop`` can come while the service is still starting (connecting to the
    platforms, the senders already draining the outbox). It used to meet the default handler
    and end the process there, leaving the messages in flight ``sending``; now the start ends,
    nothing is served, and the service stops as it does after serving."""
    import dataclasses
    import os

    from bot.app import cli
    from bot.app.service import Service

    calls: list[str] = []

    async def starting(self) -> None:
        calls.append("start")
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the start is under way
        await asyncio.sleep(0)
        calls.append("started")

    async def stopping(self) -> None:
        calls.append("stop")

    async def serving(*args, **kwargs) -> None:
        calls.append("serve")

    monkeypatch.setattr(Service, "start", starting)
    monkeypatch.setattr(Service, "stop", stopping)
    monkeypatch.setattr(cli, "_serve", serving)
    settings = dataclasses.replace(settings, http_port=cli_free_port(), telegram_bot_token="123:not-used")
    await cli.run(None, settings)
    assert calls == ["start", "started", "stop"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the default is back for what follows


def cli_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signal_while_the_app_is_built(monkeypatch, signum: int) -> list[str]:
    """The service's start and stop stand in by noting themselves, and building the HTTP app
    sends ``signum`` to this process: the window after the start, before uvicorn's own
    handlers are in place. Returns the list the steps are noted in."""
    import os

    from bot.app import http
    from bot.app.service import Service

    calls: list[str] = []
    build_app = http.build_app

    async def starting(self) -> None:
        calls.append("start")

    async def stopping(self) -> None:
        calls.append("stop")

    def building(*args, **kwargs):
        calls.append("build")
        os.kill(os.getpid(), signum)
        return build_app(*args, **kwargs)

    monkeypatch.setattr(Service, "start", starting)
    monkeypatch.setattr(Service, "stop", stopping)
    monkeypatch.setattr(http, "build_app", building)
    return calls


async def test_a_stop_signal_while_the_app_is_built_stops_the_serving_that_follows(settings, db, monkeypatch):
    """The window after the start and before uvicorn's own handlers are in place (building
    the app, importing uvicorn): a signal then was noted and forgotten, and the process
    served on for ever (a benchmark's and a test's instance never ended). Now serving stops
    at once and the service stops as after any signal."""
    import dataclasses

    from bot.app import cli

    calls = signal_while_the_app_is_built(monkeypatch, signal.SIGTERM)
    settings = dataclasses.replace(settings, http_port=cli_free_port(), telegram_bot_token="123:not-used")
    await asyncio.wait_for(cli.run(None, settings), timeout=30)
    assert calls == ["start", "build", "stop"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def test_the_demo_stops_on_a_signal_while_its_page_is_built(settings, db, monkeypatch, tmp_path):
    """The same window in `meedoen demo`: Ctrl+C just as the demo came up used to leave it
    serving until a second one."""
    import argparse

    from bot.app import cli, demo

    calls = signal_while_the_app_is_built(monkeypatch, signal.SIGINT)

    async def seeding(service) -> None:
        calls.append("seed")

    monkeypatch.setattr(demo, "seed", seeding)
    args = argparse.Namespace(database=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", port=cli_free_port())
    before = signal.getsignal(signal.SIGINT)
    await asyncio.wait_for(cli.demo(args, settings), timeout=30)
    assert calls == ["start", "seed", "build", "stop"]
    assert signal.getsignal(signal.SIGINT) == before
