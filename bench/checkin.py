"""Storing check-ins without an order (issue 11): what the write path costs.

Seeding (straight into SQLite, after the real migrations): ``--participants`` men (100,000)
over the four languages and the configured areas (and "rather not say"), and
``--responses`` earlier answers (100,000) in ``checkin_responses``.

Measured, in this process, on the engine's database layer:

- ``--size`` check-ins (2,000) in one ISO week, one transaction each, as the engine stores
  one: the sign-up count for k-anonymity (``bot.store.anonymity``), then the week's and the
  month's marker (each check-in here is a new man: the month's markers grow with the pool) and
  the pool row, each table written again in key order (``bot.store.checkins.record``); the time
  per check-in at the start of the week (pool nearly empty) and at its end (pool full);
- the same transaction without the rewrite (marker and row simply inserted, as before
  issue 11), for comparison, and the k-anonymity count alone (on the index of
  participants by language and area, migration 0008);
- emptying the write-ahead log after a check-in (``Database.truncate_log``);
- the week's move to ``checkin_responses`` in a random order (``checkins.flush``).

    python -m bench.checkin [--size 2000] [--participants 100000] [--responses 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from bench.common import LANGUAGES, ms, percentile, print_machine, sqlite_url, summary, temp_dir

AREAS = ("Osdorp", "Slotervaart", "Geuzenveld-Slotermeer", "De Aker", None)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday in 2026-W48


def seed(path: str, participants: int, responses: int) -> None:
    rng = random.Random(11)
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO participants (channel, address, language, area, consented_at, status)"
        " VALUES ('telegram', ?, ?, ?, '2026-01-01 00:00:00.000000', 'active')",
        ((str(10_000_000 + n), rng.choice(LANGUAGES), rng.choice(AREAS)) for n in range(participants)),
    )
    connection.executemany(
        "INSERT INTO checkin_responses (id, iso_week, language, area, total, worthwhile)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            (secrets.token_hex(16), f"2026-W{rng.randint(1, 47):02d}", rng.choice(LANGUAGES),
             rng.choice(AREAS), rng.randint(0, 6), rng.randint(0, 10))
            for _n in range(responses)
        ),
    )
    connection.commit()
    connection.close()


def values(rng: random.Random) -> dict:
    answers = {f"item{n}": rng.choice((0, 1, 2, None)) for n in range(1, 7)}
    return {**answers, "total": rng.randint(0, 6), "took_part": rng.choice((0, 1)), "worthwhile": rng.randint(0, 10)}


async def measure(url: str, size: int) -> dict:
    from sqlalchemy import insert

    from bot.store import anonymity, checkins
    from bot.store.database import Database
    from bot.store.schema import checkin_markers, checkin_pool
    from bot.store.sealing import Seal

    db = Database(url, seal=Seal("bench-secret-key-0123456789"))  # the pool sealed, as in service
    rng = random.Random(5)
    week = checkins.iso_week(NOW)
    secret = b"bench"

    async def store_one(n: int, rewrite: bool) -> tuple[float, float]:
        """One check-in's transaction: (its time, the part spent on marker and row)."""
        started = time.perf_counter()
        async with db.transaction() as connection:
            rule = anonymity.Generalisation.of(await anonymity.population(connection))
            language, area = rule.stored_as(rng.choice(LANGUAGES), rng.choice(AREAS))
            row = {"language": language, "area": area, **values(rng)}
            mark, month_mark = checkins.markers(secret, "telegram", f"{'new' if rewrite else 'old'}{n}", week)
            writing = time.perf_counter()
            if rewrite:
                await checkins.record(connection, mark, week, row, month_marker=month_mark)
            else:  # before issue 11: two plain inserts
                await connection.execute(insert(checkin_markers), {"marker": mark, "iso_week": week})
                sealed = json.dumps(row, separators=(",", ":"), sort_keys=True)
                await connection.execute(insert(checkin_pool), {"id": secrets.token_hex(16), "iso_week": week, "sealed": sealed})
            written = time.perf_counter() - writing
        return time.perf_counter() - started, written

    counting = []
    for _n in range(20):
        started = time.perf_counter()
        async with db.transaction() as connection:
            anonymity.Generalisation.of(await anonymity.population(connection))
        counting.append(time.perf_counter() - started)

    plain = [await store_one(n, rewrite=False) for n in range(min(size, 200))]
    async with db.transaction() as connection:  # empty both tables again
        await connection.execute(checkin_markers.delete())
        await connection.execute(checkin_pool.delete())

    timings, truncations = [], []
    for n in range(size):
        timings.append(await store_one(n, rewrite=True))
        if n % max(1, size // 20) == 0:
            started = time.perf_counter()
            await db.truncate_log()
            truncations.append(time.perf_counter() - started)
    tenth = max(1, size // 10)
    first, last = [w for _t, w in timings[:tenth]], [w for _t, w in timings[-tenth:]]

    started = time.perf_counter()
    async with db.transaction() as connection:
        moved = await checkins.flush(connection, NOW + timedelta(days=7))
    flush_time = time.perf_counter() - started
    await db.close()
    return {
        "count_ms": ms(percentile(counting, 50)),
        "plain_write_ms": ms(percentile([w for _t, w in plain], 50)),
        "start_write_ms": ms(percentile(first, 50)),
        "end_write_ms": ms(percentile(last, 50)),
        "end_write_p95_ms": ms(percentile(last, 95)),
        "checkin_p50_ms": ms(percentile([t for t, _w in timings], 50)),
        "checkin_p95_ms": ms(percentile([t for t, _w in timings], 95)),
        "truncate_ms": ms(percentile(truncations, 50)),
        "flush_ms": ms(flush_time),
        "moved": moved,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.checkin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="check-ins in the week")
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=100_000, help="earlier answers already stored")
    args = parser.parse_args(argv)
    print_machine()
    with temp_dir() as folder:
        url = sqlite_url(folder, "checkin.db")
        path = str(folder / "checkin.db")

        async def run() -> dict:
            from bot.store.database import Database

            db = Database(url)
            await db.upgrade()
            await db.close()
            seed(path, args.participants, args.responses)
            return await measure(url, args.size)

        figures = asyncio.run(run())
    print(f"k-anonymity count over {args.participants} men: {figures['count_ms']} ms")
    print(f"marker and row, plain inserts (before issue 11): p50 {figures['plain_write_ms']} ms")
    print(
        f"markers (week and month) and row, each table rewritten in key order: p50 {figures['start_write_ms']} ms at "
        f"the start of the week, p50 {figures['end_write_ms']} / p95 {figures['end_write_p95_ms']} ms "
        f"with {args.size} in the pool"
    )
    print(
        f"the whole transaction of a check-in (count, coarsening, marker, row): "
        f"p50 {figures['checkin_p50_ms']} / p95 {figures['checkin_p95_ms']} ms"
    )
    print(f"write-ahead log emptied after a check-in: p50 {figures['truncate_ms']} ms")
    print(f"the week's {figures['moved']} answers moved in a random order: {figures['flush_ms']} ms")
    summary("checkin", size=args.size, participants=args.participants, **figures)


if __name__ == "__main__":
    main()
