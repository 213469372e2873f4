"""Standing buttons: a reminder's "I'm coming", an invite's "Sign me up", a waiting-list
offer's "Yes". They stay valid whatever question is open, so each is checked against the
context instead of the question number: the meeting must still be ahead, the offer still
open, the series still open."""

from __future__ import annotations

from dialogs import conversation
from dialogs.formatting import meeting_time
from dialogs.i18n import N_, _, directed, fill, fill_place
from dialogs.types import AnswerOffer, AskContact, Context, Effect, ParticipantView, Reply, Rsvp, State, Step


def handle(state: State, key: str, ctx: Context) -> Step:
    """A standing button pressed; the caller has set the locale."""
    kind, _sep, rest = key.partition(":")
    if ctx.participant is None:
        return _say(state, _("You haven't signed up yet. Send /start to begin."))
    if kind == "r":
        return _rsvp(state, rest, ctx, ctx.participant)
    if kind == "wo":
        return _offer(state, rest, ctx, ctx.participant)
    if kind == "inv" and rest.isdecimal():
        return conversation.join_series(state, int(rest), ctx)
    if key == "call:me":  # offered after a voice note (dialogs.router)
        return _say(state, _("Thank you. A coordinator will call you back soon."), (AskContact(),))
    return _say(state, _("Sorry, I could not read that button."))


def _say(state: State, text: str, effects: tuple[Effect, ...] = ()) -> Step:
    return Step(state, (*effects, Reply(directed(text))))


def _rsvp(state: State, rest: str, ctx: Context, participant: ParticipantView) -> Step:
    meeting_id, _sep, answer = rest.partition(":")
    meeting = next(
        (m for m in participant.meetings if str(m.id) == meeting_id and m.starts_at > ctx.now),
        None,
    )
    if meeting is None or answer not in ("y", "n"):
        return _say(state, _("That meeting has already started or is no longer planned."))
    when = meeting_time(meeting.starts_at, ctx.timezone)
    if answer == "y":
        text = fill(_("Great, see you on %(when)s!"), when=when)
        return _say(state, text, (Rsvp(meeting.id, "coming"),))
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
    return _say(state, text, (Rsvp(meeting.id, "not_coming"),))


def _offer(state: State, rest: str, ctx: Context, participant: ParticipantView) -> Step:
    offer_id, _sep, answer = rest.partition(":")
    offer = next(
        (o for o in participant.offers if str(o.id) == offer_id and o.expires_at > ctx.now),
        None,
    )
    if offer is None or answer not in ("y", "n"):
        return _say(state, _("Sorry, this offer is no longer open."))
    if answer == "n":
        return _say(
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
    return _say(state, text, (AnswerOffer(offer.id, accept=True),))
