"""Voice notes in the console's broadcast page (issue 19): a sound file per language, checked or
converted on upload, played back in the preview, sent after its language's text; the real app
of a running service, the local Telegram stand-in, a real SQLite file."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from bot.store import voice as voice_store
from bot.store.schema import series_voices, voice_clips
from dialogs.coordinator import voice_problem
from dialogs.i18n import use_locale
from tests.fakes.telegram_api import UploadedFile
from tests.test_console import count, log_in, tr
from tests.test_console_broadcast import (  # noqa: F401 - fixtures
    client,
    clock,
    form_values,
    people,
    service,
    tg,
    wait_finished,
)
from tests.voice_samples import ogg, wav


def _voice_field(html: str, code: str) -> str | None:
    found = re.search(rf'<input type="hidden" name="voice_{code}" value="(\d+)">', html)
    return found.group(1) if found else None


async def test_an_uploaded_voice_note_is_converted_previewed_and_sent_after_its_text(service, client, tg):
    await people(service)  # 501 nl, 502 ar, 503 so, 504 en (waiting list)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    assert 'enctype="multipart/form-data"' in form.text and 'name="voice_ar"' in form.text
    values = form_values(form, **{"a:all": "1"}, text_nl="Kom dinsdag!", text_ar="تعال يوم الثلاثاء")
    shown = await client.post(
        "/console/broadcasts/preview", data=values, files={"voice_ar": ("arabisch.wav", wav(2), "audio/wav")}
    )
    assert shown.status_code == 200
    html = unescape(shown.text)
    assert tr("nl", "With a voice message (%(seconds)s s).").replace("%(seconds)s", "2") in html
    clip_id = _voice_field(shown.text, "ar")
    assert clip_id is not None and f'<audio controls preload="none" src="/console/voice/{clip_id}">' in shown.text
    played = await client.get(f"/console/voice/{clip_id}")
    assert played.status_code == 200 and played.headers["content-type"] == "audio/ogg"
    assert played.content.startswith(b"OggS") and b"OpusHead" in played.content[:100]
    assert "media-src 'self'" in played.headers["content-security-policy"]

    sent = await client.post("/console/broadcasts", data={**values, "voice_ar": clip_id})
    assert sent.status_code == 303
    await wait_finished(service, 1)
    await tg.wait_for(lambda: any("voice" in m for m in tg.messages_to(502)))
    text, sound = tg.messages_to(502)
    assert "تعال يوم الثلاثاء" in text["text"] and sound["voice"]["duration"] == 2
    [upload] = [c for c in tg.calls if c.method == "sendVoice"]
    assert isinstance(upload.params["voice"], UploadedFile) and upload.params["voice"].data == played.content
    assert all("voice" not in m for chat in (501, 503, 504) for m in tg.messages_to(chat))


async def test_an_unusable_sound_file_is_refused_with_one_sentence(service, client):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    values = form_values(form, **{"a:all": "1"}, text_nl="Kom dinsdag!", text_so="Kaalay Talaadada")
    for sound, problem in ((ogg(61), "too_long"), (b"PK\x03\x04 not a sound", "unreadable")):
        shown = await client.post(
            "/console/broadcasts/preview", data=values, files={"voice_so": ("somali.ogg", sound, "audio/ogg")}
        )
        assert shown.status_code == 400
        with use_locale("nl"):
            sentence = voice_problem(problem)
        assert f"Soomaali: {sentence}" in unescape(shown.text)
    assert await count(service, voice_clips) == 0


async def test_a_series_reminder_cannot_be_borrowed_by_a_broadcast(service, client, clock):
    """A clip id in the form is used only if nothing uses it yet: a series' recorded reminder
    sent along (and erased with the broadcast) is refused."""
    series_id = await people(service)
    async with service.db.transaction() as connection:
        from bot.common import audio as voice

        clip_id = await voice_store.add(connection, voice.prepare(ogg(2)), clock())
        await voice_store.set_series_voice(connection, series_id, "ar", clip_id)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    values = form_values(form, **{"a:all": "1"}, text_nl="Kom!", text_ar="تعال!", voice_ar=str(clip_id))
    shown = await client.post("/console/broadcasts/preview", data=values)
    assert f"/console/voice/{clip_id}" not in shown.text
    assert (await client.post("/console/broadcasts", data=values)).status_code == 303
    async with service.db.transaction() as connection:
        assert (await connection.execute(select(series_voices.c.clip_id))).scalars().all() == [clip_id]
        assert await voice_store.audio(connection, clip_id) is not None
