"""Conversation state per chat: the dialog's JSON memory between two events."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import conversations
from bot.store.portable import upsert
from dialogs.types import State


async def load(connection: AsyncConnection, channel: str, address: str) -> State:
    row = await connection.scalar(
        select(conversations.c.state).where(
            conversations.c.channel == channel, conversations.c.address == address
        )
    )
    return json.loads(row) if row else {}


async def save(
    connection: AsyncConnection, channel: str, address: str, state: State, now: datetime
) -> None:
    encoded = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    await upsert(
        connection,
        conversations,
        {"channel": channel, "address": address},
        {"state": encoded, "updated_at": now},
    )


async def forget(connection: AsyncConnection, channel: str, address: str) -> None:
    await connection.execute(
        delete(conversations).where(
            conversations.c.channel == channel, conversations.c.address == address
        )
    )
