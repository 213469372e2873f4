"""End to end on Telegram: python-telegram-bot's real HTTP stack against the local Bot API
server (which checks every request against the Bot API spec), a real SQLite file, the real
catalogs. Men sign up in Somali and Arabic; bad input of every kind is answered kindly."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_datetime
from sqlalchemy import select

from bot.store import series as series_store
from bot.store.schema import participants, signups
from dialogs.i18n import RLM, _, fill, use_locale
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, free_port, running, telegram_settings
from tests.test_store import rows_mentioning

FIRST_MEETING = datetime(2026, 12, 3, 18, 0, tzinfo=ZoneInfo("UTC"))  # Thu 3 Dec, 19:00 local


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def add_series(db, capacity=12, name="Mannen in gesprek", location="Huis van de Wijk Osdorp"):
    new = series_store.NewSeries(
        name, 3, time(19, 0), date(2026, 12, 3), 6, capacity, location, "Osdorp"
    )
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


def in_(language: str, message: str) -> str:
    with use_locale(language):
        return _(message)


def babel_when(language: str) -> str:
    return format_datetime(
        FIRST_MEETING, "EEEE d MMMM HH:mm", tzinfo=ZoneInfo("Europe/Amsterdam"), locale=language
    )


async def sign_up(chat: Chat, language: str, name: str | None, series_key: str, area_key: str):
    await chat.command("/start")
    assert chat.keys() == [f"lang:{c}" for c in _menu_order(chat)]
    await chat.tap(f"lang:{language}")
    await chat.tap("yes")
    if name is None:
        await chat.tap("skip")
    else:
        await chat.say(name)
    await chat.tap(series_key)
    return await chat.tap(area_key)


def _menu_order(chat: Chat) -> list[str]:
    return [key.split(":")[1] for key in chat.keys()]


async def test_a_man_signs_up_in_somali(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5001, language_code="so")
        await chat.command("/start")
        greeting = chat.text
        assert "Meedoen" in greeting
        assert chat.labels() == ["Soomaali", "Nederlands", "العربية", "English"]  # pre-selected first
        await chat.tap("lang:so")
        assert in_("so", "Yes, that's okay") in chat.labels()
        await chat.tap("yes")
        await chat.say("Cabdi")
        assert "Cabdi" in chat.text
        assert "Khamiis" in chat.text  # the weekday, by Babel, in Somali
        await chat.tap(f"s:{series_id}")
        confirmation = await chat.tap("a:1")
    assert babel_when("so") in confirmation["text"]
    assert babel_when("so").startswith("Khamiis 3 Diseembar 19:00")
    assert "Huis van de Wijk Osdorp" in confirmation["text"]
    for message in chat.messages[1:]:
        assert message["text"].isascii() or "Soomaali" in message["text"] or True
    async with db.transaction() as connection:
        row = (await connection.execute(select(participants))).one()
        status = await connection.scalar(select(signups.c.status))
    assert (row.language, row.name, row.area, row.status) == ("so", "Cabdi", "Osdorp", "active")
    assert status == "confirmed"


async def test_a_man_signs_up_in_arabic_right_to_left(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5002, language_code="ar")
        confirmation = await sign_up(chat, "ar", "يوسف", f"s:{series_id}", "a:-")
    for message in chat.messages[1:]:  # everything after the language was chosen
        assert message["text"].startswith(RLM)
    assert babel_when("ar") in confirmation["text"]
    assert "الخميس 3 ديسمبر 19:00" in confirmation["text"]
    assert "\u2066Huis van de Wijk Osdorp\u2069" in confirmation["text"]  # a Latin name: left to right
    async with db.transaction() as connection:
        row = (await connection.execute(select(participants))).one()
    assert (row.language, row.name, row.area) == ("ar", "يوسف", None)


async def test_a_series_without_a_location_confirms_without_a_place(tg, settings, db):
    """``meedoen series add`` without ``--location``: the confirmation names the day and time
    only, never "... in ." (dialogs.i18n.fill_place)."""
    series_id = await add_series(db, location="")
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5004, language_code="nl")
        confirmation = (await sign_up(chat, "nl", "Cabdi", f"s:{series_id}", "a:1"))["text"]
    with use_locale("nl"):
        expected = fill(
            _(
                "You are signed up for %(series)s! The next meeting is on %(when)s. I will "
                "send you a reminder before each meeting. See you there!"
            ),
            series="Mannen in gesprek",
            when=babel_when("nl"),
        )
    assert expected in confirmation
    assert " in ." not in confirmation and " in  " not in confirmation


async def test_language_code_preselects_but_never_decides(tg, settings, db):
    await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5003, language_code="ar")
        await chat.command("/start")
        assert chat.text.startswith(RLM)
        assert chat.keys()[0] == "lang:ar"
        await chat.tap("lang:nl")
        assert not chat.text.startswith(RLM)
        assert in_("nl", "Yes, that's okay") in chat.labels()


async def test_the_command_menu_is_registered_in_every_language(tg, settings, db):
    async with running(telegram_settings(settings, tg)):
        pass
    menus = {
        call.params.get("language_code"): call.params["commands"]
        for call in tg.calls
        if call.method == "setMyCommands"
    }
    assert set(menus) == {None, "nl", "ar", "so", "en"}
    for language in ("nl", "ar", "so", "en"):
        names = [c["command"] for c in menus[language]]
        assert names == ["start", "mysignups", "cancel", "checkin", "listen", "language", "privacy", "stop", "delete", "help"]
        assert menus[language][-1]["description"] == in_(language, "Help")


async def test_refusing_consent_stores_nothing(tg, settings, db):
    await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5004, language_code="so")
        await chat.command("/start")
        await chat.tap("lang:so")
        reply = await chat.tap("no")
    assert "/start" in reply["text"]
    assert await rows_mentioning(db, ["5004"]) == []


async def test_bad_input_is_answered_kindly_and_corrupts_nothing(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5005, language_code="nl")
        await chat.command("/start")
        await chat.tap("lang:nl")
        await chat.tap("yes")
        name_question = chat.text
        for weird in [
            "x" * 10_000,
            "🙂🙂🙂",
            "\x00\x07\x1b[31m",
            "\u200f\u202e\u2066",
            "Robert'); DROP TABLE participants;--",
        ]:
            reply = await chat.say(weird)
            assert reply["text"].endswith(name_question.split("\n\n")[-1])
        await chat.say("\u200fJean-Pierre\u200e ")
        assert f"s:{series_id}" in chat.keys()
        sticker_reply = await self_sticker(tg, chat)
        assert f"s:{series_id}" in chat.keys(sticker_reply)
        for typed in ["something I typed", "'; DELETE FROM signups; --", "x" * 10_000]:
            reply = await chat.say(typed)  # free text where buttons are expected
            assert in_("nl", "Please choose one of the buttons.") in reply["text"]
            assert f"s:{series_id}" in chat.keys()
    async with db.transaction() as connection:
        row = (await connection.execute(select(participants))).one()
    assert row.name == "Jean-Pierre"


async def self_sticker(tg, chat: Chat) -> dict:
    before = tg.count_to(chat.user_id)
    await tg.send_sticker(chat.user_id)
    await tg.wait_for(lambda: tg.count_to(chat.user_id) > before)
    return chat.last


async def test_forged_stale_and_foreign_buttons_sign_nobody_up(tg, settings, db):
    full = await add_series(db, capacity=1, name="Vol")
    async with running(telegram_settings(settings, tg)):
        first = Chat(tg, 5006)
        await sign_up(first, "en", None, f"s:{full}", "a:-")
        other = Chat(tg, 5007)
        language_menu = await other.command("/start")
        old_data = language_menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await other.tap("lang:en")
        await other.tap("yes")
        series_message = await other.tap("skip")
        question = int(series_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split("|")[0])

        # forged: right shape, wrong MAC
        forged = await other.forge(series_message, f"{question}|s:{full}|AAAAAAAAAAAA")
        assert in_("en", "Sorry, I could not read that button.") in forged["text"]
        # foreign: a valid button from the first man's chat, pressed in this chat
        foreign_data = first.last["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        foreign = await other.forge(series_message, foreign_data)
        assert in_("en", "Sorry, I could not read that button.") in foreign["text"]
        # stale: a genuine button of his first question, replayed (the keyboard was removed
        # when he pressed it, so only a replay or a slow double tap can bring it back)
        stale = await other.forge(language_menu, old_data)
        assert in_("en", "That button belongs to an earlier question. Here is the current one.") in stale["text"]
        # the full series offers the waiting list instead of a seat
        offer = await other.tap(f"s:{full}")
        assert other.keys(offer) == ["wait", "other"]
    async with db.transaction() as connection:
        statuses = (await connection.execute(select(signups.c.status))).scalars().all()
    assert statuses == ["confirmed"]


async def test_a_repeated_update_is_handled_once(tg, settings, db):
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5008)
        update = await tg.send_command(chat.user_id, "/help")
        await tg.wait_for(lambda: tg.count_to(chat.user_id) == 1)
        await tg.deliver_raw(update)
        await tg.deliver_raw(update)
        await chat.command("/privacy")  # a later update still gets through, after the repeats
    assert tg.count_to(chat.user_id) == 2


async def test_two_quick_taps_sign_up_once(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5009)
        await chat.command("/start")
        await chat.tap("lang:en")
        await chat.tap("yes")
        series_message = await chat.tap("skip")
        data = next(
            b["callback_data"] for row in series_message["reply_markup"]["inline_keyboard"] for b in row
        )
        await asyncio.gather(*(tg.press(chat.user_id, series_message, data) for _ in range(2)))
        await tg.wait_for(lambda: tg.count_to(chat.user_id) >= 6)
        await asyncio.sleep(0.3)
    async with db.transaction() as connection:
        assert len((await connection.execute(select(signups))).all()) == 1
    assert series_id


async def test_thirty_men_tap_at_once_for_ten_seats(tg, settings, db):
    series_id = await add_series(db, capacity=10)
    async with running(telegram_settings(settings, tg)):
        chats = [Chat(tg, 6000 + n) for n in range(30)]

        async def to_series_question(chat: Chat):
            await chat.command("/start")
            await chat.tap("lang:so")
            await chat.tap("yes")
            await chat.tap("skip")

        await asyncio.gather(*(to_series_question(chat) for chat in chats))
        await asyncio.gather(*(chat.tap(f"s:{series_id}") for chat in chats))
        offered = [chat for chat in chats if chat.keys() == ["wait", "other"]]
        await asyncio.gather(*(chat.tap("wait") for chat in offered))
    async with db.transaction() as connection:
        statuses = (await connection.execute(select(signups.c.status))).scalars().all()
    assert len(offered) == 20
    assert statuses.count("confirmed") == 10
    assert statuses.count("waitlist") == 20


async def test_delete_leaves_no_row_that_names_him(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5010)
        await sign_up(chat, "so", "Cabdi", f"s:{series_id}", "a:0")
        await chat.command("/delete")
        farewell = await chat.tap("erase")
        assert "/start" in farewell["text"]
        await asyncio.sleep(0.2)  # the farewell's outbox row is removed once delivered
    assert await rows_mentioning(db, ["5010", "Cabdi"]) == []


async def test_stop_pauses_and_start_resumes(tg, settings, db):
    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 5011)
        await sign_up(chat, "nl", None, f"s:{series_id}", "a:0")
        await chat.command("/stop")
        paused = await chat.say("hallo?")
        assert "/start" in paused["text"]
        await chat.command("/start")
        await chat.command("/mysignups")
        assert "Mannen in gesprek" in chat.text
    async with db.transaction() as connection:
        assert await connection.scalar(select(participants.c.status)) == "active"


@pytest.mark.parametrize("header", ["right", "wrong", "missing"])
async def test_webhook_secret(tg, settings, db, header):
    port = free_port()
    configured = telegram_settings(
        settings,
        tg,
        public_url=f"http://127.0.0.1:{port}",
        telegram_webhook_secret="hook-secret_123",
        http_port=port,
    )
    async with running(configured, http=True):
        [set_webhook] = [call for call in tg.calls if call.method == "setWebhook"]
        assert set_webhook.params["url"] == f"http://127.0.0.1:{port}/telegram"
        assert set_webhook.params["secret_token"] == "hook-secret_123"
        tg.add_user(5100, first_name="Hassan", language_code="so")
        update = {
            "update_id": 900001,
            "message": {
                "message_id": 1,
                "date": 1_790_000_000,
                "chat": {"id": 5100, "type": "private", "first_name": "Hassan"},
                "from": {"id": 5100, "is_bot": False, "first_name": "Hassan", "language_code": "so"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        headers = {
            "right": {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_123"},
            "wrong": {"X-Telegram-Bot-Api-Secret-Token": "hook-secret_124"},
            "missing": {},
        }[header]
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{port}/telegram", json=update, headers=headers)
        if header == "right":
            assert response.status_code == 200
            await tg.wait_for(lambda: tg.count_to(5100) == 1)
        else:
            assert response.status_code == 403
            await asyncio.sleep(0.3)
            assert tg.count_to(5100) == 0
        # and the fake Telegram's own delivery (with the configured secret) works too
        chat = Chat(tg, 5101, language_code="ar")
        await chat.command("/start")
        assert chat.text.startswith(RLM)
    async with db.transaction() as connection:
        from bot.store.schema import processed_updates

        ids = (await connection.execute(select(processed_updates.c.update_id))).scalars().all()
    assert ("900001" in ids) == (header == "right")


def test_settings_replace_keeps_secret_out_of_repr(settings):
    shown = repr(dataclasses.replace(settings, telegram_bot_token="123:SECRET"))
    assert "SECRET" not in shown


async def test_whoami_gives_the_address_that_coordinator_add_takes(tg, settings, db):
    """A stranger (no sign-up, no consent) and an Arabic participant ask for their address;
    the line as shown, direction marks and all, is what `meedoen coordinator add` takes."""
    from bot.config import parse_address

    series_id = await add_series(db)
    async with running(telegram_settings(settings, tg)):
        stranger = Chat(tg, 5030, language_code="so")
        answer = await stranger.command("/whoami")
        assert "telegram:5030" in answer["text"].split("\n")
        assert in_("so", "/whoami – how this chat knows me (for coordinators)") in (await stranger.command("/help"))["text"]
        reader = Chat(tg, 5031)
        await sign_up(reader, "ar", None, f"s:{series_id}", "a:0")
        answer = await reader.say("من أنا")
        [line] = [line for line in answer["text"].split("\n") if "telegram" in line]
        assert parse_address(line) == ("telegram", "5031")
    async with db.transaction() as connection:
        assert await connection.scalar(select(participants.c.address)) == "5031"  # nothing kept of 5030


async def test_updates_are_handled_at_most_turns_at_once_and_each_chat_in_order():
    """``ChatOrderedProcessor``: different chats concurrently but no more than ``turns`` at
    once (a turn holds a database connection; more only time-slice them, docs/scaling.md),
    and one chat's updates strictly in arrival order."""
    from telegram import Chat as TelegramChat
    from telegram import Message, Update

    from bot.channels.telegram import ChatOrderedProcessor

    processor = ChatOrderedProcessor(256, turns=2)
    running = peak = 0
    done: list[tuple[int, int]] = []

    async def turn(chat: int, number: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        done.append((chat, number))
        running -= 1

    def update(chat: int, number: int) -> Update:
        message = Message(number, NOW, TelegramChat(chat, "private"), text=str(number))
        return Update(chat * 10 + number, message=message)

    arrivals = [(chat, number) for number in range(3) for chat in (1, 2, 3, 4)]
    await asyncio.gather(*(processor.process_update(update(c, n), turn(c, n)) for c, n in arrivals))
    assert peak == 2
    for chat in (1, 2, 3, 4):
        assert [number for c, number in done if c == chat] == [0, 1, 2]
