"""The running service: database, engine, channels and their outbox senders, wired together.

Nothing is created at import time; ``Service(settings)`` builds the parts and ``start()``
brings them up in order (migrations → coordinators from the environment → senders →
scheduler → channels → coordinators' command menus); ``stop()`` takes down the scheduler, then
the senders, then the channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.channels import registry
from bot.channels.base import Channel, Incoming, Wiring
from bot.common.clock import utcnow
from bot.config import Settings, parse_address
from bot.delivery.instance import Instance
from bot.delivery.outbox import OutboxSender
from bot.domain import invites, waitlist
from bot.domain.broadcasts import ProgressReporter
from bot.engine import Engine
from bot.store import checkins, coordinators, facilitators, heartbeat, listening, locks, sealing
from bot.store import conversations as conversation_store
from bot.store import statements as statement_store
from bot.store import voice as voice_store
from bot.store.database import Database
from dialogs.types import Timer
from scheduler import (
    checkin_offers,
    followups,
    listening_offers,
    meeting_reports,
    reminders,
    statement_offers,
)
from scheduler.runner import Scheduler

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, *, now: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.now = now
        self.db = Database(settings.database_url, seal=sealing.of_key(settings.secret_key))
        self.engine = Engine(
            self.db, settings, now=now, on_queued=self.wake, on_queued_all=self.wake_all
        )
        self.channels: dict[str, Channel] = registry.build(
            settings, Wiring(db=self.db, handle=self.handle, now=now, on_queued=self.wake)
        )
        self.instance = Instance(self.db, now)  # this process's owner id and lease (the outbox)
        self.senders = {
            name: OutboxSender(self.db, channel, self.instance, now) for name, channel in self.channels.items()
        }
        self.progress = ProgressReporter(self.db, self.wake)
        self.scheduler = Scheduler(
            [
                ("heartbeat", self._heartbeat),
                ("reminders", self._reminders),
                ("missed-you", self._missed_you),
                ("waitlist offers", self._expire_offers),
                ("wake-ups", self._wake_conversations),
                ("check-in offers", self._checkin_offers),
                ("listening offers", self._listening_offers),
                ("statement offers", self._statement_offers),
                ("facilitator forms", self._facilitator_forms),
                ("check-in week", self._checkin_week),
                ("invite markers", self._invite_markers),
                ("broadcast progress", self.progress.run_once),
                ("log truncation", lambda now: self.db.truncate_log()),
                ("unused voice clips", self._unused_voices),
                ("coordinator menus", self._coordinator_menus),
            ],
            now=now,
            next_due=lambda at: reminders.next_due(self.db, settings, at),
        )

    async def handle(self, incoming: Incoming) -> None:
        """A man's message or button press, from a channel, to the engine; his bulk copies
        wait meanwhile (``OutboxSender.conversing``)."""
        sender = self.senders.get(incoming.channel)
        if sender is None:
            await self.engine.handle(incoming)
            return
        with sender.conversing(incoming.address):
            await self.engine.handle(incoming)

    def wake(self, channel: str) -> None:
        sender = self.senders.get(channel)
        if sender is not None:
            sender.wake()

    def wake_all(self) -> None:
        for sender in self.senders.values():
            sender.wake()

    # --- scheduled jobs (see scheduler.runner) ---------------------------------------------

    async def _heartbeat(self, now: datetime) -> None:
        """Tell the CLI that the service is alive (``bot.store.heartbeat``)."""
        async with self.db.transaction() as connection:
            await heartbeat.beat(connection, now)

    async def _unused_voices(self, now: datetime) -> None:
        """Erase the voice clips of broadcasts never sent (``bot.store.voice``)."""
        async with self.db.transaction() as connection:
            await voice_store.erase_unused(connection, now)

    async def _reminders(self, now: datetime) -> None:
        if await reminders.queue_due_reminders(self.db, self.settings, now):
            self.wake_all()

    async def _missed_you(self, now: datetime) -> None:
        if await followups.queue_missed_you(self.db, self.settings, now):
            self.wake_all()

    async def _expire_offers(self, now: datetime) -> None:
        async with self.db.transaction() as connection:
            lapsed = await waitlist.expire(connection, now, self.settings.timezone)
        if lapsed:
            self.wake_all()

    async def _checkin_offers(self, now: datetime) -> None:
        if await checkin_offers.queue_checkin_offers(self.db, self.settings, now):
            self.wake_all()

    async def _listening_offers(self, now: datetime) -> None:
        if await listening_offers.queue_listening_offers(self.db, self.settings, now):
            self.wake_all()

    async def _statement_offers(self, now: datetime) -> None:
        if await statement_offers.queue_statement_offers(self.db, self.settings, now):
            self.wake_all()

    async def _facilitator_forms(self, now: datetime) -> None:
        if await meeting_reports.queue_forms(self.db, self.settings, now):
            self.wake_all()

    async def _coordinator_menus(self, now: datetime | None = None) -> None:
        """Channels with per-chat command menus (Telegram) show coordinators and facilitators
        their commands; one added or removed with the CLI while we run is followed at the
        next tick."""
        for name, channel in self.channels.items():
            async with self.db.transaction() as connection:
                bosses = await coordinators.languages(connection, name)
                peers = await facilitators.languages(connection, name)
            wanted = {address: (language, "coordinator") for address, language in bosses.items()}
            for address, language in peers.items():
                wanted[address] = (language, "both" if address in bosses else "facilitator")
            await channel.sync_coordinator_menus(wanted)

    async def _checkin_week(self, now: datetime) -> None:
        """When an ISO week is over, its check-ins leave the pool in a random order and its
        markers are erased (``bot.store.checkins.flush``); the next job empties the log."""
        async with self.db.transaction() as connection:
            await locks.job(connection, "checkin-week")  # moved once, even when two instances tick
            await checkins.flush(connection, now)
            await listening.flush(connection, now)
            await statement_store.flush(connection, now)

    async def _invite_markers(self, now: datetime) -> None:
        """A finished series' invite markers go: whoever came has been counted
        (``bot.domain.invites``)."""
        async with self.db.transaction() as connection:
            await invites.forget_ended(connection, now)

    async def _wake_conversations(self, now: datetime) -> None:
        """Conversations that asked to hear back (``WakeAt``) get a ``Timer("wake")``."""
        async with self.db.transaction() as connection:
            due = await conversation_store.take_due_wakes(connection, now)
        for channel, address in due:
            await self.engine.handle(Incoming(channel=channel, address=address, event=Timer("wake")))

    async def start(self) -> None:
        await self.db.upgrade()
        async with self.db.transaction() as connection:
            for item in self.settings.coordinators:
                await coordinators.add(connection, *parse_address(item), self.now())
            await heartbeat.beat(connection, self.now())
        await self.instance.start()
        for sender in self.senders.values():
            await sender.start()
        await self.scheduler.start()
        for channel in self.channels.values():
            await channel.start()
        await self._coordinator_menus()
        await self._remember_bot_username()
        log.info("service: started with channels %s", ", ".join(self.channels) or "none")

    async def _remember_bot_username(self) -> None:
        """The Telegram bot's username (its getMe at start) is kept for invite links, which
        the CLI and the engine build without asking Telegram."""
        username = getattr(self.channels.get("telegram"), "username", None)
        if username:
            async with self.db.transaction() as connection:
                await invites.remember_username(connection, username, self.now())

    async def stop(self) -> None:
        """The senders stop before the channels: they finish and record the requests under
        way, over the channels' HTTP connections. A channel stopped first closes those under
        them, and a message the platform already got would fail, be retried and arrive twice."""
        await self.scheduler.stop()
        for sender in self.senders.values():
            await sender.stop()
        await self.instance.stop()
        for channel in self.channels.values():
            await channel.stop()
        await self._quietly_clear_heartbeat()
        await self.db.close()
        log.info("service: stopped")

    async def _quietly_clear_heartbeat(self) -> None:
        """At a clean stop, say at once that nothing runs any more (``meedoen db restore``
        need not wait for the heartbeat to age); stopping goes on if it cannot be said."""
        try:
            async with self.db.transaction() as connection:
                await heartbeat.clear(connection)
        except Exception:
            log.warning("service: could not clear the heartbeat", exc_info=True)
