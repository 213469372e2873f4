"""Whether ``meedoen run`` is up: one row, renewed on every scheduler tick, gone at a clean
stop. The CLI reads it so that a broadcast does not wait for a service that is not there
and a restore never replaces the database under a running one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import service_heartbeat
from bot.store.portable import upsert

RECENT = timedelta(seconds=60)
"""A service whose last beat is older than this (four scheduler ticks) is taken for gone."""


async def beat(connection: AsyncConnection, now: datetime) -> None:
    await upsert(connection, service_heartbeat, {"id": 1}, {"seen_at": now})


async def clear(connection: AsyncConnection) -> None:
    await connection.execute(delete(service_heartbeat))


async def last_seen(connection: AsyncConnection) -> datetime | None:
    return await connection.scalar(select(service_heartbeat.c.seen_at))


def is_running(seen_at: datetime | None, now: datetime, recent: timedelta = RECENT) -> bool:
    return seen_at is not None and now - seen_at < recent
