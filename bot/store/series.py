"""Dialogue series, their meetings, and sign-ups with a waitlist."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.common.calendar import weekly_meetings
from bot.store.schema import meetings, participants, rsvps, series, signups, waitlist_offers
from dialogs.types import SeriesView


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
    place_private: bool = False  # told only to those who signed up (a living-room talk)


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
            place_private=int(new.place_private),
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


async def overview(
    connection: AsyncConnection, now: datetime, *, limit: int | None = None, offset: int = 0
) -> list[Row]:
    """Every series (or the ``limit`` from ``offset`` on, in order of id) with its seat and
    waitlist counts and next meeting (for the CLI, the console and the demo; the dialogs read
    the ``Catalog``). The counts are worked out for the rows returned only."""
    query = select(
        series,
        _confirmed_count().label("confirmed"),
        _waitlist_count().label("waitlisted"),
        _next_meeting(now).label("next_meeting"),
    ).order_by(series.c.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(await connection.execute(query))


async def count(connection: AsyncConnection) -> int:
    return await connection.scalar(select(func.count()).select_from(series))


async def next_meeting_answers(
    connection: AsyncConnection, series_ids: list[int], now: datetime
) -> dict[int, dict[str | None, int]]:
    """For each series in ``series_ids``, its next scheduled meeting's answers among the men
    with a seat: {series id: {"coming": n, "not_coming": n, None: n (no answer yet)}} (what
    ``meetings.coordinator_meetings`` shows per line, counted in SQL for one page of series)."""
    if not series_ids:
        return {}
    upcoming = meetings.alias("upcoming")
    nearest = (
        select(func.min(upcoming.c.starts_at))
        .where(
            upcoming.c.series_id == meetings.c.series_id,
            upcoming.c.status == "scheduled",
            upcoming.c.starts_at > now,
        )
        .scalar_subquery()
    )
    result = await connection.execute(
        select(meetings.c.series_id, rsvps.c.answer, func.count())
        .join(signups, and_(signups.c.series_id == meetings.c.series_id, signups.c.status == "confirmed"))
        .outerjoin(rsvps, and_(rsvps.c.participant_id == signups.c.participant_id, rsvps.c.meeting_id == meetings.c.id))
        .where(meetings.c.series_id.in_(series_ids), meetings.c.status == "scheduled", meetings.c.starts_at == nearest)
        .group_by(meetings.c.series_id, rsvps.c.answer)
    )
    answers: dict[int, dict[str | None, int]] = defaultdict(dict)
    for series_id, answer, number in result:
        answers[series_id][answer] = number
    return dict(answers)


class Catalog:
    """The series a participant may see, kept in memory between turns.

    Valid for one catalog version (``bot.store.schema.series_catalog``): triggers bump it in the
    same transaction as any change to series, meetings, sign-ups or offers, from this process
    or any other, so the overview shown is never older than the version read at the start of
    the turn. (Booking still counts the seats itself, inside its transaction: ``sign_up``.)
    Meetings are held from the load on; a clock that goes back before it reloads."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._loaded_at: datetime | None = None
        self._listed: tuple[_Listed, ...] = ()

    async def views(
        self, connection: AsyncConnection, version: int, now: datetime, include: list[int] = ()
    ) -> tuple[SeriesView, ...]:
        """The open series with a meeting still ahead, plus the series in ``include``
        whatever their state (his own sign-ups may include a closed one)."""
        if version != self._version or now < self._loaded_at:
            self._listed = await _load(connection, now)
            self._version, self._loaded_at = version, now
        views = (listed.view(now) for listed in self._listed)
        return tuple(view for view in views if view.open or view.id in include)


class _Listed:
    """One series as the catalog holds it: its view for each number of meetings gone by, each
    made when a turn first needs it (the catalog is reloaded at every sign-up, and making all
    of them then, for every series, took a twentieth of the bot's CPU per update)."""

    __slots__ = ("row", "starts", "_views")

    def __init__(self, row: Row, starts: tuple[datetime, ...]) -> None:
        self.row = row
        self.starts = starts  # its scheduled meetings still ahead at the load, in order
        self._views: dict[int, SeriesView] = {}  # after the first n of ``starts`` have begun

    def view(self, now: datetime) -> SeriesView:
        gone = bisect_right(self.starts, now)
        view = self._views.get(gone)
        if view is None:
            next_meeting = self.starts[gone] if gone < len(self.starts) else None
            view = self._views[gone] = _as_view(self.row, next_meeting)
        return view


def _as_view(row: Row, next_meeting: datetime | None) -> SeriesView:
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
        place_private=bool(row.place_private),
        one_off=row.meeting_count == 1,
    )


_LISTED = select(
    series, _confirmed_count().label("confirmed"), _waitlist_count().label("waitlisted")
).order_by(series.c.id)
_AHEAD = (
    select(meetings.c.series_id, meetings.c.starts_at)
    .where(
        meetings.c.status == "scheduled",
        meetings.c.starts_at > bindparam("now", type_=meetings.c.starts_at.type),
    )
    .order_by(meetings.c.starts_at)
)


async def _load(connection: AsyncConnection, now: datetime) -> tuple[_Listed, ...]:
    """Every series with its seat counts, and the scheduled meetings after ``now``."""
    starts: dict[int, list[datetime]] = defaultdict(list)
    for series_id, starts_at in await connection.execute(_AHEAD, {"now": now}):
        starts[series_id].append(starts_at)
    rows = await connection.execute(_LISTED)
    return tuple(_Listed(row, tuple(starts[row.id])) for row in rows)


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
            participants.c.area,
            participants.c.channel,
            participants.c.status.label("participant_status"),
        )
        .join(participants, participants.c.id == signups.c.participant_id)
        .where(signups.c.series_id == series_id)
        .order_by(signups.c.status, signups.c.id)
    )
    return list(result)


_LOCK = (
    update(series)
    .where(series.c.id == bindparam("series_id"), series.c.status == "open")
    .values(seat_version=series.c.seat_version + 1)
)
_SEATS = select(series.c.capacity, series.c.status, _confirmed_count().label("taken")).where(
    series.c.id == bindparam("series_id")
)
_SEATS_AND_MINE = _SEATS.add_columns(
    select(signups.c.status)
    .where(signups.c.series_id == series.c.id, signups.c.participant_id == bindparam("participant_id"))
    .scalar_subquery()
    .label("mine")
)


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
    locked = await connection.execute(_LOCK, {"series_id": series_id})
    if locked.rowcount == 0:
        raise SeatUnavailable(series_id)
    seats = (
        await connection.execute(_SEATS_AND_MINE, {"series_id": series_id, "participant_id": participant_id})
    ).one()
    if seats.mine is not None:
        return seats.mine
    full = _free(seats) <= 0
    if not waitlist and full:
        raise SeatUnavailable(series_id)
    status = "waitlist" if waitlist or full else "confirmed"
    await connection.execute(
        signups.insert(),
        {"series_id": series_id, "participant_id": participant_id, "status": status, "created_at": now},
    )
    return status


async def free_seats(connection: AsyncConnection, series_id: int) -> int:
    """Seats nobody holds: capacity less confirmed sign-ups and open offers (0 if closed)."""
    return _free((await connection.execute(_SEATS, {"series_id": series_id})).first())


async def seats_taken(connection: AsyncConnection, series_id: int) -> int:
    """Confirmed sign-ups plus seats held by an open offer, whether the series is open or not."""
    return (await connection.execute(_SEATS, {"series_id": series_id})).one().taken


def _free(seats: Row | None) -> int:
    if seats is None or seats.status != "open":
        return 0
    return seats.capacity - seats.taken


async def leave(connection: AsyncConnection, participant_id: int, series_id: int) -> bool:
    result = await connection.execute(
        delete(signups).where(
            signups.c.series_id == series_id, signups.c.participant_id == participant_id
        )
    )
    return result.rowcount > 0
