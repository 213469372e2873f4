"""The demo channel: a chat in the browser instead of a messenger (``meedoen demo``).

Messages for each demo user are kept in memory and fetched by the page with a long poll; his
own messages are kept too (``"mine": true``), so a reloaded page shows the whole conversation.
Button presses arrive as plain choices: there is no platform in between to forge them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable

from bot.channels.base import Document, Outgoing
from bot.engine import Incoming
from dialogs.types import ChoiceMade, Text

NAME = "demo"
USER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
TEXT_LIMIT = 10_000


class DemoChannel:
    name = NAME
    rate = 200.0
    chat_interval = 0.0

    def __init__(self, handle: Callable[[Incoming], Awaitable[None]]) -> None:
        self._handle = handle
        self._messages: dict[str, list[dict]] = {}
        self._images: dict[int, bytes] = {}
        self._documents: dict[int, Document] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._ending = False

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
