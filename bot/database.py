"""The database connection: one async engine, serialised write transactions, migrations.

SQLite allows one writer at a time. Rather than let connections race and retry on
``SQLITE_BUSY``, transactions inside one process queue on an ``asyncio.Lock`` (fair, no
polling), and each begins with ``BEGIN IMMEDIATE`` so that another process (the CLI next to
a running service) waits on the busy timeout instead of failing half-way. On PostgreSQL the
lock is not used; row locks in the store do the same job.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from importlib import resources
from typing import AsyncIterator

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine: AsyncEngine = create_async_engine(url)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One atomic unit of work; commits on success, rolls back on any exception."""
        if self._write_lock is None:
            async with self.engine.begin() as connection:
                yield connection
            return
        async with self._write_lock:
            async with self.engine.begin() as connection:
                yield connection

    async def upgrade(self) -> None:
        """Apply every pending Alembic migration."""
        async with self.transaction() as connection:
            await connection.run_sync(_run_upgrade)

    async def truncate_log(self) -> None:
        """Fold the write-ahead log into the database and empty it, so that old copies of
        changed pages (a check-in in progress, an erased man) do not linger in
        ``meedoen.db-wal``. Run by the scheduler on every tick; a no-op elsewhere."""
        if not self.is_sqlite:
            return
        async with self._write_lock, self.engine.connect() as connection:
            # outside any transaction: a checkpoint cannot run inside one
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self.engine.dispose()


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("bot") / "migrations"))
    return config


def _run_upgrade(sync_connection) -> None:
    config = _alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Erased rows and wiped conversation states are overwritten with zeros, not just
        # unlinked: "erased for real" must hold for the file's bytes too.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection) -> None:
        # Straight to aiosqlite: one trip to its thread, where ``exec_driver_sql`` takes three
        # (open a cursor, execute, close it) and SQLAlchemy's whole statement machinery. Every
        # transaction begins here, and the engine and the outbox run several per message.
        await_only(connection.connection.driver_connection.execute("BEGIN IMMEDIATE"))
