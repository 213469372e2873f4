"""The demo plays a recorded voice note (issue 19): a sound file uploaded in the page as the
coordinator's recording of the Somali version of a broadcast, and the Somali demo man's chat
plays it. The real demo app and service, over HTTP, without a browser."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx

from bot.app.demo import COORDINATOR, demo_routes, seed
from bot.app.http import build_app
from bot.app.service import Service
from tests.voice_samples import wav

SOMALI_DEMO_MAN = "demo-cabdi"


async def _messages(client: httpx.AsyncClient, user: str, after: int = 0) -> list[dict]:
    found = (await client.get("/demo/api/messages", params={"user": user, "after": after})).json()
    return found["messages"]


async def _until(client, user: str, predicate, timeout: float = 20.0) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        messages = await _messages(client, user)
        if predicate(messages):
            return messages
        assert asyncio.get_running_loop().time() < deadline, messages[-3:]
        await asyncio.sleep(0.05)


async def test_a_voice_note_uploaded_in_the_demo_page_is_played_in_the_mens_chats(settings):
    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        app = build_app(service, manage_service=False, extra_routes=demo_routes(service))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            page = await client.get("/demo")
            assert 'id="voice-file"' in page.text and 'data-command="/voice"' in page.text

            async def say(**body) -> None:
                answer = await client.post("/demo/api/send", json={"user": COORDINATOR, **body})
                assert answer.status_code == 202, answer.text

            async def tap(key: str) -> None:
                """Press ``key`` on the newest message, once it is there."""
                messages = await _until(client, COORDINATOR, lambda ms: any(o["key"] == key for o in ms[-1]["options"]))
                await say(choice=key, question=messages[-1]["question"])

            await say(text="/broadcast Kom donderdag!")
            await tap("co:a:language:so")
            await tap("co:next")
            await tap("co:novoice")  # Dutch
            await tap("co:skip")  # Arabic
            await say(text="Kaalay Khamiista!")
            await _until(client, COORDINATOR, lambda ms: any(o["key"] == "co:novoice" for o in ms[-1]["options"]))
            uploaded = await client.post("/demo/api/voice", params={"user": COORDINATOR}, content=wav(2),
                                         headers={"Content-Type": "audio/wav"})
            assert uploaded.status_code == 202
            await tap("co:skip")  # English
            await tap("co:i:-")
            preview = (await _until(client, COORDINATOR, lambda ms: any(o["key"] == "co:send" for o in ms[-1]["options"])))[-1]["text"]
            assert "🎙" in preview
            await tap("co:send")
            messages = await _until(client, SOMALI_DEMO_MAN, lambda ms: any(m.get("voice") for m in ms))
            played = await client.get(next(m["voice"] for m in messages if m.get("voice")))
            mine = next(m for m in await _messages(client, COORDINATOR) if m.get("mine") and m["text"] == "🎙")
            refused = await client.post("/demo/api/voice", params={"user": "../x"}, content=b"x")
    finally:
        await service.stop()
    assert played.status_code == 200 and played.headers["content-type"] == "audio/ogg"
    assert played.content.startswith(b"OggS")  # converted from the WAV he uploaded
    assert "voice" not in mine  # what he uploaded is not kept: his page plays its own copy
    assert refused.status_code == 400
