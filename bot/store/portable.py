"""Dialect helpers that keep the SQL portable between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_or_ignore(connection: AsyncConnection, table: Table, values: dict) -> bool:
    """Insert a row unless it collides with a unique key; True when a row was inserted."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    result = await connection.execute(
        dialect.insert(table).values(**values).on_conflict_do_nothing()
    )
    return result.rowcount == 1


async def upsert(connection: AsyncConnection, table: Table, key: dict, values: dict) -> None:
    """Insert the row ``key | values``, or update ``values`` where ``key`` already stands."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**key, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=list(key), set_=values)
    )
