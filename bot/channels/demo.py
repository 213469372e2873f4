"""The demo channel: a chat in the browser instead of a messenger (``meedoen demo``).

Messages for each demo user are kept in memory and fetched by the page with a long poll; his
own messages are kept too (``"mine": true``), so a reloaded page shows the whole conversation.
Button presses arrive as plain choices: there is no platform in between to forge them.
A voice note uploaded in the page arrives as a ``VoiceNote`` (fetched, like any platform's,
only when a coordinator's flow asks for one, and not kept here: the page plays his own copy);
a voice clip sent to a demo user is kept in memory with his messages, so the page can play it.
"""

from __future__ import annotations

import asyncio
import itertools
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import DeliveryError, Document, Handler, Incoming, Limits, Outgoing
from bot.common.audio import MAX_UPLOAD_BYTES
from bot.store import voice as voice_store
from bot.store.database import Database
from dialogs.types import ChoiceMade, Text, VoiceNote

NAME = "demo"
USER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
TEXT_LIMIT = 10_000  # characters of one message, either way
LONG_POLL = 25.0  # seconds the page's request for new messages waits


class DemoChannel:
    name = NAME
    limits = Limits(rate=200.0, chat_interval=0.0, text=TEXT_LIMIT, buttons=100)

    def __init__(self, handle: Handler, db: Database | None = None) -> None:
        self._handle = handle
        self._messages: dict[str, list[dict]] = {}
        self._images: dict[int, bytes] = {}
        self._documents: dict[int, Document] = {}
        self._voices: dict[int, bytes] = {}  # message number → the OGG/Opus of a voice clip sent
        self._db = db  # where voice clips are read from when one is sent
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._ending = False

    async def start(self) -> None:
        """Nothing to connect to: the page comes to us."""

    async def stop(self) -> None:
        """Nothing to close (the page's long polls end with ``end_waits``)."""

    async def sync_coordinator_menus(self, wanted: dict[str, tuple[str | None, str]]) -> None:
        """The page has no command menu."""

    def routes(self) -> list[BaseRoute]:
        """The chat itself: what the page sends and fetches (``bot/app/static/demo.html``;
        the page and the demo's other views are ``bot.app.demo.demo_routes``)."""
        return [
            Route("/demo/api/send", self._api_send, methods=["POST"]),
            Route("/demo/api/messages", self._api_messages),
            Route("/demo/api/image/{number:int}", self._api_image),
            Route("/demo/api/document/{number:int}", self._api_document),
            Route("/demo/api/voice", self._api_voice_note, methods=["POST"]),
            Route("/demo/api/voice/{number:int}", self._api_voice),
        ]

    async def _api_send(self, request: Request) -> Response:
        try:
            body = await request.json()
            await self.receive(
                str(body.get("user", "")),
                text=body.get("text"),
                choice=body.get("choice"),
                question=int(body.get("question") or 0),
            )
        except (ValueError, TypeError, AttributeError) as error:
            return JSONResponse({"error": str(error) or "bad request"}, status_code=400)
        return JSONResponse({"ok": True}, status_code=202)

    async def _api_messages(self, request: Request) -> Response:
        user = request.query_params.get("user", "")
        after = request.query_params.get("after", "0")
        if not after.isdigit():
            return JSONResponse({"error": "after must be a number"}, status_code=400)
        found = await self.messages_after(user, int(after), wait=LONG_POLL)
        return JSONResponse({"messages": found, "next": found[-1]["id"] if found else int(after)})

    async def _api_image(self, request: Request) -> Response:
        data = self.image(int(request.path_params["number"]))
        if data is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(data, media_type="image/png")

    async def _api_document(self, request: Request) -> Response:
        """A calendar file the assistant sent in the demo chat, to download and open."""
        found = self.document(int(request.path_params["number"]))
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(
            found.content, media_type=found.mime_type,
            headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
        )

    async def _api_voice_note(self, request: Request) -> Response:
        """``POST /demo/api/voice?user=ID``: the body is a sound file he "recorded"."""
        declared = request.headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            return JSONResponse({"error": "that file is too large for a voice note"}, status_code=413)
        try:
            await self.receive_voice(request.query_params.get("user", ""), await request.body())
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"ok": True}, status_code=202)

    async def _api_voice(self, request: Request) -> Response:
        data = self.voice(int(request.path_params["number"]))
        if data is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(data, media_type="audio/ogg" if data.startswith(b"OggS") else "application/octet-stream")

    def end_waits(self) -> None:
        """The demo is stopping: answer every open long poll now (and later ones at once), so
        that the server's graceful stop does not wait up to 25 s for a browser tab."""
        self._ending = True
        asyncio.ensure_future(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def deliver(self, address: str, message: Outgoing) -> None:
        number = next(self._ids)
        if message.image is not None:
            self._images[number] = message.image
        if message.document is not None:
            self._documents[number] = message.document
        if message.voice is not None:
            audio = None
            if self._db is not None:
                async with self._db.transaction() as connection:
                    audio = await voice_store.audio(connection, message.voice)
            if audio is None:
                raise DeliveryError("rejected", "voice erased")
            self._voices[number] = audio
        await self._keep(
            address,
            {
                "id": number,
                "text": message.text,
                "options": [{"label": o.label, "key": o.key} for o in message.options],
                "question": message.question,
                "image": f"/demo/api/image/{number}" if message.image is not None else None,
                "document": {"url": f"/demo/api/document/{number}", "name": message.document.name}
                if message.document is not None else None,
                "voice": f"/demo/api/voice/{number}" if message.voice is not None else None,
            },
        )

    async def _keep(self, address: str, message: dict) -> None:
        self._messages.setdefault(address, []).append(message)
        async with self._changed:
            self._changed.notify_all()

    def _label(self, user: str, choice: str, question: int) -> str:
        """What the button he pressed said (the page shows that, not the key)."""
        for message in reversed(self._messages.get(user, [])):
            if message.get("question") == question:
                for option in message["options"]:
                    if option["key"] == choice:
                        return option["label"]
        return choice

    async def receive(self, user: str, *, text: str | None = None,
                      choice: str | None = None, question: int = 0) -> None:
        """A message or a button press typed into the page by demo user ``user``."""
        if not USER_ID.fullmatch(user):
            raise ValueError("user ids are 1 to 40 letters, digits, _ or -")
        if choice is not None:
            event = ChoiceMade(str(choice)[:64], int(question))
            said = self._label(user, event.key, event.question)
        elif text is not None and text.strip():
            event = Text(text[:TEXT_LIMIT])
            said = event.text
        else:
            raise ValueError("send a text or a choice")
        await self._keep(user, {"id": next(self._ids), "mine": True, "text": said, "options": [], "question": 0, "image": None})
        await self._handle(Incoming(channel=NAME, address=user, event=event))

    async def receive_voice(self, user: str, audio: bytes) -> None:
        """A voice note (a sound file) uploaded by demo user ``user``."""
        if not USER_ID.fullmatch(user):
            raise ValueError("user ids are 1 to 40 letters, digits, _ or -")
        if not audio or len(audio) > MAX_UPLOAD_BYTES:
            raise ValueError(f"send a sound file of at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        await self._keep(user, {"id": next(self._ids), "mine": True, "text": "🎙", "options": [], "question": 0, "image": None})

        async def fetch() -> tuple[bytes, str | None]:
            return audio, None

        await self._handle(Incoming(channel=NAME, address=user, event=VoiceNote(), fetch_voice=fetch))

    def voice(self, number: int) -> bytes | None:
        return self._voices.get(number)

    async def messages_after(self, user: str, after: int, wait: float) -> list[dict]:
        """Messages for ``user`` newer than ``after``, waiting up to ``wait`` s for one."""

        def newer() -> list[dict]:
            return [m for m in self._messages.get(user, []) if m["id"] > after]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._ending or bool(newer())), wait)
            except TimeoutError:
                pass
        return newer()

    def image(self, number: int) -> bytes | None:
        return self._images.get(number)

    def document(self, number: int) -> Document | None:
        """A file the assistant sent (a calendar file), for the page's download link."""
        return self._documents.get(number)
