"""Coordinators' effects: attendance, broadcasts, the report and the console link. Each is
checked again here (``coordinators_only``): only a coordinator's chat may cause them."""

from __future__ import annotations

import logging

from bot.channels.base import Outgoing
from bot.delivery import outbox
from bot.domain import broadcasts
from bot.engine.handlers.base import Handler, Phase, coordinators_only
from bot.engine.turn import Turn
from bot.store import meetings
from dialogs import notices
from dialogs.types import MarkAttendance, OpenConsole, QueueBroadcast, SendReport

log = logging.getLogger("bot.engine")


@coordinators_only
async def mark_attendance(effect: MarkAttendance, turn: Turn) -> None:
    await meetings.mark_attendance(
        turn.connection, effect.participant_id, effect.meeting_id, effect.present, turn.now
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
    )
    on_queued_all = turn.engine.on_queued_all

    async def wake_the_senders() -> None:
        on_queued_all()

    turn.after_commit(wake_the_senders)


@coordinators_only
async def send_report(effect: SendReport, turn: Turn) -> None:
    """The report is built after this transaction, on its own read connections (seconds on a
    big database): no write of anyone else waits for it."""
    engine, channel, address, language = turn.engine, turn.channel, turn.address, turn.language
    apologise = turn.apologise

    async def build_and_send() -> None:
        from bot.domain import coordinator_report  # matplotlib is heavy: only when a report is asked for

        try:
            message = await coordinator_report.coordinator_report(engine.db, engine.settings, language)
            async with engine.db.transaction() as connection:
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
            log.exception("engine: the report for a %s coordinator failed", channel)
            await apologise()

    turn.after_commit(build_and_send)


@coordinators_only
async def open_console(effect: OpenConsole, turn: Turn) -> None:
    """A one-time link into the web console, for this coordinator only (bot/console)."""
    from bot.console.links import VALID_MINUTES, new_link

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


MARK_ATTENDANCE = Handler(MarkAttendance, Phase.STORE, mark_attendance)
QUEUE_BROADCAST = Handler(QueueBroadcast, Phase.STORE, queue_broadcast)
SEND_REPORT = Handler(SendReport, Phase.STORE, send_report)
OPEN_CONSOLE = Handler(OpenConsole, Phase.STORE, open_console)
