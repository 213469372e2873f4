"""Offer the listening poll (``dialogs.listening``) once to every man after he signed up.

On the day after his consent, between 10:00 and 20:00 local time, each active participant
with a sign-up (a seat or a place on a waiting list) whose ``listening_offered`` is still 0
gets ONE offer, unless he has answered already (the keyed marker, e.g. through /listen) or is
in the middle of a flow (a check-in, a form): he is then offered on a later run that day.
Like the check-in's "morning after", an offer that day missed (the service was down) is not
sent later: a week on, it would no longer read as a follow-up to his sign-up; /listen stays. The flag is set
in the same transaction as the queued offer, so a restart never offers twice; the outbox's
dedupe key guards each man as well. The flag goes with his row on /delete.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import listening, locks
from bot.store.database import Database
from bot.store.schema import conversations, participants, signups
from dialogs import listening as poll

log = logging.getLogger(__name__)

FROM, UNTIL = time(10, 0), time(20, 0)  # local time: no offer at night


async def queue_listening_offers(db: Database, settings: Settings, now: datetime) -> int:
    """Queue the offers due at ``now`` (UTC, aware); returns how many were queued."""
    if not settings.secret_key:
        return 0
    local = now.astimezone(ZoneInfo(settings.timezone))
    if not FROM <= local.time() < UNTIL:
        return 0
    today = datetime.combine(local.date(), time(0, 0), tzinfo=local.tzinfo)
    yesterday = datetime.combine(local.date() - timedelta(days=1), time(0, 0), tzinfo=local.tzinfo)
    secret = settings.secret_key.encode()
    p = participants.c
    queued = 0
    async with db.transaction() as connection:
        await locks.job(connection, "listening")  # another instance's tick: wait, then see its flags
        men = list(
            await connection.execute(
                select(p.id, p.channel, p.address, p.language, conversations.c.state)
                .outerjoin(conversations, (conversations.c.channel == p.channel) & (conversations.c.address == p.address))
                .where(
                    p.listening_offered == 0,
                    p.status == "active",
                    p.consented_at >= yesterday,
                    p.consented_at < today,
                    exists().where(signups.c.participant_id == p.id),
                )
                .order_by(p.id)
            )
        )
        for man in men:
            if man.state and json.loads(man.state).get("flow"):
                continue  # answering something else: a later run
            if not await listening.has_answered(connection, listening.marker(secret, man.channel, man.address)):
                reply = poll.offer(man.language)
                queued += await outbox.enqueue(
                    connection,
                    channel=man.channel,
                    address=man.address,
                    message=Outgoing(reply.text, reply.options, reply.question),
                    kind="listening",
                    priority=outbox.BULK,
                    now=now,
                    dedupe_key=f"listening:{man.id}",
                )
            await connection.execute(update(participants).where(p.id == man.id).values(listening_offered=1))
    if queued:
        log.info("listening offers: %d queued", queued)
    return queued
