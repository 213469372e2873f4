"""Participants: created only after consent, erased for real on request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import facilitators
from bot.store.schema import conversations, outbox, participants, signups
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


async def address_of(connection: AsyncConnection, participant_id: int) -> tuple[str, str] | None:
    """(channel, address) of a participant, or None."""
    row = (
        await connection.execute(
            select(participants.c.channel, participants.c.address).where(participants.c.id == participant_id)
        )
    ).first()
    return (row.channel, row.address) if row is not None else None


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


def window_hour(moment: datetime) -> datetime:
    """The time of his last message as kept (``last_inbound_at``, WhatsApp only): the hour.
    WhatsApp's 24-hour window needs no more, and a finer time would order the men by their
    last message (issue 11). Counted from the start of the hour, the window closes early,
    never late."""
    return moment.replace(minute=0, second=0, microsecond=0)


_CHANGE = update(participants).where(participants.c.id == bindparam("participant_id"))


async def change(connection: AsyncConnection, participant_id: int, **values) -> None:
    """Set ``values`` (column names) on his row; the SET clause follows the names given."""
    await connection.execute(_CHANGE, {"participant_id": participant_id, **values})


async def erase(connection: AsyncConnection, channel: str, address: str) -> None:
    """Delete every row that names this chat address: the participant with everything that
    hangs off him (cascades), his conversation state, any message still queued for him, and
    his rows as a facilitator."""
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
    await facilitators.forget(connection, channel, address)


def view_of(row: Row) -> ParticipantView:
    """The participant as a dialog sees him, without his sign-ups, meetings and offers."""
    return ParticipantView(language=row.language, name=row.name, area=row.area, status=row.status)


def _signups_statement():
    """His sign-ups in order, each with its place on the waiting list."""
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
    return (
        select(signups.c.series_id, signups.c.status, position)
        .where(signups.c.participant_id == bindparam("participant_id"))
        .order_by(signups.c.id)
    )


_SIGNUPS = _signups_statement()


async def signups_of(connection: AsyncConnection, participant_id: int) -> tuple[SignupView, ...]:
    result = await connection.execute(_SIGNUPS, {"participant_id": participant_id})
    return tuple(
        SignupView(series_id, status, place if status == "waitlist" else None)
        for series_id, status, place in result
    )
