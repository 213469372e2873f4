"""The engine: load state → run the dialog → store its effects → queue its messages.

One incoming event is one database transaction: the processed-update mark, the new state,
the stored changes and the queued replies commit together. A retried delivery of the same
update is therefore handled once, and a crash half-way leaves no trace. The engine knows no
platform; channels turn their updates into ``Incoming`` and render ``Outgoing`` messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import outbox
from bot.channels.base import Outgoing
from bot.config import Settings
from bot.database import Database
from bot.store import conversations, coordinators, participants, updates
from bot.store import series as series_store
from dialogs import conversation
from dialogs.i18n import _, directed, use_locale
from dialogs.types import (
    LANGUAGES,
    Context,
    EraseParticipant,
    Event,
    ForgetConversation,
    LeaveSeries,
    Reply,
    SaveParticipant,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    SignUp,
    State,
    Step,
)

log = logging.getLogger(__name__)

Dialog = Callable[[State, Event, Context], Step]


@dataclass(frozen=True)
class Incoming:
    """An event from one chat, as a channel hands it to the engine."""

    channel: str
    address: str
    event: Event
    update_id: str | None = None  # the platform's id, for de-duplication
    language_hint: str | None = None  # e.g. Telegram's language_code


class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        dialog: Dialog = conversation.handle,
        now: Callable[[], datetime] = outbox.utcnow,
        on_queued: Callable[[str], None] = lambda channel: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.dialog = dialog
        self.now = now
        self.on_queued = on_queued

    async def handle(self, incoming: Incoming) -> None:
        """Handle one event; never raises for a bad event, answers kindly instead."""
        for attempt in (1, 2):
            try:
                handled = await self._handle_once(incoming)
            except series_store.SeatUnavailable:
                # Only possible when another process took the seat between our read and
                # write; run the turn again on a fresh view.
                if attempt == 2:
                    raise
                continue
            except Exception:
                log.exception(
                    "engine: %s update %s failed", incoming.channel, incoming.update_id
                )
                await self._apologise(incoming)
                return
            if handled:
                self.on_queued(incoming.channel)
            return

    async def _handle_once(self, incoming: Incoming) -> bool:
        now = self.now()
        async with self.db.transaction() as connection:
            if incoming.update_id is not None and not await updates.first_time(
                connection, incoming.channel, incoming.update_id, now
            ):
                log.info("engine: %s update %s seen before; skipped", incoming.channel, incoming.update_id)
                return False
            row = await participants.find(connection, incoming.channel, incoming.address)
            if row is not None:
                await participants.change(connection, row.id, last_inbound_at=now)
            state = await conversations.load(connection, incoming.channel, incoming.address)
            context = await self._context(connection, incoming, row, now)
            step = self.dialog(state, incoming.event, context)
            await self._apply(connection, incoming, row, step, now)
        return True

    async def _context(self, connection: AsyncConnection, incoming: Incoming, row, now) -> Context:
        view = await participants.view(connection, row) if row is not None else None
        mine = [signup.series_id for signup in view.signups] if view else []
        hint = (incoming.language_hint or "")[:2].lower()
        return Context(
            now=now,
            timezone=self.settings.timezone,
            organisation=self.settings.organisation,
            areas=self.settings.areas,
            participant=view,
            series=await series_store.views(connection, now, include=mine),
            suggested_language=hint if hint in LANGUAGES else None,
            is_coordinator=await coordinators.is_coordinator(
                connection, incoming.channel, incoming.address
            ),
        )

    async def _apply(
        self, connection: AsyncConnection, incoming: Incoming, row, step: Step, now: datetime
    ) -> None:
        """Store the effects, then queue the messages that report them."""
        channel, address = incoming.channel, incoming.address
        participant_id = row.id if row is not None else None
        keep_state = True
        for effect in step.effects:
            if isinstance(effect, SaveParticipant):
                if participant_id is None:
                    participant_id = await participants.create(
                        connection, channel, address, effect.language, effect.consented_at
                    )
                else:
                    await participants.change(
                        connection, participant_id, language=effect.language, status="active"
                    )
            elif isinstance(effect, SetLanguage):
                await participants.change(connection, participant_id, language=effect.language)
            elif isinstance(effect, SetName):
                await participants.change(connection, participant_id, name=effect.name)
            elif isinstance(effect, SetArea):
                await participants.change(connection, participant_id, area=effect.area)
            elif isinstance(effect, SetStatus):
                await participants.change(connection, participant_id, status=effect.status)
            elif isinstance(effect, SignUp):
                await series_store.sign_up(
                    connection, participant_id, effect.series_id, waitlist=effect.waitlist, now=now
                )
            elif isinstance(effect, LeaveSeries):
                await series_store.leave(connection, participant_id, effect.series_id)
            elif isinstance(effect, EraseParticipant):
                await participants.erase(connection, channel, address)
                keep_state = False
            elif isinstance(effect, ForgetConversation):
                await conversations.forget(connection, channel, address)
                keep_state = False
            elif not isinstance(effect, Reply):
                raise TypeError(f"unknown effect {type(effect).__name__}")
        if keep_state:
            await conversations.save(connection, channel, address, step.state, now)
        for effect in step.effects:
            if isinstance(effect, Reply):
                await outbox.enqueue(
                    connection,
                    channel=channel,
                    address=address,
                    message=Outgoing(effect.text, effect.options, effect.question),
                    kind="reply",
                    priority=outbox.REPLY,
                    now=now,
                )

    async def _apologise(self, incoming: Incoming) -> None:
        """After an internal error: a kind word in his language rather than silence."""
        try:
            async with self.db.transaction() as connection:
                row = await participants.find(connection, incoming.channel, incoming.address)
                language = row.language if row is not None else (incoming.language_hint or "nl")[:2]
                with use_locale(language):
                    text = directed(_("Sorry, something went wrong on my side. Please try again in a moment."))
                await outbox.enqueue(
                    connection,
                    channel=incoming.channel,
                    address=incoming.address,
                    message=Outgoing(text),
                    kind="reply",
                    priority=outbox.REPLY,
                    now=self.now(),
                )
            self.on_queued(incoming.channel)
        except Exception:
            log.exception("engine: could not queue an apology")
