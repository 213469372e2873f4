"""Voice clips (issue 19): a coordinator's recordings, for a broadcast language or a series'
reminder. A clip is kept only while something uses it: replacing or removing a series'
reminder erases the old clip at once, a finished or cancelled broadcast erases its clips,
and a clip recorded for a broadcast that was never sent is erased after ``DRAFT_KEEP``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.common.audio import Clip
from bot.store.schema import broadcast_voices, series_voices, voice_clips

DRAFT_KEEP = timedelta(hours=24)
"""How long a clip nothing uses yet (a broadcast still being written) is kept."""


async def add(connection: AsyncConnection, clip: Clip, now: datetime, telegram_file_id: str | None = None) -> int:
    result = await connection.execute(
        voice_clips.insert()
        .values(audio=clip.audio, seconds=clip.seconds, telegram_file_id=telegram_file_id, created_at=now)
        .returning(voice_clips.c.id)
    )
    return result.scalar_one()


async def audio(connection: AsyncConnection, clip_id: int) -> bytes | None:
    """The clip's OGG/Opus, or None once it is erased."""
    found = await connection.scalar(select(voice_clips.c.audio).where(voice_clips.c.id == clip_id))
    return bytes(found) if found is not None else None


async def about(connection: AsyncConnection, clip_id: int) -> tuple[int, str | None] | None:
    """(seconds, Telegram's file id if it has one) without the sound; None once erased."""
    row = (
        await connection.execute(
            select(voice_clips.c.seconds, voice_clips.c.telegram_file_id).where(voice_clips.c.id == clip_id)
        )
    ).first()
    return (row.seconds, row.telegram_file_id) if row is not None else None


async def remember_telegram_file_id(connection: AsyncConnection, clip_id: int, file_id: str) -> None:
    await connection.execute(
        update(voice_clips).where(voice_clips.c.id == clip_id).values(telegram_file_id=file_id)
    )


async def existing(connection: AsyncConnection, clip_ids: list[int]) -> dict[int, int]:
    """Of ``clip_ids``, those still stored: id → seconds."""
    if not clip_ids:
        return {}
    rows = await connection.execute(
        select(voice_clips.c.id, voice_clips.c.seconds).where(voice_clips.c.id.in_(clip_ids))
    )
    return {row.id: row.seconds for row in rows}


async def unused(connection: AsyncConnection, clip_ids: list[int]) -> dict[int, int]:
    """Of ``clip_ids``, those stored and not yet used by a series or a broadcast: id → seconds
    (what a broadcast being written may take)."""
    found = await existing(connection, clip_ids)
    if not found:
        return {}
    used = set(await connection.scalars(select(series_voices.c.clip_id).where(series_voices.c.clip_id.in_(list(found)))))
    used |= set(await connection.scalars(select(broadcast_voices.c.clip_id).where(broadcast_voices.c.clip_id.in_(list(found)))))
    return {clip: seconds for clip, seconds in found.items() if clip not in used}


async def erase_if_unused(connection: AsyncConnection, clip_id: int) -> None:
    """A clip recorded for something refused: gone at once, unless something uses it."""
    if await unused(connection, [clip_id]):
        await connection.execute(delete(voice_clips).where(voice_clips.c.id == clip_id))


# --- a series' recorded reminders ----------------------------------------------------------------


async def series_voice(connection: AsyncConnection, series_id: int, language: str) -> int | None:
    return await connection.scalar(
        select(series_voices.c.clip_id).where(
            series_voices.c.series_id == series_id, series_voices.c.language == language
        )
    )


async def series_languages(connection: AsyncConnection) -> dict[int, tuple[str, ...]]:
    """Series id → the languages it has a recorded reminder in."""
    found: dict[int, list[str]] = {}
    for row in await connection.execute(select(series_voices.c.series_id, series_voices.c.language)):
        found.setdefault(row.series_id, []).append(row.language)
    return {series_id: tuple(sorted(languages)) for series_id, languages in found.items()}


async def set_series_voice(connection: AsyncConnection, series_id: int, language: str, clip_id: int | None) -> None:
    """Record (``clip_id``) or remove (None) a series' reminder in one language; the clip it
    replaces is erased."""
    old = await series_voice(connection, series_id, language)
    if old == clip_id:
        return
    await connection.execute(
        delete(series_voices).where(series_voices.c.series_id == series_id, series_voices.c.language == language)
    )
    if old is not None:
        await connection.execute(delete(voice_clips).where(voice_clips.c.id == old))
    if clip_id is not None:
        await connection.execute(
            series_voices.insert().values(series_id=series_id, language=language, clip_id=clip_id)
        )


async def reminder_voices(connection: AsyncConnection, series_id: int) -> dict[str, int]:
    """Language → clip id of the series' recorded reminders."""
    rows = await connection.execute(
        select(series_voices.c.language, series_voices.c.clip_id).where(series_voices.c.series_id == series_id)
    )
    return {row.language: row.clip_id for row in rows}


# --- broadcasts ---------------------------------------------------------------------------------


async def attach_to_broadcast(connection: AsyncConnection, broadcast_id: int, voices: dict[str, int]) -> None:
    if voices:
        await connection.execute(
            broadcast_voices.insert(),
            [{"broadcast_id": broadcast_id, "language": language, "clip_id": clip} for language, clip in voices.items()],
        )


async def erase_broadcast_voices(connection: AsyncConnection, broadcast_id: int) -> int:
    """The broadcast is finished or cancelled: its clips go."""
    clips = list(
        await connection.scalars(
            select(broadcast_voices.c.clip_id).where(broadcast_voices.c.broadcast_id == broadcast_id)
        )
    )
    if clips:
        await connection.execute(delete(broadcast_voices).where(broadcast_voices.c.broadcast_id == broadcast_id))
        await connection.execute(delete(voice_clips).where(voice_clips.c.id.in_(clips)))
    return len(clips)


async def erase_unused(connection: AsyncConnection, now: datetime) -> int:
    """Clips nothing uses, older than ``DRAFT_KEEP`` (a broadcast draft left unsent)."""
    used = select(series_voices.c.clip_id).union(select(broadcast_voices.c.clip_id))
    result = await connection.execute(
        delete(voice_clips).where(voice_clips.c.created_at < now - DRAFT_KEEP, voice_clips.c.id.not_in(used))
    )
    return result.rowcount
