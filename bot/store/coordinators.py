"""Who may use the coordinator commands, as ``channel:address`` pairs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import insert_or_ignore
from bot.store.schema import coordinators, participants


async def add(connection: AsyncConnection, channel: str, address: str, now: datetime) -> bool:
    return await insert_or_ignore(
        connection, coordinators, {"channel": channel, "address": address, "added_at": now}
    )


async def remove(connection: AsyncConnection, channel: str, address: str) -> bool:
    result = await connection.execute(
        delete(coordinators).where(
            coordinators.c.channel == channel, coordinators.c.address == address
        )
    )
    return result.rowcount > 0


async def is_coordinator(connection: AsyncConnection, channel: str, address: str) -> bool:
    found = await connection.scalar(
        select(coordinators.c.address).where(
            coordinators.c.channel == channel, coordinators.c.address == address
        )
    )
    return found is not None


async def all_ids(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(
        select(coordinators.c.channel, coordinators.c.address).order_by(
            coordinators.c.channel, coordinators.c.address
        )
    )
    return [f"{channel}:{address}" for channel, address in rows]


async def languages(connection: AsyncConnection, channel: str) -> dict[str, str | None]:
    """The coordinators on ``channel``: address → his language if he is also a participant
    (the language his chat speaks), else None."""
    rows = await connection.execute(
        select(coordinators.c.address, participants.c.language)
        .select_from(coordinators)
        .outerjoin(
            participants,
            (participants.c.channel == coordinators.c.channel)
            & (participants.c.address == coordinators.c.address),
        )
        .where(coordinators.c.channel == channel)
    )
    return {address: language for address, language in rows}
