"""Broadcast capacity with several ``meedoen run`` instances on one PostgreSQL (issue 18):
``--size`` recipients (10,000), ``--instances`` processes (2), no rate limit.

A private PostgreSQL server (``bench/postgres_server.py``: the system's ``initdb``/``pg_ctl``,
``fsync=off``) holds the database, seeded with ``--size`` active participants; the Bot API
stand-in (``bench.fake_server``) and every instance run in processes of their own, each
instance started as an operator starts it (``python -m bot.app.cli run``) with the channel's
pace set far above what can be reached (``MEEDOEN_TELEGRAM_RATE=1000000``). The broadcast is
queued here with ``bot.domain.broadcasts.create`` (as ``meedoen broadcast --to all`` does),
the sender is woken as an instance would wake it (``NOTIFY``), and the clock runs from the
queueing until the last row is recorded ``sent``.

One instance per channel sends (the elected sender, docs/scaling.md), so the figures say how
much one sender moves when its database is PostgreSQL and other instances share the machine;
the lines per instance show who sent what and the CPU each used.

Target (issue 18): >= 1,500 messages/s with 2 instances.

    python -m bench.broadcast_instances [--size 10000] [--instances 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from bench.broadcast import TEXT_NL
from bench.common import (
    SECRET_KEY,
    fake_server,
    free_port,
    load_average,
    print_machine,
    seed_participants,
    summary,
    temp_dir,
    utcnow,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu(server) -> float:
    """CPU seconds of this server's processes (the postmaster and its children, the backends
    among them); other PostgreSQL servers on the machine are not counted."""
    postmaster = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    total = cpu_of(postmaster)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    total += cpu_of(int(entry.name))
            except (OSError, ValueError):
                continue
    return total


async def start_instances(count: int, env: dict[str, str], folder: Path) -> list[asyncio.subprocess.Process]:
    processes = []
    for number in range(count):
        log = open(folder / f"instance-{number}.log", "wb")  # noqa: SIM115 (the child writes to it)
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.app.cli", "run",
            env={**env, "MEEDOEN_HTTP_PORT": str(free_port())},
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        ))
        log.close()
    return processes


async def wait_ready(db, count: int, processes, timeout: float = 120.0) -> None:
    """Until every instance holds a lease and one of them is the channel's sender."""
    from sqlalchemy import func, select, text

    from bot.store.schema import outbox_owners
    from bot.store.sender_election import LOCK_SPACE

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.returncode is not None for process in processes):
            raise RuntimeError("an instance stopped during start-up; see its log")
        async with db.transaction() as connection:
            leases = await connection.scalar(select(func.count()).select_from(outbox_owners))
            senders = await connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :space AND granted"),
                {"space": LOCK_SPACE},
            )
        if leases >= count and senders:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the instances did not start in time")


async def run_broadcast(db, size: int, timeout: float) -> dict:
    from sqlalchemy import func, select, text

    from bot.domain import broadcasts
    from bot.store.schema import outbox
    from bot.store.sender_election import NOTIFY_CHANNEL

    started_wall = utcnow()
    started = time.monotonic()
    async with db.transaction() as connection:
        broadcast_id, queued = await broadcasts.create(
            connection, created_by="cli", audience_keys=("all",), texts={"nl": TEXT_NL},
            invite_series_id=None, areas=(), now=started_wall,
        )
    queued_in = time.monotonic() - started
    async with db.transaction() as connection:
        await connection.execute(text("SELECT pg_notify(:channel, 'telegram')"), {"channel": NOTIFY_CHANNEL})
    ref = f"broadcast:{broadcast_id}"
    deadline = time.monotonic() + timeout
    tally: dict[str, int] = {}
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        async with db.transaction() as connection:
            _, tally = await broadcasts.status(connection, broadcast_id)
        if tally["waiting"] == 0:
            break
    async with db.transaction() as connection:
        last = await connection.scalar(select(func.max(outbox.c.sent_at)).where(outbox.c.ref == ref))
        by_owner = dict((await connection.execute(
            select(outbox.c.owner, func.count()).where(outbox.c.ref == ref).group_by(outbox.c.owner)
        )).all())
    elapsed = (last - started_wall).total_seconds() if last else time.monotonic() - started
    return {"queued": queued, "queued_in": queued_in, "elapsed": elapsed, "tally": tally, "by_owner": by_owner}


async def measure(size: int, instances: int) -> dict:
    from bench.postgres_server import PostgresServer
    from bot.store.database import Database

    server = PostgresServer.start()
    try:
        url = await _create_database(server)
        with temp_dir() as folder:
            async with fake_server() as api:
                db = Database(url)
                await db.upgrade()
                await seed_participants(db, size)
                env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
                env.update(
                    MEEDOEN_DATABASE_URL=url,
                    MEEDOEN_SECRET_KEY=SECRET_KEY,
                    TELEGRAM_BOT_TOKEN=api.ready["token"],
                    TELEGRAM_API_BASE_URL=api.ready["base_url"],
                    MEEDOEN_TELEGRAM_RATE="1000000",  # no pacing: measure the machinery
                    MEEDOEN_TELEGRAM_CHAT_INTERVAL="0.001",
                )
                processes = await start_instances(instances, env, folder)
                try:
                    await wait_ready(db, instances, processes)
                    print(f"seeded {size} participants; {instances} instance(s) up; load average {load_average()}")
                    commits_before = await commits(db)
                    cpu_before = [cpu_of(p.pid) for p in processes]
                    pg_before = postgres_cpu(server)
                    api_before = await api.request("stats")
                    wall_before = time.monotonic()
                    result = await run_broadcast(db, size, timeout=max(120.0, size / 50))
                    wall = time.monotonic() - wall_before
                    cpu_after = [cpu_of(p.pid) for p in processes]
                    pg_after = postgres_cpu(server)
                    api_after = await api.request("stats")
                    commits_after = await commits(db)
                    pids = {p.pid: n for n, p in enumerate(processes)}
                finally:
                    for process in processes:
                        if process.returncode is None:
                            process.terminate()
                    for process in processes:
                        await process.wait()
                    await db.close()
    finally:
        server.stop()
    delivered = result["tally"].get("delivered", 0)
    elapsed = result["elapsed"]
    figures = {
        "recipients": size,
        "instances": instances,
        "delivered": delivered,
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(delivered / elapsed) if elapsed else 0,
        "queue_s": round(result["queued_in"], 3),
        "postgres_cpu_share": round((pg_after - pg_before) / wall, 2),
        "server_cpu_share": round((api_after["cpu_s"] - api_before["cpu_s"]) / wall, 2),
        "server_violations": api_after["violation_count"],
        "failed": result["tally"].get("failed", 0),
        "load_after": load_average().split()[0],  # the 1-minute load average as it ended
    }
    # CPU per message, which the machine's other load changes far less than the rate: what one
    # sender could move on a core of its own, whatever else runs.
    sender_cpu = max(after - before for before, after in zip(cpu_before, cpu_after, strict=True))
    figures["sender_cpu_ms_per_msg"] = round(sender_cpu * 1000 / delivered, 3) if delivered else 0.0
    figures["postgres_cpu_ms_per_msg"] = round((pg_after - pg_before) * 1000 / delivered, 3) if delivered else 0.0
    figures["transactions_per_msg"] = round((commits_after - commits_before) / delivered, 3) if delivered else 0.0
    print(f"broadcast to {size} with {instances} instance(s) on PostgreSQL: queued in {result['queued_in'] * 1000:.0f} ms, "
          f"all {delivered} sent in {elapsed:.2f} s = {figures['msgs_per_s']} messages/s")
    print(f"  tally {result['tally']}")
    for owner, number in sorted(result["by_owner"].items(), key=lambda item: -item[1]):
        pid = int(owner.rsplit("-", 2)[1]) if owner else None
        n = pids.get(pid) if pid is not None else None
        cpu = f", CPU {(cpu_after[n] - cpu_before[n]) / wall:.0%} of a core" if n is not None else ""
        print(f"  instance {n} (owner {owner}): sent {number}{cpu}")
    for n in range(instances):
        print(f"  instance {n}: CPU {(cpu_after[n] - cpu_before[n]) / wall:.0%} of a core")
    if figures["sender_cpu_ms_per_msg"]:
        print(f"  CPU per message: the sending instance {figures['sender_cpu_ms_per_msg']:.3f} ms (so at most "
              f"~{1000 / figures['sender_cpu_ms_per_msg']:.0f} messages/s on a core of its own), PostgreSQL "
              f"{figures['postgres_cpu_ms_per_msg']:.3f} ms; {figures['transactions_per_msg']:.3f} transactions per "
              "message (all instances and this benchmark's progress polls)")
    print(f"  PostgreSQL: CPU {figures['postgres_cpu_share']:.0%} of a core; Bot API stand-in: CPU "
          f"{figures['server_cpu_share']:.0%}, violations {figures['server_violations']}; load average now {figures['load_after']}")
    return figures


async def commits(db) -> int:
    """Transactions committed in the benchmark's database so far, by everyone. PostgreSQL
    counts a backend's transactions when it goes idle, at most once a second: wait for that."""
    from sqlalchemy import text

    await asyncio.sleep(1.1)
    async with db.transaction() as connection:
        await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        return await connection.scalar(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        )


async def _create_database(server) -> str:
    import asyncpg

    connection = await asyncpg.connect(server.url().replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute('CREATE DATABASE "bench" TEMPLATE template0')
    finally:
        await connection.close()
    return server.url("bench")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast_instances", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="recipients (default 10000)")
    parser.add_argument("--instances", type=int, default=2, help="meedoen run processes (default 2)")
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, args.instances))
    summary("broadcast_instances", **figures, target_rate_met=figures["msgs_per_s"] >= 1500)
    return figures


if __name__ == "__main__":
    main()
