"""The statements poll end to end on Telegram (the local Bot API stand-in, a real SQLite file,
the real catalogs, the scheduler's job with an injectable clock), and what the database file
holds afterwards: nothing that ties an answer to a man (issue 17 §1)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bot.domain import statements as domain
from bot.store import conversations
from bot.store import statements as store
from bot.store.checkins import pooled
from dialogs import statements
from dialogs.i18n import _, use_locale
from scheduler.statement_offers import queue_statement_offers
from tests import raw_database
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_telegram_signup import FIRST_MEETING, add_series, sign_up

ANONYMOUS = ("statement_responses", "statement_pool", "statement_markers")


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


def in_(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


async def offered(tg, chat: Chat, service, settings, when) -> dict:
    """Run the scheduler's job at ``when`` and wait for the offer in ``chat``."""
    await queue_statement_offers(service.db, settings, when)
    service.wake_all()
    await tg.wait_for(lambda: any(k.startswith("st:go:") for k in chat.keys()), timeout=10)
    return chat.last


async def test_two_men_answer_before_in_arabic_and_dutch_once_each(tg, settings, db):
    series_id = await add_series(db)
    clock = [NOW]
    async with running(telegram_settings(settings, tg), now=lambda: clock[0]) as service:
        arabic, dutch = Chat(tg, 7101, language_code="ar"), Chat(tg, 7102, language_code="nl")
        await sign_up(arabic, "ar", "Youssef", f"s:{series_id}", "a:1")
        await sign_up(dutch, "nl", "Henk", f"s:{series_id}", "a:1")
        clock[0] = FIRST_MEETING + timedelta(minutes=5)
        offer = await offered(tg, arabic, service, settings, clock[0])
        assert in_("ar", "At the start of “%(series)s” we would like to know what you think about a few "
                   "statements. It is anonymous and takes a minute.").split("“")[0] in offer["text"]
        await tg.wait_for(lambda: any(k.startswith("st:go:") for k in dutch.keys()), timeout=10)

        first = await arabic.tap(f"st:go:{series_id}:before")
        assert first["text"].startswith("\u200f")
        assert in_("ar", statements.SHIPPED[1]) in first["text"]
        assert arabic.labels() == [in_("ar", label) for _value, label in statements.SCALE]
        assert arabic.labels()[0] == "أوافق تمامًا"
        for key in ("v:1", "v:2", "v:0"):
            await arabic.tap(key)
        done = await arabic.tap("v:5")
        assert in_("ar", "Thank you for your answers!") in done["text"]

        await dutch.tap(f"st:go:{series_id}:before")
        assert "Stelling 1 van 4" in dutch.text
        assert dutch.labels()[:2] == ["Helemaal eens", "Eens"]
        typed = await dutch.say("ik vind het wel goed")  # typed text: asked again, never kept
        assert "Stelling 1 van 4" in typed["text"]
        for key in ("v:3", "v:3", "v:4", "v:4"):
            await dutch.tap(key)
        assert "Bedankt voor je antwoorden!" in dutch.text

        async with db.transaction() as connection:  # answered: neither is offered this phase again
            assert await domain.offer(connection, settings, series_id, "before", clock[0], dedupe="again") == 0
            assert await domain.offer(connection, settings, series_id, "after", clock[0], dedupe="again") == 2

        async with db.transaction() as connection:
            pool = sorted((json.loads(row["answers"]) for row in await pooled(connection, store.statement_pool)), key=str)
        assert pool == [{"1": 1, "2": 2, "3": 0, "4": 5}, {"1": 3, "2": 3, "3": 4, "4": 4}]
        # a second run of the job offers nobody again: the meeting's run is claimed
        assert await queue_statement_offers(service.db, settings, clock[0] + timedelta(minutes=1)) == 0


async def test_the_database_holds_nothing_that_ties_an_answer_to_a_man(tg, settings, db):
    series_id = await add_series(db)
    clock = [NOW]
    async with running(telegram_settings(settings, tg), now=lambda: clock[0]) as service:
        chat = Chat(tg, 7201, language_code="en")
        await sign_up(chat, "en", "Abdirahman Warsame", f"s:{series_id}", "a:1")
        clock[0] = FIRST_MEETING + timedelta(minutes=5)
        await offered(tg, chat, service, settings, clock[0])
        await chat.tap(f"st:go:{series_id}:before")
        for key in ("v:2", "v:2", "v:1", "v:0"):
            await chat.tap(key)
        async with db.transaction() as connection:
            moved = await store.flush(connection, clock[0] + timedelta(days=7))
        assert moved == 1
    raw = raw_database.connect(settings.database_url)
    columns = set(raw_database.columns(settings.database_url, "statement_responses"))
    assert columns == {"id", "series_id", "phase", "iso_week", "answers"}
    ((row_id, series, phase, week, answers),) = raw.execute(
        "SELECT id, series_id, phase, iso_week, answers FROM statement_responses"
    ).fetchall()
    assert (series, phase, week) == (series_id, "before", "2026-W49")
    assert re.fullmatch(r"[0-9a-f]{32}", row_id)
    assert json.loads(answers) == {"1": 2, "2": 2, "3": 1, "4": 0}
    for table in ANONYMOUS:
        for values in raw.execute(f"SELECT * FROM {table}"):
            text = " ".join(str(v) for v in values)
            assert "7201" not in text and "Abdirahman" not in text and "Warsame" not in text
            assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # no day, let alone a time
    assert raw.execute("SELECT count(*) FROM statement_pool").fetchone() == (0,)
    # the conversation state keeps no answers once the poll is finished
    raw.close()
    async with db.transaction() as connection:
        assert "statements" not in await conversations.load(connection, "telegram", "7201")


async def test_a_coordinator_asks_the_after_statements_on_demand(tg, settings, db):
    from bot.store import coordinators

    series_id = await add_series(db)
    async with db.transaction() as connection:
        await coordinators.add(connection, "telegram", "7301", NOW)
    clock = [NOW]
    async with running(telegram_settings(settings, tg), now=lambda: clock[0]):
        man = Chat(tg, 7302, language_code="so")
        await sign_up(man, "so", "Cabdi", f"s:{series_id}", "a:1")
        coordinator = Chat(tg, 7301, language_code="nl")
        await coordinator.command("/start")
        clock[0] = FIRST_MEETING + timedelta(weeks=5, hours=2)  # after the last meeting
        question = await coordinator.command("/statements")
        assert question["text"] == in_("nl", "Ask the statements in which conversation group?")
        await coordinator.tap(f"co:s:{series_id}")
        await coordinator.tap("co:sp:after")
        await tg.wait_for(lambda: "1" in coordinator.text and "mannen" in coordinator.text, timeout=10)
        assert coordinator.text == "De stellingen zijn aangeboden aan 1 mannen."
        await tg.wait_for(lambda: f"st:go:{series_id}:after" in man.keys(), timeout=10)
        assert in_("so", "At the end of “%(series)s” we would like to know again what you think about "
                   "the statements. It is anonymous and takes a minute.").split("“")[0] in man.text
        await man.tap(f"st:go:{series_id}:after")
        for key in ("v:1", "v:1", "v:2"):
            await man.tap(key)
        assert in_("so", "Thank you for your answers!") in (await man.tap("v:1"))["text"]
        async with db.transaction() as connection:
            (row,) = await pooled(connection, store.statement_pool)
        assert row["phase"] == "after" and json.loads(row["answers"]) == {"1": 1, "2": 1, "3": 2, "4": 1}
