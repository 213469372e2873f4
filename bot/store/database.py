"""The database connection: one async engine, serialised write transactions, migrations.

SQLite allows one writer at a time. Rather than let connections race and retry on
``SQLITE_BUSY``, transactions inside one process queue on an ``asyncio.Lock`` (fair, no
polling), and each begins with ``BEGIN IMMEDIATE`` so that another process (the CLI next to
a running service) waits on the busy timeout instead of failing half-way. On PostgreSQL the
lock is not used; row locks in the store do the same job.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from bot.store import sealing


class WriteLock:
    """SQLite's single writer, taken in arrival order, except that an ``urgent`` transaction
    goes ahead of those waiting: storing an incoming update must not wait behind every turn
    already queued, since the platform waits for its acknowledgement (bot.store.inbound).
    A ``background`` one (bookkeeping nobody waits for: the outbox recording outcomes,
    claiming rows ahead) waits for those and for the men's turns, so that an answer is not
    queued behind a broadcast's bookkeeping (docs/benchmarks.md, replies under load)."""

    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future] = deque()
        self._normal: deque[asyncio.Future] = deque()
        self._background: deque[asyncio.Future] = deque()

    async def acquire(self, urgent: bool = False, background: bool = False) -> None:
        if not self._locked:
            self._locked = True
            return
        future = asyncio.get_running_loop().create_future()
        line = self._urgent if urgent else self._background if background else self._normal
        line.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed the lock just as we were cancelled: pass it on
            else:
                line.remove(future)
            raise

    def release(self) -> None:
        for line in (self._urgent, self._normal, self._background):
            while line:
                future = line.popleft()
                if not future.done():
                    future.set_result(None)  # the lock passes straight to this waiter
                    return
        self._locked = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc_info) -> None:
        self.release()


# Connections one process keeps open to PostgreSQL (docs/scaling.md, "The deployment"): its
# transactions are short, so a few overlap at most, and N instances stay well inside
# PostgreSQL's max_connections (100 by default). No overflow beyond it: SQLAlchemy closes an
# overflow connection after each use, and opening one (a new server process, the driver's type
# set-up, its prepared statements lost) cost more CPU than the transactions it served (157
# connections opened for 1,800 updates with SQLAlchemy's default of 5 + 10, bench.inbound).
POSTGRES_POOL = 10


class Database:
    def __init__(self, url: str, *, seal: sealing.Seal | None = None) -> None:
        """``seal``: the key that seals and opens the sealed columns (``bot.store.sealing``),
        made from MEEDOEN_SECRET_KEY by ``sealing.Seal``; without it sealed values cannot be
        read and new ones are written plain."""
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        pool = {} if self.is_sqlite else {"pool_size": POSTGRES_POOL, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(url, **pool)
        sealing.attach(self.engine.dialect, seal)
        self._write_lock = WriteLock() if self.is_sqlite else None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @property
    def shared(self) -> bool:
        """Whether other ``meedoen run`` instances may use this database at the same time
        (PostgreSQL; docs/scaling.md). A SQLite file serves one process."""
        return not self.is_sqlite

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False, background: bool = False) -> AsyncIterator[AsyncConnection]:
        """One atomic unit of work; commits on success, rolls back on any exception.
        ``urgent``: on SQLite, go ahead of the transactions waiting for the writer;
        ``background``: let all others waiting go first (see ``WriteLock``)."""
        if self._write_lock is None:
            async with self.engine.begin() as connection:
                yield connection
            return
        await self._write_lock.acquire(urgent, background)
        try:
            async with self.engine.begin() as connection:
                yield connection
        finally:
            self._write_lock.release()

    async def upgrade(self) -> None:
        """Apply every pending Alembic migration. On PostgreSQL several instances may start
        together: each first takes one advisory lock, held until its transaction ends, so the
        first checks and migrates while the others wait and then find the database at head.
        (On SQLite ``BEGIN IMMEDIATE`` already lets one process in at a time.)"""
        async with self.transaction() as connection:
            if not self.is_sqlite:
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            if not await connection.run_sync(_at_head):
                await connection.run_sync(_run_upgrade)

    async def reclaim(self, tables: Iterable[str]) -> None:
        """Make deleted rows of ``tables`` leave the database's files (after /delete).

        SQLite zeroes freed space itself (``secure_delete``). PostgreSQL keeps a deleted row's
        bytes in the table's file as a dead tuple, and a plain VACUUM only marks that space
        free: the bytes stay until a later row overwrites them, in the table and in its
        indexes. ``VACUUM FULL`` writes each table and its indexes anew and empties the old
        files. It runs outside a transaction (autocommit), one table at a time, each briefly
        locked against every other use; what it cannot reach (the write-ahead log, backups)
        is described in docs/scaling.md, "Erasure on PostgreSQL"."""
        if self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            quote = connection.dialect.identifier_preparer.quote
            await autocommit.exec_driver_sql(f"VACUUM FULL {', '.join(quote(table) for table in sorted(tables))}")

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


MIGRATIONS = resources.files("bot") / "migrations"
# PostgreSQL's advisory lock for migrations: any fixed 64-bit number, the same in every instance.
MIGRATION_LOCK = 0x6D6565646F656E  # "meedoen"


def _at_head(sync_connection) -> bool:
    """Whether the database has every migration already. Every command checks this first:
    reading ``alembic_version`` takes a millisecond, while importing Alembic (with its
    dialect modules) and loading the migration scripts takes about 0.3 s."""
    if not inspect(sync_connection).has_table("alembic_version"):
        return False
    stored = {row[0] for row in sync_connection.execute(text("SELECT version_num FROM alembic_version"))}
    return stored == head_revisions()


@cache
def head_revisions() -> frozenset[str]:
    """The newest revision(s) of ``bot/migrations/versions``: those no other script revises.
    Read from the scripts' ``revision = ...`` and ``down_revision = ...`` lines (as
    ``script.py.mako`` writes them) without importing the scripts or Alembic; a test holds
    this equal to Alembic's own heads."""
    revisions, revised = _revision_links()
    return frozenset(revisions - revised)


def known_revisions() -> frozenset[str]:
    """Every revision this version of Meedoen knows (a backup at another was made by a newer one)."""
    return frozenset(_revision_links()[0])


_REVISION_LINE = re.compile(r"(down_)?revision\s*=")


@cache
def _revision_links() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, every revision some script revises), from the scripts' text: only
    their ``revision = ...`` and ``down_revision = ...`` lines are parsed (the whole scripts,
    50 kB, took 15-30 ms of every command)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        lines = [line for line in script.read_text(encoding="utf-8").splitlines() if _REVISION_LINE.match(line)]
        values = {
            node.targets[0].id: ast.literal_eval(node.value)
            for node in ast.parse("\n".join(lines)).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("revision", "down_revision")
        }
        revisions.add(values["revision"])
        down = values.get("down_revision")
        revised.update((down,) if isinstance(down, str) else down or ())
    return frozenset(revisions), frozenset(revised)


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _run_upgrade(sync_connection) -> None:
    from alembic import command

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
