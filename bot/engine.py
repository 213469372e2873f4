"""The engine: load state → run the dialog → store its effects → queue its messages.

One incoming event is one database transaction: the processed-update mark, the new state,
the stored changes, the queued replies and the deletion of the raw update the channel kept
for it (``bot.store.inbound``) commit together. A retried delivery of the same update is
therefore handled once, and a crash half-way leaves no trace but the kept update, which the
channel hands over again at the next start. The engine knows no
platform; channels turn their updates into ``Incoming`` and render ``Outgoing`` messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.common.clock import utcnow
from bot.config import Settings, parse_address
from bot.delivery import outbox
from bot.domain import broadcasts, erasure, facilitation, invites, statements, waitlist
from bot.domain import calendar as calendar_files
from bot.store import (
    anonymity,
    audiences,
    chats,
    checkins,
    conversations,
    coordinators,
    facilitators,
    funnel,
    help_requests,
    inbound,
    meetings,
    participants,
    updates,
)
from bot.store import series as series_store
from bot.store.database import Database
from dialogs import notices, router, scoring
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import (
    LANGUAGES,
    AnswerOffer,
    ApproveLivingRoom,
    AskContact,
    Context,
    CoordinatorView,
    CountStep,
    EraseParticipant,
    Event,
    FacilitatorView,
    ForgetConversation,
    Invited,
    LeaveSeries,
    MarkAttendance,
    OfferStatements,
    OfferView,
    OpenConsole,
    ParticipantView,
    ProposeLivingRoom,
    QueueBroadcast,
    RecordCheckin,
    RecordStatements,
    Reply,
    Rsvp,
    SaveMeetingReport,
    SaveParticipant,
    SendCalendar,
    SendFlyers,
    SendReport,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    ShareInvite,
    SignUp,
    State,
    Step,
    Text,
    WakeAt,
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
    # The channel counts a window from his last message (WhatsApp's 24 hours): keep its hour,
    # in the same transaction as the replies, so they go out inside the window. Other
    # channels keep no time of his messages at all (issue 11).
    keeps_window: bool = False
    stored: str | None = None  # its key in ``bot.store.inbound``, deleted once it is handled


class _ParticipantChanges:
    """Changes to his own row over one turn (the time of this message, a name, an area...),
    written as one UPDATE before anything else is stored and at the end of the turn."""

    def __init__(self, participant_id: int | None) -> None:
        self.participant_id = participant_id
        self._values: dict = {}

    def add(self, **values) -> None:
        if self.participant_id is not None:  # nobody to change until he has consented
            self._values.update(values)

    async def write(self, connection: AsyncConnection) -> None:
        if self._values:
            await participants.change(connection, self.participant_id, **self._values)
            self._values = {}


@dataclass(frozen=True)
class _Facilitating:
    view: FacilitatorView
    meetings: CoordinatorView  # limited to his series


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
        self._background: set[asyncio.Task] = set()  # follow-ups under way (kept referenced)
        self.catalog = series_store.Catalog()

    async def handle(self, incoming: Incoming) -> None:
        """Handle one event; never raises for a bad event, answers kindly instead."""
        for attempt in (1, 2):
            try:
                handled, after_commit = await self._handle_once(incoming)
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
                self._run_after_commit(after_commit)
            return

    def _run_after_commit(self, jobs: list[Callable[[], Awaitable[None]]]) -> None:
        """Start the work an event asked for that must not run inside its transaction."""
        for job in jobs:
            task = asyncio.create_task(job())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _handle_once(self, incoming: Incoming) -> tuple[bool, list]:
        """One try: (handled, follow-ups to start once the transaction has committed)."""
        after_commit: list[Callable[[], Awaitable[None]]] = []
        now = self.now()
        async with self.db.transaction() as connection:
            if incoming.stored is not None:
                await inbound.forget(connection, incoming.channel, incoming.stored)
            if incoming.update_id is not None and not await updates.first_time(
                connection, incoming.channel, incoming.update_id, now
            ):
                log.info("engine: %s update %s seen before; skipped", incoming.channel, incoming.update_id)
                return False, []
            chat = await chats.at_start(
                connection, incoming.channel, incoming.address, self._markers(incoming, now)[0], now
            )
            context = await self._context(connection, incoming, chat, now)
            step = self.dialog(chat.state, incoming.event, context)
            await self._apply(connection, incoming, chat, step, now, after_commit)
        return True, after_commit

    async def _context(self, connection: AsyncConnection, incoming: Incoming, chat: chats.ChatAtStart, now) -> Context:
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
            statement_poll=await statements.poll_for(connection, self.settings, incoming.channel, incoming.address, incoming.event, now),
        )

    async def _facilitator(self, connection, incoming: Incoming, chat: chats.ChatAtStart, now) -> _Facilitating | None:
        """His series, the forms still due, and (for /rsvps and /attendance) the coordinator's
        view of meetings limited to his series: nothing of another series reaches his dialog."""
        if not chat.is_facilitator:
            return None
        mine = await facilitators.series_of(connection, incoming.channel, incoming.address)
        upcoming, past = await meetings.coordinator_meetings(connection, now)
        return _Facilitating(
            FacilitatorView(mine, await facilitators.reports_due(connection, mine, now)),
            CoordinatorView(
                next_meetings=tuple(m for m in upcoming if m.series_id in mine),
                last_meetings=tuple(m for m in past if m.series_id in mine),
            ),
        )

    def _invited(self, incoming: Incoming) -> Invited | None:
        """The invite code in ``/start CODE`` or in a WhatsApp link's first message, if it
        verifies (``bot.domain.invites``); a forged or unknown code is no invite."""
        if not isinstance(incoming.event, Text) or not self.settings.secret_key:
            return None
        invite = invites.read(self.settings.secret_key.encode(), incoming.event.text)
        return Invited(invite.series_id, invite.source) if invite is not None else None

    async def _participant_view(self, connection, chat: chats.ChatAtStart, now) -> ParticipantView | None:
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

    async def _coordinator_view(self, connection, state: State, series_views, now) -> CoordinatorView:
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
        )

    def _markers(self, incoming: Incoming, now: datetime) -> tuple[str, str]:
        """His check-in markers for this week and for its report month."""
        return checkins.markers(
            self.settings.secret_key.encode(), incoming.channel, incoming.address, checkins.iso_week(now)
        )

    async def _apply(
        self,
        connection: AsyncConnection,
        incoming: Incoming,
        chat: chats.ChatAtStart,
        step: Step,
        now: datetime,
        after_commit: list,
    ) -> None:
        """Store the effects, then queue the messages that report them."""
        channel, address = incoming.channel, incoming.address
        row = chat.participant
        changes = _ParticipantChanges(row.id if row is not None else None)
        if row is not None and incoming.keeps_window:
            hour = participants.window_hour(now)
            if row.last_inbound_at != hour:
                changes.add(last_inbound_at=hour)
        keep_state = True
        wake: WakeAt | None = None
        for effect in step.effects:
            if isinstance(effect, SaveParticipant):
                if changes.participant_id is None:
                    changes.participant_id = await participants.create(
                        connection, channel, address, effect.language, effect.consented_at
                    )
                else:
                    changes.add(language=effect.language, status="active")
            elif isinstance(effect, SetLanguage):
                changes.add(language=effect.language)
            elif isinstance(effect, SetName):
                changes.add(name=effect.name)
            elif isinstance(effect, SetArea):
                changes.add(area=effect.area)
            elif isinstance(effect, SetStatus):
                changes.add(status=effect.status)
            elif isinstance(effect, WakeAt):
                wake = effect
            elif isinstance(effect, Reply):
                continue
            else:
                # Every other effect reads or writes more than his row: his row first.
                await changes.write(connection)
                keep_state = await self._apply_one(
                    connection, incoming, row, changes.participant_id, effect, now, after_commit
                ) and keep_state
        await changes.write(connection)
        if keep_state:
            await conversations.save(
                connection, channel, address, step.state, now, wake=wake, stored=chat.encoded_state
            )
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

    async def _apply_one(
        self, connection: AsyncConnection, incoming: Incoming, row, participant_id, effect, now, after_commit: list
    ) -> bool:
        """Store one effect beyond his own row; False when his conversation is gone with it."""
        channel, address = incoming.channel, incoming.address
        if isinstance(effect, SignUp):
            await series_store.sign_up(
                connection, participant_id, effect.series_id, waitlist=effect.waitlist, now=now
            )
            if effect.source is not None:
                await invites.count_signup(
                    connection,
                    self.settings.secret_key.encode(),
                    channel,
                    address,
                    invites.Invite(effect.series_id, effect.source),
                )
        elif isinstance(effect, LeaveSeries):
            await series_store.leave(connection, participant_id, effect.series_id)
            await waitlist.offer_next(connection, effect.series_id, now, self.settings.timezone)
        elif isinstance(effect, EraseParticipant):
            await erasure.erase(connection, self.settings, channel, address, now)
            return False
        elif isinstance(effect, ForgetConversation):
            await conversations.forget(connection, channel, address)
            return False
        elif isinstance(effect, Rsvp):
            await meetings.answer(connection, participant_id, effect.meeting_id, effect.answer, now)
        elif isinstance(effect, AnswerOffer):
            await waitlist.answer(
                connection, effect.offer_id, participant_id, effect.accept, now, self.settings.timezone
            )
        elif isinstance(effect, RecordCheckin):
            await self._record_checkin(connection, incoming, row, effect, now)
            # The write-ahead log would keep this transaction's pages together (his
            # conversation row next to the new pool row) until the next tick: empty it now.
            after_commit.append(self.db.truncate_log)
        elif isinstance(effect, RecordStatements):
            await statements.record(connection, self.settings, channel, address, effect, now)
        elif isinstance(effect, OfferStatements):
            await statements.offer_on_demand(connection, self.settings, channel, address, effect, now)
        elif isinstance(effect, AskContact):
            await self._ask_contact(connection, incoming, row, now)
        elif isinstance(effect, MarkAttendance) and await facilitators.facilitates_meeting(
            connection, channel, address, effect.meeting_id
        ):  # a facilitator ticks his own series' meetings; anything else only a coordinator
            await invites.mark_attendance(
                connection, self.settings.secret_key.encode(), effect.participant_id, effect.meeting_id, effect.present, now
            )
        elif isinstance(effect, ShareInvite):
            await self._share_invite(connection, incoming, row, effect.series_id, now)
        elif isinstance(effect, CountStep):
            await self._count_step(connection, row, effect)
        elif isinstance(effect, SendCalendar):
            await self._send_calendar(connection, incoming, row, participant_id, effect, now)
        elif isinstance(effect, (MarkAttendance, QueueBroadcast, SendReport, OpenConsole, ApproveLivingRoom, SendFlyers)):
            await self._coordinator_effect(connection, incoming, row, effect, now, after_commit)
        elif isinstance(effect, (SaveMeetingReport, ProposeLivingRoom)):
            await self._facilitator_effect(connection, incoming, effect, now)
        else:
            raise TypeError(f"unknown effect {type(effect).__name__}")
        return True

    async def _record_checkin(self, connection, incoming: Incoming, row, effect: RecordCheckin, now) -> None:
        """Store the answers with nothing that names him (see bot.store.checkins), and with a
        language and area that at least five signed-up men share (bot.store.anonymity)."""
        rule = anonymity.Generalisation.of(await anonymity.population(connection))
        if rule is None:  # fewer than five men signed up: nothing can hide among them
            return
        language, area = rule.stored_as(effect.language, row.area if row is not None else None)
        scores = scoring.score(effect.items)
        values = {f"item{n}": answer for n, answer in enumerate(effect.items, start=1)}
        values.update(
            language=language,
            area=area,
            emotional=scores.emotional,
            social=scores.social,
            total=scores.total,
            took_part=None if effect.took_part is None else int(effect.took_part),
            worthwhile=effect.worthwhile,
        )
        week_marker, month_marker = self._markers(incoming, now)
        await checkins.record(connection, week_marker, checkins.iso_week(now), values, month_marker=month_marker)

    async def _count_step(self, connection, row, effect: CountStep) -> None:
        """One more in the funnel (bot/store/funnel.py). A check-in's language is stored as its
        answers are (bot/store/anonymity.py): the counters are an anonymous table too, and must
        not tell which language an answer stored as "other" was in."""
        language = effect.language
        if effect.flow == "checkin":
            rule = anonymity.Generalisation.of(await anonymity.population(connection))
            if rule is None:  # fewer than five men signed up: no check-in is kept, nor counted
                return
            language = rule.stored_as(language, row.area if row is not None else None)[0]
        await funnel.add_one(connection, effect.week, effect.flow, effect.step, language)

    async def _send_calendar(self, connection, incoming: Incoming, row, participant_id, effect: SendCalendar, now) -> None:
        """The ``.ics`` file of each series asked for, in his language (bot/domain/calendar.py)."""
        if participant_id is None:
            return
        language = row.language if row is not None else "nl"
        messages = await calendar_files.files_for(
            connection, participant_id, effect.series_ids, language=language,
            organisation=self.settings.organisation, timezone=self.settings.timezone, now=now,
        )
        for message in messages:
            await outbox.enqueue(
                connection, channel=incoming.channel, address=incoming.address, message=message,
                kind="reply", priority=outbox.REPLY, now=now,
            )

    async def _ask_contact(self, connection, incoming: Incoming, row, now) -> None:
        """Tell every coordinator that he asked to be contacted, and nothing else, and keep the
        request open for the console until one marks it done. The messages wait a random 10 to
        60 minutes, and the stored request shows from that same moment, so neither's timing
        points at a check-in."""
        name = row.name if row is not None and row.name else None
        visible_at = now + timedelta(minutes=random.randint(10, 60))
        if row is not None:
            await help_requests.ask(connection, row.id, visible_at)
        for coordinator in await coordinators.all_ids(connection):
            channel, address = parse_address(coordinator)
            language = await participants.language_of(connection, channel, address)
            with use_locale(language or "nl"):
                text = fill(
                    _("%(name)s (%(channel)s %(address)s) would like a coordinator to get in touch."),
                    name=name or _("A participant"),
                    channel=incoming.channel,
                    address=incoming.address,
                )
                await outbox.enqueue(
                    connection,
                    channel=channel,
                    address=address,
                    message=Outgoing(directed(text)),
                    kind="notice",
                    priority=outbox.BULK,
                    now=now,
                    not_before=visible_at,
                )

    async def _coordinator_effect(self, connection, incoming: Incoming, row, effect, now, after_commit: list) -> None:
        """Coordinator effects, checked again here: only a coordinator's chat may cause them."""
        if not await coordinators.is_coordinator(connection, incoming.channel, incoming.address):
            log.warning("engine: %s from a non-coordinator %s chat refused", type(effect).__name__, incoming.channel)
            return
        if isinstance(effect, MarkAttendance):
            await invites.mark_attendance(
                connection, self.settings.secret_key.encode(), effect.participant_id, effect.meeting_id, effect.present, now
            )
        elif isinstance(effect, QueueBroadcast):
            await broadcasts.create(
                connection,
                created_by=f"{incoming.channel}:{incoming.address}",
                audience_keys=effect.audiences,
                texts=effect.texts,
                invite_series_id=effect.invite_series_id,
                areas=self.settings.areas,
                now=now,
            )
            self.on_queued_all()
        elif isinstance(effect, OpenConsole):
            await self._console_link(connection, incoming, row, now)
        elif isinstance(effect, ApproveLivingRoom):
            await facilitation.approve(
                connection, self.settings, incoming.channel, incoming.address, effect.proposal_id, now
            )
        elif isinstance(effect, SendFlyers):
            language = row.language if row is not None else "nl"
            after_commit.append(lambda: self._send_flyers(incoming, effect.series_id, language))
        else:  # the report is built after this transaction, see ``_send_report``
            after_commit.append(
                lambda: self._send_report(incoming, row.language if row is not None else "nl")
            )

    async def _facilitator_effect(self, connection, incoming: Incoming, effect, now) -> None:
        """A facilitator's form or proposal, checked again here (bot.domain.facilitation)."""
        if isinstance(effect, SaveMeetingReport):
            await facilitation.save_report(connection, self.settings, incoming.channel, incoming.address, effect, now)
        elif await facilitators.series_of(connection, incoming.channel, incoming.address):
            await facilitation.propose(connection, self.settings, incoming.channel, incoming.address, effect, now)
        else:
            log.warning("engine: a living-room proposal from a non-facilitator %s chat refused", incoming.channel)

    async def _share_invite(self, connection, incoming: Incoming, row, series_id: int, now) -> None:
        """"Invite a friend": how to pass it on, then the invitation itself with the series'
        link for the source "friend" (the same for every man: nobody's name is in it)."""
        series = await series_store.get(connection, series_id)
        if series is None or row is None:
            return
        from datetime import time as clock_time

        language = row.language
        username = await invites.cached_username(connection)
        links = invites.links(self.settings, username, series_id, invites.FRIEND, language)
        link = links.whatsapp if incoming.channel == "whatsapp" else links.telegram
        link = link or links.telegram or links.whatsapp or links.code
        invitation = notices.friend_invitation(
            language, series.name, series.weekday, clock_time.fromisoformat(series.start_time), link
        )
        share = invites.share_link(incoming.channel, invitation, link)
        for text in (notices.friend_instructions(language, incoming.channel, share), invitation):
            await outbox.enqueue(
                connection,
                channel=incoming.channel,
                address=incoming.address,
                message=Outgoing(text),
                kind="reply",
                priority=outbox.REPLY,
                now=now,
            )

    async def _send_flyers(self, incoming: Incoming, series_id: int, language: str) -> None:
        """Render a series' flyers (one per language, PNG) and send them to the coordinator
        who asked; built outside the turn's transaction, like the report."""
        from bot.domain import flyers

        try:
            async with self.db.transaction() as connection:
                images = await flyers.for_series(connection, self.settings, series_id, source="", now=self.now())
            async with self.db.transaction() as connection:
                for flyer in images:
                    await outbox.enqueue(
                        connection,
                        channel=incoming.channel,
                        address=incoming.address,
                        message=Outgoing(flyer.caption, image=flyer.png),
                        kind="reply",
                        priority=outbox.REPLY,
                        now=self.now(),
                    )
            self.on_queued(incoming.channel)
        except Exception:
            log.exception("engine: the flyers for a %s coordinator failed", incoming.channel)
            await self._apologise(incoming)

    async def _console_link(self, connection, incoming: Incoming, row, now) -> None:
        """A one-time link into the web console, for this coordinator only (bot/console)."""
        from bot.domain.console_link import VALID_MINUTES, new_link

        link = await new_link(connection, self.settings, incoming.channel, incoming.address, now)
        with use_locale(row.language if row is not None else "nl"):
            text = directed(fill(
                _("Here is your link to the web console. It works once, for %(minutes)s minutes:"),
                minutes=VALID_MINUTES,
            ))
        await outbox.enqueue(
            connection,
            channel=incoming.channel,
            address=incoming.address,
            message=Outgoing(text + "\n" + link),
            kind="reply",
            priority=outbox.REPLY,
            now=now,
        )

    async def _send_report(self, incoming: Incoming, language: str) -> None:
        """Build the report on its own read connections (seconds on a big database) and send
        it; no write of anyone else waits for it."""
        from bot.domain import coordinator_report  # matplotlib is heavy: only when a report is asked for

        try:
            message = await coordinator_report.coordinator_report(self.db, self.settings, language)
            async with self.db.transaction() as connection:
                await outbox.enqueue(
                    connection,
                    channel=incoming.channel,
                    address=incoming.address,
                    message=message,
                    kind="reply",
                    priority=outbox.REPLY,
                    now=self.now(),
                )
            self.on_queued(incoming.channel)
        except Exception:
            log.exception("engine: the report for a %s coordinator failed", incoming.channel)
            await self._apologise(incoming)

    async def _apologise(self, incoming: Incoming) -> None:
        """After an internal error: a kind word in his language rather than silence. The
        kept update goes with it: handing it over again at every start would fail again."""
        try:
            async with self.db.transaction() as connection:
                if incoming.stored is not None:
                    await inbound.forget(connection, incoming.channel, incoming.stored)
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
