"""The running service: database, engine, channels and their outbox senders, wired together.

Nothing is created at import time; ``Service(settings)`` builds the parts and ``start()``
brings them up in order (migrations → coordinators from the environment → senders →
channels), ``stop()`` takes them down in reverse.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from bot.channels.base import Channel
from bot.config import Settings, parse_address
from bot.database import Database
from bot.engine import Engine
from bot.outbox import OutboxSender, utcnow
from bot.store import coordinators

log = logging.getLogger(__name__)


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        extra_channels: tuple[Callable[[Callable], Channel], ...] = (),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.now = now
        self.db = Database(settings.database_url)
        self.engine = Engine(self.db, settings, now=now, on_queued=self.wake)
        self.channels: dict[str, Channel] = {}
        if settings.telegram_enabled:
            from bot.channels.telegram import TelegramChannel

            self.channels["telegram"] = TelegramChannel(settings, self.engine.handle)
        for make_channel in extra_channels:  # each is called with the engine's handler
            channel = make_channel(self.engine.handle)
            self.channels[channel.name] = channel
        self.senders = {
            name: OutboxSender(self.db, channel, now) for name, channel in self.channels.items()
        }

    def wake(self, channel: str) -> None:
        sender = self.senders.get(channel)
        if sender is not None:
            sender.wake()

    async def start(self) -> None:
        await self.db.upgrade()
        async with self.db.transaction() as connection:
            for item in self.settings.coordinators:
                await coordinators.add(connection, *parse_address(item), self.now())
        for sender in self.senders.values():
            await sender.start()
        for channel in self.channels.values():
            start = getattr(channel, "start", None)
            if start is not None:
                await start()
        log.info("service: started with channels %s", ", ".join(self.channels) or "none")

    async def stop(self) -> None:
        for channel in self.channels.values():
            stop = getattr(channel, "stop", None)
            if stop is not None:
                await stop()
        for sender in self.senders.values():
            await sender.stop()
        await self.db.close()
        log.info("service: stopped")
