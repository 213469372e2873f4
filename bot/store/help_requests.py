"""Open help requests: "he would like a coordinator to get in touch", until one marks it done.

A request names who asked (his participant id) and when it became visible, nothing else: not
the check-in it came from nor any answer. ``ON DELETE CASCADE`` erases it with him (/delete).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import help_requests, participants


async def ask(connection: AsyncConnection, participant_id: int, visible_at: datetime) -> bool:
    """Store his request, shown from ``visible_at``; one open request per man is enough, so a
    second tap while one is open stores nothing. Returns whether a request was stored."""
    already = await connection.scalar(
        select(help_requests.c.id).where(
            help_requests.c.participant_id == participant_id, help_requests.c.resolved_at.is_(None)
        )
    )
    if already is not None:
        return False
    await connection.execute(help_requests.insert().values(participant_id=participant_id, asked_at=visible_at))
    return True


async def open_requests(connection: AsyncConnection, now: datetime) -> list[Row]:
    """Open requests already visible, oldest first, with what a coordinator needs to reach him."""
    result = await connection.execute(
        select(
            help_requests.c.id,
            help_requests.c.asked_at,
            participants.c.name,
            participants.c.channel,
            participants.c.address,
            participants.c.language,
        )
        .join(participants, participants.c.id == help_requests.c.participant_id)
        .where(help_requests.c.resolved_at.is_(None), help_requests.c.asked_at <= now)
        .order_by(help_requests.c.asked_at, help_requests.c.id)
    )
    return list(result)


async def resolve(connection: AsyncConnection, request_id: int, now: datetime) -> bool:
    """Mark an open request done; False when there is no such open request."""
    result = await connection.execute(
        update(help_requests)
        .where(help_requests.c.id == request_id, help_requests.c.resolved_at.is_(None))
        .values(resolved_at=now)
    )
    return result.rowcount > 0
