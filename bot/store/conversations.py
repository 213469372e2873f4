"""Conversation state per chat: the dialog's JSON memory between two events.

The engine reads it with the rest of the chat in one query (``bot.store.chats``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import upsert
from bot.store.schema import conversations
from dialogs.types import State, WakeAt


def encode(state: State) -> str:
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def decode(stored: str | None) -> State:
    return json.loads(stored) if stored else {}


async def save(
    connection: AsyncConnection,
    channel: str,
    address: str,
    state: State,
    now: datetime,
    *,
    wake: WakeAt | None = None,
    stored: str | None = None,
) -> None:
    """Store ``state`` and, with ``wake``, when to wake the dialog (or, at None, not to).
    Nothing is written when the state is the one ``stored`` already and ``wake`` is None."""
    encoded = encode(state)
    if encoded == stored and wake is None:
        return
    # The day only: a finer time would order the men by their last message (issue 11).
    values = {"state": encoded, "updated_at": now.replace(hour=0, minute=0, second=0, microsecond=0)}
    if wake is not None:
        values["wake_at"] = wake.at
    await upsert(connection, conversations, {"channel": channel, "address": address}, values)


async def forget(connection: AsyncConnection, channel: str, address: str) -> None:
    await connection.execute(
        delete(conversations).where(
            conversations.c.channel == channel, conversations.c.address == address
        )
    )


async def load(connection: AsyncConnection, channel: str, address: str) -> State:
    """One chat's state (the engine reads it with the rest of the chat; this is for a look
    before a turn, see ``Engine._listen``)."""
    stored = await connection.scalar(
        select(conversations.c.state).where(conversations.c.channel == channel, conversations.c.address == address)
    )
    return decode(stored)


async def take_due_wakes(connection: AsyncConnection, now: datetime) -> list[tuple[str, str]]:
    """The chats whose conversation asked to hear back by ``now`` (``WakeAt``), their wake
    time cleared by the same statement, so that each is woken once: of two instances ticking
    at once, the second's update waits for the first's row locks and then finds them cleared."""
    result = await connection.execute(
        update(conversations)
        .where(conversations.c.wake_at <= now)
        .values(wake_at=None)
        .returning(conversations.c.channel, conversations.c.address)
    )
    return sorted((channel, address) for channel, address in result)
