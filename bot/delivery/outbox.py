"""The durable outbox and its sender: every message leaves through here.

A message is first a row, written in the same transaction as the change it reports, so a
crash can neither lose it nor send it for a change that was rolled back. One ``OutboxSender``
per channel drains the rows at the channel's pace: replies to people who are chatting
(priority 0) go ahead of bulk messages (priority 1, reminders and broadcasts).

Delivery guarantee. A row goes ``pending`` → ``claimed`` (taken by this sender: at a slow pace
the next half second of bulk rows in one transaction, ahead of their slots, otherwise as its
slot is booked) → ``sending`` (committed immediately before its HTTP request) → deleted
(replies) or ``sent`` (bulk, text wiped); a failed request goes back to ``pending`` (a
retry), or ends ``failed`` / ``blocked``. A row whose slot has already come when it is
claimed is claimed straight as ``sending``: its request starts right after that commit.
If the process dies after ``sending`` was committed and before the outcome was,
nobody can tell whether the platform got the request (Telegram has no idempotency key). Such
rows are marked ``uncertain`` at the next start, logged, and **not** resent: we prefer a rare
missing message over a doubled one. A row still ``claimed`` at a crash had not started its
request (it was waiting for its slot, or for a 429's pause) and simply goes back to
``pending``. ``sending`` is committed ahead of the slot by about what that commit takes
(``_mark_lead``, a few milliseconds), so the request starts on its slot and the pace is kept.
So the window is those few milliseconds, one HTTP round trip and the recording of the
outcome (at a slow pace taken along by the next ``sending`` commit, about a slot later), for
the requests started and not yet recorded at that instant (at most ``GROUP_SIZE``; see
``_unsettled``).

Several instances (PostgreSQL, docs/scaling.md). A claimed row names its ``owner``, the
instance that claimed it (``bot.delivery.instance``), and is claimed with ``FOR UPDATE SKIP
LOCKED``: exactly one instance gets it. Only rows of owners whose lease has expired are
recovered (at start, when an instance becomes a channel's sender, and every ``SWEEP``
seconds), never a live instance's. Each channel has one sender at a time (elected; on SQLite
the one process), so its pacer alone keeps the platform's limits, as with one process; an
instance that becomes the sender waits ``takeover_wait`` first, so that its first sends and
its predecessor's last ones never share a second, nor a chat's interval.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, assert_never

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.channels.base import Channel, DeliveryError, DeliveryErrorKind, Document, Outgoing
from bot.common.clock import Now, utcnow
from bot.delivery.instance import Instance
from bot.delivery.pacing import Pacer
from bot.store import outbox_owners
from bot.store.database import Database
from bot.store.portable import insert_or_ignore
from bot.store.schema import OUTBOX_STATUSES, OutboxStatus, outbox, participants
from dialogs.types import Option

log = logging.getLogger(__name__)

REPLY, BULK = 0, 1
MAX_ATTEMPTS = 5
GROUP_SIZE = 64  # messages in flight at once (bounds what a crash can leave uncertain)
WINDOW = 500  # due rows read per query
RECORD_COALESCE = 0.003  # seconds outcomes wait to be recorded together
RECORD_WAIT_MAX = 0.05  # at a slow pace, up to a slot's length, for the next ``sending`` mark to take them
LOOKAHEAD = 0.03  # seconds ahead a send slot may be booked and its row claimed
CLAIM_AHEAD = 0.5  # seconds of bulk sends claimed at once, ahead of their slots, at a slow pace
MARK_LEAD_MIN = 0.001  # seconds: ``sending`` is committed at least this far ahead of the slot
MARK_LEAD_FACTOR = 1.5  # times the recent commit time, so that a slower commit is rarely late
SWEEP = 3.0  # seconds between two looks for rows of instances whose lease expired
TAKEOVER_MARGIN = 0.1  # seconds: added to the platform's second (and chat interval) on taking over
HOLD_AFTER_ANSWER = 0.5  # seconds a man's bulk copies still wait once his message was handled
STOP_GRACE = 15.0  # seconds a stopping sender gets to finish its step (requests time out sooner)
NOT_STARTED: DeliveryErrorKind = "not_started"  # a claimed row whose ``sending`` mark failed: back in line
BACK_IN_LINE: tuple[DeliveryErrorKind, ...] = ("rate_limited", NOT_STARTED)  # outcomes that make a row ``pending``, due now
IN_HAND: tuple[OutboxStatus, ...] = ("claimed", "sending")  # what an outcome may change: never a row /delete removed
# and SQLite gave its id again to a new message (``pending``)

Row = dict[str, Any]
"""An outbox row as the sender reads it (``_load_window``'s columns)."""


def encode(message: Outgoing) -> str:
    payload: dict[str, Any] = {"text": message.text}
    if message.options:
        payload["options"] = [[o.label, o.key] for o in message.options]
        payload["question"] = message.question
    if message.image is not None:
        payload["image"] = base64.b64encode(message.image).decode("ascii")
    if message.document is not None:
        payload["document"] = {
            "name": message.document.name,
            "type": message.document.mime_type,
            "content": base64.b64encode(message.document.content).decode("ascii"),
        }
    if message.voice is not None:
        payload["voice"] = message.voice  # the clip's id: the sound stays in one place
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decode(payload: str, kind: str = "reply", outbox_id: int | None = None) -> Outgoing:
    """The message ``encode`` stored; ``kind`` and ``outbox_id`` (the row's) are not in it."""
    data = json.loads(payload)
    return Outgoing(
        text=data["text"],
        options=tuple(Option(label, key) for label, key in data.get("options", ())),
        question=data.get("question", 0),
        image=base64.b64decode(data["image"]) if "image" in data else None,
        document=_document(data["document"]) if "document" in data else None,
        voice=data.get("voice"),
        kind=kind,
        outbox_id=outbox_id,
    )


def _document(data: dict[str, str]) -> Document:
    return Document(data["name"], data["type"], base64.b64decode(data["content"]))


async def enqueue(connection: AsyncConnection, *, message: Outgoing, **row: Any) -> bool:
    """Queue one message (``row``: the other fields of ``new_row``); False when its
    ``dedupe_key`` was queued before (nothing added)."""
    return await insert_or_ignore(connection, outbox, new_row(payload=encode(message), **row))


async def enqueue_many(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Queue many messages in one statement (rows from ``new_row``); a row whose
    ``dedupe_key`` was queued before is left out."""
    if rows:
        await insert_or_ignore(connection, outbox, rows)


def new_row(
    *,
    channel: str,
    address: str,
    payload: str,
    kind: str,
    priority: int,
    now: datetime,
    dedupe_key: str | None = None,
    ref: str | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """An outbox row waiting to be sent; ``payload`` is ``encode(message)``, which callers
    queueing one message to many men compute once per language."""
    return {
        "channel": channel,
        "address": address,
        "priority": priority,
        "payload": payload,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "ref": ref,
        "status": "pending",
        "attempts": 0,
        "not_before": not_before or now,
        "created_at": now,
    }


async def counts(connection: AsyncConnection, ref: str) -> dict[OutboxStatus, int]:
    """How many messages of ``ref`` are in each state (for progress and tallies)."""
    result = await connection.execute(
        select(outbox.c.status, func.count()).where(outbox.c.ref == ref).group_by(outbox.c.status)
    )
    return {status_of(status): number for status, number in result.all()}


def status_of(value: str) -> OutboxStatus:
    """A stored ``outbox.status`` as its type; a value no code writes is an error, not a
    message silently left out of every count."""
    for status in OUTBOX_STATUSES:
        if status == value:
            return status
    raise ValueError(f"unknown outbox status {value!r}")


Progress = Literal["waiting", "delivered", "failed", "blocked", "skipped", "cancelled"]


def progress(status: OutboxStatus) -> Progress:
    """What a message in ``status`` is for the coordinator's tally of his broadcast."""
    match status:
        case "pending" | "claimed" | "sending" | "held":
            return "waiting"
        case "sent" | "delivered" | "read":
            return "delivered"
        case "failed" | "uncertain" | "expired":
            return "failed"
        case "blocked" | "skipped" | "cancelled":
            return status
        case _:
            assert_never(status)


async def recover(db: Database, channel: str, me: str, now: datetime, *, alone: bool) -> list[int]:
    """The rows of ``channel`` that a dead instance had in hand: those left ``sending`` become
    ``uncertain`` and are not resent; those left ``claimed`` never started their request and
    go back to ``pending``. Dead: not ``me``, and its lease has expired (``alone``, on SQLite:
    any other owner, a previous run of this one). A live instance's rows are left alone.
    Returns the ids made uncertain."""
    async with db.transaction() as connection:
        gone = and_(outbox.c.channel == channel, outbox_owners.dead_owner(me, now, only_me_alive=alone))
        await connection.execute(
            update(outbox).where(gone, outbox.c.status == "claimed").values(status="pending", owner=None)
        )
        ids = list((await connection.scalars(select(outbox.c.id).where(gone, outbox.c.status == "sending"))).all())
        if ids:
            await connection.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(status="uncertain", payload="{}")
            )
        await outbox_owners.forget_expired(connection, now)
    return ids


START_SLACK = 0.002  # seconds: a slot this close is "now" (the claim's commit takes longer)


def _starts_now(slot: float | None, paused_until: float, now: float, lead: float) -> bool:
    """Does a request booked for ``slot`` start as soon as its claim is committed (which
    takes about ``lead``)?"""
    return slot is None or max(slot, paused_until) - now <= lead


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


class OutboxSender:
    """Drains one channel's outbox at the channel's pace."""

    def __init__(self, db: Database, channel: Channel, instance: Instance, now: Now = utcnow) -> None:
        self.db = db
        self.channel = channel
        self.now = now
        self.instance = instance  # started before the sender: its lease covers the rows claimed
        self.owner = instance.owner
        self.leadership = instance.leadership(channel.name, self._woken)
        # As the sender last saw it: on becoming the sender it recovers and waits. Alone, it
        # is the sender from the start, and ``start`` has recovered already.
        self._leading = instance.alone
        self._swept_at = 0.0  # pacer time of the last look for rows of expired owners
        self.pacer = Pacer(channel.limits.rate, channel.limits.chat_interval)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._window: list[Row] = []  # due rows read ahead, in sending order; ``claimed`` ones are ours
        self._reread = False  # read the window afresh (keeping the rows claimed) at the next step
        self._more_due = False  # the last read filled the window: more due rows may be behind it
        self._new_rows = False  # woken: new rows were committed (read the replies among them)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._results: list[tuple[Row, DeliveryError | None]] = []
        self._results_ready = asyncio.Event()
        self._recording = 0  # outcomes in a transaction recording them, not yet committed
        self._settled = asyncio.Event()  # set whenever outcomes have been committed
        self._stopping = False  # the recorder: record what is left, then end
        self._closing = False  # the sender: start nothing new, then end
        self._conversing: dict[str, float] = {}  # address -> pacer time until which bulk waits
        self._mark_lead = 0.003  # seconds a ``sending`` commit takes, lately (see ``_send_one``)

    async def start(self) -> None:
        await self.recover()
        await self.leadership.start()
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.channel.name}")

    async def stop(self) -> None:
        """Stop between steps rather than cancel one: a task cancelled inside a database
        transaction makes SQLAlchemy close its connection by force, and the SQLite
        connection can then linger with the write lock held. Cancelled only as a last
        resort, if the sender has not come round within ``STOP_GRACE`` seconds."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        done, _ = await asyncio.wait({self._task}, timeout=STOP_GRACE)
        if not done:
            log.warning("outbox %s: sender did not stop in %.0f s; cancelled", self.channel.name, STOP_GRACE)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        await self.leadership.stop()

    def wake(self) -> None:
        """New rows were committed: look again at once (a reply may jump the queue); when
        another instance sends this channel, wake that one."""
        if self.leadership.leading:
            self._wake.set()
        else:
            self.leadership.notify()

    def _woken(self) -> None:
        """Another instance queued messages for this channel."""
        self._wake.set()

    @contextmanager
    def conversing(self, address: str) -> Iterator[None]:
        """While a message from ``address`` is being handled, bulk copies to him (a broadcast,
        a reminder) wait: one sent meanwhile would take the chat's one-a-second slot and make
        his answer wait for it. Once handled, his answer is queued and goes first anyway."""
        self._conversing[address] = math.inf
        try:
            yield
        finally:
            now = self.pacer.now()
            self._conversing[address] = now + HOLD_AFTER_ANSWER
            if len(self._conversing) > 10_000:
                self._conversing = {a: until for a, until in self._conversing.items() if until > now}

    def _held_for(self, row: Row) -> float:
        """Seconds this row still waits because its man is in conversation (0: not held)."""
        if row["priority"] != BULK:
            return 0.0
        return max(self._conversing.get(row["address"], 0.0) - self.pacer.now(), 0.0)

    async def recover(self) -> int:
        """After a crash of an instance (a previous run of this one, or another whose lease
        has expired): see ``recover``. Returns how many of its messages became uncertain."""
        self._swept_at = self.pacer.now()
        ids = await recover(self.db, self.channel.name, self.owner, self.now(), alone=self.instance.alone)
        if ids:
            log.warning(
                "outbox %s: %d message(s) were in flight when their instance died; marked uncertain, "
                "not resent: ids %s", self.channel.name, len(ids), ids[:20],
            )
        return len(ids)

    async def _follow_leadership(self) -> bool:
        """Whether this instance sends the channel now. On becoming its sender: recover what
        a dead predecessor left, and wait ``takeover_wait`` before the first send (the last
        requests of a predecessor that has just died may still be counted by the platform)."""
        leading = self.leadership.leading
        if leading and not self._leading:
            if not self.instance.alone:
                self.pacer.pause(self.takeover_wait)
            await self.recover()
        elif not leading and self._leading:
            self._window = []
        self._leading = leading
        return leading

    @property
    def takeover_wait(self) -> float:
        return max(1.0, self.channel.limits.chat_interval) + TAKEOVER_MARGIN

    async def _run(self) -> None:
        recorder = asyncio.create_task(self._record_loop(), name=f"outbox-{self.channel.name}-results")
        try:
            while not self._closing:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("outbox %s: sender error; retrying in 1 s", self.channel.name)
                    self._window = [row for row in self._window if row.get("claimed")]  # still ours
                    await asyncio.sleep(1)
        finally:
            # Stopping: let requests under way finish and their outcomes be recorded, so a
            # clean stop never leaves a delivered message looking uncertain.
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=10)
            await self._release_claimed()
            self._stopping = True
            self._results_ready.set()
            await asyncio.wait({recorder}, timeout=10)

    async def _step(self) -> None:
        """Claim the rows whose send slot has come, start their requests, and return; the
        results are recorded by ``_record_loop`` as they arrive."""
        if not await self._follow_leadership():
            self._wake.clear()
            await self._await_leadership()
            return
        if not self.instance.alone and self.pacer.now() - self._swept_at >= SWEEP:
            await self.recover()  # another instance may have died since (alone: none can appear)
        if self._wake.is_set():  # new rows: a reply may now outrank the window
            self._wake.clear()
            self._new_rows = True
        unread = self._more_due and all(row.get("claimed") for row in self._window)
        if self._reread or unread or not self._window:
            self._reread = self._new_rows = False
            in_hand = [row for row in self._window if row.get("claimed")]
            loaded = await self._load_window()
            self._more_due = len(loaded) == WINDOW  # more behind: read on once these are claimed
            self._window = sorted(in_hand + loaded, key=lambda row: (row["priority"], row["id"]))
            if not self._window:
                await self._idle()
                return
        elif self._new_rows:
            # Read the new replies only: bulk rows queued meanwhile come after those read
            # anyway. Reading the whole window again on every reply held SQLite's writer for
            # seconds in a broadcast under chatter (docs/benchmarks.md, replies under load).
            self._new_rows = False
            known = {row["id"] for row in self._window}
            replies = [row for row in await self._load_window(REPLY) if row["id"] not in known]
            if replies:
                self._window = sorted(self._window + replies, key=lambda row: (row["priority"], row["id"]))
        if self._unsettled() >= GROUP_SIZE:
            # Refill in batches, not one by one: each claim is a transaction.
            while self._unsettled() > GROUP_SIZE // 2:
                self._settled.clear()
                await self._settled.wait()
            return
        ready: list[Row] = []
        waiting: list[Row] = []
        held: list[Row] = []
        slots: dict[int, float] = {}
        # Chats with a row left waiting in this pass: their later rows wait behind it. The
        # clock moves on while the pass books slots, so a later row could otherwise find the
        # channel's next slot within reach when an earlier row of his just missed it, and
        # overtake it (his answers out of order, seen with three instances under load).
        behind: set[str] = set()
        for row in self._window:
            if self._held_for(row):
                held.append(row)
                continue
            slot = None
            if row["address"] not in behind and len(ready) < GROUP_SIZE - self._unsettled():
                slot = self.pacer.reserve(row["address"], LOOKAHEAD)
            if slot is not None:
                ready.append(row)
                slots[row["id"]] = slot
            else:
                waiting.append(row)
                behind.add(row["address"])
        self._window = [row for row in self._window if row["id"] not in slots]
        if not waiting and held:
            # Only held rows left: read the window afresh next time, so that the rows behind
            # them (a long broadcast beyond ``WINDOW``) are not kept waiting too.
            self._reread = True
        if not ready:
            if waiting:
                pause = max(
                    self.pacer.channel_ready_in() - LOOKAHEAD,
                    min(self.pacer.chat_ready_in(row["address"]) for row in waiting),
                )
                await self._sleep(min(max(pause, 0.001), 0.25))
            else:
                await self._sleep(min(min(self._held_for(row) for row in held), 1.0))
            return
        claimed_ahead = {row["id"] for row in ready if row.get("claimed")}  # no claim now
        try:
            fresh = [row for row in ready if row["id"] not in claimed_ahead]
            claimed = claimed_ahead | (await self._claim(fresh, slots) if fresh else set())
        except BaseException:
            # Nothing goes out: give the booked slots back, or the pacer would count them
            # as under way for ever and hold the channel; rows claimed ahead stay ours.
            for row in ready:
                self.pacer.finished(row["address"])
            self._window[:0] = [row for row in ready if row["id"] in claimed_ahead]
            raise
        for row in ready:
            if row["id"] not in claimed:  # cancelled or erased since the window was read, or
                # held by another transaction (SKIP LOCKED) and still due: read the window
                # afresh, so that it is back in its place before his later rows go.
                self.pacer.finished(row["address"])
                self._reread = True
                continue
            task = asyncio.create_task(self._send_one(row, slots[row["id"]]))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        await self._claim_ahead()  # for the rows behind, while these wait for their slots

    def _unsettled(self) -> int:
        """Messages claimed whose outcome is not committed yet: all a crash now could leave
        ``uncertain``, kept at most ``GROUP_SIZE``."""
        return len(self._in_flight) + len(self._results) + self._recording

    async def _await_leadership(self) -> None:
        """Not the channel's sender: wait until this instance becomes it, or stops."""
        self.leadership.changed.clear()
        if self.leadership.leading or self._closing:
            return
        changed = asyncio.ensure_future(self.leadership.changed.wait())
        woken = asyncio.ensure_future(self._wake.wait())  # ``stop`` sets it too
        try:
            await asyncio.wait({changed, woken}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            woken.cancel()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when new rows arrive or the sender stops."""
        if self._closing:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

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
        await self._sleep(max(timeout, self.pacer.channel_ready_in()))

    async def _load_window(self, priority: int | None = None) -> list[Row]:
        """Up to ``WINDOW`` due rows, replies first (only those of ``priority`` if given); bulk
        rows for stopped men are skipped."""
        async with self.db.transaction() as connection:
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
                        outbox.c.not_before <= self.now(),
                        *(() if priority is None else (outbox.c.priority == priority,)),
                    )
                    .order_by(outbox.c.priority, outbox.c.id)
                    .limit(WINDOW)
                )
            ).mappings().all()
            skipped = [r["id"] for r in rows if r["priority"] == BULK and r["participant_status"] == "stopped"]
            if skipped:
                await connection.execute(
                    update(outbox).where(outbox.c.id.in_(skipped)).values(status="skipped", payload="{}")
                )
        return [dict(row) for row in rows if row["id"] not in skipped]

    async def _claim_ahead(self) -> None:
        """At a slow pace, claim the next bulk rows in one transaction, ahead of their slots
        (``CLAIM_AHEAD`` seconds of them, again when half are gone): booking their slots then
        needs no transaction, and only the ``sending`` mark stands between a slot and its
        request. A claim per slot, queued behind the other transactions, made sends late
        (docs/benchmarks.md, paced broadcast). Replies are not claimed ahead: each is claimed
        as its slot is booked, so that it waits for one transaction only. Rows claimed ahead
        and not sent go back to ``pending`` when the sender stops, or at the next start."""
        ahead = min(int(CLAIM_AHEAD / self.pacer.spacing), GROUP_SIZE)
        if ahead < 2:  # under 4 a second: nothing to gain
            return
        if GROUP_SIZE * self.pacer.spacing <= START_SLACK:
            # Unthrottled: a whole group's slots have come at once, so the step's one claim
            # books them straight as ``sending``; claiming ahead would add a transaction.
            return
        in_hand = sum(1 for row in self._window if row.get("claimed"))
        if in_hand > ahead // 2:
            return
        group = [
            row for row in self._window
            if row["priority"] == BULK and not row.get("claimed") and not self._held_for(row)
        ][: ahead - in_hand]
        if not group:
            return
        async with self.db.transaction(background=True) as connection:  # ahead of time: may wait
            free = (  # as in ``_claim``: exactly one instance gets each row
                select(outbox.c.id)
                .where(outbox.c.id.in_([row["id"] for row in group]), outbox.c.status == "pending")
                .with_for_update(skip_locked=True)
            )
            result = await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(free), outbox.c.status == "pending")
                .values(status="claimed", owner=self.owner)
                .returning(outbox.c.id)
            )
            claimed = set(result.scalars())
        for row in group:
            row["claimed"] = row["id"] in claimed
        gone = {row["id"] for row in group if not row["claimed"]}  # cancelled or erased since read
        if gone:
            self._window = [row for row in self._window if row["id"] not in gone]

    async def _release_claimed(self) -> None:
        """Stopping: rows claimed ahead and not sent go back in line (``recover`` does it at the
        next start if this fails)."""
        ids = [row["id"] for row in self._window if row.get("claimed")]
        self._window = []
        if not ids:
            return
        try:
            async with self.db.transaction() as connection:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(ids), outbox.c.status == "claimed", outbox.c.owner == self.owner)
                    .values(status="pending", owner=None)
                )
        except Exception:
            log.exception("outbox %s: could not put %d claimed message(s) back in line", self.channel.name, len(ids))

    async def _claim(self, rows: list[Row], slots: Mapping[int, float | None]) -> set[int]:
        """Book the rows for their slots: ``sending`` for those whose slot has come (their
        requests start right after this commit), ``claimed`` for the others, which commit
        ``sending`` themselves when their slot comes (``_mark_sending``). Returns the ids
        booked. A row no longer ``pending`` is left alone: another process may have changed
        it since the window was read (``meedoen broadcast cancel``, /delete)."""
        now = self.pacer.now()
        lead = max(START_SLACK, self._mark_lead)
        starting: list[Row] = []
        waiting: list[Row] = []
        for row in rows:
            (starting if _starts_now(slots[row["id"]], self.pacer.paused_until, now, lead) else waiting).append(row)
        booked: set[int] = set()
        async with self.db.transaction(urgent=bool(starting)) as connection:  # as ``_mark_sending``
            for group, values in ((starting, {"status": "sending", "attempts": outbox.c.attempts + 1}),
                                  (waiting, {"status": "claimed"})):
                if group:
                    # Rows another transaction holds are skipped, not waited for: exactly one
                    # instance gets each row (SQLite has no row locks and ignores the clause;
                    # its one writer at a time does the same).
                    free = (
                        select(outbox.c.id)
                        .where(outbox.c.id.in_([row["id"] for row in group]), outbox.c.status == "pending")
                        .with_for_update(skip_locked=True)
                    )
                    result = await connection.execute(
                        update(outbox)
                        .where(outbox.c.id.in_(free), outbox.c.status == "pending")
                        .values(owner=self.owner, **values)
                        .returning(outbox.c.id)
                    )
                    booked.update(result.scalars())
        for row in waiting:
            row["claimed"] = True
        return booked

    def _until_slot(self, slot: float | None) -> float:
        if slot is None:
            return 0.0
        return max(slot, self.pacer.paused_until) - self.pacer.now()

    async def _mark_sending(self, row: Row) -> bool:
        """The request starts now: commit ``sending`` (see the guarantee above). False when
        the row is no longer ``claimed`` (erased or cancelled meanwhile): nothing goes out.
        The outcomes of earlier sends that wait to be recorded are recorded in the same
        transaction: at a slow pace that halves the sender's transactions, and a separate
        one for them is what this mark, due now, would otherwise find holding the writer."""
        results = self._take_results()
        self._recording += len(results)
        try:
            async with self.db.transaction(urgent=True) as connection:  # due now: ahead of the queue
                result = await connection.execute(
                    update(outbox)
                    .where(outbox.c.id == row["id"], outbox.c.status == "claimed", outbox.c.owner == self.owner)
                    .values(status="sending", attempts=outbox.c.attempts + 1)
                )
                if results:
                    await self._record_in(connection, results)
        except BaseException:
            if results:  # not recorded: back to the recorder
                self._results[:0] = results
                self._results_ready.set()
            raise
        finally:
            self._recording -= len(results)
        if results:
            self._after_recording(results)
            self._settled.set()
        return result.rowcount == 1

    async def _send_one(self, row: Row, slot: float | None = None) -> None:
        if row.pop("claimed", False):
            # Commit ``sending`` just ahead of the slot, by about what that commit takes, so
            # that the request still starts on the slot (a late start costs the pace).
            while (wait := self._until_slot(slot) - MARK_LEAD_FACTOR * self._mark_lead) > 0:
                await asyncio.sleep(wait)
            began = self.pacer.now()
            try:
                still_ours = await self._mark_sending(row)
                took = self.pacer.now() - began
                self._mark_lead = min(max(0.8 * self._mark_lead + 0.2 * took, MARK_LEAD_MIN), LOOKAHEAD)
            except Exception:
                # Not started, so not sent: the row stays ``claimed`` and goes back in line.
                log.exception("outbox %s: message %d: could not mark it sending", self.channel.name, row["id"])
                self._back_in_line(row, slot, DeliveryError(NOT_STARTED, "mark"))
                return
            if not still_ours:  # erased or cancelled while it waited for its slot
                if slot is not None:
                    self.pacer.finished(row["address"])
                self._settled.set()
                return
        # Wait for the slot itself (and for a 429's pause since).
        while (wait := self._until_slot(slot)) > 0:
            await asyncio.sleep(wait)
        if not self.leadership.leading:
            # No longer the channel's sender (its connection to the election failed): another
            # instance may be sending already, so this request must not start. Back in line.
            self._back_in_line(row, slot, DeliveryError(NOT_STARTED, "not the sender"))
            return
        if slot is not None:
            self.pacer.starting(row["address"], slot)
        # Await first: ``self._results`` may be swapped for a new list while we wait.
        error = await self._send(row)
        if error is not None and error.kind == "rate_limited":
            self.pacer.pause(error.retry_after)  # at once, not when the outcome is recorded
        if error is not None and error.kind in BACK_IN_LINE:
            self._back_in_line(row, slot, error)
            return
        if slot is not None:
            self.pacer.finished(row["address"])
        self._results.append((row, error))
        self._results_ready.set()

    def _back_in_line(self, row: Row, slot: float | None, error: DeliveryError) -> None:
        """Its request did not happen (or was refused with a 429): the row goes back to
        ``pending`` when the outcome is recorded. Its chat's slot stays booked until then
        (``_after_recording``), so that none of his later rows goes in its place."""
        row["slot_held"] = slot is not None
        self._results.append((row, error))
        self._results_ready.set()

    async def _send(self, row: Row) -> DeliveryError | None:
        """The row's request; its error, or None once the platform took it."""
        try:
            await self.channel.deliver(row["address"], decode(row["payload"], row["kind"], row["id"]))
        except DeliveryError as error:
            return error
        except Exception as error:  # a bug or an unexpected library error: retry later
            log.error("outbox %s: message %d: unexpected %s", self.channel.name, row["id"], type(error).__name__)
            return DeliveryError("transient", type(error).__name__)
        return None

    def _take_results(self) -> list[tuple[Row, DeliveryError | None]]:
        results, self._results = self._results, []
        return results

    async def _record_loop(self) -> None:
        """Record outcomes as they come, many per transaction when they come quickly."""
        while True:
            await self._results_ready.wait()
            if not self._stopping:
                # Let a burst of outcomes share a transaction; at a slow pace, let the next
                # ``sending`` mark take them along (``_mark_sending``), sparing a transaction,
                # if a send is coming (a last outcome is recorded at once).
                wait = max(RECORD_COALESCE, min(self.pacer.spacing, RECORD_WAIT_MAX))
                await asyncio.sleep(wait)
                if self._results and self._in_flight and wait > RECORD_COALESCE:
                    await asyncio.sleep(wait)
            self._results_ready.clear()
            if self._results:
                results = self._take_results()
                self._recording += len(results)
                try:
                    await self._record(results)
                except Exception:
                    # Keep the outcomes (a busy database, say) and try again: dropping them
                    # would leave delivered messages ``sending``, uncertain after a restart.
                    log.exception("outbox %s: could not record %d outcome(s); retrying in 1 s", self.channel.name, len(results))
                    self._results[:0] = results
                    await asyncio.sleep(1)
                    self._results_ready.set()
                finally:
                    self._recording -= len(results)
                    self._settled.set()
            if self._stopping and not self._results:
                return

    def _in_hand(self) -> ColumnElement[bool]:
        """Rows this instance still has in hand: an outcome changes nothing else (a row
        /delete removed, or one recovered after this instance's lease ran out)."""
        return and_(outbox.c.status.in_(IN_HAND), outbox.c.owner == self.owner)

    async def _record(self, results: list[tuple[Row, DeliveryError | None]]) -> None:
        async with self.db.transaction(background=True) as connection:  # nobody waits for it
            await self._record_in(connection, results)
        self._after_recording(results)

    def _after_recording(self, results: list[tuple[Row, DeliveryError | None]]) -> None:
        """Once outcomes are committed: a row put back in line (a 429, or a send that never
        started) is no longer in the window, and his later rows there would overtake it. Its
        chat's slot, held until now (``_back_in_line``), is given back, and the window is read
        again first, with the row back in its place."""
        for row, error in results:
            if error is not None and error.kind in BACK_IN_LINE:
                self._reread = True  # before the chat is free: the next step reads it back first
                if row.pop("slot_held", False):
                    self.pacer.finished(row["address"])

    async def _record_in(self, connection: AsyncConnection, results: list[tuple[Row, DeliveryError | None]]) -> None:
        now = self.now()
        delivered = [row for row, error in results if error is None]
        replies = [row["id"] for row in delivered if row["kind"] == "reply"]
        if replies:
            await connection.execute(
                delete(outbox).where(outbox.c.id.in_(replies), self._in_hand())
            )
        bulk = [row["id"] for row in delivered if row["kind"] != "reply"]
        if bulk:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(bulk), self._in_hand())
                .values(status="sent", sent_at=now, payload="{}")
            )
        for row, error in results:
            if error is not None:
                await self._failed(connection, row, error, now)

    async def _failed(
        self, connection: AsyncConnection, row: Row, error: DeliveryError, now: datetime
    ) -> None:
        log.info(
            "outbox %s: message %d: %s %s", self.channel.name, row["id"], error.kind, error.code
        )
        where = and_(outbox.c.id == row["id"], self._in_hand())
        match error.kind:
            case "not_started":
                await connection.execute(update(outbox).where(where).values(status="pending"))
            case "rate_limited":
                self.pacer.pause(error.retry_after)
                await connection.execute(
                    update(outbox).where(where).values(status="pending", attempts=row["attempts"])
                )
            case "blocked":
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
            case "held":  # see "Held messages" below
                await connection.execute(
                    update(outbox).where(where).values(status="held", attempts=row["attempts"], error=error.code)
                )
            case "transient" if row["attempts"] + 1 < MAX_ATTEMPTS:
                await connection.execute(
                    update(outbox)
                    .where(where)
                    .values(status="pending", not_before=now + backoff(row["attempts"]), error=error.code)
                )
            case "transient" | "rejected":  # retried enough, or refused: not again
                await connection.execute(
                    update(outbox).where(where).values(status="failed", error=error.code, payload="{}")
                )
            case _:
                assert_never(error.kind)


# --- Held messages ------------------------------------------------------------------------------
# A channel that may not send a message yet (WhatsApp outside its 24-hour window, for a language
# without an approved template) raises ``DeliveryError("held")``: the row keeps its text and
# waits as ``held``, counted as still open, until the channel releases it (he answered, the
# window is open) or it expires. The caller wakes the channel's sender after a release.

HOLD_FOR = timedelta(days=7)
"""A held message older than this is dropped: a reminder or an invite that waited a week for
an answer is no longer worth sending."""


async def release_held(connection: AsyncConnection, channel: str, address: str, now: datetime) -> int:
    """Everything held for ``address`` goes back in line, due now; returns how many."""
    result = await connection.execute(
        update(outbox)
        .where(outbox.c.channel == channel, outbox.c.address == address, outbox.c.status == "held")
        .values(status="pending", not_before=now)
    )
    return result.rowcount


async def expire_held(connection: AsyncConnection, channel: str, now: datetime) -> int:
    """Held messages older than ``HOLD_FOR`` become ``expired``, their text wiped."""
    result = await connection.execute(
        update(outbox)
        .where(
            outbox.c.channel == channel,
            outbox.c.status == "held",
            outbox.c.created_at < now - HOLD_FOR,
        )
        .values(status="expired", payload="{}")
    )
    return result.rowcount
