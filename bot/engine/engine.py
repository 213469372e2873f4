"""The engine: load state → run the dialog → store its effects → queue its messages.

One incoming event is one database transaction: the processed-update mark, the new state,
the stored changes, the queued replies and the deletion of the raw update the channel kept
for it (``bot.store.inbound``) commit together. A retried delivery of the same update is
therefore handled once, and a crash half-way leaves no trace but the kept update, which the
channel hands over again at the next start. The engine knows no
platform; channels turn their updates into ``Incoming`` and render ``Outgoing`` messages.

Each effect of the dialog's step is done by its one handler (``bot.engine.registry``, handlers
in ``bot/engine/handlers/``); what a handler leaves for after the commit (``Turn.after_commit``)
starts only once the transaction has committed. The engine itself writes no SQL and no text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Incoming, Outgoing, OutOfTurn
from bot.common import audio as voice
from bot.common.clock import utcnow
from bot.config import Settings
from bot.delivery import outbox
from bot.domain import invites, listening, statements, waitlist
from bot.engine.handlers.base import Handler, Phase
from bot.engine.registry import handler_for
from bot.engine.turn import HisRowChanges, Job, Turn
from bot.store import (
    audiences,
    chats,
    checkins,
    conversations,
    coordinators,
    facilitators,
    inbound,
    locks,
    meetings,
    participants,
    updates,
)
from bot.store import series as series_store
from bot.store import voice as voice_store
from bot.store.database import Database
from dialogs import coordinator as coordinator_dialog
from dialogs import notices, router
from dialogs.types import (
    LANGUAGES,
    Context,
    CoordinatorView,
    Effect,
    Event,
    FacilitatorView,
    Invited,
    OfferView,
    ParticipantView,
    SeriesView,
    State,
    Step,
    Text,
    VoiceNote,
)

log = logging.getLogger("bot.engine")


@dataclass(frozen=True)
class _Facilitating:
    view: FacilitatorView
    meetings: CoordinatorView  # limited to his series


Dialog = Callable[[State, Event, Context], Step]
class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        dialog: Dialog = router.handle,
        now: Callable[[], datetime] = utcnow,
        on_queued: Callable[[str], None] = lambda channel: None,
        on_queued_all: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.dialog = dialog
        self.now = now
        self.on_queued = on_queued
        self.on_queued_all = on_queued_all
        self._background: set[asyncio.Task[None]] = set()  # follow-ups under way (kept referenced)
        self.catalog = series_store.Catalog()

    async def handle(self, incoming: Incoming) -> None:
        """Handle one event; never raises for a bad event, answers kindly instead."""
        if isinstance(incoming.event, VoiceNote):
            try:
                incoming = await self._listen(incoming)
            except Exception:
                log.exception("engine: %s voice note %s could not be read", incoming.channel, incoming.update_id)
                await self._apologise(incoming)
                return
        for attempt in (1, 2):
            try:
                handled, after_commit = await self._handle_once(incoming)
            except series_store.SeatUnavailable:
                # Only possible when another process took the seat between our read and
                # write; run the turn again on a fresh view.
                if attempt == 2:
                    raise
                continue
            except OutOfTurn:
                raise  # the channel hands over his earlier updates first
            except Exception:
                log.exception(
                    "engine: %s update %s failed", incoming.channel, incoming.update_id
                )
                await self._apologise(incoming)
                return
            if handled:
                self.on_queued(incoming.channel)
                self._run_after_commit(after_commit)
            return

    async def _listen(self, incoming: Incoming) -> Incoming:
        """A voice note: fetched, checked (OGG/Opus, at most a minute; converted if need be)
        and kept as a clip only when he is a coordinator, or a facilitator (his ``/voice``),
        whose flow asks for one. The event the dialog hears then names the clip, or the
        problem; anyone else's voice note stays on the platform, unheard and unstored."""
        channel, address = incoming.channel, incoming.address
        async with self.db.transaction() as connection:
            wanted = coordinator_dialog.wants_voice(await conversations.load(connection, channel, address)) and (
                await coordinators.is_coordinator(connection, channel, address)
                or bool(await facilitators.series_of(connection, channel, address))
            )
        if not wanted:
            return dataclasses.replace(incoming, event=VoiceNote(), fetch_voice=None)
        if incoming.fetch_voice is None:  # kept before a restart without its download: gone
            return dataclasses.replace(incoming, event=VoiceNote(problem="lost"))
        try:
            data, file_id = await incoming.fetch_voice()
            clip = await asyncio.to_thread(voice.prepare, data)
        except voice.VoiceProblem as problem:
            return dataclasses.replace(incoming, event=VoiceNote(problem=problem.kind), fetch_voice=None)
        except Exception as error:  # noqa: BLE001 - the platform's download failed: he records again
            log.warning("engine: a %s voice note could not be fetched (%s)", incoming.channel, type(error).__name__)
            return dataclasses.replace(incoming, event=VoiceNote(problem="unreadable"), fetch_voice=None)
        async with self.db.transaction() as connection:
            # Telegram's own id for his recording is re-used only for the very same sound.
            clip_id = await voice_store.add(connection, clip, self.now(), file_id if clip.audio is data else None)
        return dataclasses.replace(incoming, event=VoiceNote(clip_id, clip.seconds), fetch_voice=None)

    def _run_after_commit(self, jobs: list[Job]) -> None:
        """Start the post-commit hooks the effects' handlers registered (see bot/engine/turn.py)."""
        for job in jobs:
            task = asyncio.create_task(job())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _handle_once(self, incoming: Incoming) -> tuple[bool, list[Job]]:
        """One try: (handled, follow-ups to start once the transaction has committed)."""
        now = self.now()
        async with self.db.transaction() as connection:
            # Another instance may be in a turn of his: wait for it, then read what it left.
            await locks.chat(connection, incoming.channel, incoming.address)
            if incoming.stored is not None:
                if incoming.check_turn and self.db.shared:
                    if not await inbound.take(connection, incoming.channel, incoming.stored):
                        raise OutOfTurn(incoming.stored)  # rolls back: nothing stored
                else:
                    await inbound.forget(connection, incoming.channel, incoming.stored)
            if incoming.update_id is not None and not await updates.first_time(
                connection, incoming.channel, incoming.update_id, now
            ):
                log.info("engine: %s update %s seen before; skipped", incoming.channel, incoming.update_id)
                return False, []
            chat = await chats.at_start(
                connection, incoming.channel, incoming.address, self.markers(incoming.channel, incoming.address, now)[0], now
            )
            context = await self._context(connection, incoming, chat, now)
            step = self.dialog(chat.state, incoming.event, context)
            after_commit = await self._apply(connection, incoming, chat, step, now)
        return True, after_commit

    async def _context(
        self, connection: AsyncConnection, incoming: Incoming, chat: chats.ChatAtStart, now: datetime
    ) -> Context:
        view = await self._participant_view(connection, chat, now)
        mine = [signup.series_id for signup in view.signups] if view else []
        mine += [offer.series_id for offer in view.offers] if view else []
        hint = (incoming.language_hint or "")[:2].lower()
        series_views = await self.catalog.views(connection, chat.catalog_version, now, include=mine)
        facilitator = await self._facilitator(connection, incoming, chat, now)
        return Context(
            now=now,
            timezone=self.settings.timezone,
            organisation=self.settings.organisation,
            areas=self.settings.areas,
            participant=view,
            series=series_views,
            suggested_language=hint if hint in LANGUAGES else None,
            is_coordinator=chat.is_coordinator,
            coordinator=await self._coordinator_view(connection, chat.state, series_views, now)
            if chat.is_coordinator
            else facilitator.meetings
            if facilitator is not None
            else None,
            checked_in_this_week=chat.checked_in_this_week,
            chat_address=f"{incoming.channel}:{incoming.address}",
            facilitator=facilitator.view if facilitator is not None else None,
            invited=self._invited(incoming),
            statement_poll=await statements.poll_for(
                connection, self.settings, incoming.channel, incoming.address, incoming.event, now
            ),
            **await listening.context(connection, self.settings, incoming.channel, incoming.address, incoming.event),
        )

    async def _facilitator(
        self, connection: AsyncConnection, incoming: Incoming, chat: chats.ChatAtStart, now: datetime
    ) -> _Facilitating | None:
        """His series, the forms still due, and (for /rsvps, /attendance and /voice) the
        coordinator's view of meetings and recorded reminders limited to his series: nothing of
        another series reaches his dialog."""
        if not chat.is_facilitator:
            return None
        mine = await facilitators.series_of(connection, incoming.channel, incoming.address)
        upcoming, past = await meetings.coordinator_meetings(connection, now)
        voices = await voice_store.series_languages(connection)
        return _Facilitating(
            FacilitatorView(mine, await facilitators.reports_due(connection, mine, now)),
            CoordinatorView(
                next_meetings=tuple(m for m in upcoming if m.series_id in mine),
                last_meetings=tuple(m for m in past if m.series_id in mine),
                series_voices={series_id: languages for series_id, languages in voices.items() if series_id in mine},
            ),
        )

    def _invited(self, incoming: Incoming) -> Invited | None:
        """The invite code in ``/start CODE`` or in a WhatsApp link's first message, if it
        verifies (``bot.domain.invites``); a forged or unknown code is no invite."""
        if not isinstance(incoming.event, Text) or not self.settings.secret_key:
            return None
        invite = invites.read(self.settings.secret_key.encode(), incoming.event.text)
        return Invited(invite.series_id, invite.source) if invite is not None else None

    async def _participant_view(
        self, connection: AsyncConnection, chat: chats.ChatAtStart, now: datetime
    ) -> ParticipantView | None:
        """He as the dialog sees him; his sign-ups, meetings and offers are only looked up
        when the first query said he has any."""
        row = chat.participant
        if row is None:
            return None
        view = participants.view_of(row)
        if chat.has_signups:
            view = dataclasses.replace(
                view,
                signups=await participants.signups_of(connection, row.id),
                meetings=await meetings.for_participant(connection, row.id, now),
            )
        if chat.has_offers:
            offers = await waitlist.open_offers(connection, row.id, now)
            view = dataclasses.replace(view, offers=tuple(OfferView(*offer) for offer in offers))
        return view

    async def _coordinator_view(
        self, connection: AsyncConnection, state: State, series_views: tuple[SeriesView, ...], now: datetime
    ) -> CoordinatorView:
        upcoming, past = await meetings.coordinator_meetings(connection, now)
        keys = ["all", "noshow"]
        keys += [f"{kind}:{s.id}" for s in series_views for kind in ("series", "waitlist")]
        keys += [f"language:{code}" for code in LANGUAGES]
        keys += [f"area:{n}" for n in range(len(self.settings.areas))]
        chosen = state.get("coordinator", {}).get("audiences", [])
        return CoordinatorView(
            next_meetings=upcoming,
            last_meetings=past,
            audience_sizes=await audiences.sizes(connection, keys, self.settings.areas, now),
            selected_count=await audiences.count(connection, chosen, self.settings.areas, now),
            series_voices=await voice_store.series_languages(connection),
        )

    @property
    def secret(self) -> bytes:
        """``MEEDOEN_SECRET_KEY``, which keys the markers and invite codes."""
        secret = self.settings.secret_key
        assert secret is not None, "the engine runs only with MEEDOEN_SECRET_KEY set"
        return secret.encode()

    def markers(self, channel: str, address: str, now: datetime) -> tuple[str, str]:
        """His check-in markers for this week and for its report month (bot.store.checkins)."""
        return checkins.markers(self.secret, channel, address, checkins.iso_week(now))

    async def _apply(
        self,
        connection: AsyncConnection,
        incoming: Incoming,
        chat: chats.ChatAtStart,
        step: Step,
        now: datetime,
    ) -> list[Job]:
        """Store the effects, then queue the messages that report them; each effect by its one
        handler (bot/engine/registry.py), in the handler's phase. Returns the post-commit jobs."""
        row = chat.participant
        turn = Turn(
            engine=self,
            connection=connection,
            channel=incoming.channel,
            address=incoming.address,
            row=row,
            his_row=HisRowChanges(row.id if row is not None else None),
            now=now,
            apologise=lambda: self._apologise(incoming),
        )
        if row is not None and incoming.keeps_window:
            hour = participants.window_hour(now)
            if row.last_inbound_at != hour:
                turn.his_row.add(last_inbound_at=hour)
        messages: list[tuple[Handler[Effect], Effect]] = []
        for effect in step.effects:
            handler = handler_for(effect)
            if handler.phase is Phase.MESSAGES:
                messages.append((handler, effect))
                continue
            if handler.phase is Phase.STORE:  # reads or writes more than his row: his row first
                await turn.his_row.write(connection)
            await handler.pre_commit(effect, turn)
        await turn.his_row.write(connection)
        if turn.keep_state:
            await conversations.save(
                connection, incoming.channel, incoming.address, step.state, now,
                wake=turn.wake, stored=chat.encoded_state,
            )
        for handler, effect in messages:
            await handler.pre_commit(effect, turn)
        return turn.post_commit_jobs

    async def _apologise(self, incoming: Incoming) -> None:
        """After an internal error: a kind word in his language rather than silence. The
        kept update goes with it: handing it over again at every start would fail again."""
        try:
            async with self.db.transaction() as connection:
                if incoming.stored is not None:
                    await inbound.forget(connection, incoming.channel, incoming.stored)
                row = await participants.find(connection, incoming.channel, incoming.address)
                language = row.language if row is not None else (incoming.language_hint or "nl")[:2]
                await outbox.enqueue(
                    connection,
                    channel=incoming.channel,
                    address=incoming.address,
                    message=Outgoing(notices.apology(language).text),
                    kind="reply",
                    priority=outbox.REPLY,
                    now=self.now(),
                )
            self.on_queued(incoming.channel)
        except Exception:
            log.exception("engine: could not queue an apology")
