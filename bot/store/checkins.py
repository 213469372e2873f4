"""Anonymous check-in storage (see "Check-ins and the report" in the README).

Against someone who holds every byte of the database but not ``MEEDOEN_SECRET_KEY``, nothing
may tie an answer to a man at a granularity finer than the ISO week: not a value, and not an
order. SQLite gives away the order of inserts by itself (cell contents fill a page from its end
backwards, so a row's byte offset tells when it came), so:

- A finished check-in waits in ``checkin_pool`` until its ISO week is over, its answers sealed
  (``bot.store.sealing``): one sealed column beside the week, so that no copy of the row, old
  or new, in any file of the database shows an answer without the key (``pool``). On every
  insert the pool is rewritten in the order of its random ids (``rewrite_in_key_order``), so
  its bytes are a function of the set of ids only, never of the order in which they came.
- When the week is over, ``flush`` opens the week's answers and moves them to
  ``checkin_responses`` in one transaction, shuffled and under fresh random ids: inside the big table (and its report index)
  the week's rows lie in an order drawn at random, and nothing links them to the pool rows
  they came from (those are overwritten with zeros: ``secure_delete``).
- "He has checked in this week" is a keyed hash of his chat address and the week
  (``marker``), kept in ``checkin_markers`` (also rewritten in key order on every insert)
  only until the week is over. With the key the operator can tell who checked in this week,
  and nothing more; ``forget`` erases a man's markers on ``/delete`` by deriving them again.
- "He has checked in this report month" (the month of the ISO week's Thursday, ``month_of``)
  is the same kind of hash of his address and the month, in ``checkin_month_markers``
  (rewritten in key order too) until the month is over. It only decides the answer's
  ``first_in_month``: 1 for the first answer of its man in the month, 0 for a later one, so
  that the report can count men rather than answers (a man may answer every week) without
  any row saying whose it is or which other row is his (docs/report-privacy.md, "Men, not
  answers").

The language and area stored with an answer are coarsened first, so that at least
``bot.store.anonymity.K`` signed-up men share them (``bot.store.anonymity``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.common.calendar import month_of
from bot.store.schema import checkin_markers, checkin_month_markers, checkin_pool, checkin_responses
from bot.store.sealing import as_stored

_shuffle = secrets.SystemRandom().shuffle


def iso_week(moment: datetime) -> str:
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def marker(secret: bytes, channel: str, address: str, period: str) -> str:
    """His keyed marker for a week (``2026-W47``) or a report month (``2026-11``): the two
    forms never coincide, so neither can stand for the other."""
    return hmac.new(secret, f"{channel}:{address}|{period}".encode(), hashlib.sha256).hexdigest()


def markers(secret: bytes, channel: str, address: str, week: str) -> tuple[str, str]:
    """His markers for ``week`` and for its report month, as ``record`` takes them."""
    return marker(secret, channel, address, week), marker(secret, channel, address, month_of(week))


async def has_checked_in(connection: AsyncConnection, week_marker: str) -> bool:
    found = await connection.scalar(
        select(checkin_markers.c.marker).where(checkin_markers.c.marker == week_marker)
    )
    return found is not None


async def record(
    connection: AsyncConnection, week_marker: str, week: str, values: dict, *, month_marker: str
) -> bool:
    """Put one finished check-in in the pool and note the week's and the month's marker;
    False (nothing stored) when this person already checked in this week. ``values``:
    language, area (both already coarsened, see ``bot.store.anonymity``), item1..item6,
    emotional, social, total, took_part, worthwhile. The answer is marked as the first of
    its man in the month when the month's marker was not there yet."""
    if await has_checked_in(connection, week_marker):
        return False
    month = month_of(week)
    first = await connection.scalar(
        select(checkin_month_markers.c.marker).where(checkin_month_markers.c.marker == month_marker)
    ) is None
    await rewrite_in_key_order(connection, checkin_markers, {"marker": week_marker, "iso_week": week})
    if first:
        await rewrite_in_key_order(connection, checkin_month_markers, {"marker": month_marker, "month": month})
    await pool(connection, checkin_pool, week, {**values, "first_in_month": int(first)})
    return True


async def flush(connection: AsyncConnection, now: datetime) -> int:
    """Once an ISO week is over: its answers go from the pool to ``checkin_responses`` in a
    random order under new random ids, and its markers are erased; once the report month of
    the current week is a later one, the earlier month's markers go too (they live until
    then: a man's second answer of the month must know that he gave a first). Returns how
    many answers moved (0 most ticks: two reads and two deletes on small tables)."""
    week = iso_week(now)
    done = await pooled(connection, checkin_pool, before=week)
    await connection.execute(delete(checkin_markers).where(checkin_markers.c.iso_week < week))
    await connection.execute(delete(checkin_month_markers).where(checkin_month_markers.c.month < month_of(week)))
    return await move(connection, checkin_pool, checkin_responses, done, before=week)


async def forget(connection: AsyncConnection, secret: bytes, channel: str, address: str) -> None:
    """Erase his markers (on ``/delete``). No row says whose a marker is, so each is derived
    again with the key for every week and every month that still has markers (this week,
    and last week until the next flush; this month, and last month until the first flush of
    a week in the next) and deleted if present. His answers stay: nothing ties them to him.
    (Should he sign up again in the same month, his next answer counts him once more: the
    report's count of men can only be too high by men who erased themselves and came back,
    each of them a real, distinct sign-up.)"""
    for table, period in ((checkin_markers, checkin_markers.c.iso_week),
                          (checkin_month_markers, checkin_month_markers.c.month)):
        periods = list(await connection.scalars(select(period).distinct()))
        if periods:
            mine = [marker(secret, channel, address, p) for p in periods]
            await connection.execute(delete(table).where(table.c.marker.in_(mine)))


async def rewrite_in_key_order(connection: AsyncConnection, table: Table, new_row: dict) -> None:
    """Add ``new_row`` to a small table by writing the whole table again in primary-key order.

    After a delete of every row, SQLite (with ``secure_delete``) zeroes the freed cells and
    pages and starts each page afresh, so inserting in key order leaves every row at a place
    that depends on the set of keys alone. Costs one read and one write of the table per
    check-in; both tables hold one ISO week at most (docs/benchmarks.md, "Check-in")."""
    (key,) = table.primary_key.columns
    rows = [dict(row._mapping) for row in await connection.execute(select(*map(as_stored, table.columns)))]
    rows.append({column.name: new_row.get(column.name) for column in table.columns})
    rows.sort(key=lambda row: row[key.name])
    await connection.execute(delete(table))
    await connection.execute(table.insert(), rows)


async def pool(connection: AsyncConnection, table: Table, week: str, values: dict) -> None:
    """Add one answer to a poll's pool (``checkin_pool``, ``statement_pool``,
    ``listening_pool``): ``values`` sealed as one JSON object beside the week, under a random id,
    the pool rewritten in key order."""
    sealed = json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    await rewrite_in_key_order(connection, table, {"id": secrets.token_hex(16), "iso_week": week, "sealed": sealed})


async def pooled(connection: AsyncConnection, table: Table, *, before: str | None = None) -> list[dict]:
    """A pool's answers opened, each as ``{"iso_week": ..., **values}`` (those of weeks before
    ``before`` only, when given), in no particular order: for the weekly move, and for a look
    at this week's pool by someone holding the key (tests, ``meedoen db`` checks)."""
    query = select(table.c.iso_week, table.c.sealed)
    if before is not None:
        query = query.where(table.c.iso_week < before)
    return [{"iso_week": week, **json.loads(sealed)} for week, sealed in await connection.execute(query)]


async def move(connection: AsyncConnection, table: Table, responses: Table, done: list[dict], *, before: str) -> int:
    """The weekly move: ``done`` (opened by ``pooled``) leaves the pool and goes, plain, to
    ``responses`` in a random order under new random ids, all in this one transaction."""
    if not done:
        return 0
    _shuffle(done)
    rows = [{**row, "id": secrets.token_hex(16)} for row in done]
    await connection.execute(delete(table).where(table.c.iso_week < before))
    await connection.execute(responses.insert(), rows)
    return len(rows)
