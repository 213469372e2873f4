"""The listening poll (issue 17 §2) end to end on Telegram (python-telegram-bot against the
local Bot API stand-in, a real SQLite file, the real catalogs), its links, its once-only offer
after sign-up, and what the database file holds afterwards."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from bot.domain import listening as links
from bot.store import listening as store
from bot.store.schema import listening_markers, listening_pool, outbox, participants, signups
from dialogs import listening
from dialogs.i18n import _, use_locale
from scheduler.listening_offers import queue_listening_offers
from tests import raw_database, sealed
from tests.conftest import NOW, ON_POSTGRES
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_checkin_anonymity import add_men
from tests.test_flyers import _cli, environment  # noqa: F401 - a fixture
from tests.test_telegram_signup import add_series, sign_up

RESPONSE_COLUMNS = {"id", "iso_week", "area", "barriers", "interests", "day_parts"}
TABLES = ("listening_responses", "listening_pool", "listening_markers")


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


def in_(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


def database_file(settings) -> str:
    return settings.database_url.split("///", 1)[1]


def raw(settings) -> raw_database.Reader:
    return raw_database.connect(settings.database_url)


async def test_a_signed_up_man_answers_in_dutch_toggling_options(tg, settings, db):
    series_id = await add_series(db)
    await add_men(db, 5, "nl", "Osdorp", first=9000)  # five men in Osdorp: his area is kept
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6101, language_code="nl")
        await sign_up(chat, "nl", "Ahmed", f"s:{series_id}", "a:1")  # Osdorp
        first = await chat.command("/listen")
        assert "zonder je naam" in first["text"]  # the anonymity promise, in Dutch
        assert in_("nl", "What makes it hard for you to take part in meetings like ours? Choose all that "
                   "apply, then press Done.") in first["text"]
        assert chat.labels() == [in_("nl", label) for label in listening.BARRIERS] + ["Klaar", "Overslaan"]
        await chat.tap("t:0")  # working hours
        await chat.tap("t:6")  # costs or travel
        toggled = await chat.tap("t:3")  # the language ...
        assert chat.labels(toggled)[:4] == ["✓ Werktijden of diensten", "Mijn gezondheid", "Zorg voor het gezin", "✓ De taal"]
        await chat.tap("t:3")  # ... and off again
        interests = await chat.tap("done")
        assert in_("nl", "What would interest you in a meeting? Choose all that apply, then press Done.") in interests["text"]
        await chat.tap("t:1")
        times = await chat.tap("done")
        assert chat.labels(times) == ["Doordeweekse avonden", "Weekend", "Overdag", "Klaar", "Overslaan"]
        thanks = await chat.tap("skip")
        assert thanks["text"] == in_("nl", "Thank you for your answers! They help us shape meetings that suit more men.")
        again = await chat.command("/listen")
        assert again["text"] == in_("nl", "You have already answered these questions. Thank you!")
    reader = raw(settings)
    assert sealed.pool_rows(settings.database_url, "listening_pool", "area, barriers, interests, day_parts") == [
        ("Osdorp", 1 | 1 << 6, 1 << 1, None)
    ]
    async with db.transaction() as connection:
        assert await store.flush(connection, datetime.now(UTC) + timedelta(days=7)) == 1
    assert reader.execute("SELECT count(*) FROM listening_pool").fetchall() == [(0,)]
    assert reader.execute("SELECT area, barriers FROM listening_responses").fetchall() == [("Osdorp", 65)]


async def test_a_man_who_never_signed_up_answers_in_arabic_through_a_link(tg, settings, db):
    await add_men(db, 5, "nl", "Osdorp", first=9000)
    areas = tuple(settings.areas)
    code = links.code(settings.secret_key.encode(), areas, "Osdorp")
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6102, language_code="ar")
        first = await chat.command(f"/start {code}")
        assert first["text"].startswith("\u200f")
        assert in_("ar", "What makes it hard for you to take part in meetings like ours? Choose all that "
                   "apply, then press Done.") in first["text"]
        assert chat.labels()[-2:] == ["تم", "تخطي"]
        await chat.tap("t:4")  # I don't know anyone there
        await chat.tap("done")
        await chat.tap("t:7")  # just getting to know other men
        await chat.tap("done")
        await chat.tap("t:0")
        thanks = await chat.tap("done")
        invitation = in_("ar", "Would you like to join one of our conversation groups? Just send /start.")
        assert invitation.replace("/start", "\u2066/start\u2069") in thanks["text"]  # the command isolated
        # Nothing about him was kept as a participant: only the anonymous answer and the marker.
        forged = Chat(tg, 6103, language_code="ar")
        wrong = await forged.command(f"/start {code[:-1]}{'0' if code[-1] != '0' else '1'}")
        assert "/listen" not in wrong["text"] and forged.keys()[0].startswith("lang:")  # the ordinary start
    reader = raw(settings)
    assert reader.execute("SELECT count(*) FROM participants WHERE address = '6102'").fetchall() == [(0,)]
    assert sealed.pool_rows(settings.database_url, "listening_pool", "area, barriers, interests, day_parts") == [
        ("Osdorp", 1 << 4, 1 << 7, 1)
    ]


async def test_plain_link_without_enough_men_in_the_area_keeps_no_area(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6104, language_code="en")
        await sign_up(chat, "en", None, f"s:{series_id}", "a:1")  # Osdorp, but he is alone there
        await chat.command("/start listen")
        for key in ("t:8", "done", "skip", "skip"):
            await chat.tap(key)
    assert sealed.pool_rows(settings.database_url, "listening_pool", "area, barriers, interests") == [(None, 1 << 8, None)]


def test_a_listening_code_names_its_area_and_cannot_be_turned_into_another():
    secret, areas = b"k" * 32, ("Nieuw-West", "Osdorp", "Slotervaart")
    code = links.code(secret, areas, "Slotervaart")
    assert re.fullmatch(r"listen2_[0-9a-f]{12}", code) and len(code) <= 64
    assert links.read(secret, areas, f"/start {code}") == "Slotervaart"
    assert links.read(secret, areas, f"Hallo! Code: {code}") == "Slotervaart"  # a WhatsApp first message
    assert links.read(secret, areas, f"/start {code.replace('listen2', 'listen1')}") is None
    assert links.read(b"other" * 8, areas, code) is None
    assert links.read(secret, ("Slotervaart", "Osdorp", "Nieuw-West"), code) is None  # areas reordered
    assert links.read(secret, areas, "/start listen") == ""
    assert links.read(secret, areas, "/start") is None
    plain = links.code(secret, areas, None)
    assert re.fullmatch(r"listen_[0-9a-f]{12}", plain)
    assert links.read(secret, areas, f"Hallo! Code: {plain}") == ""
    assert links.read(secret, areas, "I would like to listen") is None  # a word, not a code


async def test_the_offer_goes_once_to_each_signed_up_man_in_the_daytime(db, settings):
    await add_men(db, 3, "nl", "Osdorp", first=9100)
    series_id = await add_series(db)
    async with db.transaction() as connection:
        ids = list(await connection.scalars(select(participants.c.id).order_by(participants.c.id)))
        await connection.execute(
            insert(signups),
            [{"participant_id": i, "series_id": series_id, "status": "confirmed", "created_at": NOW} for i in ids[:2]],
        )
        # The second man has answered already (through /listen).
        await store.record(connection, store.marker(settings.secret_key.encode(), "telegram", "9101"), NOW, {"area": None})
    night = NOW.replace(hour=21) + timedelta(days=1)  # 22:00 in Amsterdam
    assert await queue_listening_offers(db, settings, night) == 0
    same_day = NOW  # he consented today: not yet
    assert await queue_listening_offers(db, settings, same_day) == 0
    next_day = NOW + timedelta(days=1)
    assert await queue_listening_offers(db, settings, next_day) == 1
    assert await queue_listening_offers(db, settings, next_day + timedelta(hours=1)) == 0  # once
    async with db.transaction() as connection:
        queued = list(await connection.execute(select(outbox.c.address, outbox.c.kind)))
        flags = list(await connection.execute(select(participants.c.address, participants.c.listening_offered)))
    assert queued == [("9100", "listening")]  # not the one who answered, not the one without a sign-up
    assert sorted(flags) == [("9100", 1), ("9101", 1), ("9102", 0)]


async def test_yes_on_the_offer_starts_the_poll_and_delete_erases_the_marker(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)) as service:
        chat = Chat(tg, 6105, language_code="so")
        await sign_up(chat, "so", "Cabdi", f"s:{series_id}", "a:1")
        async with db.transaction() as connection:
            await connection.execute(update(participants).values(consented_at=NOW))
        before = len(chat.messages)
        assert await queue_listening_offers(db, settings, NOW + timedelta(days=1)) == 1
        service.wake_all()
        await tg.wait_for(lambda: len(chat.messages) > before)
        assert chat.text == in_("so", "One more thing, if you like: three short, anonymous questions about what "
                                "makes taking part hard and what would interest you. It helps us reach more men.")
        first = await chat.tap("ls:go")
        assert in_("so", "What makes it hard for you to take part in meetings like ours? Choose all that apply, "
                   "then press Done.") in first["text"]
        for key in ("t:2", "done", "t:5", "done", "t:1", "done"):
            await chat.tap(key)
        async with db.transaction() as connection:
            assert await connection.scalar(select(listening_markers.c.marker)) == store.marker(
                settings.secret_key.encode(), "telegram", "6105"
            )
        await chat.command("/delete")
        await chat.tap("erase")
    async with db.transaction() as connection:
        assert list(await connection.execute(select(listening_markers))) == []
        assert await connection.scalar(select(func.count()).select_from(listening_pool)) == 1  # the answer stays


async def test_the_database_holds_nothing_that_names_a_man_or_dates_his_answer(tg, settings, db):
    """Read raw, as a database administrator would: the poll's tables hold no participant id,
    no chat address, no name, no time finer than the ISO week, and the marker is no address."""
    series_id = await add_series(db)
    await add_men(db, 5, "nl", "Osdorp", first=9000)
    names = ("Youssef", "Cabdi", "Ahmed")
    async with running(telegram_settings(settings, tg)):
        for n, name in enumerate(names):
            chat = Chat(tg, 6200 + n, language_code="nl")
            await sign_up(chat, "nl", name, f"s:{series_id}", "a:1")
            await chat.command("/listen")
            for key in (f"t:{n}", "done", f"t:{n + 1}", "done", "t:0", "done"):
                await chat.tap(key)
    reader = raw(settings)
    men = reader.execute("SELECT id, address, name FROM participants").fetchall()
    identifying = {str(value) for row in men for value in row if value is not None} - {str(n) for n in range(10)}
    for table in TABLES:
        columns = set(raw_database.columns(settings.database_url, table))
        rows = reader.execute(f"SELECT * FROM {table}").fetchall()
        if table == "listening_markers":
            assert columns == {"marker"}
            assert len(rows) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", row[0]) for row in rows)
            continue
        if table == "listening_pool":  # sealed: opened with the key, the same columns
            assert columns == {"id", "iso_week", "sealed"}
            records = sealed.pool(settings.database_url, table)
        else:
            assert columns == RESPONSE_COLUMNS
            records = [dict(zip(raw_database.columns(settings.database_url, table), row, strict=True)) for row in rows]
        for record in records:
            assert set(record) == RESPONSE_COLUMNS
            assert re.fullmatch(r"\d{4}-W\d{2}", record["iso_week"])
            assert re.fullmatch(r"[0-9a-f]{32}", record["id"])
            assert not identifying & {str(value) for value in record.values()}
    assert len(reader.execute("SELECT * FROM listening_pool").fetchall()) == 3
    if not ON_POSTGRES:  # the file's bytes and row order are SQLite's own (see docs/scaling.md)
        # No row order: WITHOUT ROWID tables, the pool kept in the order of its random ids.
        for table in TABLES:
            with pytest.raises(sqlite3.OperationalError):
                sqlite3.connect(database_file(settings)).execute(f"SELECT rowid FROM {table}")
        ids = [row[0] for row in reader.execute("SELECT id FROM listening_pool")]
        assert ids == sorted(ids)
        # The choices in progress are gone from the file's bytes (the state is overwritten and
        # the write-ahead log emptied).
        for path in Path(database_file(settings)).parent.glob("meedoen.db*"):
            assert b'"chosen"' not in path.read_bytes(), path.name
    week = reader.execute("SELECT DISTINCT iso_week FROM listening_pool").fetchall()
    assert week == [(f"{datetime.now(UTC).isocalendar()[0]}-W{datetime.now(UTC).isocalendar()[1]:02d}",)]


async def test_meedoen_listen_link_prints_signed_links_for_an_area(environment, db, capsys):
    from urllib.parse import unquote

    assert await _cli(["listen-link", "--area", "Osdorp", "--lang", "ar"]) == 0
    printed = capsys.readouterr().out
    secret = b"test-secret-key-0123456789"
    areas = ("Geuzenveld-Slotermeer", "Osdorp", "De Aker/Sloten/Nieuw-Sloten", "Slotervaart")
    code = links.code(secret, areas, "Osdorp")
    assert "WhatsApp (ar): https://wa.me/31201234567?text=" in printed
    text = unquote(printed.split("text=", 1)[1].strip())
    assert text.startswith("\u200f") and links.read(secret, areas, text) == "Osdorp"
    assert code in text
    assert await _cli(["listen-link", "--area", "Atlantis"]) == 2
    assert "not one of MEEDOEN_AREAS" in capsys.readouterr().err
