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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import inbound_updates, processed_updates
from bot.store.portable import insert_or_ignore


@dataclass(frozen=True)
class Stored:
    update_id: str
    address: str
    payload: str


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


async def forget(connection: AsyncConnection, channel: str, update_id: str) -> None:
    """The update is handled (call in the transaction that stores its effects)."""
    await connection.execute(
        delete(inbound_updates).where(
            inbound_updates.c.channel == channel, inbound_updates.c.update_id == update_id
        )
    )


async def forget_chat(connection: AsyncConnection, channel: str, address: str) -> None:
    """Everything kept from one chat (he used /delete): what he sent after it is still handled
    from memory, but nothing he wrote stays on disk."""
    await connection.execute(
        delete(inbound_updates).where(
            inbound_updates.c.channel == channel, inbound_updates.c.address == address
        )
    )


async def unhandled(connection: AsyncConnection, channel: str) -> list[Stored]:
    """What was stored and not handled (a crash came in between), in arrival order."""
    rows = await connection.execute(
        select(inbound_updates.c.update_id, inbound_updates.c.address, inbound_updates.c.payload)
        .where(inbound_updates.c.channel == channel)
        .order_by(inbound_updates.c.id)
    )
    return [Stored(*row) for row in rows]
