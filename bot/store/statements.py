"""Statements before and after a series: the catalogue, each series' choice, and the
anonymous answers (issue 17 §1; README "Listening and the research note").

The answers are kept as the check-ins are (``bot.store.checkins``), against someone who holds
every byte of the database but not ``MEEDOEN_SECRET_KEY``:

- a finished poll waits in ``statement_pool``, sealed (``bot.store.checkins.pool``) and
  rewritten in key order on every insert, so its bytes say nothing of the answers nor of
  their order, until its ISO week is over; ``flush`` then opens the week's polls and moves
  them to ``statement_responses`` shuffled, under fresh random ids;
- a row holds the series, the phase (before/after), the ISO week and the answers: no
  participant id, address, name or language;
- "he has answered this phase of this series" is a keyed hash of his chat address, the
  series and the phase (``marker``) in ``statement_markers``, so that he answers each phase
  once; ``forget`` erases his markers on ``/delete`` by deriving them again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.checkins import iso_week, move, pool, pooled, rewrite_in_key_order
from bot.store.checkins import marker as keyed_marker
from bot.store.schema import (
    meetings,
    series,
    series_statements,
    statement_markers,
    statement_pool,
    statement_responses,
    statements,
)

SHIPPED = (1, 2, 3, 4)
"""The shipped statements' numbers (their texts: ``dialogs.statements.SHIPPED``)."""
LANGUAGES = ("nl", "ar", "so", "en")
PHASES = ("before", "after")



# --- The catalogue ---------------------------------------------------------------------------


async def add(connection: AsyncConnection, texts: dict[str, str], now: datetime) -> int:
    """A coordinator's statement in the four languages; returns its number (5 and on)."""
    highest = await connection.scalar(select(func.max(statements.c.number)))
    number = max(highest or 0, SHIPPED[-1]) + 1
    await connection.execute(statements.insert().values(number=number, added_at=now, **texts))
    return number


async def added(connection: AsyncConnection) -> dict[int, dict[str, str]]:
    """The coordinators' statements: number → {language: text}."""
    rows = await connection.execute(select(statements).order_by(statements.c.number))
    return {row.number: {language: getattr(row, language) for language in LANGUAGES} for row in rows}


async def exists(connection: AsyncConnection, number: int) -> bool:
    if number in SHIPPED:
        return True
    return await connection.scalar(select(statements.c.number).where(statements.c.number == number)) is not None


async def choose(connection: AsyncConnection, series_id: int, numbers: list[int]) -> None:
    await connection.execute(delete(series_statements).where(series_statements.c.series_id == series_id))
    await connection.execute(
        series_statements.insert(),
        [{"series_id": series_id, "position": position, "number": n} for position, n in enumerate(numbers)],
    )


async def of_series(connection: AsyncConnection, series_id: int) -> list[int]:
    """The statements a series uses, in order: its choice, or the four shipped ones."""
    return (await of_each_series(connection, [series_id]))[series_id]


async def of_each_series(connection: AsyncConnection, series_ids: list[int]) -> dict[int, list[int]]:
    """``of_series`` for several series in one query (the report reads every closed series)."""
    if not series_ids:
        return {}
    chosen: dict[int, list[int]] = {series_id: [] for series_id in series_ids}
    rows = await connection.execute(
        select(series_statements.c.series_id, series_statements.c.number)
        .where(series_statements.c.series_id.in_(series_ids))
        .order_by(series_statements.c.series_id, series_statements.c.position)
    )
    for series_id, number in rows:
        chosen[series_id].append(number)
    return {series_id: numbers or list(SHIPPED) for series_id, numbers in chosen.items()}


# --- Which series are final -----

CLOSE_AFTER = timedelta(days=14)
"""Answers are accepted until this long after a series' last meeting; then its figures are final."""


async def closed_series(connection: AsyncConnection, now: datetime) -> dict[int, str]:
    """The series whose answers are final at ``now``: id → name."""
    last = (
        select(meetings.c.series_id, func.max(meetings.c.starts_at).label("last"))
        .where(meetings.c.status == "scheduled")
        .group_by(meetings.c.series_id)
        .subquery()
    )
    rows = await connection.execute(
        select(series.c.id, series.c.name)
        .join(last, last.c.series_id == series.c.id)
        .where(last.c.last <= now - CLOSE_AFTER)
        .order_by(series.c.id)
    )
    return {row.id: row.name for row in rows}



# --- Answers ---------------------------------------------------------------------------------


def marker(secret: bytes, channel: str, address: str, series_id: int, phase: str) -> str:
    """His keyed marker for one phase of one series (never equal to a check-in's marker)."""
    return keyed_marker(secret, channel, address, f"statements:{series_id}:{phase}")


async def has_answered(connection: AsyncConnection, phase_marker: str) -> bool:
    found = await connection.scalar(
        select(statement_markers.c.marker).where(statement_markers.c.marker == phase_marker)
    )
    return found is not None


async def record(
    connection: AsyncConnection, phase_marker: str, series_id: int, phase: str, answers: dict[int, int], now: datetime
) -> bool:
    """Put one finished poll in the pool and note his marker; False (nothing stored) when he
    answered this phase of this series before."""
    if await has_answered(connection, phase_marker):
        return False
    await rewrite_in_key_order(
        connection, statement_markers, {"marker": phase_marker, "series_id": series_id, "phase": phase}
    )
    await pool(
        connection,
        statement_pool,
        iso_week(now),
        {"series_id": series_id, "phase": phase, "answers": json.dumps({str(n): v for n, v in sorted(answers.items())})},
    )
    return True


async def flush(connection: AsyncConnection, now: datetime) -> int:
    """Once an ISO week is over, its polls move to ``statement_responses`` in a random order
    under new random ids. Returns how many moved."""
    week = iso_week(now)
    done = await pooled(connection, statement_pool, before=week)
    return await move(connection, statement_pool, statement_responses, done, before=week)


async def forget(connection: AsyncConnection, secret: bytes, channel: str, address: str) -> None:
    """Erase his markers (on ``/delete``), derived again with the key for every series and
    phase that has markers. His answers stay: nothing ties them to him."""
    kept = list(await connection.execute(select(statement_markers.c.series_id, statement_markers.c.phase).distinct()))
    if kept:
        mine = [marker(secret, channel, address, series_id, phase) for series_id, phase in kept]
        await connection.execute(delete(statement_markers).where(statement_markers.c.marker.in_(mine)))


async def answers(connection: AsyncConnection, series_ids: list[int]) -> list[tuple[int, str, dict[int, int]]]:
    """The moved polls of these series: (series, phase, {statement: answer}). The pool (this
    week) is never read: a report would otherwise change within the week, answer by answer."""
    if not series_ids:
        return []
    rows = await connection.execute(
        select(statement_responses.c.series_id, statement_responses.c.phase, statement_responses.c.answers).where(
            statement_responses.c.series_id.in_(series_ids)
        )
    )
    return [
        (series_id, phase, {int(n): v for n, v in json.loads(encoded).items()}) for series_id, phase, encoded in rows
    ]
