"""The facilitator's form after a meeting: sent the morning after, reminded once.

From 09:00 local time on the day after a meeting (the same window as the check-in offers,
``scheduler.checkin_offers.offer_window``), each facilitator of its series gets the form's
first message (``dialogs.meeting_report.offer``) in his language. When the meeting still has
no form ``REMIND_AFTER`` later, he gets one reminder, and never another. Each sending is
claimed with a row in ``report_requests`` (meeting, his chat, "form" or "reminder": the
primary key) in the same transaction as the queued message, so a restart or a second
process never sends twice. A form not sent within ``SEND_FOR`` of its morning (the service
was down) is not sent: two days late it no longer reads as "the morning after".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import facilitators as facilitator_store
from bot.store import locks
from bot.store.database import Database
from bot.store.schema import facilitators, meeting_reports, meetings, participants, report_requests, series
from dialogs import meeting_report
from dialogs.types import Reply
from scheduler.checkin_offers import offer_window

log = logging.getLogger(__name__)

SEND_FOR = timedelta(days=2)
REMIND_AFTER = timedelta(days=2)
LOOK_BACK = timedelta(days=4)  # a meeting older than this gets no form any more


async def queue_forms(db: Database, settings: Settings, now: datetime) -> int:
    """Queue the forms and reminders due at ``now`` (UTC, aware); returns how many."""
    async with db.transaction() as connection:
        await locks.job(connection, "forms")  # another instance's tick: wait, then see its claims
        queued = await _forms(connection, settings, now)
        queued += await _reminders(connection, settings, now)
    return queued


def _due_rows(now: datetime) -> Select[Any]:
    """Each facilitator of each recent meeting that has no form yet, with his language."""
    return (
        select(
            meetings.c.id,
            meetings.c.starts_at,
            series.c.name,
            facilitators.c.channel,
            facilitators.c.address,
            participants.c.language,
        )
        .join(series, series.c.id == meetings.c.series_id)
        .join(facilitators, facilitators.c.series_id == meetings.c.series_id)
        .outerjoin(
            participants,
            and_(participants.c.channel == facilitators.c.channel, participants.c.address == facilitators.c.address),
        )
        .outerjoin(meeting_reports, meeting_reports.c.meeting_id == meetings.c.id)
        .where(
            meetings.c.status == "scheduled",
            meetings.c.starts_at <= now,
            meetings.c.starts_at > now - LOOK_BACK,
            meeting_reports.c.meeting_id.is_(None),
        )
        .order_by(meetings.c.starts_at, facilitators.c.channel, facilitators.c.address)
    )


async def _forms(connection: AsyncConnection, settings: Settings, now: datetime) -> int:
    queued = 0
    for row in list(await connection.execute(_due_rows(now))):
        opens, _closes = offer_window(row.starts_at, settings.timezone)
        if not opens <= now < opens + SEND_FOR:
            continue
        if not await facilitator_store.claim_request(connection, row.id, row.channel, row.address, "form", now):
            continue
        reply = meeting_report.offer(row.language or "nl", row.id, row.name, row.starts_at, settings.timezone)
        queued += await _queue(connection, row, reply, "form", now)
    return queued


async def _reminders(connection: AsyncConnection, settings: Settings, now: datetime) -> int:
    sent = select(report_requests.c.meeting_id, report_requests.c.channel, report_requests.c.address).where(
        report_requests.c.kind == "form", report_requests.c.sent_at <= now - REMIND_AFTER
    )
    asked = {tuple(row) for row in await connection.execute(sent)}
    if not asked:
        return 0
    queued = 0
    for row in list(await connection.execute(_due_rows(now))):
        if (row.id, row.channel, row.address) not in asked:
            continue
        if not await facilitator_store.claim_request(connection, row.id, row.channel, row.address, "reminder", now):
            continue
        reply = meeting_report.reminder(row.language or "nl", row.id, row.name, row.starts_at, settings.timezone)
        queued += await _queue(connection, row, reply, "reminder", now)
    return queued


async def _queue(connection: AsyncConnection, row: Row[Any], reply: Reply, kind: str, now: datetime) -> int:
    done = await outbox.enqueue(
        connection,
        channel=row.channel,
        address=row.address,
        message=Outgoing(reply.text, reply.options, reply.question),
        kind="form",
        priority=outbox.BULK,
        now=now,
        dedupe_key=f"form:{kind}:{row.id}:{row.channel}:{row.address}",
    )
    log.info("facilitator forms: meeting %d: %s queued", row.id, kind)
    return int(done)
