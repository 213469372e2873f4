"""Coordinators find their commands, and a man who writes first is answered in his language:
end to end on Telegram (python-telegram-bot against the local Bot API server, which resolves
command menus by scope the way Telegram documents it) and one first message on WhatsApp."""

from __future__ import annotations

import dataclasses

import pytest

from bot.store import coordinators
from bot.store import participants as participant_store
from dialogs.i18n import RLM, _, fill, use_locale
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings

EVERYONE = ["start", "mysignups", "cancel", "checkin", "listen", "language", "privacy", "stop", "delete", "help"]
COORDINATOR = ["rsvps", "attendance", "broadcast", "voice", "report", "console", "flyer"]
GREETING = (
    "Hello! I'm the automated assistant of %(organisation)s. I can sign you up "
    "for our conversation groups for men."
)


def in_(language: str, message: str, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values) if values else _(message)


def names(menu: list[dict]) -> list[str]:
    return [command["command"] for command in menu]


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def test_a_coordinators_chat_menu_has_his_commands_in_his_language_and_follows_changes(tg, settings, db):
    async with db.transaction() as connection:  # 9003 signed up earlier, in Arabic
        await participant_store.create(connection, "telegram", "9003", "ar", NOW)
        await coordinators.add(connection, "telegram", "9003", NOW)
    configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
    async with running(configured) as service:
        # at start: MEEDOEN_COORDINATORS and the database's coordinators
        for language in ("nl", "ar", "so", "en"):
            menu = tg.menu_for(9001, language)  # he has no language yet: his app's
            assert names(menu) == COORDINATOR + EVERYONE
            assert menu[0]["description"] == in_(language, "Who is coming to the next meetings")
            assert names(tg.menu_for(5000, language)) == EVERYONE  # anyone else
        for app in ("nl", "en", None):
            menu = tg.menu_for(9003, app)
            assert names(menu) == COORDINATOR + EVERYONE
            assert menu[COORDINATOR.index("report")]["description"] == in_("ar", "The anonymous report")

        # `meedoen coordinator add/remove` while the service runs: followed at the next tick
        async with db.transaction() as connection:
            await coordinators.add(connection, "telegram", "9002", NOW)
            await coordinators.remove(connection, "telegram", "9001")
        assert names(tg.menu_for(9002, "so")) == EVERYONE
        await service.scheduler.tick()
        assert names(tg.menu_for(9002, "so")) == COORDINATOR + EVERYONE
        assert tg.menu_for(9002, "so")[1]["description"] == in_("so", "Tick who was there")
        assert names(tg.menu_for(9001, "nl")) == EVERYONE
        assert tg.menu_for(9001, "nl")[0]["description"] == in_("nl", "Join a conversation group")

        calls = len(tg.calls)
        await service.scheduler.tick()  # nothing changed: no requests
        assert [c.method for c in tg.calls[calls:] if "MyCommands" in c.method] == []


async def test_a_coordinators_help_lists_his_commands_and_a_mans_does_not(tg, settings, db):
    configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
    async with running(configured):
        boss = Chat(tg, 9001, language_code="nl")
        help_text = (await boss.command("/help"))["text"]
        man = Chat(tg, 5001, language_code="nl")
        plain = (await man.command("/help"))["text"]
    for line in ("As a coordinator you can also use:", "/rsvps – who is coming to the next meetings",
                 "/attendance – tick who was there", "/broadcast – send a message to many people",
                 "/report – the anonymous report"):
        assert in_("nl", line) in help_text
        assert in_("nl", line) not in plain
    assert in_("nl", "/start – join a conversation group") in help_text


@pytest.mark.parametrize(
    "app_language, first, expected",
    [
        (None, "السلام عليكم، أريد التسجيل", "ar"),  # Arabic script
        ("nl", "Salaan, waxaan rabaa inaan is diiwaangeliyo", "so"),  # Somali words beat the app
        ("en", "Hallo, ik wil graag meedoen", "nl"),  # a Dutch sentence
        ("so", "/start", "so"),  # nothing but the app's language
        (None, "Hello, I would like to join", "en"),
    ],
)
async def test_the_first_answer_is_in_the_language_he_most_likely_reads(tg, settings, db, app_language, first, expected):
    async with running(telegram_settings(settings, tg)):
        man = Chat(tg, 5100, language_code=app_language)
        reply = await (man.command(first) if first.startswith("/") else man.say(first))
        assert in_(expected, GREETING, organisation=settings.organisation) in reply["text"]
        assert reply["text"].startswith(RLM) == (expected == "ar")
        assert man.keys()[0] == f"lang:{expected}"  # the language menu, one tap away
        assert sorted(man.keys()) == ["lang:ar", "lang:en", "lang:nl", "lang:so"]
        # a typed "1" answers that same menu, in that language
        consent = await man.say("1")
        assert in_(expected, "Yes, that's okay") in man.labels(consent)
