"""Anonymous check-in storage (see the privacy model in docs/architecture.md).

A response row holds a random id, the ISO week, the language of the questions, at most the
area he chose at sign-up, and the answers and scores: nothing that names him, no time finer
than the week, and (random key, WITHOUT ROWID) no physical order that follows the order of
check-ins. "Has he checked in this week" is a keyed hash of his chat address and the week,
with the secret from the configuration, which the database never holds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.schema import checkin_markers, checkin_responses
from bot.store.portable import insert_or_ignore


def iso_week(moment: datetime) -> str:
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def marker(secret: bytes, channel: str, address: str, week: str) -> str:
    return hmac.new(secret, f"{channel}:{address}|{week}".encode(), hashlib.sha256).hexdigest()


async def has_checked_in(connection: AsyncConnection, week_marker: str) -> bool:
    found = await connection.scalar(
        select(checkin_markers.c.marker).where(checkin_markers.c.marker == week_marker)
    )
    return found is not None


async def record(
    connection: AsyncConnection, week_marker: str, week: str, values: dict
) -> bool:
    """Store one response and the week's marker; False (nothing stored) when this person
    already checked in this week. ``values``: language, area, item1..item6, emotional,
    social, total, took_part, worthwhile."""
    if not await insert_or_ignore(connection, checkin_markers, {"marker": week_marker}):
        return False
    await connection.execute(
        checkin_responses.insert().values(id=secrets.token_hex(16), iso_week=week, **values)
    )
    return True
