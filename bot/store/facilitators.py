"""Peer facilitators (issue 16): who facilitates which series, the form after each meeting
(``meeting_reports``), the requests that sent it (``report_requests``) and living-room talks
(``living_room_proposals``). Every row that names a facilitator's chat is erased by /delete
(``bot.store.participants.erase`` calls ``forget``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import insert_or_ignore
from bot.store.schema import (
    attendance,
    facilitators,
    living_room_proposals,
    meeting_reports,
    meetings,
    participants,
    report_requests,
    series,
)
from dialogs.types import ReportDue

REPORT_WINDOW = timedelta(days=7)
"""A meeting's form can be filled in for this long after it began."""


# --- who facilitates what ---------------------------------------------------------------------


async def add(connection: AsyncConnection, channel: str, address: str, series_id: int, now: datetime) -> bool:
    return await insert_or_ignore(
        connection,
        facilitators,
        {"channel": channel, "address": address, "series_id": series_id, "added_at": now},
    )


async def remove(connection: AsyncConnection, channel: str, address: str, series_id: int | None = None) -> int:
    """Remove him from one series, or (``series_id=None``) from all; how many rows went."""
    condition = and_(facilitators.c.channel == channel, facilitators.c.address == address)
    if series_id is not None:
        condition = and_(condition, facilitators.c.series_id == series_id)
    result = await connection.execute(delete(facilitators).where(condition))
    return result.rowcount


async def series_of(connection: AsyncConnection, channel: str, address: str) -> tuple[int, ...]:
    rows = await connection.scalars(
        select(facilitators.c.series_id)
        .where(facilitators.c.channel == channel, facilitators.c.address == address)
        .order_by(facilitators.c.series_id)
    )
    return tuple(rows)


async def facilitates_meeting(connection: AsyncConnection, channel: str, address: str, meeting_id: int) -> bool:
    found = await connection.scalar(
        select(meetings.c.id)
        .join(facilitators, facilitators.c.series_id == meetings.c.series_id)
        .where(meetings.c.id == meeting_id, facilitators.c.channel == channel, facilitators.c.address == address)
    )
    return found is not None


async def listing(connection: AsyncConnection) -> list[Row]:
    """Every facilitator with each series: channel, address, series_id, series name."""
    result = await connection.execute(
        select(facilitators.c.channel, facilitators.c.address, facilitators.c.series_id, series.c.name)
        .join(series, series.c.id == facilitators.c.series_id)
        .order_by(facilitators.c.channel, facilitators.c.address, facilitators.c.series_id)
    )
    return list(result)


async def languages(connection: AsyncConnection, channel: str) -> dict[str, str | None]:
    """The facilitators on ``channel``: address → his language if he is also a participant."""
    rows = await connection.execute(
        select(facilitators.c.address, participants.c.language)
        .select_from(facilitators)
        .outerjoin(
            participants,
            (participants.c.channel == facilitators.c.channel) & (participants.c.address == facilitators.c.address),
        )
        .where(facilitators.c.channel == channel)
        .distinct()
    )
    return {address: language for address, language in rows}


async def forget(connection: AsyncConnection, channel: str, address: str) -> None:
    """/delete: every row that names this chat as a facilitator. His living-room talks stay
    as series (the men signed up keep their seats); the proposal that named him goes."""
    for table in (facilitators, report_requests, living_room_proposals):
        await connection.execute(delete(table).where(table.c.channel == channel, table.c.address == address))


# --- the form after a meeting -----------------------------------------------------------------


def _present_count():
    return (
        select(func.count())
        .where(attendance.c.meeting_id == meetings.c.id, attendance.c.present == 1)
        .scalar_subquery()
    )


def _ticked_count():
    return select(func.count()).where(attendance.c.meeting_id == meetings.c.id).scalar_subquery()


async def reports_due(connection: AsyncConnection, series_ids: tuple[int, ...], now: datetime) -> tuple[ReportDue, ...]:
    """Meetings of these series that began in the last week and have no form yet, newest
    first, each with the number of men ticked present (None when nobody was ticked)."""
    if not series_ids:
        return ()
    result = await connection.execute(
        select(meetings.c.id, series.c.name, meetings.c.starts_at, _present_count(), _ticked_count())
        .join(series, series.c.id == meetings.c.series_id)
        .outerjoin(meeting_reports, meeting_reports.c.meeting_id == meetings.c.id)
        .where(
            meetings.c.series_id.in_(series_ids),
            meetings.c.status == "scheduled",
            meetings.c.starts_at <= now,
            meetings.c.starts_at > now - REPORT_WINDOW,
            meeting_reports.c.meeting_id.is_(None),
        )
        .order_by(meetings.c.starts_at.desc())
    )
    return tuple(
        ReportDue(meeting_id, name, starts_at, present if ticked else None)
        for meeting_id, name, starts_at, present, ticked in result
    )


async def save_report(connection: AsyncConnection, values: dict, now: datetime) -> bool:
    """Store a meeting's form; False when one was stored already (the first one counts)."""
    return await insert_or_ignore(connection, meeting_reports, {**values, "filled_at": now})


async def reports_of_series(connection: AsyncConnection, series_id: int) -> list[Row]:
    """The forms of a series' meetings, in meeting order, each with its meeting's start."""
    result = await connection.execute(
        select(meeting_reports, meetings.c.starts_at, meetings.c.number)
        .join(meetings, meetings.c.id == meeting_reports.c.meeting_id)
        .where(meetings.c.series_id == series_id)
        .order_by(meetings.c.starts_at)
    )
    return list(result)


async def claim_request(
    connection: AsyncConnection, meeting_id: int, channel: str, address: str, kind: str, now: datetime
) -> bool:
    """Claim sending the form (or its reminder) for one meeting to one facilitator: True
    for exactly one caller, ever (the row's primary key is the claim)."""
    return await insert_or_ignore(
        connection,
        report_requests,
        {"meeting_id": meeting_id, "channel": channel, "address": address, "kind": kind, "sent_at": now},
    )


# --- living-room talks ------------------------------------------------------------------------


async def propose(connection: AsyncConnection, channel: str, address: str, values: dict, now: datetime) -> int:
    result = await connection.execute(
        living_room_proposals.insert().values(
            channel=channel, address=address, status="proposed", created_at=now, **values
        )
    )
    return result.inserted_primary_key[0]


async def proposal(connection: AsyncConnection, proposal_id: int) -> Row | None:
    return (
        await connection.execute(select(living_room_proposals).where(living_room_proposals.c.id == proposal_id))
    ).first()


async def claim_approval(connection: AsyncConnection, proposal_id: int) -> bool:
    """Proposed → approved, once: False when it is unknown or someone approved it first."""
    result = await connection.execute(
        update(living_room_proposals)
        .where(living_room_proposals.c.id == proposal_id, living_room_proposals.c.status == "proposed")
        .values(status="approved")
    )
    return result.rowcount == 1


async def link_series(connection: AsyncConnection, proposal_id: int, series_id: int) -> None:
    await connection.execute(
        update(living_room_proposals).where(living_room_proposals.c.id == proposal_id).values(series_id=series_id)
    )
