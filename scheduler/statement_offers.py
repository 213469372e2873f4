"""At a series' first and at its last meeting: offer each man with a seat the statements
(``bot.domain.statements``), "before" at the first, "after" at the last.

From the moment the meeting starts (``LOOK_BACK`` at most): the run is claimed in
``schedule_runs`` (kind "statements", unique per meeting) in the same transaction as the
queued offers, so a restart never offers twice; the outbox's dedupe key guards each man too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.config import Settings
from bot.domain import statements
from bot.store import locks
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import meetings, schedule_runs

log = logging.getLogger(__name__)

KIND = "statements"
LOOK_BACK = timedelta(days=2)


async def queue_statement_offers(db: Database, settings: Settings, now: datetime) -> int:
    """Queue the offers due at ``now`` (UTC, aware); returns how many were queued."""
    queued = 0
    async with db.transaction() as connection:
        await locks.job(connection, KIND)  # another instance's tick: wait, then see its runs
        done = select(schedule_runs.c.meeting_id).where(schedule_runs.c.kind == KIND)
        bounds = (
            select(
                meetings.c.series_id,
                func.min(meetings.c.number).label("first"),
                func.max(meetings.c.number).label("last"),
            )
            .where(meetings.c.status == "scheduled")
            .group_by(meetings.c.series_id)
            .subquery()
        )
        due = list(
            await connection.execute(
                select(meetings.c.id, meetings.c.series_id, meetings.c.number, bounds.c.first, bounds.c.last)
                .join(bounds, bounds.c.series_id == meetings.c.series_id)
                .where(
                    meetings.c.status == "scheduled",
                    meetings.c.starts_at <= now,
                    meetings.c.starts_at > now - LOOK_BACK,
                    meetings.c.number.in_([bounds.c.first, bounds.c.last]),
                    meetings.c.id.not_in(done),
                )
            )
        )
        for meeting in due:
            claimed = await insert_or_ignore(
                connection,
                schedule_runs,
                {"kind": KIND, "meeting_id": meeting.id, "offset_minutes": 0, "outcome": "queued", "done_at": now},
            )
            if not claimed:
                continue
            phase = "before" if meeting.number == meeting.first else "after"
            queued += await statements.offer(
                connection, settings, meeting.series_id, phase, now, dedupe=f"m{meeting.id}"
            )
    return queued
