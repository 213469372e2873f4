import asyncio
from datetime import date, time

import pytest
from sqlalchemy import inspect, select, text

from bot.store import chats, conversations, participants, updates
from bot.store import series as series_store
from bot.store.database import Database
from bot.store.schema import metadata, signups
from tests.conftest import NOW

SERIES = series_store.NewSeries(
    "Mannen in gesprek", 3, time(19, 0), date(2026, 12, 3), 6, 10, "Huis van de Wijk", "Osdorp"
)


async def make_series(db, new=SERIES) -> int:
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def test_migrations_create_exactly_the_schema_in_code(db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert differences == []


@pytest.mark.sqlite_only("SQLite's journal mode")
async def test_wal_mode_is_on(db):
    async with db.transaction() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"


async def test_thirty_at_once_for_ten_seats_from_separate_connections(database_url, db):
    """Thirty sign-ups race from thirty separate engines (as separate processes would):
    exactly ten seats are taken, the other twenty land on the waiting list."""
    series_id = await make_series(db)
    async with db.transaction() as connection:
        ids = [
            await participants.create(connection, "telegram", str(1000 + n), "so", NOW)
            for n in range(30)
        ]
    engines = [Database(database_url) for _ in ids]

    async def one(engine: Database, participant_id: int) -> str:
        try:
            async with engine.transaction() as connection:
                return await series_store.sign_up(connection, participant_id, series_id, waitlist=False, now=NOW)
        except series_store.SeatUnavailable:
            async with engine.transaction() as connection:
                return await series_store.sign_up(connection, participant_id, series_id, waitlist=True, now=NOW)

    results = await asyncio.gather(*(one(e, p) for e, p in zip(engines, ids, strict=True)))
    for engine in engines:
        await engine.close()
    assert results.count("confirmed") == 10
    assert results.count("waitlist") == 20
    async with db.transaction() as connection:
        stored = (await connection.execute(select(signups.c.status))).scalars().all()
    assert sorted(stored).count("confirmed") == 10 and len(stored) == 30


async def catalog_views(db, catalog, now=NOW):
    async with db.transaction() as connection:
        chat = await chats.at_start(connection, "telegram", "1", "no-marker", now)
        return await catalog.views(connection, chat.catalog_version, now)


async def test_the_series_catalog_follows_every_change_from_any_process(database_url, db):
    """The engine keeps the series overview in memory; a change from another process (the
    command line) or a cascade must show on the next turn, never a stale seat count."""
    series_id = await make_series(db, SERIES.__class__(**{**SERIES.__dict__, "capacity": 2}))
    catalog = series_store.Catalog()
    (before,) = await catalog_views(db, catalog)
    assert (before.confirmed, before.seats_left) == (0, 2)
    other = Database(database_url)  # as the command line would, in a process of its own
    async with other.transaction() as connection:
        pid = await participants.create(connection, "telegram", "2", "nl", NOW)
        await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
    (after,) = await catalog_views(db, catalog)
    assert (after.confirmed, after.seats_left) == (1, 1)
    async with other.transaction() as connection:
        await participants.erase(connection, "telegram", "2")  # his sign-up goes with him
        await connection.execute(text("UPDATE series SET status = 'closed'"))
    await other.close()
    assert await catalog_views(db, catalog) == ()


async def test_the_series_catalog_moves_on_as_meetings_begin(db):
    await make_series(db)
    catalog = series_store.Catalog()
    (first,) = await catalog_views(db, catalog)
    (second,) = await catalog_views(db, catalog, first.next_meeting)  # the first one begins
    assert second.next_meeting > first.next_meeting
    (again,) = await catalog_views(db, catalog)  # a clock set back sees the first one again
    assert again.next_meeting == first.next_meeting


async def test_signing_up_twice_keeps_one_row(db):
    series_id = await make_series(db)
    async with db.transaction() as connection:
        pid = await participants.create(connection, "telegram", "1", "nl", NOW)
        first = await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
        second = await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
        count = len((await connection.execute(select(signups))).all())
    assert (first, second, count) == ("confirmed", "confirmed", 1)


async def test_a_closed_series_takes_nobody(db):
    series_id = await make_series(db)
    async with db.transaction() as connection:
        await connection.execute(text("UPDATE series SET status = 'closed'"))
        pid = await participants.create(connection, "telegram", "1", "nl", NOW)
    with pytest.raises(series_store.SeatUnavailable):
        async with db.transaction() as connection:
            await series_store.sign_up(connection, pid, series_id, waitlist=True, now=NOW)


async def test_waitlist_positions_follow_arrival(db):
    series_id = await make_series(db, SERIES.__class__(**{**SERIES.__dict__, "capacity": 1}))
    async with db.transaction() as connection:
        pids = [await participants.create(connection, "telegram", str(n), "nl", NOW) for n in range(3)]
        for number, pid in enumerate(pids):
            await series_store.sign_up(connection, pid, series_id, waitlist=number > 0, now=NOW)
        mine = [await participants.signups_of(connection, pid) for pid in pids]
    assert [held[0].status for held in mine] == ["confirmed", "waitlist", "waitlist"]
    assert [held[0].waitlist_position for held in mine] == [None, 1, 2]


async def test_update_ids_are_processed_once(db):
    async with db.transaction() as connection:
        assert await updates.first_time(connection, "telegram", "42", NOW)
        assert not await updates.first_time(connection, "telegram", "42", NOW)
        assert await updates.first_time(connection, "whatsapp", "42", NOW)


async def test_erase_leaves_no_row_that_names_him(db):
    series_id = await make_series(db)
    async with db.transaction() as connection:
        pid = await participants.create(connection, "telegram", "777001", "ar", NOW)
        await participants.change(connection, pid, name="Yusuf", area="Osdorp")
        await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
        await conversations.save(connection, "telegram", "777001", {"at": "menu", "q": 3}, NOW)
        other = await participants.create(connection, "telegram", "777002", "nl", NOW)
        await series_store.sign_up(connection, other, series_id, waitlist=False, now=NOW)
    async with db.transaction() as connection:
        await participants.erase(connection, "telegram", "777001")
    assert await rows_mentioning(db, ["777001", "Yusuf"], participant_id=pid) == []
    assert await rows_mentioning(db, ["777002"]) != []  # the other man is untouched


async def rows_mentioning(db, needles, participant_id=None):
    """Every (table, row) in the database file holding one of ``needles``, or a reference
    to ``participant_id`` in a column that refers to participants. Sealed columns are read
    opened (with ``db``'s key): what they hold is kept all the same."""
    found = []
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            query = select(metadata.tables[table]) if table in metadata.tables else text(f'SELECT * FROM "{table}"')
            for row in (await connection.execute(query)).mappings():
                values = {k: str(v) for k, v in row.items() if v is not None}
                if any(needle in value for needle in needles for value in values.values()):
                    found.append((table, dict(row)))
                elif participant_id is not None and (
                    values.get("participant_id") == str(participant_id)
                    or (table == "participants" and values.get("id") == str(participant_id))
                ):
                    found.append((table, dict(row)))
    return found


@pytest.mark.sqlite_only("SQLite's file and log; tests/test_erasure.py reads PostgreSQL's files")
async def test_erased_data_is_gone_from_the_file_bytes(db, tmp_path):
    """Not only the tables: the database file and its write-ahead log hold no trace either
    (secure_delete zeroes freed space; the scheduler truncates the log on every tick)."""
    async with db.transaction() as connection:
        pid = await participants.create(connection, "telegram", "987654321", "so", NOW)
        await participants.change(connection, pid, name="Zakariye-Xasan")
        await conversations.save(connection, "telegram", "987654321", {"checkin": {"answers": [2, 1]}}, NOW)
    await db.truncate_log()
    async with db.transaction() as connection:
        await participants.erase(connection, "telegram", "987654321")
    await db.truncate_log()
    for path in tmp_path.glob("meedoen.db*"):
        data = path.read_bytes()
        assert b"Zakariye-Xasan" not in data, path.name
        assert b"987654321" not in data, path.name
