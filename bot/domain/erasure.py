"""/delete, for real, and again after a restore.

``erase`` removes every row that names a man (``bot.store.participants.erase``), offers the
seats he freed to the waiting list, and writes his keyed address hash into the erasure
ledger, all in the caller's transaction. A backup taken before that still holds him; when it
is restored, ``reapply`` reads the ledger and erases him from it again, unless the backup
holds a sign-up he made anew on a later day than his erasure. Once that transaction has
committed, ``reclaim`` makes the deleted rows leave the database's files on PostgreSQL too
(SQLite zeroes them itself).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import cache

from sqlalchemy import Table, exists, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.domain import invites, listening, waitlist
from bot.store import checkins, erasures, inbound
from bot.store import participants as participant_store
from bot.store import statements as statement_store
from bot.store.database import Database
from bot.store.schema import (
    conversations,
    facilitators,
    invite_counts,
    living_room_proposals,
    metadata,
    outbox,
    participants,
    signups,
)

log = logging.getLogger(__name__)


class LedgerNeedsKey(Exception):
    """The ledger cannot be read without MEEDOEN_SECRET_KEY."""


def _secret(settings: Settings) -> bytes:
    if not settings.secret_key:
        raise LedgerNeedsKey()
    return settings.secret_key.encode()


async def erase(connection: AsyncConnection, settings: Settings, channel: str, address: str, now: datetime) -> None:
    """His /delete: everything that names him goes, and the ledger remembers it."""
    await _erase_rows(connection, settings, channel, address, now)
    await erasures.record(connection, erasures.address_hash(_secret(settings), channel, address), now.date())


async def _erase_rows(connection: AsyncConnection, settings: Settings, channel: str, address: str, now: datetime) -> None:
    freed = list(
        await connection.scalars(
            select(signups.c.series_id)
            .join(participants, participants.c.id == signups.c.participant_id)
            .where(
                participants.c.channel == channel,
                participants.c.address == address,
                signups.c.status == "confirmed",
            )
        )
    )
    await participant_store.erase(connection, channel, address)
    await inbound.forget_chat(connection, channel, address)  # what he sent, still waiting
    await checkins.forget(connection, _secret(settings), channel, address)
    await statement_store.forget(connection, _secret(settings), channel, address)
    await invites.forget(connection, _secret(settings), channel, address)
    await listening.forget(connection, settings, channel, address)
    for series_id in freed:
        await waitlist.offer_next(connection, series_id, now, settings.timezone)


@cache
def tables_naming_him() -> frozenset[str]:
    """The tables an erasure deletes from (or rewrites): every table that names a chat address
    (``channel`` and ``address`` columns), every table that hangs off one of those by a
    foreign key (its rows go by cascade), every table of keyed markers (hashes of his
    address), and the invite counts (a facilitator's source is one). Derived from the schema,
    so that a new table of this kind is reclaimed without being listed here."""
    def names_him(table: Table) -> bool:
        return {"channel", "address"} <= set(table.c.keys()) or table.name.endswith("_markers")

    found = {table.name for table in metadata.sorted_tables if names_him(table)} | {invite_counts.name}
    grown = True
    while grown:
        hanging = {
            table.name for table in metadata.sorted_tables
            if any(key.column.table.name in found for key in table.foreign_keys)
        }
        grown = not hanging <= found
        found |= hanging
    return frozenset(found)


async def reclaim(db: Database, channel: str, address: str, *, patience: float = 60.0) -> None:
    """After an erasure has committed: on PostgreSQL, the deleted rows' bytes leave the tables'
    files (``Database.reclaim``); nothing to do on SQLite. First it waits (up to ``patience``
    seconds) until the last reply to him, "everything is erased", has been delivered and
    deleted, so that its row goes too. Run as a post-commit job; a failure (the server busy,
    say) is logged, and the next erasure's run reclaims the space."""
    if db.is_sqlite:
        return
    try:
        for _ in range(int(patience / REPLY_POLL)):
            async with db.transaction() as connection:
                if not await connection.scalar(
                    select(exists().where(outbox.c.channel == channel, outbox.c.address == address))
                ):
                    break
            await asyncio.sleep(REPLY_POLL)
        await db.reclaim(tables_naming_him())
    except Exception as error:  # noqa: BLE001 - the erasure itself has committed; say so and go on
        log.warning("erasure: the erased rows' space could not be reclaimed yet (%s)", type(error).__name__)


REPLY_POLL = 0.5  # seconds between looks at whether his last reply has gone out


async def reapply(connection: AsyncConnection, settings: Settings, now: datetime) -> int:
    """Erase again everyone in this (restored) database whom the ledger names, except a man
    whose sign-up here is from a later day than his erasure (he came back and consented
    anew). Returns how many chat addresses were erased."""
    ledger = await erasures.ledger(connection)
    if not ledger:
        return 0
    secret = _secret(settings)
    named = union(
        *(select(table.c.channel, table.c.address) for table in (participants, conversations, outbox, facilitators, living_room_proposals))
    )
    addresses = list(await connection.execute(named))
    consented = {
        (row.channel, row.address): row.consented_at.date().isoformat()
        for row in await connection.execute(
            select(participants.c.channel, participants.c.address, participants.c.consented_at)
        )
    }
    erased = 0
    for channel, address in addresses:
        day = ledger.get(erasures.address_hash(secret, channel, address))
        if day is None or consented.get((channel, address), "") > day:
            continue
        await _erase_rows(connection, settings, channel, address, now)
        erased += 1
    return erased
