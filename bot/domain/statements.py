"""Statements before and after a series (issue 17 §1): who is offered the poll, what a
"st:go" button opens, and storing a finished poll (``bot.store.statements``).

A series' answers are accepted until ``CLOSE_AFTER`` after its last meeting began; from then
on its figures are final and the report may show them (``bot.analytics.statements``), so
two reports never differ by one late answer.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.delivery import outbox
from bot.store import coordinators, participants
from bot.store import statements as store
from bot.store.schema import meetings, series, signups
from bot.store.schema import participants as participant_rows
from dialogs import statements as dialog
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import STANDING, ChoiceMade, OfferStatements, RecordStatements, StatementPoll

log = logging.getLogger(__name__)

CLOSE_AFTER = store.CLOSE_AFTER


async def closes_at(connection: AsyncConnection, series_id: int) -> datetime | None:
    """When the series' answers stop being accepted: CLOSE_AFTER after its last meeting."""
    last = await connection.scalar(
        select(func.max(meetings.c.starts_at)).where(
            meetings.c.series_id == series_id, meetings.c.status == "scheduled"
        )
    )
    return last + CLOSE_AFTER if last is not None else None


def _secret(settings: Settings) -> bytes:
    if not settings.secret_key:
        raise ValueError("MEEDOEN_SECRET_KEY is needed to tell who answered the statements")
    return settings.secret_key.encode()


async def _has_seat(connection: AsyncConnection, channel: str, address: str, series_id: int) -> bool:
    found = await connection.scalar(
        select(signups.c.id)
        .join(participant_rows, participant_rows.c.id == signups.c.participant_id)
        .where(
            participant_rows.c.channel == channel,
            participant_rows.c.address == address,
            signups.c.series_id == series_id,
            signups.c.status == "confirmed",
        )
    )
    return found is not None


async def poll_for(connection: AsyncConnection, settings: Settings, channel: str, address: str, event, now: datetime) -> StatementPoll | None:
    """The poll a "st:go:SERIES:PHASE" button opens for him, or None for any other event."""
    if not (isinstance(event, ChoiceMade) and event.question == STANDING and event.key.startswith("st:go:")):
        return None
    try:
        _st, _go, series_text, phase = event.key.split(":")
        series_id = int(series_text)
    except ValueError:
        return None
    if phase not in store.PHASES:
        return None
    language = await participants.language_of(connection, channel, address) or "nl"
    added = await store.added(connection)
    items = tuple(
        (number, None if number in store.SHIPPED else added[number][language])
        for number in await store.of_series(connection, series_id)
        if number in store.SHIPPED or number in added
    )
    closes = await closes_at(connection, series_id)
    if not items or closes is None or now >= closes or not await _has_seat(connection, channel, address, series_id):
        status = "closed"
    elif await store.has_answered(connection, store.marker(_secret(settings), channel, address, series_id, phase)):
        status = "answered"
    else:
        status = "open"
    return StatementPoll(series_id, phase, items, status)


async def record(connection: AsyncConnection, settings: Settings, channel: str, address: str, effect: RecordStatements, now: datetime) -> None:
    """Store a finished poll with nothing that names him; once per man and phase, and only
    while the series is open and he has a seat in it."""
    closes = await closes_at(connection, effect.series_id)
    if closes is None or now >= closes or effect.phase not in store.PHASES:
        return
    if not await _has_seat(connection, channel, address, effect.series_id):
        return
    phase_marker = store.marker(_secret(settings), channel, address, effect.series_id, effect.phase)
    await store.record(connection, phase_marker, effect.series_id, effect.phase, dict(effect.answers), now)


async def offer(connection: AsyncConnection, settings: Settings, series_id: int, phase: str, now: datetime, *, dedupe: str) -> int:
    """Queue the offer to every active man with a seat in the series who has not answered
    this phase; returns how many were queued. ``dedupe`` makes each man's offer unique per
    occasion (a meeting, or a coordinator's request)."""
    name = await connection.scalar(select(series.c.name).where(series.c.id == series_id))
    if name is None:
        return 0
    secret = _secret(settings)
    men = await connection.execute(
        select(participant_rows.c.id, participant_rows.c.channel, participant_rows.c.address, participant_rows.c.language)
        .join(signups, and_(signups.c.participant_id == participant_rows.c.id, signups.c.series_id == series_id))
        .where(signups.c.status == "confirmed", participant_rows.c.status == "active")
        .order_by(participant_rows.c.id)
    )
    queued = 0
    for man in list(men):
        if await store.has_answered(connection, store.marker(secret, man.channel, man.address, series_id, phase)):
            continue
        reply = dialog.offer(man.language, series_id, phase, name)
        queued += await outbox.enqueue(
            connection,
            channel=man.channel,
            address=man.address,
            message=Outgoing(reply.text, reply.options, reply.question),
            kind="statements",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"statements:{dedupe}:{man.id}",
        )
    log.info("statements: series %d, %s: %d offers queued", series_id, phase, queued)
    return queued


async def offer_on_demand(connection: AsyncConnection, settings: Settings, channel: str, address: str, effect: OfferStatements, now: datetime) -> None:
    """A coordinator's ``/statements``: checked again here, then the offers, then a word back
    to him saying how many went out (or that the series is over)."""
    if not await coordinators.is_coordinator(connection, channel, address):
        log.warning("statements: an offer from a non-coordinator %s chat refused", channel)
        return
    closes = await closes_at(connection, effect.series_id)
    language = await participants.language_of(connection, channel, address) or "nl"
    with use_locale(language):
        if closes is None or now >= closes or effect.phase not in store.PHASES:
            text = _("This conversation group is over: its statements can no longer be answered.")
        else:
            count = await offer(
                connection, settings, effect.series_id, effect.phase, now, dedupe=f"ask:{now.isoformat()}"
            )
            text = fill(_("The statements were offered to %(count)s men."), count=count)
    await outbox.enqueue(
        connection, channel=channel, address=address, message=Outgoing(directed(text)),
        kind="reply", priority=outbox.REPLY, now=now,
    )
