"""Meetings as people see them: his upcoming meetings with his answers, a coordinator's view
of who is coming and who came, and changes to a single meeting (cancel, move)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import upsert
from bot.store.schema import attendance, meetings, participants, rsvps, series, signups
from dialogs.types import CoordinatorMeeting, MeetingView, RsvpLine

RECENT = timedelta(days=1)  # a meeting that began less than this ago is still "his"


def _for_participant_statement():
    participant_id = bindparam("participant_id")
    return (
        select(
            meetings.c.id,
            meetings.c.series_id,
            series.c.name,
            series.c.location,
            meetings.c.starts_at,
            rsvps.c.answer,
        )
        .join(series, series.c.id == meetings.c.series_id)
        .join(
            signups,
            and_(
                signups.c.series_id == meetings.c.series_id,
                signups.c.participant_id == participant_id,
                signups.c.status == "confirmed",
            ),
        )
        .outerjoin(
            rsvps,
            and_(rsvps.c.meeting_id == meetings.c.id, rsvps.c.participant_id == participant_id),
        )
        .where(
            meetings.c.status == "scheduled",
            meetings.c.starts_at > bindparam("since", type_=meetings.c.starts_at.type),
        )
        .order_by(meetings.c.starts_at)
    )


_FOR_PARTICIPANT = _for_participant_statement()


async def for_participant(
    connection: AsyncConnection, participant_id: int, now: datetime
) -> tuple[MeetingView, ...]:
    """Scheduled meetings of the series he holds a seat in, from yesterday on."""
    result = await connection.execute(
        _FOR_PARTICIPANT, {"participant_id": participant_id, "since": now - RECENT}
    )
    return tuple(MeetingView(*row) for row in result)


async def answer(
    connection: AsyncConnection, participant_id: int, meeting_id: int, reply: str, now: datetime
) -> None:
    await upsert(
        connection,
        rsvps,
        {"participant_id": participant_id, "meeting_id": meeting_id},
        {"answer": reply, "answered_at": now},
    )


async def mark_attendance(
    connection: AsyncConnection, participant_id: int, meeting_id: int, present: bool, now: datetime
) -> None:
    await upsert(
        connection,
        attendance,
        {"participant_id": participant_id, "meeting_id": meeting_id},
        {"present": int(present), "marked_at": now},
    )


async def _lines(connection: AsyncConnection, meeting: Row) -> tuple[RsvpLine, ...]:
    result = await connection.execute(
        select(
            participants.c.name,
            participants.c.language,
            rsvps.c.answer,
            participants.c.id,
            attendance.c.present,
        )
        .join(signups, signups.c.participant_id == participants.c.id)
        .outerjoin(
            rsvps,
            and_(rsvps.c.participant_id == participants.c.id, rsvps.c.meeting_id == meeting.id),
        )
        .outerjoin(
            attendance,
            and_(attendance.c.participant_id == participants.c.id, attendance.c.meeting_id == meeting.id),
        )
        .where(signups.c.series_id == meeting.series_id, signups.c.status == "confirmed")
        .order_by(participants.c.name, participants.c.id)
    )
    return tuple(
        RsvpLine(name, language, reply, pid, None if present is None else bool(present))
        for name, language, reply, pid, present in result
    )


async def lines(connection: AsyncConnection, meeting: Row) -> tuple[RsvpLine, ...]:
    """Everyone with a seat in the meeting's series: his answer and, once ticked, attendance."""
    return await _lines(connection, meeting)


async def _by_series(connection: AsyncConnection, aggregate, condition) -> list[Row]:
    """One meeting per series: the one whose start is ``aggregate`` among ``condition``."""
    chosen = (
        select(meetings.c.series_id, aggregate(meetings.c.starts_at).label("at"))
        .where(meetings.c.status == "scheduled", condition)
        .group_by(meetings.c.series_id)
        .subquery()
    )
    result = await connection.execute(
        select(meetings.c.id, meetings.c.series_id, series.c.name, meetings.c.starts_at)
        .join(chosen, and_(chosen.c.series_id == meetings.c.series_id, chosen.c.at == meetings.c.starts_at))
        .join(series, series.c.id == meetings.c.series_id)
        .where(meetings.c.status == "scheduled")
        .order_by(meetings.c.starts_at)
    )
    return list(result)


async def coordinator_meetings(
    connection: AsyncConnection, now: datetime
) -> tuple[tuple[CoordinatorMeeting, ...], tuple[CoordinatorMeeting, ...]]:
    """(next meeting of each series, last meeting of each series that has begun)."""
    upcoming = await _by_series(connection, func.min, meetings.c.starts_at > now)
    past = await _by_series(connection, func.max, meetings.c.starts_at <= now)
    return (
        tuple([CoordinatorMeeting(*row, await _lines(connection, row)) for row in upcoming]),
        tuple([CoordinatorMeeting(*row, await _lines(connection, row)) for row in past]),
    )


async def get(connection: AsyncConnection, meeting_id: int) -> Row | None:
    return (await connection.execute(select(meetings).where(meetings.c.id == meeting_id))).first()


async def on_date(connection: AsyncConnection, series_id: int, day: date, zone: str) -> Row | None:
    """The scheduled meeting of a series on a local calendar date."""
    rows = await connection.execute(
        select(meetings).where(meetings.c.series_id == series_id, meetings.c.status == "scheduled")
    )
    for row in rows:
        if row.starts_at.astimezone(ZoneInfo(zone)).date() == day:
            return row
    return None
