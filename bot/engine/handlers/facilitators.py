"""A peer facilitator's form after a meeting and his living-room proposal, each checked again
here (``bot.domain.facilitation``): only a facilitator of the meeting's series may file its
form, only a facilitator may propose."""

from __future__ import annotations

import logging

from bot.domain import facilitation
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import facilitators
from dialogs.types import ProposeLivingRoom, SaveMeetingReport

log = logging.getLogger("bot.engine")


async def save_meeting_report(effect: SaveMeetingReport, turn: Turn) -> None:
    await facilitation.save_report(turn.connection, turn.engine.settings, turn.channel, turn.address, effect, turn.now)


async def propose_living_room(effect: ProposeLivingRoom, turn: Turn) -> None:
    if not await facilitators.series_of(turn.connection, turn.channel, turn.address):
        log.warning("engine: a living-room proposal from a non-facilitator %s chat refused", turn.channel)
        return
    await facilitation.propose(turn.connection, turn.engine.settings, turn.channel, turn.address, effect, turn.now)


SAVE_MEETING_REPORT = Handler(SaveMeetingReport, Phase.STORE, save_meeting_report)
PROPOSE_LIVING_ROOM = Handler(ProposeLivingRoom, Phase.STORE, propose_living_room)
