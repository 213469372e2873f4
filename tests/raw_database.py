"""The test's database read as an outsider would: plain SQL through the database's own driver
(the ``sqlite3`` module, or asyncpg for PostgreSQL), not through Meedoen's code.

Synchronous, so that a test can call it anywhere, also while a service runs in its event
loop: on PostgreSQL the query runs in a thread of its own with its own event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing

from sqlalchemy.engine import make_url


def query(database_url: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` as tuples, in the order the database gives them."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database)) as connection:
            return list(connection.execute(sql))
    return _in_thread(_postgres_query(url.set(drivername="postgresql").render_as_string(hide_password=False), sql))


class Rows(list):
    """A query's rows, read like a ``sqlite3`` cursor's."""

    def fetchall(self) -> list[tuple]:
        return list(self)

    def fetchone(self) -> tuple | None:
        return self[0] if self else None


class Reader:
    """``connect(url).execute(sql).fetchall()``, as with the ``sqlite3`` module, on either database."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def execute(self, sql: str) -> Rows:
        return Rows(query(self.database_url, sql))

    def close(self) -> None:
        """Nothing to close: each query had its own connection."""


def connect(database_url: str) -> Reader:
    return Reader(database_url)


def tables(database_url: str) -> list[str]:
    """Every table of the database (Alembic's own included)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return [name for (name,) in query(database_url, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [name for (name,) in query(
        database_url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )]


def columns(database_url: str, table: str) -> list[str]:
    """The table's columns, in the order ``SELECT *`` gives them."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return [row[1] for row in query(database_url, f'PRAGMA table_info("{table}")')]
    return [name for (name,) in query(
        database_url,
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position",
    )]


async def _postgres_query(dsn: str, sql: str) -> list[tuple]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        return [tuple(record) for record in await connection.fetch(sql)]
    finally:
        await connection.close()


def _in_thread(work):
    result: list = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work))
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
