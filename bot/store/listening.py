"""Anonymous storage of the listening poll (issue 17 §2), by the rules of the check-in
(``bot.store.checkins``): nothing ties an answer to a man at a granularity finer than the ISO
week, not a value and not an order.

- An answer waits in ``listening_pool``, sealed (``bot.store.checkins.pool``) and rewritten in
  key order on every insert, until its ISO week is over; ``flush`` then opens the week's
  answers and moves them to ``listening_responses`` shuffled and under fresh random ids.
- "He has answered" is a keyed hash of his chat address (``marker``) in ``listening_markers``,
  rewritten in key order too, so the poll is offered and counted once per man. It stays until
  he uses /delete (``forget``); without ``MEEDOEN_SECRET_KEY`` it names nobody.
- No language is kept; the area only when at least ``bot.store.anonymity.K`` signed-up men
  have it (``bot.domain.listening``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.checkins import iso_week, move, pool, pooled, rewrite_in_key_order
from bot.store.schema import listening_markers, listening_pool, listening_responses

ANSWERS = ("barriers", "interests", "day_parts")


def marker(secret: bytes, channel: str, address: str) -> str:
    return hmac.new(secret, f"listening|{channel}:{address}".encode(), hashlib.sha256).hexdigest()


async def has_answered(connection: AsyncConnection, his_marker: str) -> bool:
    found = await connection.scalar(select(listening_markers.c.marker).where(listening_markers.c.marker == his_marker))
    return found is not None


async def record(connection: AsyncConnection, his_marker: str, now: datetime, values: dict) -> bool:
    """Put one answer in the pool and note his marker; False (nothing stored) when he has
    answered before. ``values``: area (already coarsened), barriers, interests, day_parts."""
    if await has_answered(connection, his_marker):
        return False
    await rewrite_in_key_order(connection, listening_markers, {"marker": his_marker})
    await pool(connection, listening_pool, iso_week(now), values)
    return True


async def flush(connection: AsyncConnection, now: datetime) -> int:
    """Once an ISO week is over, its answers move from the pool to ``listening_responses`` in
    a random order under new random ids. Returns how many moved."""
    week = iso_week(now)
    done = await pooled(connection, listening_pool, before=week)
    return await move(connection, listening_pool, listening_responses, done, before=week)


async def forget(connection: AsyncConnection, secret: bytes, channel: str, address: str) -> None:
    """Erase his marker (on /delete). His answer stays: nothing ties it to him."""
    await connection.execute(delete(listening_markers).where(listening_markers.c.marker == marker(secret, channel, address)))


async def tallies(connection: AsyncConnection, options: dict[str, int]) -> dict[str | None, Counter]:
    """Per area (None: not given): ``answers``, and for each question ``<question>_n`` (how
    many answered it) and ``<question><n>`` (how many named option n), over the moved
    answers. ``options``: question → its number of options. Summed in Python over the
    GROUP BY of the bit sets, so the SQL stays portable (no bit operators)."""
    r = listening_responses.c
    result: dict[str | None, Counter] = {}
    for question in ANSWERS:
        column = getattr(r, question)
        query = select(r.area, column, func.count()).group_by(r.area, column)
        for area, bits, n in await connection.execute(query):
            counts = result.setdefault(area, Counter())
            if question == ANSWERS[0]:
                counts["answers"] += n
            if bits is None:
                continue
            counts[f"{question}_n"] += n
            for option in range(options[question]):
                if bits >> option & 1:
                    counts[f"{question}{option}"] += n
    return result
