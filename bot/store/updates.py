"""Processed update ids, so that a platform's retried delivery is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import insert_or_ignore
from bot.store.schema import processed_updates

KEEP_FOR = timedelta(days=7)


async def first_time(
    connection: AsyncConnection, channel: str, update_id: str, now: datetime
) -> bool:
    """Record ``update_id`` as processed; False when it was processed before."""
    return await insert_or_ignore(
        connection,
        processed_updates,
        {"channel": channel, "update_id": update_id, "processed_at": now},
    )


async def forget_old(connection: AsyncConnection, now: datetime) -> int:
    """Platforms stop retrying after a day; a week of ids is plenty."""
    result = await connection.execute(
        delete(processed_updates).where(processed_updates.c.processed_at < now - KEEP_FOR)
    )
    return result.rowcount
