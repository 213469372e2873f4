"""Dialect helpers that keep the SQL portable between SQLite and PostgreSQL.

Both run on every turn (the processed-update mark, the conversation state, each queued
message), so each statement is built once per dialect, table and set of columns and then
executed with the values as parameters, instead of being built and hashed anew per call.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(dialect_name: str, table: Table):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table)


@lru_cache(maxsize=256)
def _insert_or_ignore(dialect_name: str, table: Table):
    return _insert(dialect_name, table).on_conflict_do_nothing()


@lru_cache(maxsize=256)
def _upsert(dialect_name: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...]):
    statement = _insert(dialect_name, table)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={column: statement.excluded[column] for column in columns}
    )


async def insert_or_ignore(connection: AsyncConnection, table: Table, values: dict | list[dict]) -> bool:
    """Insert a row (or, given a list, many in one statement) unless it collides with a
    unique key; for one row, True when it was inserted."""
    statement = _insert_or_ignore(connection.dialect.name, table)
    result = await connection.execute(statement, values)
    return result.rowcount == 1


async def upsert(connection: AsyncConnection, table: Table, key: dict, values: dict) -> None:
    """Insert the row ``key | values``, or update ``values`` where ``key`` already stands."""
    statement = _upsert(connection.dialect.name, table, tuple(key), tuple(values))
    await connection.execute(statement, {**key, **values})
