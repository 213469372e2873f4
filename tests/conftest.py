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
from tests import sealed

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


ON_POSTGRES = os.environ.get("MEEDOEN_TEST_DATABASE", "sqlite") == "postgresql"
_database_numbers = itertools.count(1)


# A test touches the database when it asks for one of these; only those run again on PostgreSQL.
DATABASE_FIXTURES = {"database_url", "empty_database_url", "settings", "db", "postgres_url", "postgres_server"}


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by the markers added here
def pytest_collection_modifyitems(config, items) -> None:
    """Tests that ask for PostgreSQL itself (``postgres_url``) get the ``postgres`` marker,
    so that a SQLite pass can leave them to the PostgreSQL pass (``-m "not postgres"``).
    On PostgreSQL (``MEEDOEN_TEST_DATABASE=postgresql``) run the tests that touch the
    database, and of those skip the ones about SQLite itself (``@pytest.mark.sqlite_only``);
    the others (dialogs, catalogs, browser pages) ran already in the SQLite pass."""
    for item in items:
        if {"postgres_url", "postgres_server"} & set(item.fixturenames):
            item.add_marker(pytest.mark.postgres)
    if not ON_POSTGRES:
        return
    kept, deselected = [], []
    for item in items:
        (kept if DATABASE_FIXTURES & set(item.fixturenames) else deselected).append(item)
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "about SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


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


def _create_database(server: PostgresServer, name: str, template: str) -> None:
    async def create() -> None:
        import asyncpg

        connection = await asyncpg.connect(server.url().replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await connection.close()

    asyncio.run(create())


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database on the private server, named for this test's number."""
    name = f"test_{next(_database_numbers)}"
    _create_database(postgres_server, name, "template0")
    return postgres_server.url(name)


@pytest.fixture(scope="session")
def migrated_template(postgres_server) -> str:
    """A database migrated to head once per run, copied for each test that wants a database
    (``CREATE DATABASE ... TEMPLATE`` copies files: milliseconds, where migrating takes a second)."""
    name = "meedoen_migrated"
    _create_database(postgres_server, name, "template0")

    async def migrate() -> None:
        database = Database(postgres_server.url(name))
        await database.upgrade()
        await database.close()  # a template must have no connections when it is copied

    asyncio.run(migrate())
    return name


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """The test's database: an empty SQLite file (the ``db`` fixture migrates it), or on
    PostgreSQL a copy of the migrated template, already at head."""
    if ON_POSTGRES:
        server = request.getfixturevalue("postgres_server")
        name = f"test_{next(_database_numbers)}"
        _create_database(server, name, request.getfixturevalue("migrated_template"))
        return server.url(name)
    return f"sqlite+aiosqlite:///{tmp_path / 'meedoen.db'}"


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A database without any table, for the tests of migrating one."""
    if ON_POSTGRES:
        return request.getfixturevalue("postgres_url")
    return f"sqlite+aiosqlite:///{tmp_path / 'meedoen.db'}"


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key=sealed.SECRET_KEY)


@pytest.fixture
async def db(database_url):
    database = Database(database_url, seal=sealed.SEAL)
    await database.upgrade()
    yield database
    await database.close()
