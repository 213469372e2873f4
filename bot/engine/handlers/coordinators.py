"""Coordinators' effects: attendance, broadcasts, the report, the console link, flyers,
a series' recorded reminders and approving a living-room talk. Each is checked again here
(``coordinators_only``): only a coordinator's chat may cause them; attendance and a series'
recorded reminders also a facilitator's, for his own series."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.channels.base import Outgoing
from bot.delivery import outbox
from bot.domain import broadcasts, facilitation, invites
from bot.engine.handlers.base import Handler, Phase, coordinators_only
from bot.engine.turn import Turn
from bot.store import coordinators, facilitators
from bot.store import voice as voice_store
from dialogs import notices
from dialogs.types import (
    ApproveLivingRoom,
    MarkAttendance,
    OpenConsole,
    QueueBroadcast,
    SendFlyers,
    SendReport,
    SetSeriesVoice,
)

log = logging.getLogger("bot.engine")


async def mark_attendance(effect: MarkAttendance, turn: Turn) -> None:
    """A coordinator ticks any meeting, a facilitator only his own series' meetings; the men
    ticked present are counted for the invite source they came through (bot.domain.invites)."""
    connection = turn.connection
    if not (
        await coordinators.is_coordinator(connection, turn.channel, turn.address)
        or await facilitators.facilitates_meeting(connection, turn.channel, turn.address, effect.meeting_id)
    ):
        log.warning("engine: attendance from a %s chat that may not tick this meeting refused", turn.channel)
        return
    await invites.mark_attendance(
        connection, turn.engine.secret, effect.participant_id, effect.meeting_id,
        effect.present, turn.now,
    )


@coordinators_only
async def queue_broadcast(effect: QueueBroadcast, turn: Turn) -> None:
    await broadcasts.create(
        turn.connection,
        created_by=f"{turn.channel}:{turn.address}",
        audience_keys=effect.audiences,
        texts=effect.texts,
        invite_series_id=effect.invite_series_id,
        areas=turn.engine.settings.areas,
        now=turn.now,
        voices=effect.voices,
    )
    on_queued_all = turn.engine.on_queued_all

    async def wake_the_senders() -> None:
        on_queued_all()

    turn.after_commit(wake_the_senders)


def _replies_after_commit(turn: Turn, what: str, build: Callable[[], Awaitable[list[Outgoing]]]) -> None:
    """Build replies once the turn's transaction has committed (slow work, on connections of
    its own, that no write of anyone else should wait for) and queue them for this chat; a
    kind apology if building them fails."""
    engine, channel, address, apologise = turn.engine, turn.channel, turn.address, turn.apologise

    async def build_and_send() -> None:
        try:
            messages = await build()
            async with engine.db.transaction() as connection:
                for message in messages:
                    await outbox.enqueue(
                        connection,
                        channel=channel,
                        address=address,
                        message=message,
                        kind="reply",
                        priority=outbox.REPLY,
                        now=engine.now(),
                    )
            engine.on_queued(channel)
        except Exception:
            log.exception("engine: the %s for a %s chat failed", what, channel)
            await apologise()

    turn.after_commit(build_and_send)


@coordinators_only
async def send_report(effect: SendReport, turn: Turn) -> None:
    """The report is built after this transaction, on its own read connections (seconds on a
    big database): no write of anyone else waits for it."""
    engine, language = turn.engine, turn.language

    async def build() -> list[Outgoing]:
        from bot.domain import coordinator_report  # matplotlib is heavy: only when a report is asked for

        return [await coordinator_report.coordinator_report(engine.db, engine.settings, language)]

    _replies_after_commit(turn, "report", build)


@coordinators_only
async def open_console(effect: OpenConsole, turn: Turn) -> None:
    """A one-time link into the web console, for this coordinator only (bot/console)."""
    from bot.domain.console_link import VALID_MINUTES, new_link

    link = await new_link(turn.connection, turn.engine.settings, turn.channel, turn.address, turn.now)
    notice = notices.console_link(turn.language, VALID_MINUTES, link)
    await outbox.enqueue(
        turn.connection,
        channel=turn.channel,
        address=turn.address,
        message=Outgoing(notice.text),
        kind="reply",
        priority=outbox.REPLY,
        now=turn.now,
    )


async def set_series_voice(effect: SetSeriesVoice, turn: Turn) -> None:
    """A series' recorded reminder in one language set, replaced or removed (``/voice``): by a
    coordinator for any series, by a facilitator for his own series only. A refused recording
    is erased at once: nothing of it stays."""
    connection = turn.connection
    if not (
        await coordinators.is_coordinator(connection, turn.channel, turn.address)
        or effect.series_id in await facilitators.series_of(connection, turn.channel, turn.address)
    ):
        log.warning("engine: a recorded reminder from a %s chat that may not set this series' refused", turn.channel)
        if effect.clip_id is not None:
            await voice_store.erase_if_unused(connection, effect.clip_id)
        return
    await voice_store.set_series_voice(connection, effect.series_id, effect.language, effect.clip_id)


@coordinators_only
async def approve_living_room(effect: ApproveLivingRoom, turn: Turn) -> None:
    """A coordinator's one tap: the facilitator's proposal becomes a series of one meeting."""
    await facilitation.approve(
        turn.connection, turn.engine.settings, turn.channel, turn.address, effect.proposal_id, turn.now
    )


async def send_flyers(effect: SendFlyers, turn: Turn) -> None:
    """A series' flyers, one PNG per language, rendered and queued after this transaction
    (drawing them takes a while), like the report: a coordinator's carry no source, a
    facilitator's (for his own series only) carry his, and he also gets his own link to
    forward; anyone else's request is refused (``bot.domain.facilitation.flyer_source``)."""
    engine, channel, address, language = turn.engine, turn.channel, turn.address, turn.language
    source = await facilitation.flyer_source(turn.connection, engine.settings, channel, address, effect.series_id)
    if source is None:
        log.warning("engine: flyers from a %s chat that may not have them refused", channel)
        return
    async def render() -> list[Outgoing]:
        from bot.domain import flyers

        async with engine.db.transaction() as connection:
            images = await flyers.for_series(connection, engine.settings, effect.series_id, source=source, now=engine.now())
            messages = [Outgoing(flyer.caption, image=flyer.png) for flyer in images]
            if source:
                messages += await facilitation.own_link_messages(
                    connection, engine.settings, channel, address, effect.series_id, language
                )
        return messages

    _replies_after_commit(turn, "flyers", render)


MARK_ATTENDANCE = Handler(MarkAttendance, Phase.STORE, mark_attendance)
QUEUE_BROADCAST = Handler(QueueBroadcast, Phase.STORE, queue_broadcast)
SEND_REPORT = Handler(SendReport, Phase.STORE, send_report)
OPEN_CONSOLE = Handler(OpenConsole, Phase.STORE, open_console)
APPROVE_LIVING_ROOM = Handler(ApproveLivingRoom, Phase.STORE, approve_living_room)
SEND_FLYERS = Handler(SendFlyers, Phase.STORE, send_flyers)
SET_SERIES_VOICE = Handler(SetSeriesVoice, Phase.STORE, set_series_voice)
