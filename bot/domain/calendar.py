"""The calendar files a man asks for ("Add to my calendar"): his series, read from the store,
made into ``.ics`` files (bot/analytics/calendar_file.py) with a caption in his language."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.analytics import calendar_file
from bot.channels.base import Document, Outgoing
from bot.store.schema import meetings, series, signups
from dialogs.formatting import clock, weekday_name
from dialogs.i18n import _, directed, fill, use_locale


async def files_for(
    connection: AsyncConnection,
    participant_id: int,
    series_ids: tuple[int, ...],
    *,
    language: str,
    organisation: str,
    timezone: str,
    now: datetime,
) -> list[Outgoing]:
    """One message with its file for each series he holds a seat in (of ``series_ids``, or
    all of them when it is empty); none for a series he has no seat in."""
    query = (
        select(series)
        .join(signups, and_(signups.c.series_id == series.c.id, signups.c.participant_id == participant_id))
        .where(signups.c.status == "confirmed")
        .order_by(series.c.id)
    )
    if series_ids:
        query = query.where(series.c.id.in_(series_ids))
    messages = []
    for row in await connection.execute(query):
        rows = await connection.execute(
            select(meetings.c.number, meetings.c.starts_at, meetings.c.status).where(meetings.c.series_id == row.id)
        )
        held = tuple(calendar_file.Meeting(m.number, m.starts_at, m.status == "cancelled") for m in rows)
        with use_locale(language):
            messages.append(_message(row, held, organisation, timezone, now))
    return messages


def uid_of(row) -> str:
    """Stable for the series (its id and when it was made, so two databases do not collide)."""
    return f"series-{row.id}-{row.created_at:%Y%m%dT%H%M%S}@meedoen"


def _message(row, held: tuple[calendar_file.Meeting, ...], organisation: str, timezone: str, now: datetime) -> Outgoing:
    start_time = time.fromisoformat(row.start_time)
    description = fill(
        _(
            "A conversation group for men, organised by %(organisation)s: every %(weekday)s at "
            "%(time)s. Questions? Send a message to the assistant, or ask at the meeting."
        ),
        organisation=organisation,
        weekday=weekday_name(row.weekday),
        time=clock(start_time),
    )
    content = calendar_file.build(
        calendar_file.SeriesCalendar(
            uid=uid_of(row),
            title=row.name,
            description=description,
            location=row.location,
            weekday=row.weekday,
            start_time=start_time,
            start_date=date.fromisoformat(row.start_date),
            timezone=timezone,
            sequence=row.calendar_sequence,
            meetings=held,
        ),
        now,
    )
    caption = directed(
        fill(
            _("The meetings of %(series)s, for your calendar. Open the file to add them."),
            series=row.name,
        )
    )
    return Outgoing(
        caption, document=Document(calendar_file.file_name(row.name), calendar_file.MIME_TYPE, content)
    )
