"""The durable outbox and its sender: every message leaves through here.

A message is first a row, written in the same transaction as the change it reports, so a
crash can neither lose it nor send it for a change that was rolled back. One ``OutboxSender``
per channel drains the rows at the channel's pace: replies to people who are chatting
(priority 0) go ahead of bulk messages (priority 1, reminders and broadcasts).

Delivery guarantee. A row goes ``pending`` → ``sending`` (committed just before the HTTP
request) → deleted (replies) or ``sent`` (bulk, text wiped). If the process dies after
``sending`` was committed and before the outcome was, nobody can tell whether the platform
got the request (Telegram has no idempotency key). Such rows are marked ``uncertain`` at the
next start, logged, and **not** resent: we prefer a rare missing message over a doubled one.
The window is one HTTP round trip of the messages in flight at that instant.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Channel, DeliveryError, Outgoing
from bot.database import Database
from bot.schema import outbox, participants
from bot.store.portable import insert_or_ignore
from dialogs.types import Option
from scheduler.pacing import Pacer

log = logging.getLogger(__name__)

REPLY, BULK = 0, 1
MAX_ATTEMPTS = 5
GROUP_HORIZON = 0.05  # seconds of send slots booked at once
GROUP_SIZE = 64  # messages in flight at once
WINDOW = 500  # due rows read per query

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def encode(message: Outgoing) -> str:
    payload: dict = {"text": message.text}
    if message.options:
        payload["options"] = [[o.label, o.key] for o in message.options]
        payload["question"] = message.question
    if message.image is not None:
        payload["image"] = base64.b64encode(message.image).decode("ascii")
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decode(payload: str) -> Outgoing:
    data = json.loads(payload)
    return Outgoing(
        text=data["text"],
        options=tuple(Option(label, key) for label, key in data.get("options", ())),
        question=data.get("question", 0),
        image=base64.b64decode(data["image"]) if "image" in data else None,
    )


async def enqueue(
    connection: AsyncConnection,
    *,
    channel: str,
    address: str,
    message: Outgoing,
    kind: str,
    priority: int,
    now: datetime,
    dedupe_key: str | None = None,
    ref: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message; False when ``dedupe_key`` was queued before (nothing added)."""
    return await insert_or_ignore(
        connection,
        outbox,
        {
            "channel": channel,
            "address": address,
            "priority": priority,
            "payload": encode(message),
            "kind": kind,
            "dedupe_key": dedupe_key,
            "ref": ref,
            "status": "pending",
            "attempts": 0,
            "not_before": not_before or now,
            "created_at": now,
        },
    )


async def counts(connection: AsyncConnection, ref: str) -> dict[str, int]:
    """How many messages of ``ref`` are in each state (for progress and tallies)."""
    result = await connection.execute(
        select(outbox.c.status, func.count()).where(outbox.c.ref == ref).group_by(outbox.c.status)
    )
    return dict(result.all())


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


class OutboxSender:
    """Drains one channel's outbox at the channel's pace."""

    def __init__(self, db: Database, channel: Channel, now: Now = utcnow) -> None:
        self.db = db
        self.channel = channel
        self.now = now
        self.pacer = Pacer(channel.rate, channel.chat_interval)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.recover()
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.channel.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """New rows were committed: look again at once (a reply may jump the queue)."""
        self._wake.set()

    async def recover(self) -> int:
        """Rows left ``sending`` by a crash become ``uncertain`` and are not resent."""
        async with self.db.transaction() as connection:
            ids = (
                await connection.scalars(
                    select(outbox.c.id).where(
                        outbox.c.channel == self.channel.name, outbox.c.status == "sending"
                    )
                )
            ).all()
            if ids:
                await connection.execute(
                    update(outbox).where(outbox.c.id.in_(ids)).values(status="uncertain", payload="{}")
                )
        if ids:
            log.warning(
                "outbox %s: %d message(s) were in flight at a crash; marked uncertain, not resent: ids %s",
                self.channel.name, len(ids), ids[:20],
            )
        return len(ids)

    async def _run(self) -> None:
        while True:
            try:
                sent_any = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox %s: sender error; retrying in 1 s", self.channel.name)
                await asyncio.sleep(1)
                continue
            if not sent_any:
                await self._idle()

    async def _idle(self) -> None:
        """Sleep until woken, until the next delayed row is due, or for at most a second."""
        async with self.db.transaction() as connection:
            next_due = await connection.scalar(
                select(func.min(outbox.c.not_before)).where(
                    outbox.c.channel == self.channel.name, outbox.c.status == "pending"
                )
            )
        timeout = 1.0
        if next_due is not None:
            timeout = min(max((next_due - self.now()).total_seconds(), 0.0), 1.0)
        timeout = max(timeout, self.pacer.channel_ready_in())
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        except asyncio.TimeoutError:
            pass

    async def drain_once(self) -> bool:
        """Send one group of due messages; False when nothing could be sent now."""
        group = await self._claim_group()
        if not group:
            return False
        results = await asyncio.gather(*(self._send(row, delay) for row, delay in group))
        await self._record(results)
        return True

    async def _claim_group(self) -> list[tuple[dict, float]]:
        async with self.db.transaction() as connection:
            now = self.now()
            rows = (
                await connection.execute(
                    select(
                        outbox.c.id,
                        outbox.c.address,
                        outbox.c.payload,
                        outbox.c.priority,
                        outbox.c.kind,
                        outbox.c.attempts,
                        participants.c.status.label("participant_status"),
                    )
                    .select_from(
                        outbox.outerjoin(
                            participants,
                            and_(
                                participants.c.channel == outbox.c.channel,
                                participants.c.address == outbox.c.address,
                            ),
                        )
                    )
                    .where(
                        outbox.c.channel == self.channel.name,
                        outbox.c.status == "pending",
                        outbox.c.not_before <= now,
                    )
                    .order_by(outbox.c.priority, outbox.c.id)
                    .limit(WINDOW)
                )
            ).mappings().all()
            skipped = [
                r["id"] for r in rows if r["priority"] == BULK and r["participant_status"] == "stopped"
            ]
            group: list[tuple[dict, float]] = []
            for row in rows:
                if row["id"] in skipped or len(group) >= GROUP_SIZE:
                    continue
                delay = self.pacer.book(row["address"], GROUP_HORIZON)
                if delay is not None:
                    group.append((dict(row), delay))
                elif self.pacer.channel_ready_in() > GROUP_HORIZON:
                    break
            if skipped:
                await connection.execute(
                    update(outbox).where(outbox.c.id.in_(skipped)).values(status="skipped", payload="{}")
                )
            if group:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row["id"] for row, _ in group]))
                    .values(status="sending", attempts=outbox.c.attempts + 1)
                )
        return group

    async def _send(self, row: dict, delay: float) -> tuple[dict, DeliveryError | None]:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await self.channel.deliver(row["address"], decode(row["payload"]))
        except DeliveryError as error:
            return row, error
        except Exception as error:  # a bug or an unexpected library error: retry later
            log.error("outbox %s: message %d: unexpected %s", self.channel.name, row["id"], type(error).__name__)
            return row, DeliveryError("transient", type(error).__name__)
        return row, None

    async def _record(self, results: list[tuple[dict, DeliveryError | None]]) -> None:
        now = self.now()
        async with self.db.transaction() as connection:
            delivered = [row for row, error in results if error is None]
            replies = [row["id"] for row in delivered if row["kind"] == "reply"]
            if replies:
                await connection.execute(delete(outbox).where(outbox.c.id.in_(replies)))
            bulk = [row["id"] for row in delivered if row["kind"] != "reply"]
            if bulk:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(bulk))
                    .values(status="sent", sent_at=now, payload="{}")
                )
            for row, error in results:
                if error is not None:
                    await self._failed(connection, row, error, now)

    async def _failed(
        self, connection: AsyncConnection, row: dict, error: DeliveryError, now: datetime
    ) -> None:
        log.info(
            "outbox %s: message %d: %s %s", self.channel.name, row["id"], error.kind, error.code
        )
        where = outbox.c.id == row["id"]
        if error.kind == "rate_limited":
            self.pacer.pause(error.retry_after)
            await connection.execute(
                update(outbox).where(where).values(status="pending", attempts=row["attempts"])
            )
        elif error.kind == "blocked":
            await connection.execute(
                update(participants)
                .where(
                    participants.c.channel == self.channel.name,
                    participants.c.address == row["address"],
                )
                .values(status="stopped")
            )
            await connection.execute(
                update(outbox).where(where).values(status="blocked", error=error.code, payload="{}")
            )
            await connection.execute(
                update(outbox)
                .where(
                    outbox.c.channel == self.channel.name,
                    outbox.c.address == row["address"],
                    outbox.c.status == "pending",
                    outbox.c.priority == BULK,
                )
                .values(status="skipped", payload="{}")
            )
        elif error.kind == "transient" and row["attempts"] + 1 < MAX_ATTEMPTS:
            await connection.execute(
                update(outbox)
                .where(where)
                .values(status="pending", not_before=now + backoff(row["attempts"]), error=error.code)
            )
        else:
            await connection.execute(
                update(outbox).where(where).values(status="failed", error=error.code, payload="{}")
            )

