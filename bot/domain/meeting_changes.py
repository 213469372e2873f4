"""Changing one meeting of a series: cancelling or moving it, and telling every man who
holds a seat, in his language.

A cancelled meeting gets no reminders (only scheduled meetings are fanned out). Unless the
coordinator says it still counts, a meeting is added one week after the last, so the series
keeps its length. Either way the series' calendar file gets a higher ``SEQUENCE`` and every man
is offered the new file with the notice (a standing "Add to my calendar" button). A moved meeting's reminders whose new moment is still ahead are re-armed:
their run markers and reminder rows are removed so the next tick fans them out again, and the
outbox dedupe key carries the meeting's start, so the new reminder is not mistaken for the old.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.common.calendar import local_instant
from bot.config import Settings
from bot.delivery import outbox
from bot.store import meetings as meeting_store
from bot.store.schema import meetings, participants, reminders, schedule_runs, series, signups
from dialogs import buttons, notices
from dialogs.i18n import _, use_locale
from dialogs.types import STANDING, Option, Reply

log = logging.getLogger(__name__)


class MeetingChangeError(ValueError):
    """The change cannot be made; the message is one sentence for the coordinator, in the
    current gettext locale (the CLI speaks English, the console the coordinator's language);
    the two about a series or date that does not exist only the CLI can meet, in English."""


async def _find(connection: AsyncConnection, series_id: int, day: date, zone: str):
    row = (await connection.execute(select(series).where(series.c.id == series_id))).first()
    if row is None:
        raise MeetingChangeError(f"There is no series {series_id}.")  # the CLI only: the console names meetings it found
    meeting = await meeting_store.on_date(connection, series_id, day, zone)
    if meeting is None:
        raise MeetingChangeError(f"Series {series_id} has no scheduled meeting on {day.isoformat()}.")  # the CLI only
    return row, meeting


async def _tell_everyone(connection, series_id: int, now: datetime, key: str, render) -> int:
    men = await connection.execute(
        select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language)
        .join(signups, and_(signups.c.participant_id == participants.c.id, signups.c.series_id == series_id))
        .where(signups.c.status == "confirmed", participants.c.status == "active")
    )
    # The calendar file changed with the meeting: a higher SEQUENCE, and a new file offered.
    await connection.execute(
        update(series).where(series.c.id == series_id).values(calendar_sequence=series.c.calendar_sequence + 1)
    )
    told = 0
    for man in men:
        reply: Reply = render(man.language)
        with use_locale(man.language):
            calendar = Option(_("Add to my calendar"), buttons.CALENDAR.key(series_id))
        told += await outbox.enqueue(
            connection,
            channel=man.channel,
            address=man.address,
            message=Outgoing(reply.text, (calendar,), STANDING),
            kind="notice",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"{key}:{man.id}",
        )
    return told


async def cancel(
    connection: AsyncConnection,
    settings: Settings,
    series_id: int,
    day: date,
    reason: str | None,
    *,
    counts: bool,
    now: datetime,
) -> tuple[int, datetime | None]:
    """Cancel the meeting on ``day``; returns (men told, the meeting added at the end or None)."""
    row, meeting = await _find(connection, series_id, day, settings.timezone)
    if meeting.starts_at <= now:
        raise MeetingChangeError(_("That meeting has already begun; it can no longer be cancelled."))
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting.id).values(status="cancelled", note=reason)
    )
    added = None
    if not counts:
        last = (
            await connection.execute(
                select(func.max(meetings.c.number), func.max(meetings.c.starts_at)).where(
                    meetings.c.series_id == series_id
                )
            )
        ).one()
        last_local = last[1].astimezone(ZoneInfo(settings.timezone))
        added = local_instant(
            last_local.date() + timedelta(weeks=1), last_local.time().replace(tzinfo=None), settings.timezone
        )
        await connection.execute(
            meetings.insert().values(series_id=series_id, number=last[0] + 1, starts_at=added, status="scheduled")
        )
    told = await _tell_everyone(
        connection,
        series_id,
        now,
        f"cancel:{meeting.id}",
        lambda language: notices.meeting_cancelled(language, row.name, meeting.starts_at, reason, settings.timezone),
    )
    log.info("meetings: meeting %d cancelled; %d told", meeting.id, told)
    return told, added


async def move(
    connection: AsyncConnection,
    settings: Settings,
    series_id: int,
    day: date,
    to: datetime,
    *,
    now: datetime,
) -> int:
    """Move the meeting on ``day`` to ``to`` (aware); returns how many men were told."""
    row, meeting = await _find(connection, series_id, day, settings.timezone)
    if meeting.starts_at <= now:
        raise MeetingChangeError(_("That meeting has already begun; it can no longer be moved."))
    if to <= now:
        raise MeetingChangeError(_("The new time is in the past; choose a moment ahead."))
    await connection.execute(
        update(meetings).where(meetings.c.id == meeting.id).values(starts_at=to, note="moved")
    )
    rearm = [int(o.total_seconds() // 60) for o in settings.reminders if to - o > now]
    if rearm:
        for table in (schedule_runs, reminders):
            condition = [table.c.meeting_id == meeting.id, table.c.offset_minutes.in_(rearm)]
            if table is schedule_runs:
                condition.append(schedule_runs.c.kind == "reminder")
            await connection.execute(delete(table).where(*condition))
    told = await _tell_everyone(
        connection,
        series_id,
        now,
        f"move:{meeting.id}:{int(to.timestamp())}",
        lambda language: notices.meeting_moved(
            language, row.name, meeting.starts_at, to, row.location, settings.timezone
        ),
    )
    log.info("meetings: meeting %d moved; %d told", meeting.id, told)
    return told
