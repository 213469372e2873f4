"""Incoming updates, stored before the platform is told they arrived.

Telegram and Twilio never send again what got a 200 (or, for polling, what the next offset
acknowledged). So a channel first commits the raw update here, then acknowledges it, then
hands it to the engine; the engine deletes the row in the transaction that stores the
update's effects (``forget``). A crash anywhere in between leaves the row, and at the next
start the channel hands every row still here to the engine again, in arrival order (``id``).
The engine's processed-update mark makes a second handling of the same update a no-op.

The rows hold what he wrote, so nothing stays here once it is handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import inbound_updates, processed_updates


@dataclass(frozen=True)
class Stored:
    update_id: str
    address: str
    payload: str


COALESCE = 0.002  # seconds the first update of a batch waits for others


class Keeper:
    """Stores one channel's updates before they are acknowledged, many per transaction: the
    webhooks that arrive while one transaction waits for SQLite's single writer share the
    next one (a transaction per webhook halved the sign-ups a second, docs/benchmarks.md)."""

    def __init__(self, db: Database, channel: str, now: Callable[[], datetime]) -> None:
        self.db = db
        self.channel = channel
        self.now = now
        self._waiting: list[tuple[list[Stored], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def keep(self, updates: list[Stored]) -> list[Stored]:
        """Commit ``updates``; returns those that are new (see ``keep`` below)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((updates, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name=f"inbound-{self.channel}")
        return await future

    async def _write(self) -> None:
        await asyncio.sleep(COALESCE)  # let the webhooks arriving together share a transaction
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.db.transaction(urgent=True) as connection:
                    new = await keep(connection, self.channel, [u for updates, _ in batch for u in updates], self.now())
            except Exception as error:  # each caller answers its platform "not received"
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            fresh = {id(update) for update in new}
            for updates, future in batch:
                if not future.done():
                    future.set_result([update for update in updates if id(update) in fresh])


async def keep(connection: AsyncConnection, channel: str, updates: list[Stored], now: datetime) -> list[Stored]:
    """Store updates as they arrived; returns those that are new. One the platform sends
    again (still kept, or handled already) is left out, so it is not handed over twice."""
    ids = [update.update_id for update in updates]
    known = set(
        await connection.scalars(
            select(inbound_updates.c.update_id).where(
                inbound_updates.c.channel == channel, inbound_updates.c.update_id.in_(ids)
            )
        )
    ) | set(
        await connection.scalars(
            select(processed_updates.c.update_id).where(
                processed_updates.c.channel == channel, processed_updates.c.update_id.in_(ids)
            )
        )
    )
    new = []
    for update in updates:
        if update.update_id not in known:
            known.add(update.update_id)
            new.append(update)
    if new:
        await insert_or_ignore(
            connection,
            inbound_updates,
            [
                {
                    "channel": channel,
                    "update_id": update.update_id,
                    "address": update.address,
                    "payload": update.payload,
                    "received_at": now,
                }
                for update in new
            ],
        )
    return new


_FORGET = delete(inbound_updates).where(
    inbound_updates.c.channel == bindparam("channel"), inbound_updates.c.update_id == bindparam("update_id")
)


async def forget(connection: AsyncConnection, channel: str, update_id: str) -> None:
    """The update is handled (call in the transaction that stores its effects)."""
    await connection.execute(_FORGET, {"channel": channel, "update_id": update_id})


_EARLIER = inbound_updates.alias("earlier")
_TAKE = delete(inbound_updates).where(
    inbound_updates.c.channel == bindparam("channel"),
    inbound_updates.c.update_id == bindparam("update_id"),
    ~exists().where(
        _EARLIER.c.channel == inbound_updates.c.channel,
        _EARLIER.c.address == inbound_updates.c.address,
        _EARLIER.c.id < inbound_updates.c.id,
    ),
)


async def take(connection: AsyncConnection, channel: str, update_id: str) -> bool:
    """``forget`` the update if it is his oldest one still stored; False (nothing deleted)
    when one stored before it waits, or it is no longer stored. One statement in the turn's
    transaction, under his lock (``bot.store.locks.chat``): what ``waiting`` read in a
    transaction of its own before every turn, now only when this says False (the rare case:
    two of his updates at two instances at once, or an instance died)."""
    result = await connection.execute(_TAKE, {"channel": channel, "update_id": update_id})
    return result.rowcount == 1


async def forget_chat(connection: AsyncConnection, channel: str, address: str) -> None:
    """Everything kept from one chat (he used /delete): what he sent after it is still handled
    from memory, but nothing he wrote stays on disk."""
    await connection.execute(
        delete(inbound_updates).where(
            inbound_updates.c.channel == channel, inbound_updates.c.address == address
        )
    )


async def waiting(connection: AsyncConnection, channel: str, address: str) -> list[Stored]:
    """His updates stored and not handled yet, oldest first (``id`` is the order they were
    stored in). A channel that shares the database with other instances handles these, in
    this order, up to the one it received itself: an update kept by another instance a
    moment earlier is not overtaken, and one whose instance died is not left behind."""
    rows = await connection.execute(
        select(inbound_updates.c.update_id, inbound_updates.c.address, inbound_updates.c.payload)
        .where(inbound_updates.c.channel == channel, inbound_updates.c.address == address)
        .order_by(inbound_updates.c.id)
    )
    return [Stored(*row) for row in rows]


async def unhandled(connection: AsyncConnection, channel: str) -> list[Stored]:
    """What was stored and not handled (a crash came in between), in arrival order."""
    rows = await connection.execute(
        select(inbound_updates.c.update_id, inbound_updates.c.address, inbound_updates.c.payload)
        .where(inbound_updates.c.channel == channel)
        .order_by(inbound_updates.c.id)
    )
    return [Stored(*row) for row in rows]
