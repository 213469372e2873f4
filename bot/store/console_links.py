"""One-time links into the web console: a random token, of which only the hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import console_links

VALID_FOR = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(connection: AsyncConnection, channel: str, address: str, now: datetime) -> str:
    """A new token for this coordinator; the link carries it, the database only its hash."""
    token = secrets.token_urlsafe(32)
    await connection.execute(
        console_links.insert().values(
            token_hash=_hash(token),
            channel=channel,
            address=address,
            created_at=now,
            expires_at=now + VALID_FOR,
        )
    )
    return token


async def redeem(connection: AsyncConnection, token: str, now: datetime) -> tuple[str, str] | None:
    """Spend the link: (channel, address) of its coordinator, or None when it is unknown,
    expired or already used. The update is the check, so two clicks cannot both win."""
    if len(token) > 100:
        return None
    token_hash = _hash(token)
    spent = await connection.execute(
        update(console_links)
        .where(
            console_links.c.token_hash == token_hash,
            console_links.c.used_at.is_(None),
            console_links.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return None
    row = (
        await connection.execute(
            select(console_links.c.channel, console_links.c.address).where(
                console_links.c.token_hash == token_hash
            )
        )
    ).one()
    return row.channel, row.address
