"""The morning after a meeting: offer each man of its series the anonymous check-in.

From 09:00 local time on the day after a meeting, and until that day ends, each confirmed,
active participant of the meeting's series gets ONE offer (``dialogs.checkin.offer``) — unless
he already checked in this ISO week (the keyed-hash marker), said "not now" today (his
conversation state keeps that date), or is answering a check-in right now. The run is recorded
in ``schedule_runs`` in the same transaction as the queued offers, so a restart never offers
twice; the outbox's dedupe key guards each man as well. A meeting whose day after passed while
the service was down is recorded as ``dropped`` and logged: an offer two days late no longer
reads as "the morning after".
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import checkins, locks
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import conversations, meetings, participants, schedule_runs, signups
from dialogs import checkin

log = logging.getLogger(__name__)

KIND = "checkin"
OFFER_AT = time(9, 0)  # local time, the day after the meeting
LOOK_BACK = timedelta(days=3)


def offer_window(starts_at: datetime, zone: str) -> tuple[datetime, datetime]:
    """From 09:00 on the local day after the meeting until that day's end (aware, local)."""
    tz = ZoneInfo(zone)
    day_after = starts_at.astimezone(tz).date() + timedelta(days=1)
    return (
        datetime.combine(day_after, OFFER_AT, tzinfo=tz),
        datetime.combine(day_after + timedelta(days=1), time(0, 0), tzinfo=tz),
    )


async def queue_checkin_offers(db: Database, settings: Settings, now: datetime) -> int:
    """Queue the offers that are due at ``now`` (UTC, aware); returns how many were queued."""
    if not settings.secret_key:
        raise ValueError("MEEDOEN_SECRET_KEY is needed to tell who checked in this week")
    secret = settings.secret_key.encode()
    queued = 0
    offered: set[int] = set()  # one offer per man, even after two meetings on one day
    async with db.transaction() as connection:
        await locks.job(connection, KIND)  # another instance's tick: wait, then see its runs
        done = select(schedule_runs.c.meeting_id).where(schedule_runs.c.kind == KIND)
        candidates = list(
            await connection.execute(
                select(meetings.c.id, meetings.c.series_id, meetings.c.starts_at).where(
                    meetings.c.status == "scheduled",
                    meetings.c.starts_at <= now,
                    meetings.c.starts_at > now - LOOK_BACK,
                    meetings.c.id.not_in(done),
                ).order_by(meetings.c.starts_at, meetings.c.id)
            )
        )
        for meeting in candidates:
            opens, closes = offer_window(meeting.starts_at, settings.timezone)
            if now < opens:
                continue
            if now >= closes:
                outcome = "dropped"
                log.warning("check-in offers: meeting %d: the day after has passed; none sent", meeting.id)
            else:
                outcome = "queued"
                queued += await _queue(connection, settings, secret, meeting, now, offered)
            await insert_or_ignore(
                connection,
                schedule_runs,
                {"kind": KIND, "meeting_id": meeting.id, "offset_minutes": 0, "outcome": outcome, "done_at": now},
            )
    return queued


class _Meeting(Protocol):
    """A meeting row as ``queue_checkin_offers`` selects it: the columns read from it."""

    @property
    def id(self) -> int: ...

    @property
    def series_id(self) -> int: ...

    @property
    def starts_at(self) -> datetime: ...


async def _queue(
    connection: AsyncConnection, settings: Settings, secret: bytes, meeting: _Meeting, now: datetime, offered: set[int]
) -> int:
    men = await connection.execute(
        select(
            participants.c.id,
            participants.c.channel,
            participants.c.address,
            participants.c.language,
            conversations.c.state,
        )
        .join(
            signups,
            and_(signups.c.participant_id == participants.c.id, signups.c.series_id == meeting.series_id),
        )
        .outerjoin(
            conversations,
            and_(
                conversations.c.channel == participants.c.channel,
                conversations.c.address == participants.c.address,
            ),
        )
        .where(signups.c.status == "confirmed", participants.c.status == "active")
        .order_by(participants.c.id)
    )
    week = checkins.iso_week(now)
    today = checkin.local_date(now, settings.timezone)
    queued = 0
    for man in list(men):
        if man.id in offered or not _may_offer(man.state, today):
            continue
        if await checkins.has_checked_in(connection, checkins.marker(secret, man.channel, man.address, week)):
            continue
        reply = checkin.offer(man.language)
        queued += await outbox.enqueue(
            connection,
            channel=man.channel,
            address=man.address,
            message=Outgoing(reply.text, reply.options, reply.question),
            kind="checkin",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"checkin:{meeting.id}:{man.id}",
        )
        offered.add(man.id)
    log.info("check-in offers: meeting %d: %d queued", meeting.id, queued)
    return queued


def _may_offer(encoded_state: str | None, today: str) -> bool:
    """Not after a "not now" today, and not while a check-in is under way."""
    if not encoded_state:
        return True
    state: dict[str, object] = json.loads(encoded_state)
    return state.get(checkin.LATER) != today and state.get("flow") != checkin.FLOW
