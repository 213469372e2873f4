"""Standing buttons: a reminder's "I'm coming" (and, before the second meeting, "Invite a
friend"), an invite's "Sign me up", a waiting-list offer's "Yes", "Add to my calendar". They stay valid whatever question is open, so each is checked against the
context instead of the question number: the meeting must still be ahead, the offer still
open, the series still open."""

from __future__ import annotations

from dialogs import buttons, conversation
from dialogs.formatting import meeting_time
from dialogs.i18n import N_, _, fill, fill_place
from dialogs.speech import say
from dialogs.types import (
    AnswerOffer,
    AskContact,
    Context,
    ParticipantView,
    Rsvp,
    SendCalendar,
    ShareInvite,
    State,
    Step,
)


def handle(state: State, key: str, ctx: Context) -> Step:
    """A standing button pressed; the caller has set the locale."""
    if ctx.participant is None:
        return say(state, _("You haven't signed up yet. Send /start to begin."))
    if (rest := buttons.RSVP.value(key)) is not None:
        return _rsvp(state, rest, ctx, ctx.participant)
    if (rest := buttons.WAITLIST_OFFER.value(key)) is not None:
        return _offer(state, rest, ctx, ctx.participant)
    if (rest := buttons.INVITE.value(key)) is not None and rest.isdecimal():
        return conversation.join_series(state, int(rest), ctx)
    if (rest := buttons.FRIEND.value(key)) is not None and rest.isdecimal():
        return _invite_friend(state, int(rest), ctx.participant)
    if key == buttons.CALENDAR.prefix or buttons.CALENDAR.value(key) is not None:
        # "Add to my calendar": "cal" for all his seats, "cal:ID" for one series
        rest = buttons.CALENDAR.value(key) or ""
        if not any(s.status == "confirmed" and (not rest or str(s.series_id) == rest) for s in ctx.participant.signups):
            return say(state, _("You are not signed up for that conversation group."))
        return Step(state, (SendCalendar((int(rest),) if rest.isdecimal() else ()),))
    if key == buttons.CALL_BACK:  # offered after a voice note (dialogs.router)
        return say(state, _("Thank you. A coordinator will call you back soon."), (AskContact(),))
    return say(state, _("Sorry, I could not read that button."))




def _invite_friend(state: State, series_id: int, participant: ParticipantView) -> Step:
    """A reminder's "Invite a friend": the engine sends the invite to forward."""
    if not any(s.series_id == series_id and s.status == "confirmed" for s in participant.signups):
        return say(state, _("You are not signed up for that conversation group."))
    return Step(state, (ShareInvite(series_id),))


def _rsvp(state: State, rest: str, ctx: Context, participant: ParticipantView) -> Step:
    meeting_id, _sep, answer = rest.partition(":")
    meeting = next(
        (m for m in participant.meetings if str(m.id) == meeting_id and m.starts_at > ctx.now),
        None,
    )
    if meeting is None or answer not in ("y", "n"):
        return say(state, _("That meeting has already started or is no longer planned."))
    when = meeting_time(meeting.starts_at, ctx.timezone)
    if answer == "y":
        text = fill(_("Great, see you on %(when)s!"), when=when)
        return say(state, text, (Rsvp(meeting.id, "coming"),))
    later = [
        m for m in participant.meetings
        if m.series_id == meeting.series_id and m.starts_at > meeting.starts_at
    ]
    if later:
        text = fill(
            _(
                "Thank you for letting us know. You stay signed up, and we hope to see you "
                "next time, on %(when)s."
            ),
            when=meeting_time(later[0].starts_at, ctx.timezone),
        )
    else:
        text = _("Thank you for letting us know. Take care!")
    return say(state, text, (Rsvp(meeting.id, "not_coming"),))


def _offer(state: State, rest: str, ctx: Context, participant: ParticipantView) -> Step:
    offer_id, _sep, answer = rest.partition(":")
    offer = next(
        (o for o in participant.offers if str(o.id) == offer_id and o.expires_at > ctx.now),
        None,
    )
    if offer is None or answer not in ("y", "n"):
        return say(state, _("Sorry, this offer is no longer open."))
    if answer == "n":
        return say(
            state,
            _("Okay. The seat goes to the next person on the waiting list."),
            (AnswerOffer(offer.id, accept=False),),
        )
    series = ctx.series_by_id(offer.series_id)
    text = fill(_("The seat in %(series)s is yours!"), series=offer.series_name)
    if series is not None and series.next_meeting is not None:
        text += " " + fill_place(
            N_("The next meeting is on %(when)s at %(place)s."),
            N_("The next meeting is on %(when)s."),
            series.location,
            when=meeting_time(series.next_meeting, ctx.timezone),
        )
    return say(state, text, (AnswerOffer(offer.id, accept=True),))
