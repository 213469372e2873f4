"""His own participant row and conversation: consent, language, name, area, status, his
timer, and their erasure."""

from __future__ import annotations

from bot.domain import erasure
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import conversations, participants
from dialogs.types import (
    EraseParticipant,
    ForgetConversation,
    SaveParticipant,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    WakeAt,
)


async def save_participant(effect: SaveParticipant, turn: Turn) -> None:
    """Create his row (only ever after consent), or take him back as active."""
    if turn.his_row.participant_id is None:
        turn.his_row.participant_id = await participants.create(
            turn.connection, turn.channel, turn.address, effect.language, effect.consented_at
        )
    else:
        turn.his_row.add(language=effect.language, status="active")


async def set_language(effect: SetLanguage, turn: Turn) -> None:
    turn.his_row.add(language=effect.language)


async def set_name(effect: SetName, turn: Turn) -> None:
    turn.his_row.add(name=effect.name)


async def set_area(effect: SetArea, turn: Turn) -> None:
    turn.his_row.add(area=effect.area)


async def set_status(effect: SetStatus, turn: Turn) -> None:
    turn.his_row.add(status=effect.status)


async def wake_at(effect: WakeAt, turn: Turn) -> None:
    """Kept with his conversation state, saved at the end of the turn."""
    turn.wake = effect


async def erase_participant(effect: EraseParticipant, turn: Turn) -> None:
    await erasure.erase(turn.connection, turn.engine.settings, turn.channel, turn.address, turn.now)
    turn.keep_state = False
    db, channel, address = turn.engine.db, turn.channel, turn.address
    turn.after_commit(lambda: erasure.reclaim(db, channel, address))  # on PostgreSQL, out of the files too


async def forget_conversation(effect: ForgetConversation, turn: Turn) -> None:
    await conversations.forget(turn.connection, turn.channel, turn.address)
    turn.keep_state = False


SAVE_PARTICIPANT = Handler(SaveParticipant, Phase.HIS_ROW, save_participant)
SET_LANGUAGE = Handler(SetLanguage, Phase.HIS_ROW, set_language)
SET_NAME = Handler(SetName, Phase.HIS_ROW, set_name)
SET_AREA = Handler(SetArea, Phase.HIS_ROW, set_area)
SET_STATUS = Handler(SetStatus, Phase.HIS_ROW, set_status)
WAKE_AT = Handler(WakeAt, Phase.HIS_ROW, wake_at)
ERASE_PARTICIPANT = Handler(EraseParticipant, Phase.STORE, erase_participant)
FORGET_CONVERSATION = Handler(ForgetConversation, Phase.STORE, forget_conversation)
