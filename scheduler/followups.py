"""The day after a meeting, one kind "we missed you" to each man who held a seat, was not
ticked present by the coordinator, and had not said he couldn't come. Only for meetings whose
attendance was taken: without it we don't know who was missing, and say nothing."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import locks
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import attendance, meetings, participants, rsvps, schedule_runs, series, signups
from dialogs import notices

log = logging.getLogger(__name__)

KIND = "missed"
SEND_AT = time(10, 0)  # local time, the day after the meeting
WINDOW = timedelta(days=3)  # not later than this after the meeting


class _Meeting(Protocol):
    """A meeting row as ``queue_missed_you`` selects it: the columns read from it."""

    @property
    def id(self) -> int: ...

    @property
    def series_id(self) -> int: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def name(self) -> str: ...


def due_from(starts_at: datetime, zone: str) -> datetime:
    local_day = starts_at.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    return datetime.combine(local_day, SEND_AT, tzinfo=ZoneInfo(zone))


async def queue_missed_you(db: Database, settings: Settings, now: datetime) -> int:
    queued = 0
    async with db.transaction() as connection:
        await locks.job(connection, KIND)  # another instance's tick: wait, then see its runs
        candidates = list(
            await connection.execute(
                select(meetings.c.id, meetings.c.series_id, meetings.c.starts_at, series.c.name)
                .join(series, series.c.id == meetings.c.series_id)
                .where(
                    meetings.c.status == "scheduled",
                    meetings.c.starts_at <= now,
                    meetings.c.starts_at > now - WINDOW,
                    meetings.c.id.in_(select(attendance.c.meeting_id)),
                    ~meetings.c.id.in_(select(schedule_runs.c.meeting_id).where(schedule_runs.c.kind == KIND)),
                )
            )
        )
        for meeting in candidates:
            if due_from(meeting.starts_at, settings.timezone) > now:
                continue
            queued += await _queue(connection, settings, meeting, now)
            await insert_or_ignore(
                connection,
                schedule_runs,
                {"kind": KIND, "meeting_id": meeting.id, "offset_minutes": 0, "outcome": "queued", "done_at": now},
            )
    return queued


async def _queue(connection: AsyncConnection, settings: Settings, meeting: _Meeting, now: datetime) -> int:
    absent = await connection.execute(
        select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language)
        .join(signups, and_(signups.c.participant_id == participants.c.id, signups.c.series_id == meeting.series_id))
        .outerjoin(attendance, and_(attendance.c.participant_id == participants.c.id, attendance.c.meeting_id == meeting.id))
        .outerjoin(rsvps, and_(rsvps.c.participant_id == participants.c.id, rsvps.c.meeting_id == meeting.id))
        .where(
            signups.c.status == "confirmed",
            (attendance.c.present.is_(None)) | (attendance.c.present == 0),
            participants.c.status == "active",
            (rsvps.c.answer.is_(None)) | (rsvps.c.answer != "not_coming"),
        )
    )
    next_meeting = await connection.scalar(
        select(meetings.c.starts_at)
        .where(meetings.c.series_id == meeting.series_id, meetings.c.status == "scheduled", meetings.c.starts_at > now)
        .order_by(meetings.c.starts_at)
        .limit(1)
    )
    queued = 0
    for man in absent:
        reply = notices.missed_you(man.language, meeting.name, next_meeting, settings.timezone)
        queued += await outbox.enqueue(
            connection,
            channel=man.channel,
            address=man.address,
            message=Outgoing(reply.text),
            kind="followup",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"missed:{meeting.id}:{man.id}",
        )
    log.info("followups: meeting %d: %d 'we missed you' queued", meeting.id, queued)
    return queued
