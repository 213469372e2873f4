"""The reminder engine at scale: ``--size`` participants (100,000) in ``size / 50`` series
(2,000) of six weekly meetings each, in SQLite (or, with ``--database postgresql``, on a
private PostgreSQL server the benchmark starts), with the default reminders (24 h and 2 h).

Seeding: the series start on random days within five weeks either side of "now", at a
random hour from 10:00 to 20:00, so meetings fall on every day; each has 50 confirmed men.
The database is put in the state a service that has been running leaves it in: every
(meeting, offset) already due, every check-in offer already due, and the statements offered at
every first and last meeting already begun, have their ``schedule_runs`` rows.

Phases:
1. start-up, in a fresh process (``python -m bench.reminders --probe``): interpreter start,
   imports, the service started as ``meedoen run`` starts it (migrations check, outbox
   recovery, scheduler, Telegram channel against the local server in its own process, the
   HTTP app) and the first scheduler tick with
   its exact next-reminder timer armed; the process's peak memory (VmHWM) after that and
   ``--probe-ticks`` more ticks;
2. ticks: the scheduler's reminder job, run at simulated instants one minute apart over
   ``--hours`` (24) from "now": per tick, the due-reminder query (``_due_pairs``, the range
   query on ``meetings.starts_at`` and its ``schedule_runs`` check), the whole job with its
   fan-out, and ``next_due`` (the exact timer's query).

Targets: due-reminder query per tick <= 50 ms; start-up <= 3 s; memory <= 200 MB.

    python -m bench.reminders [--size 100000] [--hours 24] [--database postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from bench.common import (
    LANGUAGES,
    SECRET_KEY,
    Child,
    fake_server,
    free_port,
    meedoen_run,
    ms,
    peak_rss_mb,
    percentile,
    print_machine,
    rss_mb,
    sqlite_url,
    summary,
    temp_dir,
)
from bench.postgres_server import PostgresServer

PER_SERIES = 50
ZONE = "Europe/Amsterdam"


async def seed(database_url: str, size: int, now: datetime, reminders: tuple[timedelta, ...]) -> dict:
    """Series, meetings, participants and sign-ups in bulk; ``schedule_runs`` for every
    (meeting, offset) due before ``now``."""
    from sqlalchemy import text

    from bot.common.calendar import weekly_meetings
    from bot.store.database import Database
    from bot.store.schema import meetings, participants, schedule_runs, series, signups
    from scheduler.checkin_offers import offer_window

    rng = random.Random(2026)
    db = Database(database_url)
    await db.upgrade()
    series_count = max(1, size // PER_SERIES)
    series_rows, meeting_rows = [], []
    today = now.astimezone(UTC).date()
    for n in range(1, series_count + 1):
        start = today + timedelta(days=rng.randint(-35, 35))
        weekday, hour = rng.randrange(7), rng.randint(10, 20)
        series_rows.append(
            {
                "id": n, "name": f"Mannen in gesprek {n}", "weekday": weekday,
                "start_time": f"{hour:02d}:00", "start_date": start.isoformat(), "meeting_count": 6,
                "capacity": PER_SERIES + 10, "location": f"Huis van de Wijk {n % 40 + 1}",
                "area": "Osdorp", "status": "open", "seat_version": 0, "created_at": now,
            }
        )
        for number, at in enumerate(weekly_meetings(start, weekday, clock(hour), 6, ZONE), start=1):
            meeting_rows.append({"series_id": n, "number": number, "starts_at": at, "status": "scheduled"})
    people = [
        {
            "id": i, "channel": "telegram", "address": str(5_000_000 + i), "language": LANGUAGES[i % 4],
            "name": None, "area": None, "consented_at": now, "status": "active",
        }
        for i in range(1, size + 1)
    ]
    sign_ups = [
        {"series_id": (i - 1) // PER_SERIES % series_count + 1, "participant_id": i, "status": "confirmed", "created_at": now}
        for i in range(1, size + 1)
    ]
    async with db.transaction() as connection:
        if not db.is_sqlite:
            # Seeding writes the state directly: without PostgreSQL's row triggers, whose
            # catalog-version bump (migration 0004, deferred, one per row) would update the
            # one-row catalog 170,000 times at this commit (over a minute of the server's CPU).
            # The service starts with its catalog cache empty, so the version is not needed.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(series.insert(), series_rows)
        for table, rows in ((meetings, meeting_rows), (participants, people), (signups, sign_ups)):
            for start in range(0, len(rows), 20_000):
                await connection.execute(table.insert(), rows[start:start + 20_000])
        stored = list(await connection.execute(
            meetings.select().with_only_columns(meetings.c.id, meetings.c.number, meetings.c.starts_at)
        ))
        runs = [
            {"kind": "reminder", "meeting_id": m.id, "offset_minutes": int(offset.total_seconds() // 60),
             "outcome": "queued", "done_at": now}
            for m in stored
            for offset in reminders
            if m.starts_at - offset <= now
        ]
        # ... and every check-in offer whose moment has come (scheduler/checkin_offers.py).
        runs += [
            {"kind": "checkin", "meeting_id": m.id, "offset_minutes": 0, "outcome": "queued", "done_at": now}
            for m in stored
            if offer_window(m.starts_at, ZONE)[0] <= now
        ]
        # ... and the statements offered at every first and last meeting begun (scheduler/statement_offers.py).
        runs += [
            {"kind": "statements", "meeting_id": m.id, "offset_minutes": 0, "outcome": "queued", "done_at": now}
            for m in stored
            if m.number in (1, 6) and m.starts_at <= now
        ]
        for start in range(0, len(runs), 20_000):
            await connection.execute(schedule_runs.insert(), runs[start:start + 20_000])
        if not db.is_sqlite:  # rows given their ids: move PostgreSQL's sequences past them
            for table in (series, participants):
                await connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))")
                )
    if not db.is_sqlite:  # fresh statistics for the planner, as autovacuum would soon give
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    await db.close()
    return {"series": series_count, "meetings": len(meeting_rows), "participants": size, "done_runs": len(runs)}


# --- phase 1: start-up, in a fresh process ---------------------------------------------------


async def probe(args: argparse.Namespace, started: float) -> None:
    import bot.app.http  # noqa: F401 - the imports `meedoen run` makes
    from bot.config import Settings

    modules_done = time.monotonic()
    settings = Settings(
        database_url=args.database_url,
        secret_key=SECRET_KEY,
        telegram_bot_token=args.token,
        telegram_api_base_url=args.base_url,
        http_port=free_port(),
    )
    first_tick = asyncio.Event()
    job_seconds: dict[str, float] = {}  # each job's time in the first tick

    def timed(name: str, job):
        async def run(now: datetime) -> None:
            begun = time.monotonic()
            try:
                await job(now)
            finally:
                if not first_tick.is_set():
                    job_seconds[name] = job_seconds.get(name, 0.0) + time.monotonic() - begun

        return run

    def prepare(service) -> None:
        service.scheduler.jobs = [(name, timed(name, job)) for name, job in service.scheduler.jobs]
        tick = service.scheduler.tick

        async def observed_tick() -> None:
            await tick()
            first_tick.set()

        service.scheduler.tick = observed_tick  # APScheduler gets this one at start

    async with meedoen_run(settings, prepare=prepare) as service:
        service_started = time.monotonic()
        await asyncio.wait_for(first_tick.wait(), 60)
        ready = time.monotonic()
        armed = service.scheduler._aps.get_job("next-reminder") is not None  # noqa: SLF001
        ready_rss, ready_peak = rss_mb(), peak_rss_mb()
        tick_times = []
        for _ in range(args.probe_ticks):
            begun = time.monotonic()
            await service.scheduler.tick()
            tick_times.append(time.monotonic() - begun)
    print(json.dumps({
        "imports_s": modules_done - started,
        "service_start_s": service_started - modules_done,
        "first_tick_s": ready - service_started,
        "ready_s": ready - started,
        "armed": armed,
        "rss_mb": ready_rss,
        "peak_rss_mb": ready_peak,
        "peak_after_ticks_mb": peak_rss_mb(),
        "tick_p50_ms": ms(percentile(tick_times, 50)),
        "tick_max_ms": ms(max(tick_times, default=0.0)),
        "first_tick_slowest": sorted(job_seconds.items(), key=lambda item: -item[1])[:3],
        "pid": os.getpid(),
        "ready_at": ready,
    }), flush=True)


async def startup_phase(database_url: str, ticks: int) -> dict:
    async with fake_server() as server:
        spawned = time.monotonic()
        child = Child(
            "bench.reminders", "--probe", "--database-url", database_url,
            "--base-url", server.ready["base_url"], "--token", server.ready["token"],
            "--probe-ticks", str(ticks),
        )
        try:
            result = await child.start(timeout=120)
        finally:
            await child.close()
        # The monotonic clock is the machine's, so the child's instant compares with ours.
        result["spawn_to_ready_s"] = result["ready_at"] - spawned
    return result


# --- phase 2: simulated ticks -------------------------------------------------------------------


async def ticks_phase(database_url: str, now: datetime, hours: float, step: timedelta) -> dict:
    from bot.config import Settings
    from bot.store.database import Database
    from scheduler import reminders

    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    db = Database(database_url)
    query_times, job_times, next_times = [], [], []
    queued_total, busiest = 0, (0.0, 0)
    moment, end = now, now + timedelta(hours=hours)
    while moment < end:
        begun = time.monotonic()
        async with db.transaction() as connection:
            pairs = await reminders._due_pairs(connection, settings, moment)  # noqa: SLF001
        query_times.append(time.monotonic() - begun)
        begun = time.monotonic()
        queued = await reminders.queue_due_reminders(db, settings, moment)
        took = time.monotonic() - begun
        job_times.append(took)
        if queued and queued > busiest[1]:
            busiest = (took, queued)
        queued_total += queued
        begun = time.monotonic()
        await reminders.next_due(db, settings, moment)
        next_times.append(time.monotonic() - begun)
        moment += step
        del pairs
    await db.close()
    fan_out_time = sum(job_times) - sum(query_times)
    return {
        "ticks": len(query_times),
        "query_p50_ms": ms(percentile(query_times, 50)),
        "query_p99_ms": ms(percentile(query_times, 99)),
        "query_max_ms": ms(max(query_times, default=0.0)),
        "job_p50_ms": ms(percentile(job_times, 50)),
        "job_max_ms": ms(max(job_times, default=0.0)),
        "next_due_p99_ms": ms(percentile(next_times, 99)),
        "reminders_queued": queued_total,
        "fan_out_per_s": round(queued_total / fan_out_time) if fan_out_time > 0 and queued_total else 0,
        "busiest_tick": busiest,
    }


async def database_mb(url: str, directory: Path) -> float:
    """The database's size on disk: the SQLite file, or PostgreSQL's ``pg_database_size``."""
    if url.startswith("sqlite"):
        return round(os.path.getsize(directory / "bench.db") / 1e6, 1)
    from sqlalchemy import text

    from bot.store.database import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
    finally:
        await db.close()
    return round(size / 1e6, 1)


async def measure(size: int, hours: float, probe_ticks: int, database: str = "sqlite") -> dict:
    postgres = PostgresServer.start(durable=True) if database == "postgresql" else None
    try:
        with temp_dir() as directory:
            url = sqlite_url(directory) if postgres is None else await postgres.create_database("reminders")
            return await measure_on(url, directory, size, hours, probe_ticks)
    finally:
        if postgres is not None:
            postgres.stop()


async def measure_on(url: str, directory: Path, size: int, hours: float, probe_ticks: int) -> dict:
    from bot.config import Settings

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    begun = time.monotonic()
    seeded = await seed(url, size, now, Settings().reminders)
    seeding = time.monotonic() - begun
    db_mb = await database_mb(url, directory)
    print(f"seeded {seeded['participants']} participants in {seeded['series']} series "
          f"({seeded['meetings']} meetings, {seeded['done_runs']} reminders already done) "
          f"in {seeding:.1f} s; database {db_mb} MB")
    startup = await startup_phase(url, probe_ticks)
    print(f"start-up (fresh process): ready {startup['spawn_to_ready_s']:.2f} s after spawn "
          f"(imports {startup['imports_s']:.2f} s, Service.start {startup['service_start_s']:.2f} s, "
          f"first tick {startup['first_tick_s']:.2f} s, next-reminder timer armed: {startup['armed']})")
    slowest = ", ".join(f"{name} {ms(seconds)} ms" for name, seconds in startup["first_tick_slowest"])
    print(f"  the first tick's slowest jobs: {slowest}")
    print(f"  memory: {startup['rss_mb']} MB after start, peak {startup['peak_after_ticks_mb']} MB "
          f"after {probe_ticks} more ticks (tick p50 {startup['tick_p50_ms']} ms, max {startup['tick_max_ms']} ms)")
    # The service runs with its start-up heap frozen (bot/app/http.py, as `meedoen run`); give
    # this process the same footing, or a full collection of what seeding left behind
    # lands in some tick's figure.
    gc.collect()
    gc.freeze()
    ticks = await ticks_phase(url, now, hours, timedelta(minutes=1))
    print(f"{ticks['ticks']} ticks over {hours:g} h (one a minute): due-reminder query p50 {ticks['query_p50_ms']} ms, "
          f"p99 {ticks['query_p99_ms']} ms, max {ticks['query_max_ms']} ms; next_due p99 {ticks['next_due_p99_ms']} ms")
    print(f"  whole reminder job p50 {ticks['job_p50_ms']} ms, max {ticks['job_max_ms']} ms; "
          f"{ticks['reminders_queued']} reminders queued ({ticks['fan_out_per_s']}/s in fan-out); "
          f"busiest tick queued {ticks['busiest_tick'][1]} in {ticks['busiest_tick'][0]:.2f} s")
    return {
        "participants": size,
        "series": seeded["series"],
        "query_p50_ms": ticks["query_p50_ms"],
        "query_p99_ms": ticks["query_p99_ms"],
        "query_max_ms": ticks["query_max_ms"],
        "next_due_p99_ms": ticks["next_due_p99_ms"],
        "job_max_ms": ticks["job_max_ms"],
        "reminders_queued": ticks["reminders_queued"],
        "fan_out_per_s": ticks["fan_out_per_s"],
        "startup_s": round(startup["spawn_to_ready_s"], 2),
        "peak_rss_mb": startup["peak_after_ticks_mb"],
        "database_mb": db_mb,
    }


def main(argv: list[str] | None = None) -> dict | None:
    started = time.monotonic()
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="participants (default 100000; 50 per series)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours of ticks (default 24)")
    parser.add_argument("--probe-ticks", type=int, default=20)
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite",
        help="a SQLite file (the default), or a private PostgreSQL server started by the benchmark",
    )
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        asyncio.run(probe(args, started))
        return None
    print_machine()
    figures = asyncio.run(measure(args.size, args.hours, args.probe_ticks, args.database))
    summary(
        "reminders",
        **figures,
        target_met=figures["query_max_ms"] <= 50 and figures["startup_s"] <= 3 and figures["peak_rss_mb"] <= 200,
    )
    return figures


if __name__ == "__main__":
    main()
