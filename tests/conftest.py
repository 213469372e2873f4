"""Shared fixtures: a real database per test, migrated; settings for it.

The database is a SQLite file, or with ``MEEDOEN_TEST_DATABASE=postgresql`` a fresh database
on a private PostgreSQL server (bench/postgres_server.py). ``postgres_url`` always gives a
PostgreSQL database, for the tests about several instances; without PostgreSQL's programs they
skip with one line saying how to enable them, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import UTC, datetime

import pytest

from bench.postgres_server import PostgresServer, PostgresUnavailable
from bot.config import Settings
from bot.store.database import Database

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


ON_POSTGRES = os.environ.get("MEEDOEN_TEST_DATABASE", "sqlite") == "postgresql"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database on the private server, named for this test's number."""
    name = f"test_{next(_database_numbers)}"

    async def create() -> None:
        import asyncpg

        connection = await asyncpg.connect(postgres_server.url().replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        finally:
            await connection.close()

    asyncio.run(create())
    return postgres_server.url(name)


@pytest.fixture
def database_url(request, tmp_path) -> str:
    if ON_POSTGRES:
        return request.getfixturevalue("postgres_url")
    return f"sqlite+aiosqlite:///{tmp_path / 'meedoen.db'}"


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-0123456789")


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.close()
