"""Dialogue series, their meetings, and sign-ups with a waitlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import meetings, participants, series, signups, waitlist_offers
from dialogs.types import SeriesView
from scheduler.calendar import weekly_meetings


class SeatUnavailable(Exception):
    """The series is full or closed; nothing was stored."""


@dataclass(frozen=True)
class NewSeries:
    name: str
    weekday: int
    start_time: time
    start_date: date
    meeting_count: int
    capacity: int
    location: str = ""
    area: str = ""


async def add(connection: AsyncConnection, new: NewSeries, zone: str, now: datetime) -> int:
    result = await connection.execute(
        series.insert().values(
            name=new.name,
            weekday=new.weekday,
            start_time=new.start_time.strftime("%H:%M"),
            start_date=new.start_date.isoformat(),
            meeting_count=new.meeting_count,
            capacity=new.capacity,
            location=new.location,
            area=new.area,
            status="open",
            seat_version=0,
            created_at=now,
        )
    )
    series_id = result.inserted_primary_key[0]
    instants = weekly_meetings(
        new.start_date, new.weekday, new.start_time, new.meeting_count, zone
    )
    await connection.execute(
        meetings.insert(),
        [
            {"series_id": series_id, "number": n, "starts_at": at, "status": "scheduled"}
            for n, at in enumerate(instants, start=1)
        ],
    )
    return series_id


def _confirmed_count():
    """Seats taken: confirmed sign-ups plus seats held by an open waiting-list offer."""
    confirmed = (
        select(func.count())
        .where(signups.c.series_id == series.c.id, signups.c.status == "confirmed")
        .scalar_subquery()
    )
    held = (
        select(func.count())
        .where(waitlist_offers.c.series_id == series.c.id, waitlist_offers.c.status == "open")
        .scalar_subquery()
    )
    return confirmed + held


def _waitlist_count():
    return (
        select(func.count())
        .where(signups.c.series_id == series.c.id, signups.c.status == "waitlist")
        .scalar_subquery()
    )


def _next_meeting(now: datetime):
    return (
        select(func.min(meetings.c.starts_at))
        .where(
            meetings.c.series_id == series.c.id,
            meetings.c.status == "scheduled",
            meetings.c.starts_at > now,
        )
        .scalar_subquery()
    )


async def overview(connection: AsyncConnection, now: datetime, *, only=None) -> list[Row]:
    """Series (all, or those matching ``only``) with their seat and waitlist counts and next
    meeting (for the CLI, the demo and the dialogs)."""
    query = select(
        series,
        _confirmed_count().label("confirmed"),
        _waitlist_count().label("waitlisted"),
        _next_meeting(now).label("next_meeting"),
    ).order_by(series.c.id)
    if only is not None:
        query = query.where(only)
    return list(await connection.execute(query))


async def views(
    connection: AsyncConnection, now: datetime, include: list[int] = ()
) -> tuple[SeriesView, ...]:
    """Series a participant may see: the open ones with a meeting still ahead, plus the
    series in ``include`` whatever their state (his own sign-ups may include a closed one)."""
    rows = await overview(connection, now, only=or_(series.c.status == "open", series.c.id.in_(list(include))))
    return tuple(
        _as_view(row)
        for row in rows
        if (row.status == "open" and row.next_meeting is not None) or row.id in include
    )


def _as_view(row: Row) -> SeriesView:
    next_meeting = row.next_meeting
    return SeriesView(
        id=row.id,
        name=row.name,
        weekday=row.weekday,
        start_time=time.fromisoformat(row.start_time),
        location=row.location,
        area=row.area,
        capacity=row.capacity,
        confirmed=row.confirmed,
        next_meeting=next_meeting,
        open=row.status == "open" and next_meeting is not None,
        waitlisted=row.waitlisted,
    )


async def get(connection: AsyncConnection, series_id: int) -> Row | None:
    return (await connection.execute(select(series).where(series.c.id == series_id))).first()


async def meeting_rows(connection: AsyncConnection, series_id: int) -> list[Row]:
    result = await connection.execute(
        select(meetings).where(meetings.c.series_id == series_id).order_by(meetings.c.number)
    )
    return list(result)


async def signup_rows(connection: AsyncConnection, series_id: int) -> list[Row]:
    """Sign-ups in order (confirmed first, then the waitlist in order of arrival)."""
    result = await connection.execute(
        select(
            signups.c.id,
            signups.c.status,
            signups.c.created_at,
            participants.c.id.label("participant_id"),
            participants.c.name,
            participants.c.language,
            participants.c.channel,
            participants.c.status.label("participant_status"),
        )
        .join(participants, participants.c.id == signups.c.participant_id)
        .where(signups.c.series_id == series_id)
        .order_by(signups.c.status, signups.c.id)
    )
    return list(result)


async def sign_up(
    connection: AsyncConnection,
    participant_id: int,
    series_id: int,
    *,
    waitlist: bool,
    now: datetime,
) -> str:
    """Take a seat or a waitlist place; returns the stored status.

    The first statement bumps the series row, which locks it (a row lock on PostgreSQL, the
    database write lock on SQLite), so the seat count below cannot change under us: two
    quick taps or thirty simultaneous sign-ups never overfill a series.
    """
    locked = await connection.execute(
        update(series)
        .where(series.c.id == series_id, series.c.status == "open")
        .values(seat_version=series.c.seat_version + 1)
    )
    if locked.rowcount == 0:
        raise SeatUnavailable(series_id)
    existing = await connection.scalar(
        select(signups.c.status).where(
            signups.c.series_id == series_id, signups.c.participant_id == participant_id
        )
    )
    if existing is not None:
        return existing
    full = await free_seats(connection, series_id) <= 0
    if not waitlist and full:
        raise SeatUnavailable(series_id)
    status = "waitlist" if waitlist or full else "confirmed"
    await connection.execute(
        signups.insert().values(
            series_id=series_id, participant_id=participant_id, status=status, created_at=now
        )
    )
    return status


async def free_seats(connection: AsyncConnection, series_id: int) -> int:
    """Seats nobody holds: capacity less confirmed sign-ups and open offers (0 if closed)."""
    row = (await connection.execute(select(series.c.capacity, series.c.status).where(series.c.id == series_id))).first()
    if row is None or row.status != "open":
        return 0
    taken = await connection.scalar(
        select(func.count()).where(signups.c.series_id == series_id, signups.c.status == "confirmed")
    )
    held = await connection.scalar(
        select(func.count()).where(waitlist_offers.c.series_id == series_id, waitlist_offers.c.status == "open")
    )
    return row.capacity - taken - held


async def leave(connection: AsyncConnection, participant_id: int, series_id: int) -> bool:
    result = await connection.execute(
        delete(signups).where(
            signups.c.series_id == series_id, signups.c.participant_id == participant_id
        )
    )
    return result.rowcount > 0
