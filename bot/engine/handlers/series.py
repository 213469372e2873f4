"""His places in series: seats, the waiting list and his answers to meetings."""

from __future__ import annotations

from bot.domain import waitlist
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import meetings
from bot.store import series as series_store
from dialogs.types import AnswerOffer, LeaveSeries, Rsvp, SignUp


def _his_id(turn: Turn) -> int:
    """His participant id; these effects only come from a dialog that knows he consented."""
    participant_id = turn.his_row.participant_id
    assert participant_id is not None, "a series effect before consent"
    return participant_id


async def sign_up(effect: SignUp, turn: Turn) -> None:
    await series_store.sign_up(
        turn.connection, _his_id(turn), effect.series_id, waitlist=effect.waitlist, now=turn.now
    )


async def leave_series(effect: LeaveSeries, turn: Turn) -> None:
    await series_store.leave(turn.connection, _his_id(turn), effect.series_id)
    await waitlist.offer_next(turn.connection, effect.series_id, turn.now, turn.engine.settings.timezone)


async def rsvp(effect: Rsvp, turn: Turn) -> None:
    await meetings.answer(turn.connection, _his_id(turn), effect.meeting_id, effect.answer, turn.now)


async def answer_offer(effect: AnswerOffer, turn: Turn) -> None:
    await waitlist.answer(
        turn.connection, effect.offer_id, _his_id(turn), effect.accept, turn.now, turn.engine.settings.timezone
    )


SIGN_UP = Handler(SignUp, Phase.STORE, sign_up)
LEAVE_SERIES = Handler(LeaveSeries, Phase.STORE, leave_series)
RSVP = Handler(Rsvp, Phase.STORE, rsvp)
ANSWER_OFFER = Handler(AnswerOffer, Phase.STORE, answer_offer)
