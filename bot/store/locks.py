"""Locks for several instances on one PostgreSQL (docs/scaling.md): a man's turn, a
scheduled job, a series' free seats.

On SQLite one process writes at a time (``bot.store.database``), and every function here
does nothing. On PostgreSQL several ``meedoen run`` instances share the database, and each
function takes a transaction-level advisory lock (``pg_advisory_xact_lock``) on a 64-bit hash
of what it guards. Taken as the first statement of a transaction, it makes a second
transaction on the same thing, on any instance, wait until the first has committed or rolled
back; since PostgreSQL's default isolation (read committed) gives every statement a fresh
snapshot, everything the second one reads after the lock includes what the first wrote. The
lock goes at commit or rollback, and with the connection when its process dies, so a killed
instance never leaves anything locked.

- ``chat``: the engine's turn for one man (read his state, run the dialog, store the new
  state): his turns are serial and none overwrites another's state. Which turn comes first is
  the order his updates were stored in (``bot.store.inbound.waiting``).
- ``job``: one scheduled job's transaction (``scheduler/``): when two instances tick at the
  same moment, the second finds done what the first did (its run rows, claimed offers,
  cleared wake-ups) and queues nothing twice.
- ``seats``: offering a series' free seats to the waiting list, from any turn or tick.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def key(kind: str, *parts: str) -> int:
    """A signed 64-bit lock key for (kind, parts); two keys that collide only make two
    unrelated things wait for each other, never lose anything."""
    digest = hashlib.blake2b("\x1f".join((kind, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def hold(connection: AsyncConnection, kind: str, *parts: str) -> None:
    """Hold the lock on (kind, parts) until this transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_LOCK, {"key": key(kind, *parts)})


async def chat(connection: AsyncConnection, channel: str, address: str) -> None:
    """His turn: wait for any other turn of his, on any instance, to end."""
    await hold(connection, "chat", channel, address)


async def job(connection: AsyncConnection, name: str) -> None:
    """A scheduled job's transaction: wait for the same job on another instance to end."""
    await hold(connection, "job", name)


async def seats(connection: AsyncConnection, series_id: int) -> None:
    """Offering one series' free seats: one transaction at a time."""
    await hold(connection, "seats", str(series_id))
