"""One sender per channel among the instances on one PostgreSQL (docs/scaling.md).

Every instance keeps one dedicated connection per channel (asyncpg, outside SQLAlchemy's
pool). On it, every ``POLL`` seconds, an instance that is not the channel's sender tries to
take a session-level advisory lock named for the channel (``pg_try_advisory_lock``); the one
holding it is the channel's sender, and only it sends. The lock lives exactly as long as that
session: when the holder's process dies (SIGKILL, a crash), the kernel closes its socket,
PostgreSQL ends the session and frees the lock, and another instance takes it within ``POLL``
seconds. The holder checks its connection every ``POLL`` seconds, with a ``CHECK_TIMEOUT``,
and asyncpg tells at once when the connection closes: from then on it no longer counts itself
the sender, and its connection is closed (which frees the lock, if the server still had it).

The same connection carries the wake-ups: an instance that queued a message for a channel
it does not send says ``NOTIFY meedoen_outbox, '<channel>'``; every instance LISTENs, and the
sender looks at its queue at once, so a reply made on another instance still overtakes a
broadcast under way.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between two tries for the lock, and between two checks of holding it
CHECK_TIMEOUT = 2.0  # seconds a check may take before the sender gives up its role
RETRY = 1.0  # seconds before connecting again after the connection failed
LOCK_SPACE = 0x4D45  # the advisory locks' first key ("ME"): ours, apart from other users of the server
NOTIFY_CHANNEL = "meedoen_outbox"


def lock_key(channel: str) -> int:
    """The advisory lock's second key for ``channel``: a stable signed 32-bit number."""
    value = zlib.crc32(channel.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://…``) as asyncpg's own DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Election:
    """Whether this instance is ``channel``'s sender (``leading``), kept up to date; ``changed``
    is set whenever that flips. ``on_wake`` is called when another instance queued messages."""

    def __init__(self, url: str, channel: str, on_wake: Callable[[], None]) -> None:
        self.dsn = asyncpg_dsn(url)
        self.channel = channel
        self.leading = False
        self.changed = asyncio.Event()
        self._on_wake = on_wake
        self._connection: Any = None  # asyncpg.Connection
        self._use = asyncio.Lock()  # one statement at a time on the connection
        self._task: asyncio.Task[None] | None = None
        self._notifier: asyncio.Task[None] | None = None
        self._notify_again = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"election-{self.channel}")

    async def stop(self) -> None:
        """Give up the role: closing the connection frees the lock at once."""
        for task in (self._task, self._notifier):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = self._notifier = None
        self._set(False)
        await self._close()

    def notify(self) -> None:
        """Tell the channel's sender, wherever it runs, that messages were queued. Calls made
        while one notification is under way are folded into one more."""
        if self._notifier is not None and not self._notifier.done():
            self._notify_again = True
            return
        self._notifier = asyncio.create_task(self._notify(), name=f"election-{self.channel}-notify")

    async def _notify(self) -> None:
        while True:
            self._notify_again = False
            connection = self._connection
            if connection is None:
                return  # not connected: the sender also looks at its queue on its own
            try:
                async with self._use:
                    await asyncio.wait_for(
                        connection.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, self.channel),
                        CHECK_TIMEOUT,
                    )
            except Exception as error:  # the election's loop deals with a broken connection
                log.info("election %s: could not notify the sender (%s)", self.channel, type(error).__name__)
                return
            if not self._notify_again:
                return

    async def _run(self) -> None:
        while True:
            try:
                await self._connect()
                while True:
                    await self._round()
                    await asyncio.sleep(POLL)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.leading:
                    log.warning("election %s: lost the sender's role (%s)", self.channel, type(error).__name__)
                else:
                    log.info("election %s: connection failed (%s); trying again", self.channel, type(error).__name__)
                self._set(False)
                await self._close()
                await asyncio.sleep(RETRY)

    async def _connect(self) -> None:
        import asyncpg

        connection = await asyncio.wait_for(asyncpg.connect(self.dsn), CHECK_TIMEOUT * 5)
        connection.add_termination_listener(lambda _connection: self._set(False))
        await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        self._connection = connection

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.channel:
            self._on_wake()

    async def _round(self) -> None:
        """Holding the lock: check that the session still lives. Not holding it: try to take it."""
        async with self._use:
            if self.leading:
                await asyncio.wait_for(self._connection.fetchval("SELECT 1"), CHECK_TIMEOUT)
                return
            got = await asyncio.wait_for(
                self._connection.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, lock_key(self.channel)
                ),
                CHECK_TIMEOUT,
            )
        if got:
            log.info("election %s: this instance is now the channel's sender", self.channel)
            self._set(True)

    def _set(self, leading: bool) -> None:
        if leading != self.leading:
            self.leading = leading
            self.changed.set()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
        except Exception:
            connection.terminate()
