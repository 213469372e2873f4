"""One handler per effect type, in one table (as RapidPro's mailroom registers one handler per
event type).

A dialog returns effects (``dialogs.types.Effect``); the engine looks each one up here and runs
its handler inside the update's transaction, in the handler's phase (see ``Phase``). Work that
must wait for the commit a handler registers with ``Turn.after_commit``.

To add an effect: its dataclass in ``dialogs/types.py`` (and in the ``Effect`` union), its
handler in the module of ``bot/engine/handlers/`` for its concept, and one ``case`` below.
mypy proves the ``match`` complete (``assert_never``: a new member of ``Effect`` without a case
fails ``make test``'s type check) and tests/test_effect_registry.py checks that each case
returns the handler of its own type.
"""

from __future__ import annotations

from typing import Any, assert_never

from bot.engine.handlers import (
    checkins,
    coordinators,
    facilitators,
    messages,
    recruiting,
    series,
    statements,
    their_row,
)
from bot.engine.handlers.base import Handler
from dialogs.types import (
    AnswerOffer,
    ApproveLivingRoom,
    AskContact,
    CountStep,
    Effect,
    EraseParticipant,
    ForgetConversation,
    LeaveSeries,
    MarkAttendance,
    OfferStatements,
    OpenConsole,
    ProposeLivingRoom,
    QueueBroadcast,
    RecordCheckin,
    RecordListening,
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
    SetSeriesVoice,
    SetStatus,
    ShareInvite,
    SignUp,
    WakeAt,
)


def handler_for(effect: Effect) -> Handler[Any]:
    """The one handler of ``effect``'s type."""
    match effect:
        # messages to him
        case Reply():
            return messages.REPLY
        # his own row and conversation
        case SaveParticipant():
            return their_row.SAVE_PARTICIPANT
        case SetLanguage():
            return their_row.SET_LANGUAGE
        case SetName():
            return their_row.SET_NAME
        case SetArea():
            return their_row.SET_AREA
        case SetStatus():
            return their_row.SET_STATUS
        case WakeAt():
            return their_row.WAKE_AT
        case EraseParticipant():
            return their_row.ERASE_PARTICIPANT
        case ForgetConversation():
            return their_row.FORGET_CONVERSATION
        # series, meetings and the waiting list
        case SignUp():
            return series.SIGN_UP
        case LeaveSeries():
            return series.LEAVE_SERIES
        case Rsvp():
            return series.RSVP
        case AnswerOffer():
            return series.ANSWER_OFFER
        case SendCalendar():
            return series.SEND_CALENDAR
        # the anonymous check-in
        case RecordCheckin():
            return checkins.RECORD_CHECKIN
        case AskContact():
            return checkins.ASK_CONTACT
        case CountStep():
            return checkins.COUNT_STEP
        case RecordListening():
            return checkins.RECORD_LISTENING
        # the statements before and after a series
        case RecordStatements():
            return statements.RECORD_STATEMENTS
        case OfferStatements():
            return statements.OFFER_STATEMENTS
        # recruiting
        case ShareInvite():
            return recruiting.SHARE_INVITE
        # a facilitator's form and proposal
        case SaveMeetingReport():
            return facilitators.SAVE_MEETING_REPORT
        case ProposeLivingRoom():
            return facilitators.PROPOSE_LIVING_ROOM
        # coordinators only
        case MarkAttendance():
            return coordinators.MARK_ATTENDANCE
        case QueueBroadcast():
            return coordinators.QUEUE_BROADCAST
        case SendReport():
            return coordinators.SEND_REPORT
        case OpenConsole():
            return coordinators.OPEN_CONSOLE
        case ApproveLivingRoom():
            return coordinators.APPROVE_LIVING_ROOM
        case SendFlyers():
            return coordinators.SEND_FLYERS
        case SetSeriesVoice():
            return coordinators.SET_SERIES_VOICE
        case _:
            assert_never(effect)
