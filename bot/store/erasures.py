"""The erasure ledger: keyed hashes of the chat addresses whose owner used /delete.

A hash is HMAC-SHA256 of the address with ``MEEDOEN_SECRET_KEY`` (never stored in the
database), so without the key the ledger says nothing about anyone; with it, ``meedoen db
restore`` can recognise in an older backup the men who asked to be erased since, and erase
them again (``bot.domain.erasure.reapply``). Besides the hash, only the day of the latest erasure.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import upsert
from bot.store.schema import erasures


def address_hash(secret: bytes, channel: str, address: str) -> str:
    # The "erased|" prefix keeps these hashes apart from the check-in markers' (same key).
    return hmac.new(secret, f"erased|{channel}:{address}".encode(), hashlib.sha256).hexdigest()


async def record(connection: AsyncConnection, hashed: str, day: date) -> None:
    await upsert(connection, erasures, {"address_hash": hashed}, {"erased_on": day.isoformat()})


async def ledger(connection: AsyncConnection) -> dict[str, str]:
    """address hash → ISO day of its latest erasure."""
    return dict((await connection.execute(select(erasures.c.address_hash, erasures.c.erased_on))).all())


async def merge(connection: AsyncConnection, entries: dict[str, str]) -> None:
    """Add ``entries`` to the ledger, keeping the later day where a hash is in both."""
    mine = await ledger(connection)
    for hashed, day in entries.items():
        if day > mine.get(hashed, ""):
            await upsert(connection, erasures, {"address_hash": hashed}, {"erased_on": day})
