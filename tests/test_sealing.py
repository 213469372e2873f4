"""Sealed columns (bot/store/sealing.py), and the database's raw files read as an attacker would
who holds them and the participants table, but not MEEDOEN_SECRET_KEY (docs/scaling.md,
"Check-in anonymity on PostgreSQL").

The attacker looks for a man's answers next to his chat address: in his conversation's state
(the check-in's answers so far), in the raw update he sent (the button he tapped), in the replies
queued for him, in every old version of those rows that the files still hold, and, on
PostgreSQL, by joining row versions on the number of the transaction that wrote them (xmin)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.store import checkins, conversations
from bot.store.database import Database
from bot.store.schema import checkin_pool
from bot.store.schema import conversations as conversations_table
from bot.store.sealing import BUCKET, PREFIX, Seal, SealError
from scheduler.statement_offers import queue_statement_offers
from tests.conftest import NOW
from tests.sealed import SEAL, SECRET_KEY
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_checkin_anonymity import tg  # noqa: F401 - the fixture
from tests.test_telegram_signup import FIRST_MEETING, add_series, sign_up

LABEL = "conversations.state"


# --- the seal itself ---------------------------------------------------------------------------


def test_a_sealed_value_opens_with_its_key_and_nothing_of_it_shows():
    state = json.dumps({"flow": "checkin", "checkin": {"answers": [0, 2, 1]}})
    stored = SEAL.seal_text(state, LABEL)
    assert stored.startswith(PREFIX) and "answers" not in stored and "checkin" not in stored
    assert SEAL.open_text(stored, LABEL) == state
    assert Seal(SECRET_KEY).open_text(stored, LABEL) == state, "the key is derived again, not kept"
    assert SEAL.seal_text(state, LABEL) != stored, "a fresh nonce each time: equal answers do not look equal"


def test_another_key_fails_with_one_clear_sentence():
    stored = SEAL.seal_text('{"answers":[1]}', LABEL)
    with pytest.raises(SealError) as refused:
        Seal("another-secret-key-0123456789").open_text(stored, LABEL)
    message = str(refused.value)
    assert "MEEDOEN_SECRET_KEY" in message and "\n" not in message and "answers" not in message


def test_answers_of_different_lengths_seal_to_equal_lengths():
    """Whatever he answered, the sealed state is as long: an answer of 10 is no longer than one
    of 0, and six answers no longer than one."""
    states = [
        {"flow": "checkin", "checkin": {"answers": answers, "worthwhile": worthwhile}}
        for answers in ([0], [2, 2, 2, 2, 2, 2], [1, None, 0]) for worthwhile in (0, 10)
    ]
    lengths = {len(SEAL.seal_text(json.dumps(state), LABEL)) for state in states}
    assert len(lengths) == 1
    assert len(SEAL.seal(b"x" * (BUCKET - 1), LABEL)) == len(SEAL.seal(b"", LABEL))
    assert len(SEAL.seal(b"x" * BUCKET, LABEL)) > len(SEAL.seal(b"", LABEL)), "the next bucket"
    for size in (0, 1, BUCKET - 1, BUCKET, 3 * BUCKET + 7):
        plain = bytes(range(256)) * 4
        assert SEAL.open(SEAL.seal(plain[:size], LABEL), LABEL) == plain[:size]


def test_a_changed_byte_or_a_value_moved_to_another_column_does_not_open():
    sealed = bytearray(SEAL.seal(b'{"answers":[2]}', LABEL))
    for position in (0, 12, len(sealed) // 2, len(sealed) - 1):  # nonce, ciphertext, tag
        changed = bytearray(sealed)
        changed[position] ^= 1
        with pytest.raises(SealError):
            SEAL.open(bytes(changed), LABEL)
    with pytest.raises(SealError):
        SEAL.open(bytes(sealed), "outbox.payload")


async def test_plain_values_from_before_are_read_and_sealed_when_next_written(db):
    """A conversation stored before sealing (0022) is read as it is, and sealed at its next
    save; a database opened without the key refuses to read a sealed one, in one sentence."""
    async with db.transaction() as connection:
        await connection.execute(conversations_table.insert().values(
            channel="telegram", address="41", state='{"flow":"checkin","checkin":{"answers":[1]}}', updated_at=NOW))
        assert await conversations.load(connection, "telegram", "41") == {"flow": "checkin", "checkin": {"answers": [1]}}
        await conversations.save(connection, "telegram", "41", {"flow": "checkin", "checkin": {"answers": [1, 2]}}, NOW)
    keyless = Database(db.url)
    try:
        async with keyless.transaction() as connection:
            [stored] = await connection.scalars(text("SELECT state FROM conversations"))  # as stored
            assert stored.startswith(PREFIX) and "answers" not in stored
            with pytest.raises(SealError, match="MEEDOEN_SECRET_KEY"):
                await conversations.load(connection, "telegram", "41")
    finally:
        await keyless.close()
    async with db.transaction() as connection:
        assert await conversations.load(connection, "telegram", "41") == {"flow": "checkin", "checkin": {"answers": [1, 2]}}
        # a pool row carried over by 0022 (plain JSON) moves with the week like a sealed one
        await connection.execute(checkin_pool.insert().values(
            id="ab" * 16, iso_week="2026-W47", sealed='{"language":"nl","area":null,"worthwhile":7}'))
        assert await checkins.flush(connection, NOW + timedelta(days=7)) == 1


# --- what an attacker looks for in the raw bytes ----------------------------------------------------

# Plain traces of a man's answers: a poll's answers so far in a conversation state, the choices
# of the listening poll, a tapped button in a raw Telegram update ("<question>|<key>|<mac>",
# e.g. "5|a:2|..." for a check-in item, "v:4" a statement, "t:3" a listening option), a queued
# question with its options, any conversation state at all.
LEAKS = [
    rb'"answers":\[', rb'"chosen":', rb'\d\|[avwt]:\d+\|', rb'"callback_query"', rb'"options":\[\[', rb'"flow":',
]


def leaks_in(data: bytes) -> list[str]:
    return [pattern.decode() for pattern in LEAKS if re.search(pattern, data)]


def leaks_near(data: bytes, addresses: list[str], reach: int = 4096) -> list[str]:
    """Each trace of ``LEAKS`` within ``reach`` bytes of one of ``addresses`` in ``data``."""
    found = []
    for address in addresses:
        for match in re.finditer(re.escape(address.encode()), data):
            window = data[max(0, match.start() - reach): match.end() + reach]
            found += [f"{leak} near {address}" for leak in leaks_in(window)]
    return found


async def check_in(chat: Chat, items: list[str]) -> None:
    await chat.command("/checkin")
    for key in items:
        await chat.tap(key)


# --- SQLite: the file and its write-ahead log while a man is half-way ------------------------------


@pytest.mark.sqlite_only("reads SQLite's database file and write-ahead log")
async def test_the_sqlite_files_hold_no_answer_of_a_man_half_way(tg, settings, db):
    """Read the moment he is half-way, before the scheduler empties the log: neither the file
    nor the log holds what he has answered so far, the button he tapped or the question queued."""
    series_id = await add_series(db)
    path = Path(settings.database_url.split("///", 1)[1])
    men = ["55501", "55502"]
    async with running(telegram_settings(settings, tg)):
        half, done = (Chat(tg, int(address), language_code="nl") for address in men)
        for chat in (half, done):
            await sign_up(chat, "nl", "Mohammed Bouzid", f"s:{series_id}", "a:1")
        await check_in(done, ["a:0", "a:2", "a:0", "a:2", "a:0", "a:2", "yes", "w:9"])
        await check_in(half, ["a:2", "a:2", "a:1"])
        files = {file.name: file.read_bytes() for file in path.parent.glob("meedoen.db*")}
    assert files.get("meedoen.db-wal"), "the log is read while it holds the latest pages"
    assert all(address.encode() in files["meedoen.db"] + files["meedoen.db-wal"] for address in men)
    for name, data in files.items():  # the whole file: all of it is theirs
        assert leaks_in(data) == [], name


# --- PostgreSQL: data files, WAL and raw tuples -------------------------------------------------


async def test_the_postgresql_files_and_tuples_hold_only_sealed_answers(tg, postgres_server, postgres_url):
    """Several men, each with an answer pattern of his own, go through the check-in half-way
    or to the end, and through the statements and the listening poll; then a checkpoint. In
    the database's files and the server's WAL nothing near a man's address shows an answer.
    Read with pageinspect, every version of the pool rows and conversation rows (dead and
    alive) holds only sealed bytes, also the pool versions written by the same transaction as a
    man's conversation. After the weekly move the plain responses carry one transaction number,
    which no conversation row has, and lie in an order unrelated to the check-ins."""
    import asyncpg

    db = Database(postgres_url, seal=SEAL)
    await db.upgrade()
    settings = Settings(database_url=postgres_url, secret_key=SECRET_KEY)
    series_id = await add_series(db)
    raw = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    await raw.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    finishers = [f"77123{n:02d}" for n in range(8)]
    halfway = [f"77124{n:02d}" for n in range(3)]
    everyone = finishers + halfway
    clock = [NOW]
    try:
        async with running(telegram_settings(settings, tg), now=lambda: clock[0]) as service:
            chats = {address: Chat(tg, int(address), language_code="nl") for address in everyone}
            for address, chat in chats.items():
                await sign_up(chat, "nl", f"Man {address}", f"s:{series_id}", "a:1")
            clock[0] = FIRST_MEETING + timedelta(minutes=5)
            # the statements, offered by the scheduler's job when the series starts
            await queue_statement_offers(service.db, settings, clock[0])
            service.wake_all()
            poll = chats[finishers[0]]
            await tg.wait_for(lambda: any(k.startswith("st:go:") for k in poll.keys()), timeout=10)
            await poll.tap(f"st:go:{series_id}:before")
            for key in ("v:5", "v:1", "v:4", "v:2"):
                await poll.tap(key)
            for n, address in enumerate(finishers):  # worthwhile n tells the rows apart
                items = [f"a:{(n + k) % 3}" for k in range(6)]
                await check_in(chats[address], [*items, "yes", f"w:{n}"])
            for n, address in enumerate(halfway):
                await check_in(chats[address], [f"a:{n}", f"a:{2 - n}"])
            listener = chats[finishers[1]]
            await listener.command("/listen")
            for key in ("t:3", "t:5", "done", "t:2", "done", "t:1", "done"):
                await listener.tap(key)
            await asyncio.sleep(0.3)  # the last replies delivered

            leaks = await files_near(raw, postgres_server, everyone)
            assert leaks == [], leaks
            pool_tuples = {table: await tuples(raw, table) for table in ("checkin_pool", "statement_pool", "listening_pool")}
            assert len([t for t in pool_tuples["checkin_pool"] if t[1] == 0]) == len(finishers)
            assert pool_tuples["statement_pool"] and pool_tuples["listening_pool"]
            conversation_tuples = await tuples(raw, "conversations")
            theirs = [t for t in conversation_tuples if any(a.encode() in t[2] for a in everyone)]
            assert len(theirs) > len(everyone), "old versions of their conversation rows are there to read"
            for _xmin, _xmax, data in theirs:
                assert PREFIX.encode() in data and not any(re.search(p, data) for p in LEAKS)
            # The attacker's join: pool versions written by the transaction that wrote a man's
            # conversation row. There are some (his finished check-in), and they are sealed.
            xmins = {xmin for xmin, _xmax, _data in theirs}
            joined = [t for ts in pool_tuples.values() for t in ts if t[0] in xmins]
            assert joined
            for table, versions in pool_tuples.items():
                for _xmin, _xmax, data in versions:
                    assert PREFIX.encode() in data, table
                    assert b'"' not in data and b"answers" not in data, table

            clock[0] += timedelta(days=7)
            await service.scheduler.tick()

        rows = await raw.fetch("SELECT xmin::text::bigint AS xmin, worthwhile FROM checkin_responses ORDER BY ctid")
        assert sorted(row["worthwhile"] for row in rows) == list(range(len(finishers)))
        moved = {row["xmin"] for row in rows}
        for table in ("statement_responses", "listening_responses"):
            moved |= {row["xmin"] for row in await raw.fetch(f"SELECT xmin::text::bigint AS xmin FROM {table}")}
        assert len(moved) == 1, "the week's move writes every response in one transaction"
        assert not moved & {xmin for xmin, _xmax, _data in await tuples(raw, "conversations")}
        order = [row["worthwhile"] for row in rows]  # in the order the heap keeps them
        arrival = list(range(len(finishers)))
        assert order not in (arrival, arrival[::-1]), "the responses lie in the order of the check-ins"
        for table in ("checkin_pool", "statement_pool", "listening_pool"):
            assert await raw.fetchval(f"SELECT count(*) FROM {table}") == 0
    finally:
        await raw.close()
        await db.close()


async def tuples(raw, table: str) -> list[tuple[int, int, bytes]]:
    """Every row version in ``table``'s heap, dead or alive: (xmin, xmax, the tuple's bytes)."""
    blocks = await raw.fetchval(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", table
    )
    found = []
    for block in range(blocks):
        found += [
            (row["t_xmin"], row["t_xmax"], bytes(row["t_data"]))
            for row in await raw.fetch(
                "SELECT t_xmin::text::bigint AS t_xmin, t_xmax::text::bigint AS t_xmax, t_data"
                " FROM heap_page_items(get_raw_page($1, $2::int)) WHERE t_data IS NOT NULL",
                table, block,
            )
        ]
    return found


async def files_near(raw, server, addresses: list[str]) -> list[str]:
    """After a checkpoint, every file of this database (tables, indexes, free space) and of the
    server's WAL, searched for answers near the men's addresses."""
    await raw.execute("CHECKPOINT")
    oid = await raw.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
    data = server.folder / "data"
    found = []
    for path in sorted([*(data / "base" / str(oid)).iterdir(), *(data / "pg_wal").glob("0*")]):
        if path.is_file():
            found += [f"{path.parent.name}/{path.name}: {leak}" for leak in leaks_near(path.read_bytes(), addresses)]
    return found
