"""Inbound sign-ups: ``--size`` simulated men (1,000) all start signing up at the same moment
through the Telegram webhook, full stack on SQLite (or PostgreSQL); then, in the same run and
against the same server process, a bare python-telegram-bot echo bot takes the same number of
updates.

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

With ``--database postgresql`` (issue 18, docs/scaling.md) the benchmark starts a private
PostgreSQL server (``bench.postgres_server``, PostgreSQL's own durability settings), which the
instances reach through its Unix socket, as docs/scaling.md advises for a database on the same
machine (``--connect tcp``: over 127.0.0.1 instead), and
``--instances 1,2,4`` measures that many bot processes in turn, each number on a fresh
database, all behind one webhook URL: the local server hands the updates to them round-robin,
as a load balancer would, 40 connections in all. Figures then also give the CPU per update of
the instances together and of PostgreSQL's processes, the statements per update and the
database connections opened.

Targets: >= 300 updates/s (on PostgreSQL: with 2 instances); handling p99 <= 100 ms.

    python -m bench.inbound [--size 1000] [--database postgresql --instances 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

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
from bench.postgres_server import PostgresServer

STEPS = 6  # updates in one sign-up
STEP_TIMEOUT = 600.0  # seconds a simulated man waits for an answer before he gives up


async def meedoen_phase(
    server: Child, size: int, database_url: str, first_user: int, instances: int = 1,
    postgres: PostgresServer | None = None,
) -> dict:
    """``instances`` bot processes on one database behind one webhook URL (the first's), the
    local server delivering to them in turn; with one, straight to it."""
    ports = [free_port() for _ in range(instances)]
    public_url = f"http://127.0.0.1:{ports[0]}"
    series = max(1, min(10, size // 10))
    capacity = size // series + 10
    bots = [
        Child(
            "bench.bot_process",
            "--base-url", server.ready["base_url"], "--token", server.ready["token"],
            "--port", str(port), "--public-url", public_url, "--database-url", database_url,
            "--series", str(series if number == 0 else 0), "--capacity", str(capacity),
        )
        for number, port in enumerate(ports)
    ]
    async with contextlib.AsyncExitStack() as running:
        for bot in bots:  # one after the other: the first migrates and adds the series
            await running.enter_async_context(bot)
        await server.request("wait_webhook", url=f"{public_url}/telegram")
        await server.request("spread", ports=ports if instances > 1 else [])
        users = list(range(first_user, first_user + size))
        before = [await bot.request("stats") for bot in bots]
        database_cpu = postgres.cpu_seconds() if postgres is not None else 0.0
        result = await server.request(
            "signups", users=users, series_ids=bots[0].ready["series_ids"], step_timeout=STEP_TIMEOUT, timeout=3600
        )
        after = [await bot.request("stats") for bot in bots]
        database_cpu = postgres.cpu_seconds() - database_cpu if postgres is not None else 0.0
        await server.request("spread", ports=[])
    handled = [entry for stats in after for entry in stats["handled"]]
    wall = max(a["t"] for a in after) - min(b["t"] for b in before)
    bot_cpu = sum(a["cpu_s"] - b["cpu_s"] for a, b in zip(after, before, strict=True))
    statements = sum(a["statements"] - b["statements"] for a, b in zip(after, before, strict=True))
    connections = sum(a["connections"] - b["connections"] for a, b in zip(after, before, strict=True))
    return {
        "instances": instances,
        "result": result,
        "handling": [end - start for _received, start, end in handled],
        "waiting": [start - received for received, start, _end in handled],
        "webhook": [seconds for stats in after for seconds in stats["webhook"]],
        "held": [seconds for stats in after for seconds in stats["held"]],
        "bot_cpu_s": bot_cpu,
        "bot_cpu_share": bot_cpu / wall,
        "database_cpu_s": database_cpu,
        "statements": statements,
        "connections": connections,
        "server_cpu_share": result["server_cpu_s"] / result["elapsed"],
        "bot_peak_rss_mb": max(a["peak_rss_mb"] for a in after),
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
        "bot_cpu_s": after["cpu_s"] - before["cpu_s"],
        "bot_cpu_share": (after["cpu_s"] - before["cpu_s"]) / wall,
        "server_cpu_share": result["server_cpu_s"] / result["elapsed"],
    }


def meedoen_figures(meedoen: dict) -> dict:
    signups = meedoen["result"]
    updates = max(1, signups["updates"])
    return {
        "instances": meedoen["instances"],
        "users": signups["completed"] + signups["failed"],
        "completed": signups["completed"],
        "updates": signups["updates"],
        "seconds": round(signups["elapsed"], 2),
        "updates_per_s": round(signups["updates"] / signups["elapsed"], 1),
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
        "bot_cpu_ms_per_update": round(1000 * meedoen["bot_cpu_s"] / updates, 2),
        "database_cpu_ms_per_update": round(1000 * meedoen["database_cpu_s"] / updates, 2),
        "statements_per_update": round(meedoen["statements"] / updates, 1),
        "connections_opened": meedoen["connections"],
        "server_cpu_share": round(meedoen["server_cpu_share"], 2),
        "bot_peak_rss_mb": meedoen["bot_peak_rss_mb"],
    }


def print_meedoen(figures: dict, signups: dict, database: str) -> None:
    instances = figures["instances"]
    where = f"{instances} instance{'s' if instances > 1 else ''} on {database}"
    print(f"{where}: {figures['users']} men signing up at once: {signups['completed']} completed "
          f"({signups['failed']} stuck), {signups['updates']} updates in {signups['elapsed']:.2f} s "
          f"= {figures['updates_per_s']:.0f} updates/s; {signups['calls']} Bot API calls, {signups['messages']} messages")
    print(f"  handling (engine start to commit): p50 {figures['handling_p50_ms']} ms, p99 {figures['handling_p99_ms']} ms; "
          f"of which the engine's own transaction (on SQLite: holding the single writer): "
          f"p50 {figures['transaction_p50_ms']} ms, p99 {figures['transaction_p99_ms']} ms")
    print(f"  waiting before the engine (PTB queue, same-chat order): p50 {figures['wait_p50_ms']} ms, p99 {figures['wait_p99_ms']} ms")
    print(f"  update to answer at the server: p50 {figures['reply_p50_ms']} ms, p99 {figures['reply_p99_ms']} ms; "
          f"webhook answered in p99 {figures['webhook_p99_ms']} ms")
    database_cpu = (f", PostgreSQL {figures['database_cpu_ms_per_update']} ms" if database == "postgresql" else "")
    print(f"  CPU per update: bot{'s' if instances > 1 else ''} {figures['bot_cpu_ms_per_update']} ms{database_cpu}; "
          f"{figures['statements_per_update']} statements per update (all of the bot's: webhook, engine, outbox); "
          f"{figures['connections_opened']} database connections opened meanwhile")
    print(f"  bot CPU {figures['bot_cpu_share']:.0%} of a core (all instances), server+men CPU {figures['server_cpu_share']:.0%}; "
          f"bot peak memory {figures['bot_peak_rss_mb']} MB (the largest instance)")
    if signups["failed"]:
        print(f"  stuck at steps: {signups['failed_steps']}")


async def measure(
    size: int, echo: bool = True, echo_http: str = "httpx", database: str = "sqlite",
    instances: tuple[int, ...] = (1,), durable: bool = True, socket: bool = True,
) -> dict:
    """Meedoen with each number of ``instances`` (a fresh database each), then the echo bot."""
    postgres = PostgresServer.start(durable=durable) if database == "postgresql" else None
    try:
        with temp_dir() as directory:
            async with fake_server() as server:
                runs = []
                for number, count in enumerate(instances):
                    if postgres is None:
                        url = sqlite_url(directory, f"bench{number}.db")
                    else:
                        url = await postgres.create_database(f"inbound_{number}", socket=socket)
                    runs.append(await meedoen_phase(server, size, url, 10_000_001 + number * 1_000_000, count, postgres))
                    await server.request("forget")
                bare = await echo_phase(server, size, 20_000_001, echo_http) if echo else None
    finally:
        if postgres is not None:
            postgres.stop()
    figures: dict = {}
    echo_rate = None
    if bare is not None:
        echo_result = bare["result"]
        echo_rate = echo_result["updates"] / echo_result["elapsed"]
    for run in runs:
        own = meedoen_figures(run)
        print_meedoen(own, run["result"], database)
        if echo_rate:
            own["ratio_to_echo"] = round(own["updates_per_s"] / echo_rate, 2)
        # One run: the figures as they are; several: each named by its number of instances.
        suffix = "" if len(runs) == 1 else f"_{own['instances']}"
        figures.update({f"{key}{suffix}": value for key, value in own.items() if not (suffix and key == "users")})
    figures = {"database": database, "users": size, **figures}
    if bare is not None:
        echo_result = bare["result"]
        figures.update(
            {
                "echo_updates_per_s": round(echo_rate, 1),
                "echo_handling_p99_ms": ms(percentile(bare["handling"], 99)),
                "echo_reply_p99_ms": ms(percentile(echo_result["latencies"], 99)),
                "echo_bot_cpu_share": round(bare["bot_cpu_share"], 2),
                "echo_cpu_ms_per_update": round(1000 * bare["bot_cpu_s"] / max(1, echo_result["updates"]), 2),
            }
        )
        print(f"bare PTB echo bot ({echo_http}), same server: {echo_result['updates']} updates in {echo_result['elapsed']:.2f} s "
              f"= {echo_rate:.0f} updates/s; answer p99 {figures['echo_reply_p99_ms']} ms; "
              f"bot CPU {figures['echo_bot_cpu_share']:.0%}, {figures['echo_cpu_ms_per_update']} ms per update")
        print("  Meedoen / echo bot = " + ", ".join(
            f"{run['instances']} instance{'s' if run['instances'] > 1 else ''}: {run['result']['updates'] / run['result']['elapsed'] / echo_rate:.2f}"
            for run in runs
        ))
    return figures


def target_met(figures: dict, instances: tuple[int, ...]) -> bool:
    """>= 300 updates/s with handling p99 <= 100 ms: with 2 instances when they were measured."""
    suffix = "" if len(instances) == 1 else f"_{2 if 2 in instances else instances[-1]}"
    return figures[f"updates_per_s{suffix}"] >= 300 and figures[f"handling_p99_ms{suffix}"] <= 100


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="men signing up at once (default 1000)")
    parser.add_argument("--no-echo", action="store_true", help="skip the echo bot phase")
    parser.add_argument(
        "--echo-http", choices=("httpx", "aiohttp"), default="httpx",
        help="the echo bot's request backend: PTB's default (httpx, the default here) or Meedoen's (aiohttp)",
    )
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite",
        help="a SQLite file (the default), or a private PostgreSQL server started by the benchmark",
    )
    parser.add_argument(
        "--instances", default="1",
        help="comma-separated numbers of `meedoen run` instances to measure in turn, e.g. 1,2,4 "
             "(more than one needs --database postgresql)",
    )
    parser.add_argument(
        "--no-durable", action="store_true",
        help="PostgreSQL without fsync and synchronous commit (as the tests run it); default: its own defaults",
    )
    parser.add_argument(
        "--connect", choices=("socket", "tcp"), default="socket",
        help="how the instances reach PostgreSQL: its Unix socket (the default, as docs/scaling.md "
             "advises when the database runs on the same machine) or TCP on 127.0.0.1",
    )
    args = parser.parse_args(argv)
    instances = tuple(int(n) for n in args.instances.split(","))
    if any(n < 1 for n in instances):
        parser.error("--instances: numbers of 1 or more")
    if args.database == "sqlite" and instances != (1,):
        parser.error("several instances share a database server: add --database postgresql")
    print_machine()
    figures = asyncio.run(
        measure(args.size, echo=not args.no_echo, echo_http=args.echo_http, database=args.database,
                instances=instances, durable=not args.no_durable, socket=args.connect == "socket")
    )
    summary("inbound", **figures, target_met=target_met(figures, instances))
    return figures


if __name__ == "__main__":
    main()
