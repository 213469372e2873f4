"""Broadcast audiences: who is in "all", "series:3", "waitlist:3", "language:so",
"area:1" (an index into MEEDOEN_AREAS) or "noshow" (signed up, never came). Only active
participants are ever in an audience; a man in two chosen audiences is counted once."""

from __future__ import annotations

from sqlalchemy import exists, func, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import attendance, meetings, participants, signups
from dialogs.types import LANGUAGES


class UnknownAudience(ValueError):
    """An audience key that names nothing (a typo on the command line, say)."""


def _ids(key: str, areas: tuple[str, ...], now):
    """A SELECT of the participant ids in one audience (before the active filter)."""
    kind, _sep, value = key.partition(":")
    p = participants.c
    if kind == "all" and not value:
        return select(p.id)
    if kind in ("series", "waitlist") and value.isdecimal():
        status = "confirmed" if kind == "series" else "waitlist"
        return select(signups.c.participant_id).where(
            signups.c.series_id == int(value), signups.c.status == status
        )
    if kind == "language" and value in LANGUAGES:
        return select(p.id).where(p.language == value)
    if kind == "area" and value.isdecimal() and int(value) < len(areas):
        return select(p.id).where(p.area == areas[int(value)])
    if kind == "noshow" and not value:
        began = exists().where(
            meetings.c.series_id == signups.c.series_id, meetings.c.starts_at <= now
        )
        came = exists().where(attendance.c.participant_id == signups.c.participant_id, attendance.c.present == 1)
        return select(signups.c.participant_id).where(signups.c.status == "confirmed", began, ~came)
    raise UnknownAudience(key)


def _members(keys, areas, now):
    chosen = union(*(_ids(key, areas, now) for key in keys)).subquery()
    return (
        select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language)
        .where(participants.c.id.in_(select(chosen.c[0])), participants.c.status == "active")
        .order_by(participants.c.id)
    )


async def members(connection: AsyncConnection, keys, areas, now) -> list:
    return list(await connection.execute(_members(keys, areas, now)))


async def count(connection: AsyncConnection, keys, areas, now) -> int:
    if not keys:
        return 0
    return await connection.scalar(select(func.count()).select_from(_members(keys, areas, now).subquery()))


async def sizes(connection: AsyncConnection, keys, areas, now) -> dict[str, int]:
    """How many men each audience holds on its own. Every "series:ID" and "waitlist:ID" is
    counted by one grouped query (a man signs up for a series once, so a count of his
    sign-ups is a count of men): the console lists two per series, 4,000 at 2,000 series,
    which one query each took 18 s to count."""
    per_series = [key for key in keys if key.partition(":")[0] in ("series", "waitlist") and key.partition(":")[2].isdecimal()]
    found: dict[str, int] = dict.fromkeys(per_series, 0)
    if per_series:
        grouped = await connection.execute(
            select(signups.c.series_id, signups.c.status, func.count())
            .join(participants, participants.c.id == signups.c.participant_id)
            .where(participants.c.status == "active")
            .group_by(signups.c.series_id, signups.c.status)
        )
        counted = {("series" if status == "confirmed" else "waitlist", series_id): number for series_id, status, number in grouped}
        for key in per_series:
            kind, _sep, value = key.partition(":")
            found[key] = counted.get((kind, int(value)), 0)
    for key in keys:
        if key not in found:
            found[key] = await count(connection, [key], areas, now)
    return {key: found[key] for key in keys}
