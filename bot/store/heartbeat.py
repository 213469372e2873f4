"""Whether ``meedoen run`` is up: one row, renewed on every scheduler tick, gone at a clean
stop. The CLI reads it so that a broadcast does not wait for a service that is not there
and a restore never replaces the database under a running one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import upsert
from bot.store.schema import service_heartbeat

RECENT = timedelta(seconds=60)
"""A service whose last beat is older than this (four scheduler ticks) is taken for gone:
the one notion of "running" for every command (broadcast, restore). A clean stop removes the
beat at once; only after a crash (kill -9, power cut) does a stale beat linger this long."""


async def beat(connection: AsyncConnection, now: datetime) -> None:
    await upsert(connection, service_heartbeat, {"id": 1}, {"seen_at": now})


async def clear(connection: AsyncConnection) -> None:
    await connection.execute(delete(service_heartbeat))


async def last_seen(connection: AsyncConnection) -> datetime | None:
    return await connection.scalar(select(service_heartbeat.c.seen_at))


def is_running(seen_at: datetime | None, now: datetime) -> bool:
    return seen_at is not None and now - seen_at < RECENT


def still_running(seen_at: datetime, now: datetime, action: str) -> str:
    """One sentence: a service was seen lately, so ``action`` waits; what to do if it crashed."""
    ago = int((now - seen_at).total_seconds())
    wait = max(1, int((seen_at + RECENT - now).total_seconds()) + 1)
    return (
        f"`meedoen run` is using this database (last seen {ago} s ago); stop it first, then {action}. "
        f"If it stopped without cleaning up (a crash), {action} works in {wait} s, "
        f"or add --force now if you are sure no `meedoen run` uses this database."
    )
