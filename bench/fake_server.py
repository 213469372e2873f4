"""The local Bot API server for benchmarks, in a process of its own, with simulated users.

Runs ``tests.fakes.telegram_api.FakeTelegram`` (every request validated against the Bot API
spec, as in the tests) and answers JSON-line commands on stdin (see ``bench.common.Child``):

- ``stats``: calls, messages, 429s, violations, and this process's CPU seconds and memory;
- ``arrivals``: the ``time.monotonic()`` of every message sent so far (the clock is the
  system's, so it compares with the bot process's);
- ``chatter``: simulated men who write to the bot (webhook), wait for the answer, think, and
  write again, for ``duration`` seconds; answers with each reply's latency;
- ``signups``: simulated men who all sign up at once, each step waiting for the bot's answer;
- ``echo``: simulated users who each send ``messages`` texts and wait for each echo;
- ``spread``: deliver the webhook's updates round-robin to several ports (``N`` instances behind
  one webhook URL: this plays the load balancer).

Webhook deliveries go through a pool of ``max_connections`` keep-alive connections (40, as
Telegram's default), over a lean HTTP client, so that the simulation costs this process little.
Spread over several instances, at most ``max_connections`` are in flight in all, as Telegram
keeps to for the one URL.

    python -m bench.fake_server [--rate-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlparse

from bench.common import HttpPool, answer, percentile, process_figures, serve_commands
from tests.fakes.telegram_api import FakeTelegram

STEP_TIMEOUT = 30.0  # seconds a simulated man waits for an answer before giving up


class BenchTelegram(FakeTelegram):
    """``FakeTelegram`` plus: per-chat arrival times and waiters (no O(users) wake-ups), and
    webhook deliveries over a small keep-alive pool."""

    def __init__(self, *args: Any, max_connections: int = 40, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.all_arrivals: list[float] = []
        self._arrived: dict[int, asyncio.Event] = {}
        self._pool: HttpPool | None = None
        self._pool_url: str | None = None
        self.webhook_times: list[float] = []  # seconds each webhook POST took to be answered
        self.webhook_errors = 0
        self._spread: list[HttpPool] = []  # one pool per instance behind the webhook URL
        self._spread_gate = asyncio.Semaphore(max_connections)
        self._next_instance = 0

    def spread(self, ports: list[int]) -> None:
        """Deliver to these ports in turn, on the webhook URL's path (a round-robin load
        balancer in front of ``len(ports)`` instances)."""
        for pool in self._spread:
            pool.close()
        self._spread = [HttpPool(port, self.max_connections) for port in ports]
        self._next_instance = 0

    async def _post(self, url, body: bytes, headers: dict[str, str]) -> int:
        if not self._spread:
            if self._pool is None or self._pool_url != self._webhook["url"]:
                if self._pool is not None:
                    self._pool.close()
                self._pool = HttpPool(url.port, self.max_connections)
                self._pool_url = self._webhook["url"]
            status, _body = await self._pool.request("POST", url.path or "/", body, headers)
            return status
        pool = self._spread[self._next_instance]
        self._next_instance = (self._next_instance + 1) % len(self._spread)
        async with self._spread_gate:
            status, _body = await pool.request("POST", url.path or "/", body, headers)
        return status

    def _record(self, message: dict[str, Any], method: str) -> dict[str, Any]:
        recorded = super()._record(message, method)
        now = time.monotonic()
        chat_id = message["chat"]["id"]
        self.arrivals[chat_id].append(now)
        self.all_arrivals.append(now)
        event = self._arrived.get(chat_id)
        if event is not None:
            event.set()
        return recorded

    async def wait_count(self, chat_id: int, count: int, timeout: float = STEP_TIMEOUT) -> bool:
        """Wait until ``chat_id`` has received more than ``count`` messages."""
        deadline = time.monotonic() + timeout
        event = self._arrived.setdefault(chat_id, asyncio.Event())
        while self.count_to(chat_id) <= count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def deliver_raw(self, update: dict[str, Any]) -> int | None:
        if self._webhook is None:
            return await super().deliver_raw(update)
        self._update_id = max(self._update_id, update.get("update_id", 0))
        query = update.get("callback_query")
        if query is not None:
            self._open_queries.add(query["id"])
        url = urlparse(self._webhook["url"])
        headers = {"Content-Type": "application/json"}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
        started = time.monotonic()
        status = await self._post(url, json.dumps(update, ensure_ascii=False).encode(), headers)
        self.webhook_times.append(time.monotonic() - started)
        if status != 200:
            self.webhook_errors += 1
        return status

    async def stop(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.spread([])
        await super().stop()


# --- simulated men --------------------------------------------------------------------------------


def newest_with_key(tg: BenchTelegram, chat_id: int, prefix: str) -> tuple[dict, str] | None:
    """The newest message to ``chat_id`` with a button whose option key starts with
    ``prefix``, and that button's callback data."""
    for message in reversed(tg.messages_to(chat_id)):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                data = button.get("callback_data", "")
                if data.split("|")[1:2] and data.split("|")[1].startswith(prefix):
                    return message, data
    return None


async def step(
    tg: BenchTelegram, chat_id: int, action, wait_key: str | None, timeout: float = STEP_TIMEOUT
) -> tuple[float, bool]:
    """Do ``action`` and wait for the answer (a message with a ``wait_key`` button when
    given); returns (seconds to the first answer, whether the awaited answer came)."""
    before = tg.count_to(chat_id)
    started = time.monotonic()
    await action()
    if not await tg.wait_count(chat_id, before, timeout):
        return time.monotonic() - started, False
    first = tg.arrivals[chat_id][before] - started
    if wait_key is None:
        return first, True
    deadline = time.monotonic() + timeout
    while True:
        messages = tg.messages_to(chat_id)[before:]
        if any(newest_with_key_in(m, wait_key) for m in messages):
            return first, True
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await tg.wait_count(chat_id, before + len(messages), remaining):
            return first, False


def newest_with_key_in(message: dict, prefix: str) -> bool:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(
        button.get("callback_data", "").split("|")[1:2]
        and button["callback_data"].split("|")[1].startswith(prefix)
        for row in rows
        for button in row
    )


async def tap(tg: BenchTelegram, chat_id: int, prefix: str) -> None:
    found = newest_with_key(tg, chat_id, prefix)
    if found is None:
        raise LookupError(f"no button {prefix!r} for chat {chat_id}")
    message, data = found
    await tg.press(chat_id, message, data)


async def sign_up(
    tg: BenchTelegram, chat_id: int, language: str, series_key: str, rng: random.Random, timeout: float
) -> dict:
    """One man's sign-up, as in tests/test_telegram_signup.py; returns his step latencies."""
    latencies: list[float] = []
    steps = [
        (lambda: tg.send_command(chat_id, "/start"), "lang:"),
        (lambda: tap(tg, chat_id, f"lang:{language}"), "yes"),
        (lambda: tap(tg, chat_id, "yes"), "skip"),
        (lambda: tg.send_text(chat_id, f"Man{chat_id % 1000}"), "s:"),
        (lambda: tap(tg, chat_id, series_key), "a:"),
        (lambda: tap(tg, chat_id, f"a:{rng.randrange(4)}"), None),
    ]
    for number, (action, wait_key) in enumerate(steps, start=1):
        try:
            latency, ok = await step(tg, chat_id, action, wait_key, timeout)
        except LookupError:
            return {"latencies": latencies, "done": False, "failed_at": number}
        latencies.append(latency)
        if not ok:
            return {"latencies": latencies, "done": False, "failed_at": number}
    return {"latencies": latencies, "done": True, "failed_at": None}


async def run_signups(tg: BenchTelegram, params: dict) -> dict:
    users: list[int] = params["users"]
    series_ids: list[int] = params["series_ids"]
    languages = ("nl", "ar", "so", "en")
    rng = random.Random(7)
    for chat_id in users:
        tg.add_user(chat_id, first_name=f"Man{chat_id}", language_code=languages[chat_id % 4])
    calls_before, sent_before = len(tg.calls), len(tg.sent)
    cpu_before = process_figures()
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            sign_up(tg, chat_id, languages[chat_id % 4], f"s:{series_ids[i % len(series_ids)]}", rng,
                    params.get("step_timeout", STEP_TIMEOUT))
            for i, chat_id in enumerate(users)
        )
    )
    elapsed = time.monotonic() - started
    after = process_figures()
    latencies = [latency for result in results for latency in result["latencies"]]
    failed = [result["failed_at"] for result in results if not result["done"]]
    return {
        "elapsed": elapsed,
        "started": started,
        "updates": len(latencies),
        "completed": sum(result["done"] for result in results),
        "failed_steps": failed[:20],
        "failed": len(failed),
        "latencies": latencies,
        "calls": len(tg.calls) - calls_before,
        "messages": len(tg.sent) - sent_before,
        "server_cpu_s": after["cpu_s"] - cpu_before["cpu_s"],
        "webhook_p99": percentile(tg.webhook_times[-len(latencies):], 99),
        "webhook_errors": tg.webhook_errors,
    }


async def run_echo(tg: BenchTelegram, params: dict) -> dict:
    users: list[int] = params["users"]
    count: int = params["messages"]
    for chat_id in users:
        tg.add_user(chat_id, first_name=f"Echo{chat_id}")

    async def one(chat_id: int) -> list[float]:
        latencies = []
        for number in range(count):
            latency, ok = await step(
                tg, chat_id, lambda number=number: tg.send_text(chat_id, f"hello {number}"), None,
                params.get("step_timeout", STEP_TIMEOUT),
            )
            if not ok:
                break
            latencies.append(latency)
        return latencies

    cpu_before = process_figures()
    started = time.monotonic()
    results = await asyncio.gather(*(one(chat_id) for chat_id in users))
    elapsed = time.monotonic() - started
    after = process_figures()
    latencies = [latency for result in results for latency in result]
    return {
        "elapsed": elapsed,
        "updates": len(latencies),
        "latencies": latencies,
        "server_cpu_s": after["cpu_s"] - cpu_before["cpu_s"],
    }


class Chatter:
    """Men who write to the bot while something else goes on, and time each reply."""

    def __init__(self, tg: BenchTelegram) -> None:
        self.tg = tg
        self.task: asyncio.Task | None = None
        self.latencies: list[float] = []
        self.held: list[bool] = []  # his chat had a message less than a second before he wrote
        self.missed = 0
        self.writes: list[float] = []

    async def run(self, users: list[int], duration: float, think: tuple[float, float], texts: list[str]) -> None:
        rng = random.Random(11)
        deadline = time.monotonic() + duration

        async def one(chat_id: int) -> None:
            self.tg.add_user(chat_id, first_name=f"Man{chat_id}", language_code="nl")
            await asyncio.sleep(rng.uniform(0, think[1]))  # not all at the same instant
            while time.monotonic() < deadline:
                text = rng.choice(texts)
                now = time.monotonic()
                self.writes.append(now)
                previous = self.tg.arrivals[chat_id][-1] if self.tg.arrivals[chat_id] else 0.0
                held = now - previous < self.tg.per_chat_interval
                latency, ok = await step(self.tg, chat_id, lambda text=text: self.tg.send_text(chat_id, text), None)
                if ok:
                    self.latencies.append(latency)
                    self.held.append(held)
                else:
                    self.missed += 1
                # Let the rest of a multi-message answer arrive, then think and write again.
                await asyncio.sleep(rng.uniform(*think))

        await asyncio.gather(*(one(chat_id) for chat_id in users))

    def start(self, params: dict) -> None:
        self.latencies, self.held, self.missed, self.writes = [], [], 0, []
        self.task = asyncio.create_task(
            self.run(params["users"], params["duration"], tuple(params.get("think", (1.0, 3.0))), params.get("texts", ["hallo"]))
        )

    async def result(self) -> dict:
        if self.task is not None:
            await self.task
        return {"latencies": self.latencies, "held": self.held, "missed": self.missed, "writes": len(self.writes)}


# --- the process -----------------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> None:
    async with BenchTelegram(
        args.token,
        port=args.port,
        rate_limits=args.rate_limits,
        per_second=args.per_second,
        per_chat_interval=args.per_chat_interval,
    ) as tg:
        chatter = Chatter(tg)

        async def stats(params: dict) -> dict:
            methods: dict[str, int] = defaultdict(int)
            for call in tg.calls:
                methods[call.method] += 1
            return {
                **process_figures(),
                "calls": len(tg.calls),
                "sent": len(tg.sent),
                "rejected": len(tg.rejected),
                "too_many_requests": tg.too_many_requests,
                "violations": tg.violations[:5],
                "violation_count": len(tg.violations),
                "methods": dict(methods),
                "webhook": tg._webhook is not None,  # noqa: SLF001
            }

        async def arrivals(params: dict) -> dict:
            if params.get("by_chat"):
                return {"times": tg.all_arrivals, "by_chat": {str(k): v for k, v in tg.arrivals.items()}}
            return {"times": tg.all_arrivals}

        async def chatter_start(params: dict) -> dict:
            chatter.start(params)
            return {"ok": True}

        async def chatter_result(params: dict) -> dict:
            return await chatter.result()

        async def signups(params: dict) -> dict:
            return await run_signups(tg, params)

        async def echo(params: dict) -> dict:
            return await run_echo(tg, params)

        async def wait_webhook(params: dict) -> dict:
            deadline = time.monotonic() + params.get("timeout", 30)
            while time.monotonic() < deadline:
                if tg._webhook is not None and tg._webhook.get("url") == params["url"]:  # noqa: SLF001
                    return {"ok": True}
                await asyncio.sleep(0.02)
            return {"error": "the bot did not set its webhook"}

        async def spread(params: dict) -> dict:
            tg.spread(params["ports"])
            return {"ok": True}

        async def forget(params: dict) -> dict:
            """Drop what was recorded (between phases, to keep this process small)."""
            tg.calls.clear()
            tg.sent.clear()
            tg.all_arrivals.clear()
            tg.webhook_times.clear()
            return {"ok": True}

        answer({"base_url": tg.base_url, "port": tg.port, "token": tg.token, "pid": __import__("os").getpid()})
        await serve_commands(
            {
                "stats": stats,
                "arrivals": arrivals,
                "chatter": chatter_start,
                "chatter_result": chatter_result,
                "signups": signups,
                "echo": echo,
                "wait_webhook": wait_webhook,
                "spread": spread,
                "forget": forget,
            }
        )


def main(argv: list[str] | None = None) -> None:
    from bench.common import TOKEN

    parser = argparse.ArgumentParser(prog="python -m bench.fake_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=TOKEN)
    parser.add_argument("--rate-limits", action="store_true")
    parser.add_argument("--per-second", type=int, default=30)
    parser.add_argument("--per-chat-interval", type=float, default=1.0)
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
