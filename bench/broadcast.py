"""Broadcast capacity: ``--size`` recipients (10,000) through the outbox and the Telegram
channel (python-telegram-bot) to the local Bot API server with no rate limit.

This process is the bot: the real ``Service`` (outbox sender, scheduler, Telegram channel)
started as ``meedoen run`` starts it, on a SQLite file seeded with ``--size`` active
participants. The broadcast is queued with
``bot.domain.broadcasts.create`` (as ``meedoen broadcast --to all`` does) and the clock runs from
that call until the last row is recorded ``sent``. The server runs in its own process
(``bench.fake_server``). The channel's pace is set far above what can be reached
(``telegram_rate=1e6``), so nothing but the machinery limits the rate.

Targets: >= 1,000 messages/s from one process; peak memory (VmHWM of this process, which
also seeded the database) <= 200 MB.

    python -m bench.broadcast [--size 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from sqlalchemy import func, select

from bench.common import (
    SECRET_KEY,
    fake_server,
    free_port,
    meedoen_run,
    peak_rss_mb,
    print_machine,
    process_figures,
    rss_mb,
    seed_participants,
    sqlite_url,
    summary,
    temp_dir,
    utcnow,
)

TEXT_NL = (
    "Beste deelnemer, volgende week begint een nieuwe gespreksreeks in Huis van de Wijk "
    "Osdorp: zes donderdagavonden met thee en een maaltijd. Doe je mee?"
)


async def run_broadcast(service, recipients: int, texts: dict[str, str], timeout: float) -> dict:
    """Queue a broadcast to everyone and wait until nothing of it is left to send."""
    from bot.domain import broadcasts
    from bot.store.schema import outbox

    started_wall = utcnow()
    started = time.monotonic()
    async with service.db.transaction() as connection:
        broadcast_id, queued = await broadcasts.create(
            connection,
            created_by="cli",
            audience_keys=("all",),
            texts=texts,
            invite_series_id=None,
            areas=service.settings.areas,
            now=started_wall,
        )
    queued_in = time.monotonic() - started
    service.wake_all()
    ref = f"broadcast:{broadcast_id}"
    deadline = time.monotonic() + timeout
    tally: dict[str, int] = {}
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        async with service.db.transaction() as connection:
            _, tally = await broadcasts.status(connection, broadcast_id)
        if tally["waiting"] == 0:
            break
    async with service.db.transaction() as connection:
        first, last = (
            await connection.execute(
                select(func.min(outbox.c.sent_at), func.max(outbox.c.sent_at)).where(outbox.c.ref == ref)
            )
        ).one()
    elapsed = (last - started_wall).total_seconds() if last else time.monotonic() - started
    return {
        "broadcast_id": broadcast_id,
        "queued": queued,
        "queued_in": queued_in,
        "elapsed": elapsed,
        "first_after": (first - started_wall).total_seconds() if first else None,
        "tally": tally,
        "finished": tally.get("waiting", 1) == 0,
    }


async def measure(size: int) -> dict:
    from bot.config import Settings
    from bot.store.database import Database

    with temp_dir() as directory:
        async with fake_server() as server:
            settings = Settings(
                http_port=free_port(),
                database_url=sqlite_url(directory),
                secret_key=SECRET_KEY,
                telegram_bot_token=server.ready["token"],
                telegram_api_base_url=server.ready["base_url"],
                telegram_rate=1_000_000.0,  # no pacing: measure the machinery
                telegram_chat_interval=0.001,
            )
            db = Database(settings.database_url)
            await db.upgrade()
            await seed_participants(db, size)
            await db.close()
            print(f"seeded {size} participants; memory now {rss_mb()} MB")

            async with meedoen_run(settings) as service:
                server_before = await server.request("stats")
                mine_before = process_figures()
                result = await run_broadcast(service, size, {"nl": TEXT_NL}, timeout=max(120.0, size / 50))
                mine_after = process_figures()
                server_after = await server.request("stats")
    elapsed = result["elapsed"]
    delivered = result["tally"].get("delivered", 0)
    wall = mine_after["t"] - mine_before["t"]
    figures = {
        "recipients": size,
        "delivered": delivered,
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(delivered / elapsed) if elapsed else 0,
        "queue_s": round(result["queued_in"], 3),
        "peak_rss_mb": peak_rss_mb(),
        "bot_cpu_share": round((mine_after["cpu_s"] - mine_before["cpu_s"]) / wall, 2),
        "server_cpu_share": round((server_after["cpu_s"] - server_before["cpu_s"]) / wall, 2),
        "server_violations": server_after["violation_count"],
        "failed": result["tally"].get("failed", 0),
    }
    print(f"broadcast to {size}: queued in {result['queued_in']*1000:.0f} ms (one INSERT), "
          f"first message after {result['first_after'] or 0:.3f} s, all {delivered} sent in {elapsed:.2f} s "
          f"= {figures['msgs_per_s']} messages/s")
    print(f"  tally {result['tally']}")
    print(f"  bot process: peak memory {figures['peak_rss_mb']} MB, CPU {figures['bot_cpu_share']:.0%} of a core; "
          f"server process: CPU {figures['server_cpu_share']:.0%} of a core, violations {figures['server_violations']}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="recipients (default 10000)")
    parser.add_argument(
        "--group-size", type=int, default=None,
        help="override bot.delivery.outbox.GROUP_SIZE (messages in flight) for an experiment; default: the product's",
    )
    args = parser.parse_args(argv)
    print_machine()
    if args.group_size:
        import bot.delivery.outbox

        bot.delivery.outbox.GROUP_SIZE = args.group_size
    import bot.delivery.outbox

    print(f"messages in flight (GROUP_SIZE): {bot.delivery.outbox.GROUP_SIZE}")
    figures = asyncio.run(measure(args.size))
    summary(
        "broadcast",
        **figures,
        group_size=bot.delivery.outbox.GROUP_SIZE,
        target_rate_met=figures["msgs_per_s"] >= 1000,
        target_memory_met=figures["peak_rss_mb"] <= 200,
    )
    return figures


if __name__ == "__main__":
    main()
