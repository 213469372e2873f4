"""A facilitator records his own series' reminders (issue 19 §1: "set by its facilitator or a
coordinator in the chat"), end to end on Telegram (python-telegram-bot against the local Bot
API stand-in, which checks ``sendVoice`` against the spec), a real SQLite file, the real
catalogs and the reminders' job with an injectable clock: he records a Somali reminder for his
series, a Somali man's next reminder carries it, he replaces and removes it; another series is
refused, forged button and all, and nothing is stored; a man's voice note is still never
fetched."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.channels import callback_data
from bot.channels.base import Incoming
from bot.common import audio as voice
from bot.engine import Engine
from bot.store import facilitators as facilitator_store
from bot.store import participants
from bot.store import series as series_store
from bot.store import voice as voice_store
from bot.store.schema import series_voices, voice_clips
from dialogs import coordinator as coordinator_dialog
from dialogs import router
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import (
    ChoiceMade,
    Command,
    CoordinatorView,
    FacilitatorView,
    Reply,
    SetSeriesVoice,
    Step,
    Text,
    VoiceNote,
)
from scheduler import reminders
from tests.dialog_helpers import FULL, ROOMY, World, registered
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.voice_samples import ogg

FIRST_MEETING = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # Thursday 3 December, 19:00 local
BEFORE = FIRST_MEETING - timedelta(hours=25)  # the day-before reminder is not due yet
LEADER, OTHER_LEADER, SOMALI, DUTCH = 7001, 7002, 8801, 8802


def in_(language: str, text: str, /, **values) -> str:
    with use_locale(language):
        return fill(_(text), **values) if values else _(text)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def two_series(db, leader_language: str = "en") -> dict[str, int]:
    """Series A, facilitated by telegram:7001 (who reads English unless told), with a Somali
    and a Dutch man; series B, facilitated by telegram:7002."""
    ids: dict[str, int] = {}
    async with db.transaction() as connection:
        for key, name in (("a", "Vaders en zonen"), ("b", "Mannen in gesprek")):
            new = series_store.NewSeries(name, 3, time(19), date(2026, 12, 3), 6, 12, "Huis van de Wijk", "Osdorp")
            ids[key] = await series_store.add(connection, new, "Europe/Amsterdam", BEFORE - timedelta(days=5))
        for address, language in ((SOMALI, "so"), (DUTCH, "nl")):
            pid = await participants.create(connection, "telegram", str(address), language, BEFORE - timedelta(days=4))
            await series_store.sign_up(connection, pid, ids["a"], waitlist=False, now=BEFORE - timedelta(days=4))
        await participants.create(connection, "telegram", str(LEADER), leader_language, BEFORE - timedelta(days=3))
        await facilitator_store.add(connection, "telegram", str(LEADER), ids["a"], BEFORE - timedelta(days=3))
        await facilitator_store.add(connection, "telegram", str(OTHER_LEADER), ids["b"], BEFORE - timedelta(days=3))
    return ids


def configured(settings, tg):
    return dataclasses.replace(
        telegram_settings(settings, tg), coordinators=("telegram:9001",), reminders=(timedelta(hours=24),)
    )


async def stored(db, table) -> list:
    async with db.transaction() as connection:
        return (await connection.execute(select(table))).all()


async def record(tg: FakeTelegram, chat: Chat, sound: bytes) -> dict:
    seconds = round(voice.opus_seconds(sound) or 1)
    return await chat._expect_reply(lambda: tg.send_voice_from_user(chat.user_id, sound, seconds))  # noqa: SLF001


def fetched(tg: FakeTelegram) -> int:
    return len([c for c in tg.calls if c.method == "getFile"])


def question_number(message: dict) -> int:
    first = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row)
    return int(first.split("|")[0])


async def test_a_facilitator_records_replaces_and_removes_his_series_somali_reminder(tg, settings, db):
    ids = await two_series(db)
    first, second = ogg(5), ogg(6, frequency=300)
    clock = Clock(BEFORE)
    async with running(configured(settings, tg), now=clock) as service:
        leader = Chat(tg, LEADER, language_code="en")
        asked = await leader.command("/voice")
        assert asked["text"] == in_("en", "Which conversation group is the voice reminder for?")
        assert leader.keys(asked) == [f"co:vs:{ids['a']}", "co:cancel"]  # not B's
        await leader.tap(f"co:vs:{ids['a']}")
        await leader.tap("co:vl:so")
        saved = await record(tg, leader, first)
        assert saved["text"] == in_(
            "en", "Saved. The reminders for %(series)s in %(language)s now come with your voice message.",
            series="Vaders en zonen", language=in_("en", "Somali"),
        )
        [(series_id, language, clip_id)] = [(r.series_id, r.language, r.clip_id) for r in await stored(db, series_voices)]
        assert (series_id, language) == (ids["a"], "so")
        async with db.transaction() as connection:
            assert await voice_store.audio(connection, clip_id) == first

        # Replaced: the language he recorded is marked, and the first recording is erased.
        await leader.command("/voice")
        languages = await leader.tap(f"co:vs:{ids['a']}")
        assert "Soomaali 🎙" in leader.labels(languages)  # each language by its own name
        replace = await leader.tap("co:vl:so")
        assert leader.keys(replace) == ["co:vrm", "co:cancel"]
        await record(tg, leader, second)
        [row] = await stored(db, series_voices)
        async with db.transaction() as connection:
            assert await voice_store.audio(connection, clip_id) is None
            assert await voice_store.audio(connection, row.clip_id) == second
        assert len(await stored(db, voice_clips)) == 1

        clock.at += timedelta(hours=1, minutes=30)  # the day-before reminder is due
        await reminders.queue_due_reminders(service.db, service.settings, clock())
        service.wake_all()
        await tg.wait_for(lambda: any("voice" in m for m in tg.messages_to(SOMALI)) and tg.count_to(DUTCH) == 1)

        # Removed: the clip goes.
        await leader.command("/voice")
        await leader.tap(f"co:vs:{ids['a']}")
        await leader.tap("co:vl:so")
        removed = await leader.tap("co:vrm")
        assert removed["text"] == in_("en", "Removed. The reminders go out as text only in that language.")
    reminder, sound = tg.messages_to(SOMALI)
    assert "Vaders en zonen" in reminder["text"] and sound["voice"]["duration"] == 6
    assert [c for c in tg.calls if c.method == "sendVoice"][0].params["chat_id"] == SOMALI
    assert not [m for m in tg.messages_to(DUTCH) if "voice" in m]
    assert await stored(db, series_voices) == [] and await stored(db, voice_clips) == []


async def test_another_series_is_refused_even_with_a_forged_button_and_nothing_is_stored(tg, settings, db):
    ids = await two_series(db)
    secret = settings.secret_key.encode()
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        leader = Chat(tg, LEADER, language_code="en")
        asked = await leader.command("/voice")
        # a modified client, with a valid signature even (as if the secret leaked): B's series
        forged = callback_data.encode(secret, str(LEADER), question_number(asked), f"co:vs:{ids['b']}")
        refused = await leader.forge(asked, forged)
        assert in_("en", "Sorry, that choice is no longer available.") in refused["text"]
        # ... he is still asked for a series, not for a recording: his voice note is not fetched
        assert leader.keys(refused) == [f"co:vs:{ids['a']}", "co:cancel"]
        await record(tg, leader, ogg(3))
        # ... and once on A's language question, B's series is no choice either
        await leader.command("/voice")
        await leader.tap(f"co:vs:{ids['a']}")
        language = await leader.tap("co:vl:so")
        forged = callback_data.encode(secret, str(LEADER), question_number(language), f"co:vs:{ids['b']}")
        refused = await leader.forge(language, forged)
        assert in_("en", "Sorry, that choice is no longer available.") in refused["text"]
        await leader.tap("co:cancel")
    assert fetched(tg) == 0
    assert await stored(db, series_voices) == [] and await stored(db, voice_clips) == []


async def test_the_handler_refuses_a_recording_for_a_series_not_his_and_erases_it(settings, db):
    """Checked again where it is stored: were a dialog to let another series through, the
    handler refuses it, and the recording made for it is erased at once."""
    ids = await two_series(db)
    async with db.transaction() as connection:
        clips = [await voice_store.add(connection, voice.prepare(ogg(2)), BEFORE) for _ in range(3)]
    wanted = [
        (str(LEADER), SetSeriesVoice(ids["b"], "so", clips[0])),  # not his series
        (str(SOMALI), SetSeriesVoice(ids["a"], "so", clips[1])),  # a man, not a facilitator
        (str(LEADER), SetSeriesVoice(ids["a"], "so", clips[2])),  # his own: kept
    ]
    effects = [effect for _address, effect in wanted]
    engine = Engine(db, settings, dialog=lambda state, event, ctx: Step(state, (effects.pop(0),)), now=lambda: BEFORE)
    for address, _effect in wanted:
        await engine.handle(Incoming("telegram", address, Text("hello")))
    assert [(r.series_id, r.language, r.clip_id) for r in await stored(db, series_voices)] == [(ids["a"], "so", clips[2])]
    assert [r.id for r in await stored(db, voice_clips)] == [clips[2]]


async def test_a_mans_voice_note_and_a_facilitators_outside_voice_are_never_fetched(tg, settings, db):
    await two_series(db)
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        man = Chat(tg, SOMALI, language_code="so")
        answer = await record(tg, man, ogg(3, frequency=523))
        assert answer["text"].startswith(
            in_("so", "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet.")
        )
        leader = Chat(tg, LEADER, language_code="en")
        await leader.command("/rsvps")
        answer = await record(tg, leader, ogg(3))
        assert answer["text"].startswith(
            in_("en", "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet.")
        )
    assert fetched(tg) == 0
    assert await stored(db, voice_clips) == []


@pytest.mark.parametrize("language", ["nl", "ar", "so", "en"])
async def test_his_menu_and_help_list_voice_in_his_language(tg, settings, db, language):
    await two_series(db, leader_language=language)
    async with running(configured(settings, tg), now=Clock(BEFORE)):
        menu = {c["command"]: c["description"] for c in tg.menu_for(LEADER, language)}
        assert menu["voice"] == in_(language, "Record a reminder as a voice message")
        help_text = (await Chat(tg, LEADER, language_code="nl").command("/help"))["text"]
        with use_locale(language):  # an Arabic line as he reads it: right to left, "/voice" isolated
            line = directed(_("/voice – record a reminder for your group as a voice message"))
        assert line in help_text


# --- the dialog alone ------------------------------------------------------------------------------


def facilitator_context(*series_ids: int, coordinator: bool = False):
    return dataclasses.replace(
        World(participant=registered("en")).context(),
        is_coordinator=coordinator,
        coordinator=CoordinatorView(),
        facilitator=FacilitatorView(series_ids),
    )


def test_a_facilitator_who_lost_the_series_while_recording_is_told_and_nothing_is_set():
    asked = router.handle({}, Command("voice"), facilitator_context(ROOMY.id, FULL.id))
    assert [o.key for o in asked.effects[-1].options] == [f"co:vs:{ROOMY.id}", f"co:vs:{FULL.id}", "co:cancel"]
    state = asked.state
    for key in (f"co:vs:{FULL.id}", "co:vl:so"):
        state = router.handle(state, ChoiceMade(key, state["q"]), facilitator_context(ROOMY.id, FULL.id)).state
    assert coordinator_dialog.wants_voice(state)
    step = router.handle(state, VoiceNote(clip_id=4, seconds=5), facilitator_context(ROOMY.id))  # FULL taken from him
    assert [type(e) for e in step.effects] == [Reply] and "flow" not in step.state
    with use_locale("en"):
        assert _("Sorry, that choice is no longer available.") in step.effects[0].text


def test_a_coordinator_who_also_facilitates_records_for_any_series():
    asked = router.handle({}, Command("voice"), facilitator_context(ROOMY.id, coordinator=True))
    assert {f"co:vs:{ROOMY.id}", f"co:vs:{FULL.id}"} <= {o.key for o in asked.effects[-1].options}
