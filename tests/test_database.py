"""Migrations: every command checks the schema's revision first and runs Alembic only when
the database is behind (``bot.store.database.Database.upgrade``)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sqlalchemy import inspect, text

from bot.store import database
from bot.store.database import Database


def test_the_head_read_from_the_scripts_is_alembics_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(database._alembic_config())
    assert database.head_revisions() == frozenset(script.get_heads())


async def test_a_database_behind_is_upgraded_and_one_at_head_left_alone(empty_database_url):
    from alembic import command

    db = Database(empty_database_url)
    try:
        async with db.transaction() as connection:

            def to_0004(sync_connection) -> None:
                config = database._alembic_config()
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "0004")

            await connection.run_sync(to_0004)
            assert not await connection.run_sync(database._at_head)
        await db.upgrade()
        async with db.transaction() as connection:
            assert await connection.run_sync(database._at_head)
            indexes = await connection.run_sync(
                lambda sync: {index["name"] for index in inspect(sync).get_indexes("checkin_responses")}
            )
        assert "ix_checkin_responses_report" in indexes
        await db.upgrade()  # at head: nothing to do, nothing fails
    finally:
        await db.close()


def test_a_database_at_head_is_opened_without_importing_alembic(empty_database_url):
    code = (
        "import asyncio, sys\n"
        "from bot.store.database import Database\n"
        "async def main():\n"
        f"    db = Database({empty_database_url!r})\n"
        "    await db.upgrade()\n"
        "    await db.close()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    # A fresh process: the first upgrade migrates (Alembic); the second, in a new process, does not.
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "True"]
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["False", "False"]


async def test_the_write_lock_lets_an_urgent_transaction_go_ahead_of_those_waiting():
    lock, order = database.WriteLock(), []

    async def take(name: str, urgent: bool = False) -> None:
        await lock.acquire(urgent)
        order.append(name)
        await asyncio.sleep(0)
        lock.release()

    await lock.acquire()  # held: everyone below waits
    tasks = [asyncio.create_task(take("turn 1")), asyncio.create_task(take("turn 2"))]
    cancelled = asyncio.create_task(take("gone"))
    tasks.append(asyncio.create_task(take("inbound", urgent=True)))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["inbound", "turn 1", "turn 2"]
    await lock.acquire()  # free again
    lock.release()


async def test_three_instances_starting_together_migrate_once(postgres_url):
    """Several instances on one PostgreSQL start at the same moment: each ``upgrade`` waits
    on the migration lock, so exactly one migrates and the others find the database at head
    (without the lock two of them create ``alembic_version`` or the first table at once).
    Each instance has its own thread and event loop, as separate processes would."""

    def start_one() -> None:
        async def upgrade() -> None:
            instance = Database(postgres_url)
            try:
                await instance.upgrade()
            finally:
                await instance.close()

        asyncio.run(upgrade())

    await asyncio.gather(*(asyncio.to_thread(start_one) for _ in range(3)))
    db = Database(postgres_url)
    try:
        async with db.transaction() as connection:
            assert await connection.run_sync(database._at_head)
            versions = list(await connection.scalars(text("SELECT version_num FROM alembic_version")))
        assert sorted(versions) == sorted(database.head_revisions())
    finally:
        await db.close()


async def test_three_meedoen_processes_starting_together_migrate_once(postgres_url):
    """The same with three ``meedoen db upgrade`` processes, as three services would start."""
    from tests.test_cli import ameedoen

    results = await asyncio.gather(*(ameedoen(postgres_url, "db", "upgrade") for _ in range(3)))
    assert [code for code, _out, _err in results] == [0, 0, 0], [err for _code, _out, err in results]
    db = Database(postgres_url)
    try:
        async with db.transaction() as connection:
            assert await connection.run_sync(database._at_head)
    finally:
        await db.close()


async def test_the_unix_socket_url_of_the_docs_works_for_every_command(postgres_server):
    """docs/scaling.md advises PostgreSQL's Unix socket on the same machine
    (``postgresql+asyncpg://user@/db?host=/var/run/postgresql``): `meedoen db upgrade` and
    the service's own connection take that form of the URL as they take a host and port."""
    from tests.test_cli import ameedoen

    await postgres_server.create_database("through_the_socket")
    url = postgres_server.url("through_the_socket", socket=True)
    assert "@/" in url and "?host=/" in url
    code, _out, err = await ameedoen(url, "db", "upgrade")
    assert code == 0, err
    db = Database(url)
    try:
        assert db.shared
        async with db.transaction() as connection:
            assert await connection.run_sync(database._at_head)
            assert await connection.scalar(text("SELECT inet_server_addr() IS NULL"))  # not over TCP
    finally:
        await db.close()
