"""Voice notes on WhatsApp (issue 19): the real twilio client through prism (Twilio's OpenAPI
description) to the fake Twilio, the real HTTP app serving the short-lived media URL, a real
SQLite file. Every test ends (fixture ``twilio``) with nothing refused by prism or the fake."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from bot.common import audio as voice
from bot.domain import broadcasts
from bot.store import coordinators, shown_choices
from bot.store import participants as participant_store
from bot.store import series as series_store
from bot.store import voice as voice_store
from bot.store.schema import broadcasts as broadcasts_table
from bot.store.schema import series_voices
from dialogs.i18n import _, fill, isolate_runs, use_locale
from tests.conftest import NOW
from tests.test_store import rows_mentioning
from tests.voice_samples import ogg, wav
from tests.whatsapp_chat import (  # noqa: F401 - fixtures
    Man,
    clock,
    running,
    twilio,
    twilio_api,
    whatsapp_settings,
)

SOMALI_MAN = "+31612349001"
DUTCH_MAN = "+31612349002"
COORDINATOR = "+31612349009"


def tr(lang: str, message: str, /, **values) -> str:
    with use_locale(lang):
        text = fill(_(message), **values) if values else _(message)
        return isolate_runs(text) if lang == "ar" else text


@pytest.fixture
def config(settings, tmp_path, twilio_api):
    return whatsapp_settings(settings, tmp_path, twilio_api[1].url)


async def _until_remembered(db, number: str, key: str) -> None:
    """The service notes the numbered choices just after Twilio took the message."""
    for _attempt in range(200):
        async with db.transaction() as connection:
            shown = await shown_choices.last(connection, "whatsapp", number)
        if shown is not None and key in [option.key for option in shown[1]]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"choices with {key} never remembered")


async def _registered(db, *men):
    async with db.transaction() as connection:
        for number, language in men:
            await participant_store.create(connection, "whatsapp", number, language, NOW)


async def test_a_voice_broadcast_goes_as_text_then_a_short_lived_audio_url(twilio, config, db, clock):
    """The URL a ``MediaUrl`` names serves the clip as ``audio/ogg`` to whoever holds it.
    Straight to the fake, not through prism, as for report images (test_whatsapp.py): prism 5
    refuses even one valid ``MediaUrl`` with 422, reading the form value as a string where the
    spec declares an array (stoplightio/prism#2473). The fake checks the URL as Twilio does."""
    config = dataclasses.replace(config, twilio_api_base_url=twilio.url)
    await _registered(db, (SOMALI_MAN, "so"), (DUTCH_MAN, "nl"))
    clip = voice.prepare(wav(2))
    async with running(config, clock) as service:
        somali, dutch = Man(service, twilio, SOMALI_MAN), Man(service, twilio, DUTCH_MAN)
        await somali.say("Salaan")  # both wrote today: the 24-hour window is open
        await dutch.say("Hallo")
        async with db.transaction() as connection:
            clip_id = await voice_store.add(connection, clip, clock())
            await broadcasts.create(
                connection, created_by="cli", audience_keys=("all",),
                texts={"nl": "Kom donderdag!", "so": "Kaalay Khamiista!"}, invite_series_id=None,
                areas=(), now=clock(), voices={"so": clip_id},
            )
        service.wake_all()
        text, sound = (await twilio.wait_for_messages(SOMALI_MAN, 3))[1:]
        await twilio.wait_for_messages(DUTCH_MAN, 2)
        async with httpx.AsyncClient() as client:
            fetched = await client.get(sound.media_urls[0])
            guessed = await client.get(config.public_url + "/whatsapp/media/" + "A" * 32 + ".ogg")
    assert "Kaalay Khamiista!" in text.body
    assert sound.body is None and len(sound.media_urls) == 1
    assert sound.media_urls[0].startswith(config.public_url + "/whatsapp/media/") and sound.media_urls[0].endswith(".ogg")
    assert (fetched.status_code, fetched.headers["content-type"], fetched.content) == (200, "audio/ogg", clip.audio)
    assert guessed.status_code == 404
    assert [m.media_urls for m in twilio.messages_to(DUTCH_MAN)] == [[], []]  # Dutch: no voice recorded


async def test_a_removed_recording_is_no_longer_served(twilio, config, db, clock):
    config = dataclasses.replace(config, twilio_api_base_url=twilio.url)  # a MediaUrl: see above
    await _registered(db, (SOMALI_MAN, "so"))
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        await man.say("Salaan")
        async with db.transaction() as connection:
            clip_id = await voice_store.add(connection, voice.prepare(ogg(2)), clock())
            await broadcasts.create(
                connection, created_by="cli", audience_keys=("all",), texts={"nl": "Hoi", "so": "Haye"},
                invite_series_id=None, areas=(), now=clock(), voices={"so": clip_id},
            )
        service.wake_all()
        sound = (await twilio.wait_for_messages(SOMALI_MAN, 3))[2]
        async with db.transaction() as connection:
            [(broadcast_id,)] = (await connection.execute(select(broadcasts_table.c.id))).all()
            await voice_store.erase_broadcast_voices(connection, broadcast_id)
        async with httpx.AsyncClient() as client:
            gone = await client.get(sound.media_urls[0])
    assert gone.status_code == 404


async def test_a_mans_voice_note_on_whatsapp_is_answered_and_never_fetched(twilio, config, db, clock):
    await _registered(db, (SOMALI_MAN, "so"))
    recording = ogg(3)
    media_url = twilio.add_media(recording, "audio/ogg")
    async with running(config, clock) as service:
        man = Man(service, twilio, SOMALI_MAN)
        before = len(man.messages)
        fields = man.fields(NumMedia="1", MessageType="audio", MediaContentType0="audio/ogg", MediaUrl0=media_url)
        assert (await man.send(fields)).status_code == 200
        [answer] = (await twilio.wait_for_messages(SOMALI_MAN, before + 1))[before:]
        await _until_remembered(db, SOMALI_MAN, "call:me")  # the numbers he sees, as the service reads them
        called = await man.say(answer.body.rsplit("\n", 1)[-1].split(" ", 1)[0])  # types the last number
    thanks = tr("so", "Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet.")
    assert answer.body.startswith(thanks) and answer.body.endswith(tr("so", "📞 Call me back"))
    assert tr("so", "You can answer with the buttons, or with a short text.") in answer.body
    assert called.body == tr("so", "Thank you. A coordinator will call you back soon.")
    assert twilio.media_fetches == 0
    assert await rows_mentioning(db, [media_url, media_url.rsplit("/", 1)[-1]]) == []


async def test_a_coordinator_records_a_reminder_on_whatsapp(twilio, config, db, clock):
    new = series_store.NewSeries("Vaders en zonen", 3, datetime(2026, 1, 1, 19).time(), datetime(2026, 12, 3).date(), 6, 12, "Huis van de Wijk", "Osdorp")
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", NOW)
        await coordinators.add(connection, "whatsapp", COORDINATOR, NOW)
    await _registered(db, (COORDINATOR, "nl"))
    recording = ogg(5)
    async with running(dataclasses.replace(config, coordinators=(f"whatsapp:{COORDINATOR}",)), clock) as service:
        boss = Man(service, twilio, COORDINATOR)
        await boss.say("/voice")
        await _until_remembered(db, COORDINATOR, f"co:vs:{series_id}")
        await boss.say(str(1))  # the only series
        await _until_remembered(db, COORDINATOR, "co:vl:so")
        await boss.say(str(3))  # Somali
        before = len(boss.messages)
        fields = boss.fields(NumMedia="1", MessageType="audio", MediaContentType0="audio/ogg",
                             MediaUrl0=twilio.add_media(recording, "audio/ogg"))
        await boss.send(fields)
        saved = (await twilio.wait_for_messages(COORDINATOR, before + 1))[-1]
    assert saved.body == tr(
        "nl", "Saved. The reminders for %(series)s in %(language)s now come with your voice message.",
        series="Vaders en zonen", language=tr("nl", "Somali"),
    )
    assert twilio.media_fetches == 1
    async with db.transaction() as connection:
        [(found_series, clip_id)] = (await connection.execute(select(series_voices.c.series_id, series_voices.c.clip_id))).all()
        assert found_series == series_id
        assert await voice_store.audio(connection, clip_id) == recording
