"""The waiting list: when a seat frees up, the first man waiting is offered it.

An offer holds the seat for ``OFFER_FOR`` (the seat counts as taken meanwhile). He accepts
(the seat is his), declines (he leaves the list; the next is offered), or lets it expire (he
goes to the end of the list; the next is offered). Offers go out through the outbox, in his
language, with standing buttons that stay valid until the deadline.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.delivery import outbox
from bot.store import locks
from bot.store import series as series_store
from bot.store.schema import participants, series, signups, waitlist_offers
from dialogs import notices

log = logging.getLogger(__name__)

OFFER_FOR = timedelta(hours=24)


async def offer_next(connection: AsyncConnection, series_id: int, now: datetime, zone: str) -> int:
    """Offer each free seat to the next man waiting who has no open offer; returns how many.
    Two transactions (turns of two men, a tick) offering the same series' seats at once would
    each see the seat free: the second waits for the first (``bot.store.locks.seats``)."""
    await locks.seats(connection, series_id)
    offered = 0
    while await series_store.free_seats(connection, series_id) > 0:
        candidate = (
            await connection.execute(
                select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language, series.c.name)
                .join(signups, signups.c.participant_id == participants.c.id)
                .join(series, series.c.id == signups.c.series_id)
                .where(
                    signups.c.series_id == series_id,
                    signups.c.status == "waitlist",
                    participants.c.status == "active",
                    ~participants.c.id.in_(
                        select(waitlist_offers.c.participant_id).where(
                            waitlist_offers.c.series_id == series_id, waitlist_offers.c.status == "open"
                        )
                    ),
                )
                .order_by(signups.c.id)
                .limit(1)
            )
        ).first()
        if candidate is None:
            break
        expires = now + OFFER_FOR
        result = await connection.execute(
            waitlist_offers.insert().values(
                series_id=series_id, participant_id=candidate.id, status="open", offered_at=now, expires_at=expires
            )
        )
        offer_id = result.inserted_primary_key[0]
        reply = notices.waitlist_offer(candidate.language, offer_id, candidate.name, expires, zone)
        await outbox.enqueue(
            connection,
            channel=candidate.channel,
            address=candidate.address,
            message=Outgoing(reply.text, reply.options, reply.question),
            kind="offer",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"offer:{offer_id}",
        )
        log.info("waitlist: series %d: seat offered (offer %d)", series_id, offer_id)
        offered += 1
    return offered


async def answer(
    connection: AsyncConnection, offer_id: int, participant_id: int, accept: bool, now: datetime, zone: str
) -> None:
    offer = (
        await connection.execute(
            select(waitlist_offers).where(
                waitlist_offers.c.id == offer_id,
                waitlist_offers.c.participant_id == participant_id,
                waitlist_offers.c.status == "open",
                waitlist_offers.c.expires_at > now,
            )
        )
    ).first()
    if offer is None:
        return
    await connection.execute(
        update(waitlist_offers).where(waitlist_offers.c.id == offer_id).values(status="accepted" if accept else "declined")
    )
    mine = and_(signups.c.series_id == offer.series_id, signups.c.participant_id == participant_id)
    if accept:
        await connection.execute(update(signups).where(mine).values(status="confirmed"))
    else:
        await connection.execute(delete(signups).where(mine, signups.c.status == "waitlist"))
        await offer_next(connection, offer.series_id, now, zone)


async def expire(connection: AsyncConnection, now: datetime, zone: str) -> int:
    """Lapsed offers: the man goes to the end of the list and the seat is offered on. Another
    instance's tick at the same moment waits, then finds them expired already."""
    await locks.job(connection, "waitlist-expiry")
    lapsed = list(
        await connection.execute(
            select(waitlist_offers).where(waitlist_offers.c.status == "open", waitlist_offers.c.expires_at <= now)
        )
    )
    for offer in lapsed:
        await connection.execute(update(waitlist_offers).where(waitlist_offers.c.id == offer.id).values(status="expired"))
        mine = and_(signups.c.series_id == offer.series_id, signups.c.participant_id == offer.participant_id, signups.c.status == "waitlist")
        if await connection.scalar(select(func.count()).where(mine)):
            await connection.execute(delete(signups).where(mine))
            await connection.execute(
                signups.insert().values(series_id=offer.series_id, participant_id=offer.participant_id, status="waitlist", created_at=now)
            )
    for series_id in sorted({offer.series_id for offer in lapsed}):
        await offer_next(connection, series_id, now, zone)
    return len(lapsed)


async def open_offers(connection: AsyncConnection, participant_id: int, now: datetime):
    return list(
        await connection.execute(
            select(waitlist_offers.c.id, waitlist_offers.c.series_id, series.c.name, waitlist_offers.c.expires_at)
            .join(series, series.c.id == waitlist_offers.c.series_id)
            .where(
                waitlist_offers.c.participant_id == participant_id,
                waitlist_offers.c.status == "open",
                waitlist_offers.c.expires_at > now,
            )
        )
    )
