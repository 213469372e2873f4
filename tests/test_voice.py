"""Voice notes (issue 19): a coordinator's voice in every language, and a man's voice note
answered kindly and never stored.

The sound files are real (tests/voice_samples.py: OGG/Opus made by ffmpeg, WAV by Python);
Telegram is the local Bot API stand-in, which checks ``sendVoice`` against the Bot API spec and
keeps the files it was sent; the database is a real SQLite file, scanned for what must not be
in it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import telegram
from bot.channels.whatsapp import render
from bot.common import audio as voice
from bot.domain import broadcasts
from bot.store import participants as participant_store
from bot.store import series as series_store
from bot.store import voice as voice_store
from bot.store.schema import broadcast_voices, outbox, series_voices, voice_clips
from bot.store.schema import broadcasts as broadcasts_table
from dialogs import coordinator
from dialogs.i18n import _, fill, use_locale
from dialogs.router import handle
from dialogs.types import (
    AskContact,
    ChoiceMade,
    Command,
    CoordinatorMeeting,
    CoordinatorView,
    QueueBroadcast,
    Reply,
    SetSeriesVoice,
    Text,
    VoiceNote,
)
from scheduler import reminders
from tests.dialog_helpers import ROOMY, World, check_reply, registered
from tests.fakes.telegram_api import FakeTelegram, UploadedFile
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_store import rows_mentioning
from tests.voice_samples import ogg, wav

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
LANGUAGES = ("nl", "ar", "so", "en")


def tr(lang: str, message: str, /, **values) -> str:
    with use_locale(lang):
        return fill(_(message), **values) if values else _(message)


# --- the sound: checked, converted, limited ---------------------------------------------------------


def test_an_ogg_opus_recording_is_kept_as_it_is_with_its_length():
    recording = ogg(3)
    clip = voice.prepare(recording)
    assert clip.audio is recording
    assert clip.seconds == 3
    assert voice.opus_seconds(ogg(12.5)) == pytest.approx(12.5, abs=0.05)


def test_another_sound_is_converted_to_ogg_opus():
    clip = voice.prepare(wav(2))
    assert clip.audio.startswith(b"OggS") and b"OpusHead" in clip.audio[:100]
    assert clip.seconds == 2
    assert voice.opus_seconds(clip.audio) == pytest.approx(2, abs=0.05)


@pytest.mark.parametrize(
    "data, problem",
    [
        (lambda: ogg(61), "too_long"),
        (lambda: wav(62), "too_long"),
        (lambda: b"this is not a sound at all", "unreadable"),
        (lambda: b"", "unreadable"),
        (lambda: ogg(3)[:-10], "unreadable"),  # a cut-off stream is converted, or refused; never sent as it is
        (lambda: b"\0" * (voice.MAX_UPLOAD_BYTES + 1), "too_big"),
    ],
    ids=["ogg over a minute", "wav over a minute", "text", "empty", "cut off", "too big"],
)
def test_what_cannot_be_sent_is_refused_with_its_reason(data, problem):
    sound = data()
    if problem == "unreadable" and sound.startswith(b"OggS"):
        try:
            clip = voice.prepare(sound)
        except voice.VoiceProblem as refused:
            assert refused.kind == "unreadable"
        else:
            assert clip.audio is not sound and voice.opus_seconds(clip.audio) is not None
        return
    with pytest.raises(voice.VoiceProblem) as refused:
        voice.prepare(sound)
    assert refused.value.kind == problem


def test_without_ffmpeg_a_recording_from_the_chat_still_works_and_anything_else_says_why(monkeypatch):
    recording = ogg(2)
    monkeypatch.setattr(voice, "ffmpeg", lambda: None)  # a machine with neither
    assert voice.prepare(recording).seconds == 2
    with pytest.raises(voice.VoiceProblem) as refused:
        voice.prepare(wav(2))
    assert refused.value.kind == "no_converter"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("problem", voice.PROBLEMS)
def test_every_problem_has_one_translated_sentence(language, problem):
    with use_locale(language):
        sentence = coordinator.voice_problem(problem)
    with use_locale("en"):
        english = coordinator.voice_problem(problem)
    assert sentence.strip() and "\n" not in sentence
    assert (sentence != english) == (language != "en")


# --- the dialogs ---------------------------------------------------------------------------------------


class Boss:
    """A coordinator's chat through the router, the state threaded, every reply checked."""

    def __init__(self, language="nl", **view) -> None:
        self.ctx = replace(
            World(participant=registered(language)).context(),
            is_coordinator=True,
            coordinator=CoordinatorView(audience_sizes={"all": 7}, selected_count=7, **view),
        )
        self.state: dict = {}
        self.q = 0
        self.effects: list = []

    def send(self, event) -> Reply:
        step = handle(self.state, event, self.ctx)
        self.state, self.effects = step.state, list(step.effects)
        replies = [e for e in step.effects if isinstance(e, Reply)]
        assert replies, f"silence after {event!r}"
        for reply in replies:
            check_reply(reply)
            self.q = reply.question or self.q
        return replies[-1]

    def press(self, key: str) -> Reply:
        return self.send(ChoiceMade(key, self.q))


def test_a_broadcast_asks_for_a_voice_message_after_each_language_and_sends_them():
    boss = Boss("nl")
    boss.send(Command("broadcast"))
    boss.press("co:a:all")
    boss.press("co:next")
    asked = boss.send(Text("Kom donderdag!"))
    assert tr("nl", "Press the microphone and record the %(language)s version as a voice message "
              "(at most %(seconds)s seconds), or press Skip.", language=tr("nl", "Dutch"), seconds=60) == asked.text
    assert coordinator.wants_voice(boss.state)
    boss.send(VoiceNote(clip_id=11, seconds=7))  # the Dutch one
    boss.press("co:skip")  # no Arabic text: no voice question for it either
    boss.send(Text("Kaalay Khamiista!"))
    refused = boss.send(VoiceNote(problem="too_long"))
    assert tr("nl", "That voice message is too long. Please keep it under %(seconds)s seconds and record it again.", seconds=60) in refused.text
    assert coordinator.wants_voice(boss.state)
    boss.send(VoiceNote(clip_id=12, seconds=41))
    boss.press("co:skip")  # English
    preview = boss.press("co:i:-").text
    assert preview.count("🎙") == 2
    assert tr("nl", "With a voice message (%(seconds)s s).", seconds=41) in preview
    boss.press("co:send")
    [effect] = [e for e in boss.effects if isinstance(e, QueueBroadcast)]
    assert effect.voices == {"nl": 11, "so": 12}
    assert effect.texts == {"nl": "Kom donderdag!", "so": "Kaalay Khamiista!"}


def test_a_voice_message_where_none_was_asked_for_is_said_so():
    boss = Boss("nl")
    boss.send(Command("broadcast"))
    reply = boss.send(VoiceNote(clip_id=3, seconds=2))
    assert tr("nl", "I can only use a voice message where I ask for one.") in reply.text
    assert not [e for e in boss.effects if not isinstance(e, Reply)]


def test_voice_records_replaces_and_removes_a_series_reminder_per_language():
    boss = Boss("en")
    asked = boss.send(Command("voice"))
    assert f"co:vs:{ROOMY.id}" in [o.key for o in asked.options]
    languages = boss.press(f"co:vs:{ROOMY.id}")
    assert [o.key for o in languages.options][:4] == [f"co:vl:{code}" for code in LANGUAGES]
    boss.press("co:vl:so")
    assert coordinator.wants_voice(boss.state)
    saved = boss.send(VoiceNote(clip_id=5, seconds=20))
    assert SetSeriesVoice(ROOMY.id, "so", 5) in boss.effects
    assert ROOMY.name in saved.text and "flow" not in boss.state

    boss = Boss("en", series_voices={ROOMY.id: ("so",)})
    boss.send(Command("voice"))
    languages = boss.press(f"co:vs:{ROOMY.id}")
    assert "Soomaali 🎙" in [o.label for o in languages.options]
    again = boss.press("co:vl:so")
    assert "co:vrm" in [o.key for o in again.options]
    boss.send(VoiceNote(clip_id=6, seconds=9))
    assert SetSeriesVoice(ROOMY.id, "so", 6) in boss.effects  # the store erases clip 5

    boss = Boss("en", series_voices={ROOMY.id: ("so",)})
    boss.send(Command("voice"))
    boss.press(f"co:vs:{ROOMY.id}")
    boss.press("co:vl:so")
    boss.press("co:vrm")
    assert SetSeriesVoice(ROOMY.id, "so", None) in boss.effects


def test_voice_also_offers_a_running_series_no_longer_open_for_sign_up():
    running_meeting = CoordinatorMeeting(77, 42, "Lopende groep", NOW + timedelta(days=2), ())
    boss = Boss("nl", next_meetings=(running_meeting,))
    asked = boss.send(Command("voice"))
    assert "co:vs:42" in [o.key for o in asked.options]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_mans_voice_note_gets_thanks_and_the_question_again_with_a_call_back_button(language):
    world = World(participant=registered(language))
    state = {"at": "menu", "q": 4}
    step = handle(state, VoiceNote(), world.context())
    [reply] = step.effects  # one message, nothing stored
    check_reply(reply)
    assert tr(language, "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet.") in reply.text
    assert tr(language, "You can answer with the buttons, or with a short text.") in reply.text
    menu = handle(state, Text("?"), world.context()).effects[-1]
    assert reply.options[:-1] == menu.options  # the menu again, then the call-back button
    assert reply.options[-1].key == "call:me" and reply.question == 5
    called = handle(step.state, ChoiceMade("call:me", reply.question), world.context())
    assert AskContact() in called.effects
    assert tr(language, "Thank you. A coordinator will call you back soon.") in called.effects[-1].text
    assert called.state["at"] == "menu"  # the question he was at stays open
    later = handle({**step.state, "q": 9}, ChoiceMade("call:me", 5), world.context())
    assert AskContact() in later.effects  # pressed later, under another question: still his wish


def test_before_he_has_signed_up_nobody_is_offered_his_number():
    step = handle({}, VoiceNote(), World().context(suggested_language="so"))
    [reply] = [e for e in step.effects if isinstance(e, Reply)]
    assert "call:me" not in [o.key for o in reply.options]
    assert [o.key for o in reply.options][:1] == ["lang:so"]  # the language menu, Somali first


def test_a_coordinators_voice_note_outside_a_voice_question_is_a_mans():
    """A coordinator is a man too: with no voice question open he gets the same kind answer."""
    boss = Boss("nl")
    step = handle({}, VoiceNote(), boss.ctx)
    assert tr("nl", "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet.") in step.effects[0].text


# --- what is kept of an update -----------------------------------------------------------------------


def test_the_kept_telegram_update_has_no_way_to_his_voice():
    raw = (
        '{"update_id": 5, "message": {"message_id": 1, "date": 1, "chat": {"id": 7, "type": "private"},'
        ' "from": {"id": 7, "is_bot": false, "first_name": "A"},'
        ' "voice": {"file_id": "AwACAgQAAxkBAAIB", "file_unique_id": "AgADxyz", "duration": 4}}}'
    )
    kept = telegram._unreachable_voice(raw)  # noqa: SLF001 - the rule itself
    assert "AwACAgQAAxkBAAIB" not in kept and "AgADxyz" not in kept
    assert '"duration": 4' in kept  # still a voice note, handled as one after a restart


def test_the_kept_whatsapp_form_has_no_media_address():
    fields = [("From", "whatsapp:+31612345678"), ("NumMedia", "1"), ("MediaContentType0", "audio/ogg"),
              ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")]
    kept = render.kept_fields(fields)
    assert [key for key, _value in kept] == ["From", "NumMedia", "MediaContentType0"]
    message = render.inbound({**dict(kept), "MessageSid": "SM1"})
    assert message is not None and message.event == VoiceNote() and message.media_url is None


# --- end to end through the Telegram stand-in ----------------------------------------------------------


async def _men(db, specs, series_id=None):
    ids = []
    async with db.transaction() as connection:
        for address, language in specs:
            pid = await participant_store.create(connection, "telegram", str(address), language, NOW)
            if series_id is not None:
                await series_store.sign_up(connection, pid, series_id, waitlist=False, now=NOW)
            ids.append(pid)
    return ids


async def _series(db):
    new = series_store.NewSeries("Vaders en zonen", 3, time(19), date(2026, 12, 3), 6, 12, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def _count(db, table) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(select(func.count()).select_from(table))


def _voices_to(tg: FakeTelegram, chat_id: int) -> list[dict]:
    return [m for m in tg.messages_to(chat_id) if "voice" in m]


async def _until_finished(service, db) -> None:
    """Let the progress reporter see the broadcast through (its tick is 15 s)."""
    for _attempt in range(200):
        await service.progress.run_once(datetime.now(UTC))
        async with db.transaction() as connection:
            if await connection.scalar(select(func.count()).select_from(broadcasts_table).where(broadcasts_table.c.status == "done")):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the broadcast did not finish")


async def _record(tg: FakeTelegram, boss: Chat, sound: bytes) -> dict:
    seconds = round(voice.opus_seconds(sound) or 1)
    return await boss._expect_reply(lambda: tg.send_voice_from_user(boss.user_id, sound, seconds))  # noqa: SLF001


async def test_a_coordinator_records_a_broadcast_in_somali_and_somali_men_hear_it(settings, db):
    somali = (8502, 8503)
    await _men(db, [(8502, "so"), (8503, "so"), (8504, "nl")])
    recording = ogg(4)
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
        async with running(configured) as service:
            boss = Chat(tg, 9001, language_code="nl")
            await boss.command("/broadcast")
            await boss.tap("co:a:all")
            await boss.tap("co:next")
            await boss.say("Kom donderdag naar het Huis van de Wijk!")
            await boss.tap("co:novoice")
            await boss.tap("co:skip")  # no Arabic
            asked = await boss.say("Kaalay Khamiista!")
            assert tr("nl", "Somali") in asked["text"] and "co:novoice" in boss.keys(asked)
            await _record(tg, boss, recording)
            await boss.tap("co:skip")  # no English
            preview = await boss.tap("co:i:-")
            assert preview["text"].count("🎙") == 1
            assert tr("nl", "With a voice message (%(seconds)s s).", seconds=4) in preview["text"]
            await boss.tap("co:send")
            await tg.wait_for(lambda: all(len(_voices_to(tg, man)) == 1 for man in somali) and tg.count_to(8504) == 1)
            await _until_finished(service, db)
        assert tg.violations == []
    for man in somali:
        text, sound = tg.messages_to(man)
        assert "Kaalay Khamiista!" in text["text"] and sound["voice"]["duration"] == 4
    assert "voice" not in tg.messages_to(8504)[0]  # Dutch: the text only
    sends = [c for c in tg.calls if c.method == "sendVoice"]
    assert len(sends) == 2
    # His own recording is already on Telegram: its file id goes out, nothing is uploaded.
    assert {c.params["voice"] for c in sends} == {tg.calls[[c.method for c in tg.calls].index("getFile")].params["file_id"]}
    async with db.transaction() as connection:
        done = await connection.scalar(select(func.count()).select_from(broadcast_voices))
    assert done == 0 and await _count(db, voice_clips) == 0  # the broadcast is done: its clip is erased


async def test_a_clip_is_uploaded_once_then_sent_by_telegrams_file_id(settings, db):
    men = tuple(range(8701, 8706))
    await _men(db, [(man, "ar") for man in men])
    converted = voice.prepare(wav(3))  # a console upload: never on Telegram before
    async with db.transaction() as connection:
        clip_id = await voice_store.add(connection, converted, NOW)
        broadcast_id, _count_ = await broadcasts.create(
            connection, created_by="cli", audience_keys=("all",), texts={"nl": "Hallo", "ar": "مرحبا"},
            invite_series_id=None, areas=(), now=datetime.now(UTC), voices={"ar": clip_id},
        )
    async with FakeTelegram() as tg:
        async with running(telegram_settings(settings, tg)):
            await tg.wait_for(lambda: all(len(_voices_to(tg, man)) == 1 for man in men))
        assert tg.violations == []
    sends = [c for c in tg.calls if c.method == "sendVoice"]
    uploads = [c for c in sends if isinstance(c.params["voice"], UploadedFile)]
    assert len(sends) == 5 and len(uploads) == 1
    assert uploads[0].params["voice"].data == converted.audio
    file_id = tg.messages_to(uploads[0].params["chat_id"])[-1]["voice"]["file_id"]
    assert {c.params["voice"] for c in sends if c not in uploads} == {file_id}
    for man in men:
        text, sound = tg.messages_to(man)
        assert "مرحبا" in text["text"] and sound["voice"]["file_id"] == file_id
    async with db.transaction() as connection:
        kinds = sorted(row.kind for row in await connection.execute(select(outbox.c.kind)))
        _recipients, tally = await broadcasts.status(connection, broadcast_id)
    assert kinds == ["broadcast"] * 5 + ["voice"] * 5
    assert tally["delivered"] == 5  # men, not messages


async def test_a_series_reminder_carries_its_recorded_voice_and_a_replaced_one_is_erased(settings, db):
    series_id = await _series(db)
    await _men(db, [(8801, "so"), (8802, "nl")], series_id=series_id)
    first, second = ogg(5), ogg(6, frequency=300)
    clock = Clock(datetime(2026, 12, 2, 17, 0, tzinfo=UTC))  # 25 hours before the first meeting
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(
            telegram_settings(settings, tg), coordinators=("telegram:9001",), reminders=(timedelta(hours=24),)
        )
        async with running(configured, now=clock) as service:
            boss = Chat(tg, 9001, language_code="en")
            await boss.command("/voice")
            await boss.tap(f"co:vs:{series_id}")
            await boss.tap("co:vl:so")
            saved = await _record(tg, boss, first)
            assert saved["text"] == tr(
                "en", "Saved. The reminders for %(series)s in %(language)s now come with your voice message.",
                series="Vaders en zonen", language=tr("en", "Somali"),
            )
            async with db.transaction() as connection:
                [(clip_id,)] = (await connection.execute(select(series_voices.c.clip_id))).all()
                assert await voice_store.audio(connection, clip_id) == first
            # Replaced: the first recording is gone from the database.
            await boss.command("/voice")
            await boss.tap(f"co:vs:{series_id}")
            await boss.tap("co:vl:so")
            await _record(tg, boss, second)
            async with db.transaction() as connection:
                [(new_id,)] = (await connection.execute(select(series_voices.c.clip_id))).all()
                assert await voice_store.audio(connection, clip_id) is None
                assert await voice_store.audio(connection, new_id) == second
            assert await _count(db, voice_clips) == 1
            clock.now += timedelta(hours=1, minutes=30)  # the day-before reminder is due
            await reminders.queue_due_reminders(service.db, configured, clock())  # or the scheduler's tick did
            service.wake_all()
            await tg.wait_for(lambda: len(_voices_to(tg, 8801)) == 1 and tg.count_to(8802) == 1)
            # Removed: the clip goes, and the next reminder is text only.
            await boss.command("/voice")
            await boss.tap(f"co:vs:{series_id}")
            await boss.tap("co:vl:so")
            removed = await boss.tap("co:vrm")
            assert removed["text"] == tr("en", "Removed. The reminders go out as text only in that language.")
        assert tg.violations == []
    reminder, sound = tg.messages_to(8801)
    assert "Vaders en zonen" in reminder["text"] and sound["voice"]["duration"] == 6
    assert not _voices_to(tg, 8802)
    assert await _count(db, voice_clips) == 0 and await _count(db, series_voices) == 0


async def test_a_mans_voice_note_is_answered_in_his_language_and_never_stored(settings, db, tmp_path):
    await _men(db, [(8901, "so")])
    recording = ogg(3, frequency=523)
    async with FakeTelegram() as tg:
        configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",))
        async with running(configured):
            man = Chat(tg, 8901, language_code="so")
            update = await tg.send_voice_from_user(8901, recording)
            await tg.wait_for(lambda: tg.count_to(8901) >= 1)
            [answer] = tg.messages_to(8901)
            assert answer["text"].startswith(tr("so", "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet."))
            assert tr("so", "You can answer with the buttons, or with a short text.") in answer["text"]
            assert len(man.keys(answer)) > 1 and man.keys(answer)[-1] == "call:me"  # the menu, and the call back
            called = await man.tap("call:me", answer)
            assert called["text"] == tr("so", "Thank you. A coordinator will call you back soon.")
        assert tg.violations == []
    assert [c for c in tg.calls if c.method == "getFile"] == []  # never even fetched
    voice_note = update["message"]["voice"]
    assert await rows_mentioning(db, [voice_note["file_id"], voice_note["file_unique_id"]]) == []
    async with db.transaction() as connection:
        notices = (await connection.execute(select(outbox.c.address).where(outbox.c.kind == "notice"))).all()
    assert notices == [("9001",)]  # the coordinator is asked to call him
    await db.truncate_log()
    sample = recording[200:264]
    for path in tmp_path.glob("*.db*"):
        assert sample not in path.read_bytes()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
