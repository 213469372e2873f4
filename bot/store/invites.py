"""Invite sources counted per series, the short-lived keyed markers behind "came to a
meeting", and the cached facts invite links need (see ``bot.domain.invites``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.checkins import rewrite_in_key_order
from bot.store.portable import insert_or_ignore, upsert
from bot.store.schema import cached_facts, invite_counts, invite_markers, meetings


async def count_signup(connection: AsyncConnection, series_id: int, source: str, marker: str) -> None:
    """One more sign-up through ``source``; his marker waits for him to come to a meeting."""
    await insert_or_ignore(
        connection, invite_counts, {"series_id": series_id, "source": source, "signups": 0, "attended": 0}
    )
    await connection.execute(
        update(invite_counts)
        .where(invite_counts.c.series_id == series_id, invite_counts.c.source == source)
        .values(signups=invite_counts.c.signups + 1)
    )
    if await connection.scalar(select(invite_markers.c.marker).where(invite_markers.c.marker == marker)) is None:
        await rewrite_in_key_order(
            connection, invite_markers, {"marker": marker, "series_id": series_id, "source": source}
        )


async def count_attended(connection: AsyncConnection, marker: str) -> bool:
    """He came: his source's "came" count goes up and his marker goes. False when he has no
    marker (he came without a link, or was counted already)."""
    row = (
        await connection.execute(select(invite_markers).where(invite_markers.c.marker == marker))
    ).first()
    if row is None:
        return False
    await connection.execute(
        update(invite_counts)
        .where(invite_counts.c.series_id == row.series_id, invite_counts.c.source == row.source)
        .values(attended=invite_counts.c.attended + 1)
    )
    await connection.execute(delete(invite_markers).where(invite_markers.c.marker == marker))
    return True


async def marked_series(connection: AsyncConnection) -> list[int]:
    """The series that still have markers (for erasing a man's, derived again per series)."""
    return list(await connection.scalars(select(invite_markers.c.series_id).distinct()))


async def forget_markers(connection: AsyncConnection, markers: list[str]) -> None:
    if markers:
        await connection.execute(delete(invite_markers).where(invite_markers.c.marker.in_(markers)))


async def forget_ended(connection: AsyncConnection, now: datetime) -> int:
    """Markers of series with no meeting ahead any more: whoever did not come is not counted."""
    ahead = exists().where(
        meetings.c.series_id == invite_markers.c.series_id,
        meetings.c.starts_at > now,
        meetings.c.status == "scheduled",
    )
    result = await connection.execute(delete(invite_markers).where(~ahead))
    return result.rowcount or 0


async def merge_source(connection: AsyncConnection, old: str, new: str) -> int:
    """Every series' counts (and waiting markers) for ``old`` go under ``new``, added to what
    ``new`` has; how many series had ``old``."""
    rows = list(await connection.execute(select(invite_counts).where(invite_counts.c.source == old)))
    for row in rows:
        await insert_or_ignore(
            connection, invite_counts, {"series_id": row.series_id, "source": new, "signups": 0, "attended": 0}
        )
        await connection.execute(
            update(invite_counts)
            .where(invite_counts.c.series_id == row.series_id, invite_counts.c.source == new)
            .values(signups=invite_counts.c.signups + row.signups, attended=invite_counts.c.attended + row.attended)
        )
    await connection.execute(delete(invite_counts).where(invite_counts.c.source == old))
    await connection.execute(update(invite_markers).where(invite_markers.c.source == old).values(source=new))
    return len(rows)


async def counts(connection: AsyncConnection, series_id: int) -> list[tuple[str, int, int]]:
    """(source, sign-ups, came to a meeting) for one series, most sign-ups first."""
    rows = await connection.execute(
        select(invite_counts.c.source, invite_counts.c.signups, invite_counts.c.attended)
        .where(invite_counts.c.series_id == series_id)
        .order_by(invite_counts.c.signups.desc(), invite_counts.c.source)
    )
    return [tuple(row) for row in rows]


async def cached(connection: AsyncConnection, name: str) -> str | None:
    return await connection.scalar(select(cached_facts.c.value).where(cached_facts.c.name == name))


async def cache(connection: AsyncConnection, name: str, value: str, now: datetime) -> None:
    await upsert(connection, cached_facts, {"name": name}, {"value": value, "fetched_at": now})
