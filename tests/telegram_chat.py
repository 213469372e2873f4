"""Test helpers: the real service on python-telegram-bot, against the local Bot API server,
and a ``Chat`` that plays one man tapping buttons and typing, the way a person would."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket

import uvicorn

from bot.app.http import build_app
from bot.app.service import Service
from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram


def telegram_settings(settings: Settings, tg: FakeTelegram, **changes) -> Settings:
    return dataclasses.replace(
        settings,
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.base_url,
        telegram_chat_interval=0.05,  # tests tap faster than a person can
        **changes,
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, *, http: bool = False, now=None):
    """The service started (and, with ``http``, its HTTP app served on ``settings``' port);
    ``now`` is an injectable clock."""
    service = Service(settings, now=now) if now is not None else Service(settings)
    await service.start()
    server = None
    task = None
    if http:
        config = uvicorn.Config(
            build_app(service, manage_service=False),
            host="127.0.0.1",
            port=settings.http_port,
            log_level="warning",
            access_log=False,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield service
    finally:
        if server is not None:
            server.should_exit = True
            await task
        await service.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Chat:
    """One simulated man in a private chat with the bot."""

    def __init__(self, tg: FakeTelegram, user_id: int, language_code: str | None = None) -> None:
        self.tg = tg
        self.user_id = user_id
        tg.add_user(user_id, first_name=f"User{user_id}", language_code=language_code)

    @property
    def messages(self) -> list[dict]:
        return self.tg.messages_to(self.user_id)

    @property
    def last(self) -> dict:
        return self.messages[-1]

    @property
    def text(self) -> str:
        return self.last["text"]

    def keys(self, message: dict | None = None) -> list[str]:
        """The option keys of a message's buttons (the middle part of the signed data)."""
        message = message or self.last
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [button["callback_data"].split("|")[1] for row in rows for button in row]

    def labels(self, message: dict | None = None) -> list[str]:
        message = message or self.last
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [button["text"] for row in rows for button in row]

    async def _expect_reply(self, action) -> dict:
        before = self.tg.count_to(self.user_id)
        await action()
        await self.tg.wait_for(lambda: self.tg.count_to(self.user_id) > before, timeout=10)
        return self.last

    async def say(self, text: str) -> dict:
        return await self._expect_reply(lambda: self.tg.send_text(self.user_id, text))

    async def command(self, text: str) -> dict:
        return await self._expect_reply(lambda: self.tg.send_command(self.user_id, text))

    async def tap(self, key: str, message: dict | None = None) -> dict:
        """Press the button with option ``key`` on ``message`` (default: the newest one that
        has buttons)."""
        if message is None:
            message = next(m for m in reversed(self.messages) if self.keys(m))
        data = next(
            button["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for button in row
            if button["callback_data"].split("|")[1] == key
        )
        return await self._expect_reply(lambda: self.tg.press(self.user_id, message, data))

    async def forge(self, message: dict, data: str) -> dict:
        """Deliver a button press with made-up ``data`` on ``message`` (a modified client)."""
        self.tg.forged = getattr(self.tg, "forged", 0) + 1
        update = {
            "update_id": self.tg._update_id + 1,  # noqa: SLF001 - continue the server's sequence
            "callback_query": {
                "id": f"forged{self.tg.forged}",
                "from": {"id": self.user_id, "is_bot": False, "first_name": f"User{self.user_id}"},
                "chat_instance": f"-{self.user_id}",
                "message": message,
                "data": data,
            },
        }
        return await self._expect_reply(lambda: self.tg.deliver_raw(update))
