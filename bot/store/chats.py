"""What the engine reads about one chat at the start of every turn, in a single query.

Six lookups that each cost a statement (two thread hops through aiosqlite) become one row:
the participant (if any), the conversation state, whether the chat is a coordinator's or a
facilitator's, whether he checked in this week, and the series catalog's version; plus whether he has any
sign-ups or open offers at all, so that the queries for those are skipped when he has none
(everyone who is still signing up). The statement is built once, not per turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import conversations as conversation_states
from bot.store.schema import (
    checkin_markers,
    conversations,
    coordinators,
    facilitators,
    participants,
    series_catalog,
    signups,
    waitlist_offers,
)
from dialogs.types import State


@dataclass(frozen=True)
class ChatAtStart:
    participant: Row | None  # has the columns of ``participants``
    state: State
    encoded_state: str | None  # as stored, to tell an unchanged state (no write needed)
    is_coordinator: bool
    checked_in_this_week: bool
    catalog_version: int
    has_signups: bool
    has_offers: bool  # open, not yet expired
    is_facilitator: bool = False  # of at least one series


def _statement():
    channel, address = bindparam("channel"), bindparam("address")
    now = bindparam("now", type_=waitlist_offers.c.expires_at.type)
    has_signups = exists().where(signups.c.participant_id == participants.c.id)
    has_offers = exists().where(
        waitlist_offers.c.participant_id == participants.c.id,
        waitlist_offers.c.status == "open",
        waitlist_offers.c.expires_at > now,
    )
    is_facilitator = exists().where(facilitators.c.channel == channel, facilitators.c.address == address)
    # series_catalog has exactly one row: every other table hangs off it by an outer join,
    # so the answer is one row whether or not he is known anywhere.
    return (
        select(
            participants,
            conversations.c.state.label("conversation_state"),
            coordinators.c.address.label("coordinator"),
            checkin_markers.c.marker.label("checkin_marker"),
            series_catalog.c.version.label("catalog_version"),
            has_signups.label("has_signups"),
            has_offers.label("has_offers"),
            is_facilitator.label("is_facilitator"),
        )
        .select_from(series_catalog)
        .outerjoin(participants, and_(participants.c.channel == channel, participants.c.address == address))
        .outerjoin(conversations, and_(conversations.c.channel == channel, conversations.c.address == address))
        .outerjoin(coordinators, and_(coordinators.c.channel == channel, coordinators.c.address == address))
        .outerjoin(checkin_markers, checkin_markers.c.marker == bindparam("marker"))
    )


_AT_START = _statement()


async def at_start(
    connection: AsyncConnection, channel: str, address: str, checkin_marker: str, now: datetime
) -> ChatAtStart:
    row = (
        await connection.execute(
            _AT_START, {"channel": channel, "address": address, "marker": checkin_marker, "now": now}
        )
    ).one()
    encoded = row.conversation_state
    return ChatAtStart(
        participant=row if row.id is not None else None,
        state=conversation_states.decode(encoded),
        encoded_state=encoded,
        is_coordinator=row.coordinator is not None,
        checked_in_this_week=row.checkin_marker is not None,
        catalog_version=row.catalog_version,
        has_signups=bool(row.has_signups),
        has_offers=bool(row.has_offers),
        is_facilitator=bool(row.is_facilitator),
    )
