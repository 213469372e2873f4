"""What the WhatsApp channel reads and writes in the database, one transaction per function.

- who a man is for the window rule (language, last inbound message, status);
- the messages handed to Twilio (``whatsapp_messages``), for the status callbacks (the
  numbered choices he saw last are ``bot.channels.numbered``'s);
- held messages: released when he writes, and whether an opener already asked him to
  (claimed under a lock on his number, so that two instances send one opener);
- the window WhatsApp said was closed (63016), on his row, so that every instance knows;
- the media links Twilio fetches (``whatsapp_media``), so that any instance can serve them.

``whatsapp_messages`` is erased with the rows it hangs off (see ``bot.store.schema``);
``whatsapp_media`` names nobody and lives an hour.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery import outbox as outbox_module
from bot.store import inbound as inbound_updates
from bot.store import locks, updates
from bot.store import participants as participant_store
from bot.store import voice as voice_store
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import (
    outbox,
    participants,
    processed_updates,
    whatsapp_media,
    whatsapp_messages,
)

CHANNEL = "whatsapp"
KEEP_TEXT_FOR = timedelta(days=1)
"""A sent part's text is kept until it is delivered (for a re-route), never longer than this."""
KEEP_ROWS_FOR = timedelta(days=30)
OPENER_EVERY = timedelta(hours=24)
"""At most one opener a day while he has not answered: more would be spam."""

PROGRESS = {"queued": 0, "accepted": 0, "sending": 1, "sent": 1, "delivered": 2, "read": 3}
OUTBOX_SENT_STATES = ("sent", "delivered")  # bulk rows a later status may still change
OUTBOX_LATER_STATES = ("delivered", "read")  # the statuses that move such a row on


@dataclass(frozen=True)
class Recipient:
    language: str
    last_inbound_at: datetime | None
    status: str


async def recipient(db: Database, address: str) -> Recipient | None:
    async with db.transaction() as connection:
        row = (
            await connection.execute(
                select(participants.c.language, participants.c.last_inbound_at, participants.c.status).where(
                    participants.c.channel == CHANNEL, participants.c.address == address
                )
            )
        ).first()
    return Recipient(*row) if row is not None else None


# --- sent messages -------------------------------------------------------------------------------


async def record_sent(
    db: Database,
    *,
    sid: str,
    outbox_id: int | None,
    path: str,
    kind: str,
    payload: str | None,
    status: str,
    now: datetime,
) -> None:
    async with db.transaction() as connection:
        if outbox_id is not None and not await connection.scalar(
            select(exists().where(outbox.c.id == outbox_id))
        ):
            outbox_id, payload = None, None  # erased meanwhile: keep nothing of it
        await insert_or_ignore(
            connection,
            whatsapp_messages,
            {
                "sid": sid,
                "outbox_id": outbox_id,
                "path": path,
                "kind": kind,
                "payload": payload,
                "status": status,
                "created_at": now,
            },
        )


@dataclass(frozen=True)
class StatusOutcome:
    known: bool = False  # the sid is one of ours (not a reply already forgotten)
    requeued: bool = False  # the message is back in the outbox (re-route or retry)
    stopped: bool = False  # he was marked stopped


async def apply_status(
    db: Database,
    *,
    sid: str,
    status: str,
    error: str | None,
    address: str | None,
    blocked: bool = False,
    window_closed: bool = False,
    retry_after: timedelta | None = None,
    now: datetime,
) -> StatusOutcome:
    """One status callback, applied to the message and its outbox row.

    ``blocked`` (21610, 63014): he opted out or cannot be reached; he is stopped.
    ``window_closed`` (63016): a free-form message went out of the window; it goes back in
    line and the channel sends it as a template. ``retry_after`` (63018, 429): it failed for
    the rate; it goes back in line after that delay. An opener that fails this way puts its
    held message back in line. Statuses may arrive out of order: read stays read."""
    async with db.transaction() as connection:
        row = (
            await connection.execute(select(whatsapp_messages).where(whatsapp_messages.c.sid == sid))
        ).first()
        stopped = await _stop(connection, address) if blocked and address is not None else False
        if window_closed and address is not None:
            await _close_window(connection, address)  # before the message is back in line
        if row is None:
            return StatusOutcome(stopped=stopped)
        failed = status in ("failed", "undelivered")
        if not failed and PROGRESS.get(status, -1) <= PROGRESS.get(row.status, -1):
            return StatusOutcome(known=True, stopped=stopped)
        finished = failed or status in ("delivered", "read")
        await connection.execute(
            update(whatsapp_messages)
            .where(whatsapp_messages.c.sid == sid)
            .values(status=status, error=error, payload=None if finished else row.payload)
        )
        if row.outbox_id is None or not (failed or row.path != "opener"):
            return StatusOutcome(known=True, stopped=stopped)
        states = ("held",) if row.path == "opener" else OUTBOX_SENT_STATES
        where = and_(outbox.c.id == row.outbox_id, outbox.c.status.in_(states))
        if not failed:
            # Only delivered and read say more than the outbox's own "sent"; an earlier stage
            # ("sending", "sent") must not make the row look in flight again.
            if status in OUTBOX_LATER_STATES:
                await connection.execute(update(outbox).where(where).values(status=status))
            return StatusOutcome(known=True, stopped=stopped)
        if blocked:
            values = {"status": "blocked", "error": error, "payload": "{}"}
        elif retry_after is not None and (row.path == "opener" or row.payload):
            values = {"status": "pending", "not_before": now + retry_after, "error": error}
        elif window_closed and row.path == "session" and row.payload:
            values = {"status": "pending", "not_before": now, "error": error}
        else:
            values = {"status": "failed", "error": error, "payload": "{}"}
        if values["status"] == "pending" and row.path != "opener":
            values["payload"] = row.payload  # the part that failed, as it was queued
        result = await connection.execute(update(outbox).where(where).values(**values))
        requeued = values["status"] == "pending" and result.rowcount > 0
        return StatusOutcome(known=True, requeued=requeued, stopped=stopped)


async def _stop(connection: AsyncConnection, address: str) -> bool:
    """He opted out or cannot be reached: no more bulk messages (as /stop does)."""
    result = await connection.execute(
        update(participants)
        .where(participants.c.channel == CHANNEL, participants.c.address == address)
        .values(status="stopped")
    )
    await connection.execute(
        update(outbox)
        .where(
            outbox.c.channel == CHANNEL,
            outbox.c.address == address,
            outbox.c.status.in_(("pending", "held")),
            outbox.c.priority == outbox_module.BULK,
        )
        .values(status="skipped", payload="{}")
    )
    return result.rowcount > 0


async def forget_old(db: Database, now: datetime) -> None:
    """Texts kept for a re-route go after a day; the rows themselves after a month."""
    async with db.transaction() as connection:
        await connection.execute(
            update(whatsapp_messages)
            .where(whatsapp_messages.c.created_at < now - KEEP_TEXT_FOR, whatsapp_messages.c.payload.is_not(None))
            .values(payload=None)
        )
        await connection.execute(
            delete(whatsapp_messages).where(whatsapp_messages.c.created_at < now - KEEP_ROWS_FOR)
        )
        await outbox_module.expire_held(connection, CHANNEL, now)
        await connection.execute(delete(whatsapp_media).where(whatsapp_media.c.expires_at <= now))


# --- held messages and the opener ------------------------------------------------------------------


async def claim_opener(db: Database, address: str, outbox_id: int | None, kind: str, now: datetime) -> str | None:
    """Whether to send him the opener for a held message: unless one went out in the last day
    for a message still held (or being held) for him. The claim is a placeholder row in
    ``whatsapp_messages``, written under a lock on his number (``bot.store.locks``), so that of
    two instances holding messages for him at once only one sends an opener. Returns the
    placeholder's key for ``opener_sent``, or None."""
    async with db.transaction() as connection:
        await locks.hold(connection, "whatsapp-opener", address)
        asked = await connection.scalar(
            select(
                exists().where(
                    whatsapp_messages.c.outbox_id == outbox.c.id,
                    whatsapp_messages.c.path == "opener",
                    whatsapp_messages.c.created_at > now - OPENER_EVERY,
                    whatsapp_messages.c.status.not_in(("failed", "undelivered")),
                    outbox.c.channel == CHANNEL,
                    outbox.c.address == address,
                    # "sending": a message of his being held right now, by this or another instance
                    outbox.c.status.in_(("held", "sending")),
                )
            )
        )
        if asked:
            return None
        placeholder = "OP" + secrets.token_hex(16)
        await connection.execute(
            insert(whatsapp_messages).values(
                sid=placeholder, outbox_id=outbox_id, path="opener", kind=kind, payload=None,
                status="queued", created_at=now,
            )
        )
        return placeholder


async def opener_sent(db: Database, placeholder: str, sid: str | None, status: str = "queued") -> None:
    """The opener went out as ``sid`` (its status callbacks find it by that), or, at None,
    did not go out: the claim is withdrawn."""
    async with db.transaction() as connection:
        where = whatsapp_messages.c.sid == placeholder
        if sid is None:
            await connection.execute(delete(whatsapp_messages).where(where))
        else:
            await connection.execute(update(whatsapp_messages).where(where).values(sid=sid, status=status))


async def close_window(db: Database, address: str) -> None:
    """WhatsApp said his window is closed (63016): until he writes again, every instance
    sends him templates (his last message's hour is forgotten; the next one sets it again)."""
    async with db.transaction() as connection:
        await _close_window(connection, address)


async def _close_window(connection: AsyncConnection, address: str) -> None:
    await connection.execute(
        update(participants)
        .where(participants.c.channel == CHANNEL, participants.c.address == address)
        .values(last_inbound_at=None)
    )


# --- media links --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    content: bytes
    media_type: str
    name: str


async def publish(
    db: Database, content: bytes | int, media_type: str, name: str, until: datetime, now: datetime
) -> str:
    """Keep an image or a file (its bytes) or a voice clip (its id) for Twilio to fetch until
    ``until``; returns the random token of its link. Expired links go at the same time."""
    token = secrets.token_urlsafe(24)
    async with db.transaction() as connection:
        await connection.execute(delete(whatsapp_media).where(whatsapp_media.c.expires_at <= now))
        await connection.execute(
            insert(whatsapp_media).values(
                token=token,
                content=content if isinstance(content, bytes) else None,
                clip_id=content if isinstance(content, int) else None,
                media_type=media_type,
                name=name,
                expires_at=until,
            )
        )
    return token


async def media(db: Database, token: str, now: datetime) -> Media | None:
    """What a link serves, while it lasts; a voice clip replaced or removed since is gone."""
    async with db.transaction() as connection:
        row = (
            await connection.execute(
                select(whatsapp_media).where(whatsapp_media.c.token == token, whatsapp_media.c.expires_at > now)
            )
        ).first()
        if row is None:
            return None
        content = row.content if row.clip_id is None else await voice_store.audio(connection, row.clip_id)
    return Media(content, row.media_type, row.name) if content is not None else None


async def inbound(
    db: Database, address: str, now: datetime, *, first_sid: str | None = None,
    stored: str | None = None, passing_on: bool = False,
) -> int | None:
    """He wrote: the window is open. Note the hour (``participants.window_hour``) and
    release what was held for him; returns how many messages were released. With
    ``first_sid``, a message seen before changes nothing (``None``). ``stored`` is the
    message's key in ``bot.store.inbound``: deleted here, in the same transaction, unless
    nothing was released and it is ``passing_on`` to the engine."""
    async with db.transaction() as connection:
        if first_sid is not None and not await updates.first_time(connection, CHANNEL, first_sid, now):
            if stored is not None:
                await inbound_updates.forget(connection, CHANNEL, stored)
            return None
        await connection.execute(
            update(participants)
            .where(participants.c.channel == CHANNEL, participants.c.address == address)
            .values(last_inbound_at=participant_store.window_hour(now))
        )
        released = await outbox_module.release_held(connection, CHANNEL, address, now)
        if stored is not None and (released or not passing_on):
            await inbound_updates.forget(connection, CHANNEL, stored)
        return released


async def seen(db: Database, sid: str) -> bool:
    """Was this message handled before? (Checked first, so that a replayed webhook cannot
    open the window again; the engine's own check stays the atomic one.)"""
    async with db.transaction() as connection:
        return bool(
            await connection.scalar(
                select(
                    exists().where(
                        processed_updates.c.channel == CHANNEL, processed_updates.c.update_id == sid
                    )
                )
            )
        )
