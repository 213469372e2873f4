"""Broadcasts: a coordinator's message to one or more audiences, once per person.

``create`` resolves the audiences to a set of active participants (a man in two audiences is
one recipient), renders each copy in his language (or Dutch with a note) and queues them all
in one transaction, each with the dedupe key ``broadcast:<id>:<participant>``: a crash or
restart never queues a second copy, and the outbox never sends one twice.
``report_progress`` tells the coordinator how it goes and, at the end, the tally.

A language's voice note (issue 19) is a second outbox row for each man of that language, right
after his text (kind ``voice``, dedupe key ``broadcast:<id>:<participant>:voice``, ref
``broadcast:<id>:voice``: the tally counts men, not messages). Its clip is erased once the
broadcast is finished or cancelled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.config import parse_address
from bot.delivery import outbox
from bot.store import audiences, locks
from bot.store import participants as participant_store
from bot.store import voice as voice_store
from bot.store.database import Database
from bot.store.schema import OutboxStatus, broadcasts
from bot.store.schema import outbox as outbox_table
from dialogs import notices
from dialogs.i18n import _, directed, fill, use_locale

log = logging.getLogger(__name__)

PROGRESS_EVERY = 10.0  # seconds between progress messages to the coordinator


class BroadcastError(ValueError):
    """The broadcast cannot be made (no Dutch text, unknown audience); one sentence."""


async def create(
    connection: AsyncConnection,
    *,
    created_by: str,
    audience_keys: tuple[str, ...],
    texts: dict[str, str],
    invite_series_id: int | None,
    areas: tuple[str, ...],
    now: datetime,
    send_at: datetime | None = None,
    voices: Mapping[str, int] | None = None,
) -> tuple[int, int]:
    """Queue a broadcast; returns (broadcast id, number of recipients). With ``send_at`` (a
    later time) its copies wait in the outbox with that ``not_before``, which the sender keeps:
    a scheduled broadcast is as durable as any queued one, and cancelled the same way."""
    texts = {language: text.strip() for language, text in texts.items() if text and text.strip()}
    if "nl" not in texts:
        raise BroadcastError("A broadcast needs a Dutch text (--text-nl).")
    if not audience_keys:
        raise BroadcastError("Choose at least one audience.")
    try:
        members = await audiences.members(connection, audience_keys, areas, now)
    except audiences.UnknownAudience as error:
        raise BroadcastError(f"Unknown audience {error.args[0]!r}; use all, series:ID, waitlist:ID, language:nl|ar|so|en, area:N or noshow.") from None
    result = await connection.execute(
        broadcasts.insert().values(
            created_by=created_by,
            created_at=now,
            audience=json.dumps(list(audience_keys)),
            texts=json.dumps(texts, ensure_ascii=False),
            invite_series_id=invite_series_id,
            recipients=len(members),
            status="queued",
        )
        .returning(broadcasts.c.id)
    )
    broadcast_id: int = result.scalar_one()
    # A voice note goes with its own language's text only; a clip erased meanwhile is left out.
    stored = await voice_store.existing(connection, list((voices or {}).values()))
    voices = {language: clip for language, clip in (voices or {}).items() if language in texts and clip in stored}
    await voice_store.attach_to_broadcast(connection, broadcast_id, voices)
    rendered: dict[str, str] = {}
    rows = []
    for member in members:
        if member.language not in rendered:
            reply = notices.broadcast(member.language, texts, invite_series_id)
            rendered[member.language] = outbox.encode(Outgoing(reply.text, reply.options, reply.question))
        rows.append(
            {
                "channel": member.channel,
                "address": member.address,
                "priority": outbox.BULK,
                "payload": rendered[member.language],
                "kind": "broadcast",
                "dedupe_key": f"broadcast:{broadcast_id}:{member.id}",
                "ref": f"broadcast:{broadcast_id}",
                "status": "pending",
                "attempts": 0,
                "not_before": max(send_at or now, now),
                "created_at": now,
            }
        )
        if member.language in voices:
            rows.append(
                {
                    **rows[-1],
                    "payload": outbox.encode(Outgoing("", voice=voices[member.language])),
                    "kind": VOICE_KIND,
                    "dedupe_key": f"broadcast:{broadcast_id}:{member.id}:voice",
                    "ref": voice_ref(broadcast_id),
                }
            )
    if rows:
        await connection.execute(outbox_table.insert(), rows)
    log.info("broadcast %d: %d recipients queued by %s", broadcast_id, len(rows), created_by.split(":")[0])
    return broadcast_id, len(rows)


VOICE_KIND = "voice"


def voice_ref(broadcast_id: int) -> str:
    """The ``ref`` of a broadcast's voice notes, apart from its texts (counted for the tally)."""
    return f"broadcast:{broadcast_id}:voice"


TALLY = ("delivered", "failed", "blocked", "skipped", "waiting")
"""The coordinator's words for his copies (``outbox.progress``); cancelled ones are not in the
tally (``meedoen broadcast list`` shows them apart)."""


def tally(counts: Mapping[OutboxStatus, int]) -> dict[str, int]:
    """Outbox states → the coordinator's words."""
    result = dict.fromkeys(TALLY, 0)
    for status, number in counts.items():
        word = outbox.progress(status)
        if word != "cancelled":
            result[word] += number
    return result


async def status(connection: AsyncConnection, broadcast_id: int) -> tuple[int, dict[str, int]]:
    """(recipients, tally) of a broadcast, for progress bars."""
    recipients = await connection.scalar(select(broadcasts.c.recipients).where(broadcasts.c.id == broadcast_id))
    return recipients or 0, tally(await outbox.counts(connection, f"broadcast:{broadcast_id}"))


CANCELLABLE: tuple[OutboxStatus, ...] = ("pending", "claimed", "held")
"""Copies not yet handed to the platform (a ``claimed`` one waits for its slot and is then not
sent); ``sending`` ones are on their way already."""


@dataclass(frozen=True)
class Line:
    """One broadcast as ``meedoen broadcast list`` shows it."""

    id: int
    created_at: datetime
    audience: tuple[str, ...]
    status: str  # queued | done | cancelled
    counts: dict[OutboxStatus, int]  # copies in each state


async def overview(connection: AsyncConnection, broadcast_id: int | None = None) -> list[Line]:
    """Every broadcast (or just ``broadcast_id``), oldest first, with its copies counted by state."""
    counts: dict[str, dict[OutboxStatus, int]] = {}
    copies = (
        select(outbox_table.c.ref, outbox_table.c.status, func.count())
        .where(outbox_table.c.kind == "broadcast")
        .group_by(outbox_table.c.ref, outbox_table.c.status)
    )
    rows = select(broadcasts.c.id, broadcasts.c.created_at, broadcasts.c.audience, broadcasts.c.status).order_by(broadcasts.c.id)
    if broadcast_id is not None:
        copies = copies.where(outbox_table.c.ref == f"broadcast:{broadcast_id}")
        rows = rows.where(broadcasts.c.id == broadcast_id)
    for ref, state, number in await connection.execute(copies):
        counts.setdefault(ref, {})[outbox.status_of(state)] = number
    return [
        Line(row.id, row.created_at, tuple(json.loads(row.audience)), row.status, counts.get(f"broadcast:{row.id}", {}))
        for row in await connection.execute(rows)
    ]


async def cancel(connection: AsyncConnection, broadcast_id: int, now: datetime) -> tuple[int, int] | None:
    """Cancel the copies of a broadcast that have not gone out (their text is wiped too);
    returns (cancelled, on their way already), or None when there is no such broadcast."""
    found = await connection.scalar(select(broadcasts.c.id).where(broadcasts.c.id == broadcast_id))
    if found is None:
        return None
    ref = f"broadcast:{broadcast_id}"
    cancelled = await connection.execute(
        update(outbox_table)
        .where(outbox_table.c.ref == ref, outbox_table.c.status.in_(CANCELLABLE))
        .values(status="cancelled", payload="{}")
    )
    await connection.execute(
        update(outbox_table)
        .where(outbox_table.c.ref == voice_ref(broadcast_id), outbox_table.c.status.in_(CANCELLABLE))
        .values(status="cancelled", payload="{}")
    )
    await voice_store.erase_broadcast_voices(connection, broadcast_id)
    counts = await outbox.counts(connection, ref)
    await connection.execute(
        update(broadcasts)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "queued")
        .values(status="cancelled", tally=json.dumps(tally(counts)), finished_at=now)
    )
    log.info("broadcast %d: %d copies cancelled", broadcast_id, cancelled.rowcount)
    return cancelled.rowcount, counts.get("sending", 0)


async def _not_begun(connection: AsyncConnection, broadcast_id: int, now: datetime) -> bool:
    """True while every copy of a scheduled broadcast still waits for its time."""
    ref = f"broadcast:{broadcast_id}"
    earliest = await connection.scalar(
        select(func.min(outbox_table.c.not_before)).where(outbox_table.c.ref == ref, outbox_table.c.status == "pending")
    )
    handled = await connection.scalar(
        select(func.count()).select_from(outbox_table).where(outbox_table.c.ref == ref, outbox_table.c.status != "pending")
    )
    return earliest is not None and earliest > now and handled == 0


class _Running(Protocol):
    """A ``broadcasts`` row still queued: the columns the progress reporter reads."""

    @property
    def id(self) -> int: ...

    @property
    def created_by(self) -> str: ...

    @property
    def recipients(self) -> int: ...

    @property
    def progress_at(self) -> datetime | None: ...


class ProgressReporter:
    """Tells each coordinator how his broadcast goes: every ``PROGRESS_EVERY`` seconds while
    it runs, and the final tally when nothing is left to send. When he was last told is kept
    with the broadcast (``progress_at``) and the run holds a lock (``bot.store.locks.job``),
    so that several instances tell him once."""

    def __init__(self, db: Database, wake: Callable[[str], None]) -> None:
        self.db = db
        self.wake = wake

    async def run_once(self, now: datetime) -> None:
        async with self.db.transaction() as connection:
            await locks.job(connection, "broadcast-progress")
            running = list(await connection.execute(select(broadcasts).where(broadcasts.c.status == "queued")))
            for row in running:
                await self._one(connection, row, now)

    async def _one(self, connection: AsyncConnection, row: _Running, now: datetime) -> None:
        counts = tally(await outbox.counts(connection, f"broadcast:{row.id}"))
        voices_waiting = tally(await outbox.counts(connection, voice_ref(row.id)))["waiting"]
        finished = counts["waiting"] == 0 and voices_waiting == 0
        if not finished and await _not_begun(connection, row.id, now):
            return  # scheduled for later: nothing to tell yet
        last = row.progress_at
        if not finished and last is not None and (now - last).total_seconds() < PROGRESS_EVERY:
            return
        if finished:
            await connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == row.id)
                .values(status="done", tally=json.dumps(counts), finished_at=now, progress_at=now)
            )
            await voice_store.erase_broadcast_voices(connection, row.id)
            log.info("broadcast %d: done %s", row.id, counts)
        else:
            await connection.execute(update(broadcasts).where(broadcasts.c.id == row.id).values(progress_at=now))
        if ":" not in row.created_by or row.created_by.startswith("cli"):
            return
        channel, address = parse_address(row.created_by)
        language = await participant_store.language_of(connection, channel, address)
        with use_locale(language or "nl"):
            if finished:
                text = fill(
                    _(
                        "Broadcast %(id)s is finished: %(delivered)s delivered, %(failed)s failed, "
                        "%(blocked)s blocked the assistant, %(skipped)s skipped because they stopped."
                    ),
                    id=row.id,
                    **counts,
                )
            else:
                done = row.recipients - counts["waiting"]
                text = fill(_("Broadcast %(id)s: %(done)s of %(total)s handled so far."), id=row.id, done=done, total=row.recipients)
            await outbox.enqueue(
                connection,
                channel=channel,
                address=address,
                message=Outgoing(directed(text)),
                kind="reply",
                priority=outbox.REPLY,
                now=now,
            )
        self.wake(channel)
