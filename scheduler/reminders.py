"""Reminders before each meeting, at the offsets of ``MEEDOEN_REMINDERS``.

A reminder is due at ``meeting start - offset``. Each tick asks the database (an indexed range
query on ``meetings.starts_at``) which (meeting, offset) pairs are due and have no
``schedule_runs`` row yet, and fans each out in ONE transaction: the run row, one
``reminders`` row per man (unique on participant, meeting, offset) and one outbox message
per man (unique dedupe key). A crash before the commit leaves nothing, so the next tick
does it all; after the commit it is done and never done again. The run row is inserted first
(``ON CONFLICT DO NOTHING``): another instance fanning out the same pair at the same moment
waits for that row's commit and then leaves the pair alone. Delivery itself is the
outbox's business (see ``bot.delivery.outbox``). A series' recorded reminder in his language (``/voice``,
issue 19) follows his text as a second outbox row of kind ``voice``.

After downtime: a pair whose meeting has not begun is fanned out late (better late than
never); one whose meeting has begun is dropped, and logged.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import voice as voice_store
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import meetings, participants, reminders, schedule_runs, series, signups
from dialogs import notices

log = logging.getLogger(__name__)

KIND = "reminder"
SECOND_MEETING = 2  # its reminder also has "Invite a friend" (issue 16)
LOOK_BACK = timedelta(days=2)  # meetings that began within this are checked for dropped runs


class _Meeting(Protocol):
    """A meeting row as ``_due_pairs`` selects it: the columns read from it."""

    @property
    def id(self) -> int: ...

    @property
    def series_id(self) -> int: ...

    @property
    def number(self) -> int: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def name(self) -> str: ...

    @property
    def location(self) -> str: ...


def _minutes(offset: timedelta) -> int:
    return int(offset.total_seconds() // 60)


async def _due_pairs(
    connection: AsyncConnection, settings: Settings, now: datetime
) -> list[tuple[_Meeting, timedelta]]:
    """(meeting row, offset) pairs whose moment has come and that have not run yet."""
    if not settings.reminders:
        return []
    longest = max(settings.reminders)
    offsets = sorted({_minutes(offset) for offset in settings.reminders})
    # Only meetings with a run still to do: most in the window (those of the last two days)
    # have had all theirs, and leaving them to SQL keeps the tick's query small.
    runs_done = (
        select(func.count())
        .select_from(schedule_runs)
        .where(
            schedule_runs.c.kind == KIND,
            schedule_runs.c.meeting_id == meetings.c.id,
            schedule_runs.c.offset_minutes.in_(offsets),
        )
        .scalar_subquery()
    )
    rows = await connection.execute(
        select(
            meetings.c.id, meetings.c.series_id, meetings.c.number, meetings.c.starts_at, series.c.name, series.c.location
        )
        .join(series, series.c.id == meetings.c.series_id)
        .where(
            meetings.c.status == "scheduled",
            meetings.c.starts_at > now - LOOK_BACK,
            meetings.c.starts_at <= now + longest,
            runs_done < len(offsets),
        )
        .order_by(meetings.c.starts_at)
    )
    meeting_rows = list(rows)
    if not meeting_rows:
        return []
    done = set(
        await connection.execute(
            select(schedule_runs.c.meeting_id, schedule_runs.c.offset_minutes).where(
                schedule_runs.c.kind == KIND,
                schedule_runs.c.meeting_id.in_([m.id for m in meeting_rows]),
            )
        )
    )
    return [
        (meeting, offset)
        for meeting in meeting_rows
        for offset in settings.reminders
        if meeting.starts_at - offset <= now and (meeting.id, _minutes(offset)) not in done
    ]


async def queue_due_reminders(db: Database, settings: Settings, now: datetime) -> int:
    """Fan out every due reminder; returns how many messages were queued."""
    queued = 0
    async with db.transaction() as connection:
        pairs = await _due_pairs(connection, settings, now)
    for meeting, offset in pairs:
        try:
            async with db.transaction() as connection:
                queued += await _fan_out(connection, settings, meeting, offset, now)
        except _AlreadyDone:
            continue
    return queued


async def _fan_out(
    connection: AsyncConnection, settings: Settings, meeting: _Meeting, offset: timedelta, now: datetime
) -> int:
    minutes = _minutes(offset)
    dropped = meeting.starts_at <= now
    # Claimed first: another instance fanning out the same pair waits here for our commit,
    # then finds the row and does nothing (nor logs anything).
    claimed = await insert_or_ignore(
        connection,
        schedule_runs,
        {
            "kind": KIND, "meeting_id": meeting.id, "offset_minutes": minutes,
            "outcome": "dropped" if dropped else "queued", "done_at": now,
        },
    )
    if not claimed:
        raise _AlreadyDone()
    if dropped:
        queued = 0
        missed = await _signed_up(connection, meeting.series_id)
        if missed:  # a meeting nobody signed up for (a fresh series) loses nothing worth a warning
            log.warning(
                "reminders: meeting %d began before its %d-minute reminder could go out; dropped for %d participant(s)",
                meeting.id, minutes, missed,
            )
    else:
        queued = await _queue(connection, settings, meeting, minutes, now)
    if queued:
        log.info("reminders: meeting %d, %d minutes before: %d queued", meeting.id, minutes, queued)
    return queued


async def _signed_up(connection: AsyncConnection, series_id: int) -> int:
    """How many men a reminder of this series would go to."""
    result = await connection.execute(
        select(func.count())
        .select_from(signups.join(participants, participants.c.id == signups.c.participant_id))
        .where(signups.c.series_id == series_id, signups.c.status == "confirmed", participants.c.status == "active")
    )
    return result.scalar_one()  # a count always has its one row


class _AlreadyDone(Exception):
    pass


async def _queue(
    connection: AsyncConnection, settings: Settings, meeting: _Meeting, minutes: int, now: datetime
) -> int:
    """The ``reminders`` rows and outbox messages for every man signed up, two statements
    in all (a man already reminded for this meeting and offset is left out); the text is
    rendered once per language."""
    men = list(
        await connection.execute(
            select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language)
            .join(signups, and_(signups.c.participant_id == participants.c.id, signups.c.series_id == meeting.series_id))
            .where(signups.c.status == "confirmed", participants.c.status == "active")
            .order_by(participants.c.id)
        )
    )
    reminded = set(
        await connection.scalars(
            select(reminders.c.participant_id).where(
                reminders.c.meeting_id == meeting.id, reminders.c.offset_minutes == minutes
            )
        )
    )
    men = [man for man in men if man.id not in reminded]
    if not men:
        return 0
    due_at = meeting.starts_at - timedelta(minutes=minutes)
    await insert_or_ignore(
        connection,
        reminders,
        [
            {"participant_id": man.id, "meeting_id": meeting.id, "offset_minutes": minutes, "state": "queued", "due_at": due_at}
            for man in men
        ],
    )
    payloads: dict[str, str] = {}
    for man in men:
        if man.language not in payloads:
            reply = notices.reminder(
                man.language, meeting.id, meeting.name, meeting.starts_at, meeting.location, settings.timezone,
                friend_series=meeting.series_id if meeting.number == SECOND_MEETING else None,
            )
            payloads[man.language] = outbox.encode(Outgoing(reply.text, reply.options, reply.question))
    voices = await voice_store.reminder_voices(connection, meeting.series_id)
    rows = []
    for man in men:
        # the start is part of the key: a moved meeting's re-armed reminder is a new message
        key = f"reminder:{meeting.id}:{man.id}:{minutes}:{int(meeting.starts_at.timestamp())}"
        row = outbox.new_row(
            channel=man.channel,
            address=man.address,
            payload=payloads[man.language],
            kind="reminder",
            priority=outbox.BULK,
            now=now,
            dedupe_key=key,
            ref=f"meeting:{meeting.id}",
        )
        rows.append(row)
        if man.language in voices:
            voice = outbox.encode(Outgoing("", voice=voices[man.language]))
            rows.append({**row, "payload": voice, "kind": "voice", "dedupe_key": f"{key}:voice"})
    await outbox.enqueue_many(connection, rows)
    return len(men)


async def next_due(db: Database, settings: Settings, now: datetime) -> datetime | None:
    """The next instant a reminder falls due (for an exact timer), or None."""
    async with db.transaction() as connection:
        rows = await connection.execute(
            select(meetings.c.id, meetings.c.starts_at)
            .where(meetings.c.status == "scheduled", meetings.c.starts_at > now)
            .order_by(meetings.c.starts_at)
            .limit(50)
        )
        upcoming = list(rows)
        done = set(
            await connection.execute(
                select(schedule_runs.c.meeting_id, schedule_runs.c.offset_minutes).where(
                    schedule_runs.c.kind == KIND, schedule_runs.c.meeting_id.in_([m.id for m in upcoming])
                )
            )
        )
    moments = [
        m.starts_at - offset
        for m in upcoming
        for offset in settings.reminders
        if (m.id, _minutes(offset)) not in done and m.starts_at - offset > now
    ]
    return min(moments, default=None)
