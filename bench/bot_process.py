"""The Meedoen bot in a process of its own, for ``bench.inbound``: the real ``Service`` in
its HTTP app with the Telegram webhook, started as ``meedoen run`` starts it (with
``MEEDOEN_PUBLIC_URL``), on the database at ``--database-url`` (SQLite or PostgreSQL) with
``--series`` open series added, against the Bot API server at ``--base-url``. Several of these
may share one PostgreSQL database and one ``--public-url`` (instances behind a load balancer):
the first adds the series, the others ``--series 0``.

Timing hooks (this module only; the product is not changed): for every update, when the
webhook received it, when the engine started on it and when the engine was done (its
transaction committed, its answer queued). Answers JSON-line commands (``bench.common.Child``):
``stats`` returns them with this process's CPU seconds and memory.

    python -m bench.bot_process --base-url URL --token T --port P --database-url URL [--series 10]
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import os
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from bench.common import SECRET_KEY, WEBHOOK_SECRET, answer, meedoen_run, process_figures, serve_commands

IN_ENGINE = contextvars.ContextVar("in_engine", default=False)


class Timings:
    def __init__(self) -> None:
        self.statements = 0  # sent to the database by this process (``BEGIN`` included)
        self.connections = 0  # database connections this process opened
        self.received: dict[str, float] = {}  # update_id -> webhook arrival
        self.handled: list[tuple[float, float, float]] = []  # (received, engine start, engine end)
        self.webhook: list[float] = []  # seconds the webhook took to answer
        self.held: list[float] = []  # seconds an engine transaction took (on SQLite: held the writer)

    def wrap_transactions(self, database_class) -> None:
        """Time, for the engine's transactions, how long each held the write lock."""
        original = database_class.transaction
        held = self.held

        @contextlib.asynccontextmanager
        async def transaction(db, **options):
            async with original(db, **options) as connection:
                started = time.monotonic()
                try:
                    yield connection
                finally:
                    if IN_ENGINE.get():
                        held.append(time.monotonic() - started)

        database_class.transaction = transaction

    def count_statements(self, db) -> None:
        from sqlalchemy import event

        def seen(*_args) -> None:
            self.statements += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        event.listen(db.engine.sync_engine, "begin", seen)

        def opened(*_args) -> None:
            self.connections += 1

        event.listen(db.engine.sync_engine, "connect", opened)

    def wrap_webhook(self, webhook):
        async def timed(request):
            started = time.monotonic()
            try:
                body = await request.json()  # Starlette caches it for the real handler
                self.received[str(body.get("update_id"))] = started
            except Exception:  # let the real handler answer the bad request
                pass
            response = await webhook(request)
            self.webhook.append(time.monotonic() - started)
            return response

        return timed

    def wrap_handle(self, handle):
        async def timed(incoming):
            started = time.monotonic()
            IN_ENGINE.set(True)  # this update's own task
            try:
                await handle(incoming)
            finally:
                received = self.received.pop(str(incoming.update_id), started)
                self.handled.append((received, started, time.monotonic()))

        return timed


async def add_series(db, count: int, capacity: int, now: datetime) -> list[int]:
    from bot.store import series as series_store

    ids = []
    start = (now + timedelta(days=14)).date()
    async with db.transaction() as connection:
        for n in range(count):
            new = series_store.NewSeries(
                f"Mannen in gesprek {n + 1}", n % 7, clock(19, 0), start, 6, capacity,
                f"Huis van de Wijk {n + 1}", "Osdorp",
            )
            ids.append(await series_store.add(connection, new, "Europe/Amsterdam", now))
    return ids


async def serve(args: argparse.Namespace) -> None:
    from bot.config import Settings
    from bot.store.database import Database

    settings = Settings(
        database_url=args.database_url,
        secret_key=SECRET_KEY,
        telegram_bot_token=args.token,
        telegram_api_base_url=args.base_url,
        telegram_webhook_secret=WEBHOOK_SECRET,
        public_url=args.public_url or f"http://127.0.0.1:{args.port}",
        http_port=args.port,
        # Measure the handling, not Telegram's pace: replies are not held back here.
        telegram_rate=1_000_000.0,
        telegram_chat_interval=0.001,
    )
    db = Database(settings.database_url)
    await db.upgrade()
    series_ids = await add_series(db, args.series, args.capacity, datetime.now(UTC))
    await db.close()

    timings = Timings()
    timings.wrap_transactions(Database)

    def prepare(service) -> None:
        telegram = service.channels["telegram"]
        telegram.webhook = timings.wrap_webhook(telegram.webhook)
        telegram._handle = timings.wrap_handle(telegram._handle)  # noqa: SLF001
        timings.count_statements(service.db)

    async with meedoen_run(settings, prepare=prepare):
        answer({"ready": True, "series_ids": series_ids, "pid": os.getpid()})

        async def stats(params: dict) -> dict:
            return {
                **process_figures(), "handled": timings.handled, "webhook": timings.webhook, "held": timings.held,
                "statements": timings.statements, "connections": timings.connections,
            }

        async def reset(params: dict) -> dict:
            timings.handled.clear()
            timings.webhook.clear()
            timings.held.clear()
            return {"ok": True}

        await serve_commands({"stats": stats, "reset": reset})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_process")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=120)
    parser.add_argument("--public-url", help="the webhook's base URL (default: this process's own port)")
    from bot.app.cli import run_loop

    run_loop(serve(parser.parse_args(argv)), fast=True)  # on the event loop ``meedoen run`` uses


if __name__ == "__main__":
    main()
