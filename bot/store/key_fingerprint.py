"""Which MEEDOEN_SECRET_KEY a database was made with: a fingerprint, never the key.

The erasure ledger, the check-in markers and the signed buttons are all keyed with
MEEDOEN_SECRET_KEY. With another key nothing fails loudly: buttons stop working, markers stop
matching, and a restore no longer recognises the men who used /delete (bot/domain/erasure.py). The
first ``meedoen run`` (or restore) stores an HMAC of a fixed label with the key; later ones
compare.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import upsert
from bot.store.schema import key_fingerprint

_LABEL = b"meedoen key fingerprint v1"


def of(secret: str) -> str:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).hexdigest()


async def stored(connection: AsyncConnection) -> str | None:
    return await connection.scalar(select(key_fingerprint.c.fingerprint))


async def remember(connection: AsyncConnection, fingerprint: str) -> None:
    await upsert(connection, key_fingerprint, {"id": 1}, {"fingerprint": fingerprint})


async def matches_or_remember(connection: AsyncConnection, secret: str) -> bool:
    """Whether ``secret`` is the key this database was made with; a database that has no
    fingerprint yet takes this one's."""
    mine = await stored(connection)
    if mine is None:
        await remember(connection, of(secret))
        return True
    return hmac.compare_digest(mine, of(secret))
