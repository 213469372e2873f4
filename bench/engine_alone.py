"""The engine alone: ``--size`` new men (200) go through the six sign-up steps of
``bench.inbound`` (/start, language, consent, name, series, area) straight into
``Engine.handle``: no Telegram, no HTTP, no outbox sender; one update at a time, on a SQLite
file (or, with ``--database postgresql``, a private PostgreSQL server) with ten open series. It isolates what ``bench.inbound`` cannot: the engine's own cost
per update, in CPU and in SQL statements.

Figures: updates/s (time in ``Engine.handle`` only); CPU per update (the whole process, aiosqlite's thread included);
statements per update, overall and per step (``BEGIN`` included); how many values were sealed or
opened per update and the time that took (``bot.store.sealing``, the service's seal, timed). On PostgreSQL, also the
server's CPU per update: each statement is a round trip to it.

    python -m bench.engine_alone [--size 200] [--database postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import time as clock
from datetime import timedelta

from sqlalchemy import event, select

from bench.common import (
    LANGUAGES,
    SECRET_KEY,
    print_machine,
    sqlite_url,
    summary,
    temp_dir,
    utcnow,
)
from bench.postgres_server import PostgresServer
from bot.channels.base import Incoming
from bot.config import Settings
from bot.engine import Engine
from bot.store import series as series_store
from bot.store.database import Database
from bot.store.schema import outbox
from bot.store.sealing import Seal
from dialogs.types import ChoiceMade, Text

SERIES = 10


class Statements:
    """Counts the statements sent to the database (``BEGIN`` is sent straight to the driver)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)
        event.listen(db.engine.sync_engine, "begin", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


async def measure(size: int, database: str = "sqlite") -> dict:
    postgres = PostgresServer.start(durable=True) if database == "postgresql" else None
    try:
        with temp_dir() as directory:
            url = sqlite_url(directory) if postgres is None else await postgres.create_database("engine_alone")
            return await measure_on(url, size, postgres)
    finally:
        if postgres is not None:
            postgres.stop()


class TimedSeal(Seal):
    """The service's seal, counting and timing its own work: the sealing overhead per update."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.calls = 0
        self.seconds = 0.0

    def seal(self, plain: bytes, label: str) -> bytes:
        started = time.perf_counter()
        try:
            return super().seal(plain, label)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - started

    def open(self, sealed: bytes, label: str) -> bytes:
        started = time.perf_counter()
        try:
            return super().open(sealed, label)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - started


async def measure_on(url: str, size: int, postgres: PostgresServer | None) -> dict:
    seal = TimedSeal(SECRET_KEY)
    db = Database(url, seal=seal)
    await db.upgrade()
    now = utcnow()
    async with db.transaction() as connection:
        ids = [
            await series_store.add(
                connection,
                series_store.NewSeries(f"Series {n}", n % 7, clock(19), (now + timedelta(days=14)).date(),
                                       6, size // SERIES + 10, "Huis van de Wijk", "Osdorp"),
                "Europe/Amsterdam", now,
            )
            for n in range(SERIES)
        ]
    engine = Engine(db, Settings(database_url=url, secret_key=SECRET_KEY))
    statements = Statements(db)
    per_step: list[list[int]] = [[] for _ in range(6)]
    update_ids = iter(range(1, 10**9))

    async def question(address: str) -> int:
        """The number of the question his last answer asked (outside the timing)."""
        async with db.engine.connect() as connection:
            payload = await connection.scalar(
                select(outbox.c.payload).where(outbox.c.address == address).order_by(outbox.c.id.desc()).limit(1)
            )
        return json.loads(payload).get("question", 0)

    async def man(number: int, timing: dict[str, float]) -> None:
        """One sign-up: texts as typed, buttons pressed on the question just asked."""
        address, language = str(1000 + number), LANGUAGES[number % 4]
        steps = [Text("/start"), f"lang:{language}", "yes", Text(f"Man{number}"),
                 f"s:{ids[number % SERIES]}", f"a:{number % 4}"]
        for step, made in enumerate(steps):
            event_ = made if isinstance(made, Text) else ChoiceMade(made, await question(address))
            before, cpu, wall = statements.count, time.process_time(), time.monotonic()
            sealing = seal.calls, seal.seconds
            await engine.handle(Incoming("telegram", address, event_, str(next(update_ids)), language))
            timing["cpu"] += time.process_time() - cpu
            timing["wall"] += time.monotonic() - wall
            timing["seals"] += seal.calls - sealing[0]
            timing["seal"] += seal.seconds - sealing[1]
            per_step[step].append(statements.count - before)

    await man(size + 1, {"cpu": 0.0, "wall": 0.0, "seals": 0, "seal": 0.0})  # warm-up: imports, caches, the catalog
    for counts in per_step:
        counts.clear()
    timing = {"cpu": 0.0, "wall": 0.0, "seals": 0, "seal": 0.0}
    database_cpu = postgres.cpu_seconds() if postgres is not None else 0.0
    for number in range(size):
        await man(number, timing)
    database_cpu = postgres.cpu_seconds() - database_cpu if postgres is not None else 0.0
    await db.close()
    updates = size * 6
    figures = {
        "updates": updates,
        "updates_per_s": round(updates / timing["wall"], 1),
        "cpu_ms_per_update": round(1000 * timing["cpu"] / updates, 2),
        "statements_per_update": round(sum(map(sum, per_step)) / updates, 1),
        "statements_by_step": "/".join(f"{sum(counts) / len(counts):g}" for counts in per_step),
        "seals_per_update": round(timing["seals"] / updates, 1),
        "seal_us_per_update": round(1e6 * timing["seal"] / updates, 1),
    }
    if postgres is not None:  # the server's share; its processes are not this one's CPU
        figures["database_cpu_ms_per_update"] = round(1000 * database_cpu / updates, 2)
    print(f"{updates} updates one at a time: {figures['updates_per_s']} updates/s, "
          f"{figures['cpu_ms_per_update']} ms CPU and {figures['statements_per_update']} statements per update "
          f"(by step: {figures['statements_by_step']})"
          + (f"; PostgreSQL {figures['database_cpu_ms_per_update']} ms CPU per update" if postgres is not None else ""))
    print(f"sealing: {figures['seals_per_update']} values sealed or opened per update, "
          f"{figures['seal_us_per_update']} µs per update")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_alone", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200, help="men signing up, one update at a time (default 200)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite",
        help="a SQLite file (the default), or a private PostgreSQL server started by the benchmark",
    )
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, args.database))
    summary("engine_alone", **figures)
    return figures


if __name__ == "__main__":
    main()
