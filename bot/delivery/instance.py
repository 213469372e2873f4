"""This process among the others that share one database: its owner id, its lease, and per
channel whether it is the one that sends.

Every outbox row an instance claims carries its ``owner`` id (host, process id, and random
digits: new at every start). The
instance renews a lease row (``bot.store.outbox_owners``) every ``RENEW`` seconds, valid for
``LEASE``; rows of an owner whose lease has expired are recovered by the others, never those of
a live one. On SQLite there is one instance per database, so it is always its channels' sender
(``Sole``) and, at start, every other owner is the previous run of itself. On PostgreSQL the
sender of each channel is elected (``bot.store.sender_election``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from bot.common.clock import Now, utcnow
from bot.store import outbox_owners
from bot.store.database import Database
from bot.store.sender_election import Election

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=10)
RENEW = 2.0  # seconds between two renewals: four may fail before the lease runs out


class Leadership(Protocol):
    """Whether this instance sends a channel's messages (``leading``; ``changed`` is set when
    that flips) and how it wakes the instance that does (``notify``)."""

    leading: bool
    changed: asyncio.Event

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def notify(self) -> None: ...


class Sole:
    """The only instance (SQLite): always the sender; nobody else to wake."""

    def __init__(self) -> None:
        self.leading = True
        self.changed = asyncio.Event()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def notify(self) -> None:
        pass


def owner_id() -> str:
    """This process's owner id: its host and process id (for the operator reading a log line
    about uncertain messages), and random digits that make it unique to this start."""
    return f"{socket.gethostname()[:14]}-{os.getpid()}-{secrets.token_hex(3)}"


class Instance:
    def __init__(self, db: Database, now: Now = utcnow) -> None:
        self.db = db
        self.now = now
        self.owner = owner_id()
        self.alone = not db.shared  # no other instance can use this database (SQLite)
        self._task: asyncio.Task[None] | None = None

    def leadership(self, channel: str, on_wake: Callable[[], None]) -> Leadership:
        if self.alone:
            return Sole()
        return Election(self.db.url, channel, on_wake)

    async def start(self) -> None:
        """Take the lease before claiming anything, and keep it while the process lives."""
        await self._renew()
        self._task = asyncio.create_task(self._keep(), name="outbox-lease")

    async def stop(self) -> None:
        """A clean stop: the senders have recorded what they had in hand; the lease goes."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            async with self.db.transaction() as connection:
                await outbox_owners.remove(connection, self.owner)
        except Exception:
            log.warning("instance: could not remove its lease; it runs out in %d s", LEASE.seconds, exc_info=True)

    async def _renew(self) -> None:
        async with self.db.transaction() as connection:
            await outbox_owners.renew(connection, self.owner, self.now() + LEASE)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(RENEW)
            try:
                await self._renew()
            except Exception:
                log.warning("instance: could not renew its lease; trying again in %.0f s", RENEW, exc_info=True)
