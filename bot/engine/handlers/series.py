"""His places in series: seats (and the invite source a seat is counted for), the waiting list,
his answers to meetings and the calendar file of his series."""

from __future__ import annotations

from bot.delivery import outbox
from bot.domain import calendar as calendar_files
from bot.domain import invites, waitlist
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import meetings
from bot.store import series as series_store
from dialogs.types import AnswerOffer, LeaveSeries, Rsvp, SendCalendar, SignUp


def _his_id(turn: Turn) -> int:
    """His participant id; these effects only come from a dialog that knows he consented."""
    participant_id = turn.his_row.participant_id
    assert participant_id is not None, "a series effect before consent"
    return participant_id


async def sign_up(effect: SignUp, turn: Turn) -> None:
    await series_store.sign_up(
        turn.connection, _his_id(turn), effect.series_id, waitlist=effect.waitlist, now=turn.now
    )
    if effect.source is not None:  # he came through an invite link: counted, not kept with him
        await invites.count_signup(
            turn.connection,
            turn.engine.secret,
            turn.channel,
            turn.address,
            invites.Invite(effect.series_id, effect.source),
        )


async def leave_series(effect: LeaveSeries, turn: Turn) -> None:
    await series_store.leave(turn.connection, _his_id(turn), effect.series_id)
    await waitlist.offer_next(turn.connection, effect.series_id, turn.now, turn.engine.settings.timezone)


async def rsvp(effect: Rsvp, turn: Turn) -> None:
    await meetings.answer(turn.connection, _his_id(turn), effect.meeting_id, effect.answer, turn.now)


async def send_calendar(effect: SendCalendar, turn: Turn) -> None:
    """The ``.ics`` file of each series asked for, in his language (bot/domain/calendar.py)."""
    participant_id = turn.his_row.participant_id
    if participant_id is None:
        return
    settings = turn.engine.settings
    messages = await calendar_files.files_for(
        turn.connection, participant_id, effect.series_ids, language=turn.language,
        organisation=settings.organisation, timezone=settings.timezone, now=turn.now,
    )
    for message in messages:
        await outbox.enqueue(
            turn.connection, channel=turn.channel, address=turn.address, message=message,
            kind="reply", priority=outbox.REPLY, now=turn.now,
        )


async def answer_offer(effect: AnswerOffer, turn: Turn) -> None:
    await waitlist.answer(
        turn.connection, effect.offer_id, _his_id(turn), effect.accept, turn.now, turn.engine.settings.timezone
    )


SIGN_UP = Handler(SignUp, Phase.STORE, sign_up)
LEAVE_SERIES = Handler(LeaveSeries, Phase.STORE, leave_series)
RSVP = Handler(Rsvp, Phase.STORE, rsvp)
ANSWER_OFFER = Handler(AnswerOffer, Phase.STORE, answer_offer)
SEND_CALENDAR = Handler(SendCalendar, Phase.STORE, send_calendar)
