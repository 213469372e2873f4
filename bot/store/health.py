"""The service's health as the web console shows it: messages waiting and failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import outbox

FAILED = ("failed", "blocked", "uncertain")
"""Outbox states that mean a message did not (surely) arrive."""


async def waiting(connection: AsyncConnection) -> int:
    """Messages queued and not sent yet."""
    return await connection.scalar(
        select(func.count()).where(outbox.c.status.in_(("pending", "sending", "held")))
    ) or 0


async def failures_since(connection: AsyncConnection, since: datetime) -> int:
    return await connection.scalar(
        select(func.count()).where(outbox.c.status.in_(FAILED), outbox.c.created_at >= since)
    ) or 0
