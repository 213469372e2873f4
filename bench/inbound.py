"""Inbound sign-ups: ``--size`` simulated men (1,000) all start signing up at the same moment
through the Telegram webhook, full stack with SQLite; then, in the same run and against the
same server process, a bare python-telegram-bot echo bot takes the same number of updates.

Three processes: the local Bot API server with the simulated men (``bench.fake_server``),
the bot (``bench.bot_process``: the real ``Service`` and HTTP app, webhook mode) and, in the
second phase, the echo bot (``bench.echo_bot``). Each man goes through the sign-up of
tests/test_telegram_signup.py: /start, language, consent, name, series, area; six updates,
each sent when the answer to the previous one has arrived (as a person would, without
thinking time). Updates reach the webhook over at most 40 connections, like Telegram's
default ``max_connections``. The echo bot's men send six texts each and wait for each echo.

Figures:
- updates/s: all sign-up updates divided by the time from the first to the last answer;
- handling: per update, from the moment the engine starts on it until its transaction has
  committed and its answer is queued (bot-side clock), including the wait for SQLite's
  single writer; reported with the engine's own transaction time (the writer held), the
  time the update waited before the engine (in PTB's queue, and for the previous update of
  the same chat) and the whole webhook-to-answer latency;
- ratio: Meedoen's updates/s over the echo bot's.

Targets: >= 300 updates/s; handling p99 <= 100 ms.

    python -m bench.inbound [--size 1000]
"""

from __future__ import annotations

import argparse
import asyncio

from bench.common import (
    Child,
    fake_server,
    free_port,
    ms,
    percentile,
    print_machine,
    sqlite_url,
    summary,
    temp_dir,
)

STEPS = 6  # updates in one sign-up
STEP_TIMEOUT = 600.0  # seconds a simulated man waits for an answer before he gives up


async def meedoen_phase(server: Child, size: int, database_url: str, first_user: int) -> dict:
    port = free_port()
    series = max(1, min(10, size // 10))
    capacity = size // series + 10
    bot = Child(
        "bench.bot_process",
        "--base-url", server.ready["base_url"], "--token", server.ready["token"],
        "--port", str(port), "--database-url", database_url,
        "--series", str(series), "--capacity", str(capacity),
    )
    async with bot:
        await server.request("wait_webhook", url=f"http://127.0.0.1:{port}/telegram")
        users = list(range(first_user, first_user + size))
        before = await bot.request("stats")
        result = await server.request(
            "signups", users=users, series_ids=bot.ready["series_ids"], step_timeout=STEP_TIMEOUT, timeout=3600
        )
        after = await bot.request("stats")
    handled = after["handled"]
    wall = after["t"] - before["t"]
    return {
        "result": result,
        "handling": [end - start for _received, start, end in handled],
        "waiting": [start - received for received, start, _end in handled],
        "webhook": after["webhook"],
        "held": after["held"],
        "bot_cpu_share": (after["cpu_s"] - before["cpu_s"]) / wall,
        "server_cpu_share": result["server_cpu_s"] / result["elapsed"],
        "bot_peak_rss_mb": after["peak_rss_mb"],
    }


async def echo_phase(server: Child, size: int, first_user: int, http: str = "httpx") -> dict:
    port = free_port()
    echo = Child(
        "bench.echo_bot", "--base-url", server.ready["base_url"], "--token", server.ready["token"],
        "--port", str(port), "--http", http,
    )
    async with echo:
        await server.request("wait_webhook", url=f"http://127.0.0.1:{port}/telegram")
        before = await echo.request("stats")
        users = list(range(first_user, first_user + size))
        result = await server.request("echo", users=users, messages=STEPS, step_timeout=STEP_TIMEOUT, timeout=3600)
        after = await echo.request("stats")
    wall = after["t"] - before["t"]
    return {
        "result": result,
        "handling": [end - start for start, end in after["handled"]],
        "bot_cpu_share": (after["cpu_s"] - before["cpu_s"]) / wall,
        "server_cpu_share": result["server_cpu_s"] / result["elapsed"],
    }


async def measure(size: int, echo: bool = True, echo_http: str = "httpx") -> dict:
    with temp_dir() as directory:
        async with fake_server() as server:
            meedoen = await meedoen_phase(server, size, sqlite_url(directory), 10_000_001)
            await server.request("forget")
            bare = await echo_phase(server, size, 20_000_001, echo_http) if echo else None
    signups = meedoen["result"]
    rate = signups["updates"] / signups["elapsed"]
    figures = {
        "users": size,
        "completed": signups["completed"],
        "updates": signups["updates"],
        "seconds": round(signups["elapsed"], 2),
        "updates_per_s": round(rate, 1),
        "handling_p50_ms": ms(percentile(meedoen["handling"], 50)),
        "handling_p99_ms": ms(percentile(meedoen["handling"], 99)),
        "transaction_p50_ms": ms(percentile(meedoen["held"], 50)),
        "transaction_p99_ms": ms(percentile(meedoen["held"], 99)),
        "wait_p50_ms": ms(percentile(meedoen["waiting"], 50)),
        "wait_p99_ms": ms(percentile(meedoen["waiting"], 99)),
        "reply_p50_ms": ms(percentile(signups["latencies"], 50)),
        "reply_p99_ms": ms(percentile(signups["latencies"], 99)),
        "webhook_p99_ms": ms(percentile(meedoen["webhook"], 99)),
        "bot_cpu_share": round(meedoen["bot_cpu_share"], 2),
        "server_cpu_share": round(meedoen["server_cpu_share"], 2),
        "bot_peak_rss_mb": meedoen["bot_peak_rss_mb"],
    }
    print(f"{size} men signing up at once: {signups['completed']} completed ({signups['failed']} stuck), "
          f"{signups['updates']} updates in {signups['elapsed']:.2f} s = {rate:.0f} updates/s; "
          f"{signups['calls']} Bot API calls, {signups['messages']} messages")
    print(f"  handling (engine start to commit): p50 {figures['handling_p50_ms']} ms, p99 {figures['handling_p99_ms']} ms; "
          f"of which the engine's own transaction (holding SQLite's single writer): "
          f"p50 {figures['transaction_p50_ms']} ms, p99 {figures['transaction_p99_ms']} ms")
    print(f"  waiting before the engine (PTB queue, same-chat order): p50 {figures['wait_p50_ms']} ms, p99 {figures['wait_p99_ms']} ms")
    print(f"  update to answer at the server: p50 {figures['reply_p50_ms']} ms, p99 {figures['reply_p99_ms']} ms; "
          f"webhook answered in p99 {figures['webhook_p99_ms']} ms")
    print(f"  bot CPU {figures['bot_cpu_share']:.0%} of a core, server+men CPU {figures['server_cpu_share']:.0%}; "
          f"bot peak memory {figures['bot_peak_rss_mb']} MB")
    if signups["failed"]:
        print(f"  stuck at steps: {signups['failed_steps']}")
    if bare is not None:
        echo_result = bare["result"]
        echo_rate = echo_result["updates"] / echo_result["elapsed"]
        figures.update(
            {
                "echo_updates_per_s": round(echo_rate, 1),
                "echo_handling_p99_ms": ms(percentile(bare["handling"], 99)),
                "echo_reply_p99_ms": ms(percentile(echo_result["latencies"], 99)),
                "echo_bot_cpu_share": round(bare["bot_cpu_share"], 2),
                "ratio_to_echo": round(rate / echo_rate, 2),
            }
        )
        print(f"bare PTB echo bot ({echo_http}), same server: {echo_result['updates']} updates in {echo_result['elapsed']:.2f} s "
              f"= {echo_rate:.0f} updates/s; answer p99 {figures['echo_reply_p99_ms']} ms; "
              f"bot CPU {figures['echo_bot_cpu_share']:.0%}")
        print(f"  Meedoen / echo bot = {figures['ratio_to_echo']}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="men signing up at once (default 1000)")
    parser.add_argument("--no-echo", action="store_true", help="skip the echo bot phase")
    parser.add_argument(
        "--echo-http", choices=("httpx", "aiohttp"), default="httpx",
        help="the echo bot's request backend: PTB's default (httpx, the default here) or Meedoen's (aiohttp)",
    )
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, echo=not args.no_echo, echo_http=args.echo_http))
    summary(
        "inbound",
        **figures,
        target_met=figures["updates_per_s"] >= 300 and figures["handling_p99_ms"] <= 100,
    )
    return figures


if __name__ == "__main__":
    main()
