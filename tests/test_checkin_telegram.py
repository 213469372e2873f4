"""Check-ins end to end on Telegram (python-telegram-bot against the local Bot API server,
a real SQLite file, the real catalogs), and what the database file holds afterwards.

The anonymity test reads every table of the file with the plain ``sqlite3`` module, the way a
database administrator would, and looks for anything that ties an answer to a man.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import checkins, coordinators
from dialogs import checkin
from dialogs.i18n import _, use_locale
from tests import raw_database, sealed
from tests.conftest import NOW, ON_POSTGRES
from tests.fakes.telegram_api import FakeTelegram, UploadedFile
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_checkin_anonymity import add_men
from tests.test_telegram_signup import add_series, sign_up

HELP_NUMBERS = ("113", "0800-0113", "088 0767 000")
ANONYMOUS = ("checkin_responses", "checkin_pool", "checkin_markers")
RESPONSE_COLUMNS = {
    "id", "iso_week", "language", "area", "item1", "item2", "item3", "item4", "item5", "item6",
    "emotional", "social", "total", "took_part", "worthwhile",
    "first_in_month",  # whether it is its man's first answer of the month (0010): a count, not a link
}


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


def in_(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


async def answer(chat: Chat, keys: list[str]) -> dict:
    """Start a check-in and tap ``keys`` (eight answers)."""
    await chat.command("/checkin")
    for key in keys:
        last = await chat.tap(key)
    return last


SEVERE = ["a:0", "a:0", "a:1", "a:2", "a:2", "a:2", "no", "w:3"]  # total 6
MODERATE = ["a:1", "a:2", "a:2", "a:0", "a:1", "a:2", "yes", "w:6"]  # total 3
NOT_LONELY = ["a:2", "a:2", "a:2", "a:0", "a:0", "a:0", "yes", "w:9"]  # total 0


async def test_a_somali_man_checks_in_in_somali(tg, settings, db):
    series_id = await add_series(db)
    await add_men(db, 5, "so", "Osdorp", first=9000)  # so that "so" and Osdorp are kept
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6001, language_code="so")
        await sign_up(chat, "so", "Cabdi", f"s:{series_id}", "a:1")
        first = await chat.command("/checkin")
        assert in_("so", "Please indicate for each of the following statements to what extent it "
                   "applies to you, the way you have been feeling lately.") in first["text"]
        assert in_("so", checkin.ITEMS[0]) in first["text"]
        assert chat.labels() == [in_("so", label) for label in ("Yes", "More or less", "No", "Skip")]
        assert chat.labels() == ["Haa", "Qayb ahaan", "Maya", "Ka gudub"]
        seen = [first["text"]]
        for key in MODERATE:
            if key.startswith("w:"):  # the 0-10 scale: compact rows, the whole scale on one screen
                rows = chat.last["reply_markup"]["inline_keyboard"]
                assert [len(row) for row in rows] == [6, 5, 1]
            message = await chat.tap(key)
            seen.append(message["text"])
        for number, item in enumerate(checkin.ITEMS[1:], start=1):
            assert in_("so", item) in seen[number]
        assert in_("so", "Overall, to what extent do you feel the things you do in your life are "
                   "worthwhile?") in seen[7]
        thanks = seen[-1]
        assert thanks.startswith(in_("so", "Thank you for your answers! They help us make the meetings better."))
        assert not any(n in thanks for n in ("0800-0113", "088 0767 000"))
        again = await chat.command("/checkin")
        assert again["text"] == in_("so", "You have already answered the questions this week. Thank "
                                    "you! You are welcome to answer them again next week.")
    url = settings.database_url
    columns = "language, area, item1, item2, item3, item4, item5, item6, total, took_part, worthwhile"
    [row] = sealed.pool_rows(url, "checkin_pool", columns)  # until the week is over
    assert row == ("so", "Osdorp", 1, 2, 2, 0, 1, 2, 3, 1, 6)
    assert raw_database.query(url, "SELECT count(*) FROM checkin_responses") == [(0,)]
    async with db.transaction() as connection:
        assert await checkins.flush(connection, datetime.now(UTC) + timedelta(days=7)) == 1
    assert raw_database.query(url, f"SELECT {columns} FROM checkin_responses") == [row]


async def test_a_severe_score_shows_the_help_lines_and_only_the_request_reaches_a_coordinator(tg, settings, db):
    series_id = await add_series(db)
    async with db.transaction() as connection:
        await coordinators.add(connection, "telegram", "7001", NOW)
    async with running(telegram_settings(settings, tg)):
        coordinator = Chat(tg, 7001, language_code="nl")
        chat = Chat(tg, 6002, language_code="ar")
        await add_men(db, 5, "nl", "Osdorp", first=9000)
        await sign_up(chat, "ar", "يوسف", f"s:{series_id}", "a:0")
        thanks = await answer(chat, SEVERE)
        for number in HELP_NUMBERS:
            assert number in thanks["text"]
        assert "113 Zelfmoordpreventie" in thanks["text"] and "De Luisterlijn" in thanks["text"]
        assert chat.keys(thanks) == ["ck:contact"]
        reply = await chat.tap("ck:contact")
        assert reply["text"] == "\u200f" + in_("ar", "I have asked a coordinator to get in touch with you. "
                                                "They only know that you asked, not what you answered.")
    async with db.transaction() as connection:
        from sqlalchemy import select

        from bot.store.schema import outbox

        notices = list(await connection.execute(
            select(outbox.c.address, outbox.c.payload, outbox.c.not_before).where(outbox.c.address == "7001")
        ))
        from bot.store.schema import help_requests, participants

        requests = list(await connection.execute(select(help_requests)))
        him = await connection.scalar(select(participants.c.id).where(participants.c.address == "6002"))
    assert len(notices) == 1, "the request waits (10-60 minutes) in the outbox"
    # and stays open for the console: who asked and from when it shows, nothing of the check-in
    assert set(help_requests.c.keys()) == {"id", "participant_id", "asked_at", "resolved_at"}
    assert [(r.participant_id, r.asked_at, r.resolved_at) for r in requests] == [(him, notices[0].not_before, None)]
    payload = notices[0].payload
    assert "6002" in payload and "يوسف" in payload
    for leak in ("0800", "113", "lonely", "eenzaam", "a:0", "total", "score"):
        assert leak not in payload.lower(), f"{leak!r} in the coordinator's message"
    assert coordinator.messages == []


async def test_the_coordinators_report_arrives_as_a_png(tg, settings, db):
    async with db.transaction() as connection:
        await coordinators.add(connection, "telegram", "7002", NOW)
    async with running(telegram_settings(settings, tg)):
        coordinator = Chat(tg, 7002, language_code="nl")
        before = len(tg.calls)
        await coordinator.command("/report")
        await tg.wait_for(lambda: any(c.method == "sendPhoto" for c in tg.calls[before:]), timeout=20)
    photo_call = next(c for c in tg.calls[before:] if c.method == "sendPhoto")
    photo = photo_call.params["photo"]
    assert isinstance(photo, UploadedFile) and photo.data.startswith(b"\x89PNG\r\n\x1a\n")
    caption = photo_call.params["caption"]
    assert caption.startswith(in_("nl", "Check-in report (anonymous)"))
    assert in_("nl", "The Arabic and Somali versions of the questions still await validation by native speakers.") in caption
    assert any("photo" in m for m in coordinator.messages)


async def test_the_database_cannot_tell_whose_answers_they_are(tg, settings, db, caplog):
    """Three men check in; then every table of the file is read raw."""
    caplog.set_level(logging.DEBUG)
    series_id = await add_series(db)
    # Five more Dutch readers in Osdorp and five without an area: the Dutch reader's answer
    # keeps its language and area; the lone Arabic and Somali readers' say "other" and no area
    # (with the five without an area, who join them so that "other" holds at least five).
    await add_men(db, 5, "nl", "Osdorp", first=9000)
    await add_men(db, 5, "nl", None, first=9100)
    men = [(6101, "nl", "Ahmed", SEVERE), (6102, "so", "Cabdi", MODERATE), (6103, "ar", "Karim", NOT_LONELY)]
    async with running(telegram_settings(settings, tg)) as service:
        chats = []
        for user_id, language, name, _keys in men:
            chats.append(Chat(tg, user_id, language_code=language))
            await sign_up(chats[-1], language, name, f"s:{series_id}", "a:1")
        caplog.clear()
        for chat, (_user_id, _language, _name, keys) in zip(chats, men, strict=True):
            await answer(chat, keys)
        # What production logs (INFO and up, bot.app.logs.configure), and our own code at any level.
        checkin_logs = [
            record.getMessage()
            for record in caplog.records
            if record.levelno >= logging.INFO or record.name.split(".")[0] in ("bot", "dialogs", "scheduler")
        ]
        await asyncio.sleep(0.3)  # the thanks are delivered, so their outbox rows are gone
        await service.db.truncate_log()  # what the scheduler does on every tick

    if not ON_POSTGRES:  # the file's bytes and row order are SQLite's own (see docs/scaling.md)
        assert_the_sqlite_file_keeps_no_answers_and_no_order(settings.database_url)

    url = settings.database_url
    tables = raw_database.tables(url)
    everything = {table: raw_database.query(url, f'SELECT * FROM "{table}"') for table in tables}
    columns = {table: raw_database.columns(url, table) for table in tables}

    # The responses wait in the pool until the week is over, sealed: opened with the key,
    # exactly the columns of the privacy model, three rows.
    assert set(columns["checkin_responses"]) == RESPONSE_COLUMNS
    assert set(columns["checkin_pool"]) == {"id", "iso_week", "sealed"}
    assert everything["checkin_responses"] == []
    responses = sealed.pool(url, "checkin_pool")
    assert len(responses) == 3 and all(set(r) == RESPONSE_COLUMNS for r in responses)
    assert sorted((r["language"], r["area"], r["total"]) for r in responses) == [
        ("nl", "Osdorp", 6), ("other", None, 0), ("other", None, 3)
    ]

    ids = [r["id"] for r in responses]
    if not ON_POSTGRES:
        assert ids == sorted(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), "ids are 128 random bits"

    # Nothing in a response equals anything that names a man or a moment: no id, address,
    # name, message id, update id or timestamp from any other table.
    personal = set()
    for table, rows in everything.items():
        if table in ANONYMOUS:
            continue
        for row in rows:
            personal.update(str(v) for v in row if v is not None)
    allowed = {str(v) for v in range(0, 11)} | {"nl", "ar", "so", "en", "other", "Osdorp"}
    for r in responses:
        for column, value in r.items():
            if value is None:
                continue
            text = str(value)
            if column == "iso_week":
                assert re.fullmatch(r"\d{4}-W\d{2}", text)
                continue
            assert text in allowed or column == "id", f"{column}={text!r}"
            if column == "id":
                # A personal value inside the id, or the id inside one. A short value (a 4-digit
                # chat id) turns up by chance somewhere in 32 random hex digits about once in
                # 2,300 ids, and the rows hold over a hundred of them: look for those of 8
                # characters or more inside it (chance: one in 170 million).
                assert not any(text in p or (len(p) >= 8 and p in text) for p in personal), "id shared"
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", str(v)) for r in responses for v in r.values())

    # No answer survives anywhere else: not in the conversation state, not in the outbox.
    for table, rows in everything.items():
        if table in ANONYMOUS:
            continue
        for row in rows:
            flat = " ".join(str(v) for v in row)
            assert '"answers"' not in flat and '"checkin":' not in flat, f"answers in {table}"
            assert "0800-0113" not in flat, f"the help message (a severe score) kept in {table}"

    # "Done this week" is a keyed hash: recomputed with the secret it matches, with another
    # secret (or none) it does not.
    markers = {row[0] for row in everything["checkin_markers"]}
    assert {row[1] for row in everything["checkin_markers"]} == {responses[0]["iso_week"]}
    assert len(markers) == 3
    week = responses[0]["iso_week"]
    secret = settings.secret_key.encode()
    for user_id, *_rest in men:
        assert checkins.marker(secret, "telegram", str(user_id), week) in markers
        assert checkins.marker(b"another secret", "telegram", str(user_id), week) not in markers
        plain = f"telegram:{user_id}|{week}".encode()
        assert hashlib.sha256(plain).hexdigest() not in markers
        assert hmac.new(b"", plain, hashlib.sha256).hexdigest() not in markers
    assert not any(str(user_id) in m for m in markers for user_id, *_r in men)

    # Logs never carry answers.
    joined = "\n".join(checkin_logs)
    for word in ("a:0", "a:1", "a:2", "w:3", "w:6", "w:9", "answers", "emptiness", "leegte", "0800-0113"):
        assert word not in joined, f"{word!r} in the logs"
    for item in checkin.ITEMS:
        for language in ("nl", "ar", "so", "en"):
            assert in_(language, item) not in joined




@pytest.mark.sqlite_only("reads the row order of SQLite's WITHOUT ROWID tables and the file's bytes")
async def test_neither_pool_nor_responses_follow_the_order_of_check_ins(db):
    """200 check-ins stored one after the other, then the week's move. The test marks each
    with its arrival number in the worthwhile and item1 columns (a real row holds an answer
    there); the order of the rows in the file must be unrelated to the arrival order (Kendall's
    tau near 0: for a random order |tau| > 0.35 is a seven-sigma event), in the pool during the
    week (byte offsets included) and in the responses after it."""
    async with db.transaction() as connection:
        for n in range(200):
            values = {"language": "nl", "area": "Osdorp", "worthwhile": n // 100, "item1": n % 100}
            await checkins.record(connection, f"marker-{n:03d}", "2026-W47", values, month_marker=f"month-{n:03d}")
    path = str(db.url).split("///", 1)[1]
    await db.truncate_log()
    raw = sqlite3.connect(path)
    data = open(path, "rb").read()
    pool = [(i, w * 100 + n) for i, w, n in sealed.pool_rows(db.url, "checkin_pool", "id, worthwhile, item1")]
    assert [i for i, _a in pool] == sorted(i for i, _a in pool), "the file keeps them in id order"
    assert sorted(a for _i, a in pool) == list(range(200))
    for name, arrival in (
        ("rows", [a for _i, a in pool]),
        ("byte offsets", [a for _i, a in sorted(pool, key=lambda row: data.find(row[0].encode()))]),
    ):
        tau = kendall_tau(arrival)
        assert abs(tau) < 0.35, f"the pool's {name} follow the order of check-ins (tau={tau:.2f})"
    async with db.transaction() as connection:
        assert await checkins.flush(connection, NOW + timedelta(days=3)) == 200
    # The table itself, in its stored order: item1 is in no index, so SQLite cannot read the
    # rows from the report's index (which is in week and area order) instead.
    rows = [w * 100 + n for _i, w, n in raw.execute("SELECT id, worthwhile, item1 FROM checkin_responses")]
    assert sorted(rows) == list(range(200))
    tau = kendall_tau(rows)
    assert abs(tau) < 0.35, f"the responses follow the order of check-ins (tau={tau:.2f})"
    assert raw.execute("SELECT count(*) FROM checkin_pool").fetchall() == [(0,)]


def assert_the_sqlite_file_keeps_no_answers_and_no_order(database_url: str) -> None:
    """Not even the file's bytes (main file and write-ahead log) keep answers in progress:
    conversation states are overwritten (secure_delete) and the log is emptied. And no row
    order: the tables are WITHOUT ROWID with a random key, so the file keeps them in the order
    of their random ids (tests/test_checkin_anonymity.py reads the bytes)."""
    path = Path(database_url.split("///", 1)[1])
    for file in path.parent.glob("meedoen.db*"):
        assert b'"answers"' not in file.read_bytes(), file.name
    with closing(sqlite3.connect(path)) as raw:
        tables = dict(raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        for table in ("checkin_responses", "checkin_pool", "checkin_markers", "checkin_month_markers"):
            assert "WITHOUT ROWID" in tables[table].upper()
            with pytest.raises(sqlite3.OperationalError):
                raw.execute(f"SELECT rowid FROM {table}")


def kendall_tau(sequence: list[int]) -> float:
    n = len(sequence)
    concordant = sum(
        1 if sequence[i] < sequence[j] else -1 for i in range(n) for j in range(i + 1, n)
    )
    return concordant / (n * (n - 1) / 2)


def test_production_logging_keeps_sql_parameters_out_even_at_debug(settings):
    """aiosqlite and SQLAlchemy log statements with their parameters (a conversation state
    with answers under way, message texts); ``bot.app.logs.configure`` keeps them quiet."""
    from bot.app import logs
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(settings, logging.DEBUG)
        for name in ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.engine.Engine"):
            assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
