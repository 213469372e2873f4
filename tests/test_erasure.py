"""The erasure ledger: /delete leaves a keyed hash of his address (and the day), and
``reapply`` erases him again from a database restored from an older backup."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.domain import erasure
from bot.store import conversations, erasures, help_requests, participants
from bot.store import series as series_store
from bot.store.schema import erasures as erasures_table
from bot.store.schema import signups
from tests.conftest import NOW
from tests.test_store import SERIES, rows_mentioning
from tests.test_telegram_signup import tg  # noqa: F401 - a fixture


async def test_erase_records_only_a_keyed_hash_and_the_day(db, settings):
    async with db.transaction() as connection:
        him = await participants.create(connection, "telegram", "7001", "nl", NOW)
        await help_requests.ask(connection, him, NOW)  # an open "get in touch" request goes too
        await erasure.erase(connection, settings, "telegram", "7001", NOW)
        ledger = await erasures.ledger(connection)
    secret = settings.secret_key.encode()
    assert ledger == {erasures.address_hash(secret, "telegram", "7001"): NOW.date().isoformat()}
    assert erasures.address_hash(b"another-key-0123456789", "telegram", "7001") not in ledger
    assert await rows_mentioning(db, ["7001"], participant_id=him) == []


async def test_reapply_erases_whom_the_ledger_names_but_not_a_later_new_sign_up(db, settings):
    erased_on = NOW + timedelta(days=3)
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, SERIES, settings.timezone, NOW)
        before = await participants.create(connection, "telegram", "7002", "so", NOW)
        await series_store.sign_up(connection, before, series_id, waitlist=False, now=NOW)
        await help_requests.ask(connection, before, NOW)
        await conversations.save(connection, "whatsapp", "+31612345678", {"lang": "ar"}, NOW)
        await participants.create(connection, "telegram", "7003", "nl", erased_on + timedelta(days=1))
        await participants.create(connection, "telegram", "7004", "en", NOW)
        secret = settings.secret_key.encode()
        for channel, address in (("telegram", "7002"), ("whatsapp", "+31612345678"), ("telegram", "7003")):
            await erasures.record(connection, erasures.address_hash(secret, channel, address), erased_on.date())
        erased = await erasure.reapply(connection, settings, erased_on + timedelta(days=5))
    assert erased == 2
    assert await rows_mentioning(db, ["7002", "+31612345678"], participant_id=before) == []
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "7003") is not None  # came back later
        assert await participants.find(connection, "telegram", "7004") is not None
        assert await connection.scalar(select(func.count()).select_from(signups)) == 0
        assert await connection.scalar(select(func.count()).select_from(erasures_table)) == 3


async def test_merge_keeps_the_later_day(db):
    async with db.transaction() as connection:
        await erasures.record(connection, "a" * 64, NOW.date())
        await erasures.merge(connection, {"a" * 64: "2020-01-01", "b" * 64: "2027-01-01"})
        await erasures.merge(connection, {"b" * 64: "2028-02-02"})
        assert await erasures.ledger(connection) == {"a" * 64: NOW.date().isoformat(), "b" * 64: "2028-02-02"}


async def test_erase_and_reapply_take_his_invite_marker_and_leave_the_counts(db, settings):
    """An invite marker is a keyed hash of him: /delete (and its reapplication after a
    restore) derives it again and deletes it; the anonymous counts stay."""
    from bot.domain import invites
    from bot.store.schema import invite_markers

    secret = settings.secret_key.encode()
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, SERIES, settings.timezone, NOW)
        for address in ("7101", "7102"):
            man = await participants.create(connection, "telegram", address, "nl", NOW)
            await series_store.sign_up(connection, man, series_id, waitlist=False, now=NOW)
            await invites.count_signup(connection, secret, "telegram", address, invites.Invite(series_id, "buurthuis"))
        await erasure.erase(connection, settings, "telegram", "7101", NOW)
        left = list(await connection.scalars(select(invite_markers.c.marker)))
        assert left == [invites.marker(secret, "telegram", "7102", series_id)]
        await erasures.record(connection, erasures.address_hash(secret, "telegram", "7102"), NOW.date())
        await erasure.reapply(connection, settings, NOW + timedelta(days=1))
        assert list(await connection.scalars(select(invite_markers.c.marker))) == []
        assert await invites.counts(connection, series_id) == [("buurthuis", 2, 0)]


# --- PostgreSQL: no trace in the server's files ----------------------------------------------------


async def test_after_delete_the_postgresql_files_hold_no_trace_of_him(tg, postgres_server, postgres_url):
    """Read as an attacker with the server's data folder would: after his /delete (and the
    VACUUM FULL Meedoen runs then, bot.domain.erasure.reclaim) and a checkpoint, no file of
    the database holds his name or chat id: not the tables, not their indexes, not free space
    in their pages. (The write-ahead log and backups still do, for a while: docs/scaling.md.)"""
    import asyncpg

    from bot.config import Settings
    from bot.store.database import Database
    from tests.telegram_chat import Chat, running, telegram_settings
    from tests.test_telegram_signup import add_series, sign_up

    db = Database(postgres_url)
    await db.upgrade()
    settings = Settings(database_url=postgres_url, secret_key="test-secret-key-0123456789")
    name, chat_id = "Zakariye-Xasan", 987654321
    series_id = await add_series(db)
    dsn = postgres_url.replace("postgresql+asyncpg", "postgresql")
    raw = await asyncpg.connect(dsn)
    try:
        folder = postgres_server.folder / "data" / "base" / str(
            await raw.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        )

        async def files_naming_him() -> list[str]:
            await raw.execute("CHECKPOINT")  # every changed page written to the files
            found = []
            for path in sorted(folder.iterdir()):
                data = path.read_bytes()
                if name.encode() in data or str(chat_id).encode() in data:
                    found.append(path.name)
            return found

        async with running(telegram_settings(settings, tg)) as service:
            chat = Chat(tg, chat_id, language_code="so")
            await sign_up(chat, "so", name, f"s:{series_id}", "a:0")
            await chat.command("/start")  # his menu: his conversation state written once more
            assert await files_naming_him(), "the attacker's reading finds him before /delete"
            await chat.command("/delete")
            await asyncio.sleep(0.5)  # as in test_checkin_anonymity: the question delivered first
            await chat.tap("erase")
            for _ in range(120):  # the farewell is delivered, then the tables are rewritten
                if not await files_naming_him():
                    break
                await asyncio.sleep(0.5)
            else:
                relations = {
                    str(node): relation for relation, node in await raw.fetch(
                        "SELECT relname, relfilenode FROM pg_class WHERE relfilenode <> 0"
                    )
                }
                pytest.fail(f"his name or chat id is still in {[relations.get(f, f) for f in await files_naming_him()]}")
            assert service is not None
    finally:
        await raw.close()
        await db.close()
