"""Which instances are alive, for the outbox: one lease row per running ``meedoen run``.

Every outbox row in hand (``claimed`` or ``sending``) names its owner. An instance renews its
lease every few seconds (``bot.delivery.instance``); rows of an owner whose lease has expired
(or that has no lease any more) are recovered by whoever sweeps: ``sending`` ones become
``uncertain``, ``claimed`` ones go back to ``pending``. A live instance's rows are never
touched by another. Leases are compared on the instances' clocks, which must agree within a
small fraction of ``LEASE`` (NTP does far better).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.store.portable import upsert
from bot.store.schema import outbox, outbox_owners


async def renew(connection: AsyncConnection, owner: str, expires_at: datetime) -> None:
    await upsert(connection, outbox_owners, {"owner": owner}, {"expires_at": expires_at})


async def remove(connection: AsyncConnection, owner: str) -> None:
    await connection.execute(delete(outbox_owners).where(outbox_owners.c.owner == owner))


def dead_owner(me: str, now: datetime, *, only_me_alive: bool) -> ColumnElement[bool]:
    """An outbox row whose owner is gone: not ``me``, and without a lease that still runs
    at ``now``. ``only_me_alive`` (SQLite, one instance per database): every other owner is
    gone, whatever its lease says — it is the previous run of this very service."""
    if only_me_alive:
        return or_(outbox.c.owner.is_(None), outbox.c.owner != me)
    live = select(outbox_owners.c.owner).where(outbox_owners.c.expires_at >= now)
    return or_(outbox.c.owner.is_(None), and_(outbox.c.owner != me, outbox.c.owner.not_in(live)))


async def forget_expired(connection: AsyncConnection, now: datetime) -> None:
    """Drop the leases that ran out (their rows have been recovered in this transaction)."""
    await connection.execute(delete(outbox_owners).where(outbox_owners.c.expires_at < now))
