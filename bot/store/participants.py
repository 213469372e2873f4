"""Participants: created only after consent, erased for real on request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import conversations, outbox, participants, signups
from dialogs.types import ParticipantView, SignupView


async def find(connection: AsyncConnection, channel: str, address: str) -> Row | None:
    result = await connection.execute(
        select(participants).where(
            participants.c.channel == channel, participants.c.address == address
        )
    )
    return result.first()


async def language_of(connection: AsyncConnection, channel: str, address: str) -> str | None:
    """The language of whoever chats at this address, if he is a participant."""
    return await connection.scalar(
        select(participants.c.language).where(
            participants.c.channel == channel, participants.c.address == address
        )
    )


async def create(
    connection: AsyncConnection,
    channel: str,
    address: str,
    language: str,
    consented_at: datetime,
) -> int:
    result = await connection.execute(
        participants.insert().values(
            channel=channel,
            address=address,
            language=language,
            consented_at=consented_at,
            status="active",
        )
    )
    return result.inserted_primary_key[0]


async def change(connection: AsyncConnection, participant_id: int, **values) -> None:
    await connection.execute(
        update(participants).where(participants.c.id == participant_id).values(**values)
    )


async def erase(connection: AsyncConnection, channel: str, address: str) -> None:
    """Delete every row that names this chat address: the participant with everything that
    hangs off him (cascades), his conversation state and any message still queued for him."""
    await connection.execute(
        delete(signups).where(
            signups.c.participant_id.in_(
                select(participants.c.id).where(
                    participants.c.channel == channel, participants.c.address == address
                )
            )
        )
    )
    for table in (participants, conversations, outbox):
        await connection.execute(
            delete(table).where(table.c.channel == channel, table.c.address == address)
        )


async def view(connection: AsyncConnection, row: Row) -> ParticipantView:
    """The participant as a dialog sees him, with his sign-ups and waitlist places."""
    earlier = signups.alias("earlier")
    position = (
        select(func.count())
        .where(
            earlier.c.series_id == signups.c.series_id,
            earlier.c.status == "waitlist",
            earlier.c.id <= signups.c.id,
        )
        .scalar_subquery()
    )
    result = await connection.execute(
        select(signups.c.series_id, signups.c.status, position)
        .where(signups.c.participant_id == row.id)
        .order_by(signups.c.id)
    )
    return ParticipantView(
        language=row.language,
        name=row.name,
        area=row.area,
        status=row.status,
        signups=tuple(
            SignupView(series_id, status, place if status == "waitlist" else None)
            for series_id, status, place in result
        ),
    )
