"""Messages the assistant sends on its own: reminders, changes to a meeting, "we missed
you", waiting-list offers and broadcasts. Pure renderers: the scheduler and the broadcast
fan-out call them once per recipient, in the recipient's language."""

from __future__ import annotations

from datetime import datetime

from dialogs.formatting import meeting_time
from dialogs.i18n import N_, _, directed, fill, fill_place, use_locale
from dialogs.types import STANDING, Option, Reply


def reminder(language: str, meeting_id: int, series: str, when: datetime, place: str, zone: str) -> Reply:
    with use_locale(language):
        text = fill_place(
            N_("Reminder: %(series)s is on %(when)s at %(place)s. Will you come?"),
            N_("Reminder: %(series)s is on %(when)s. Will you come?"),
            place,
            series=series,
            when=meeting_time(when, zone),
        )
        return Reply(
            directed(text),
            (
                Option(_("I'm coming"), f"r:{meeting_id}:y"),
                Option(_("I can't this time"), f"r:{meeting_id}:n"),
            ),
            STANDING,
        )


def meeting_cancelled(language: str, series: str, when: datetime, reason: str | None, zone: str) -> Reply:
    with use_locale(language):
        text = fill(
            _("The meeting of %(series)s on %(when)s will not take place."),
            series=series,
            when=meeting_time(when, zone),
        )
        if reason:
            text += "\n" + fill(_("Reason: %(reason)s"), reason=reason)
        text += "\n" + _("You stay signed up for the next meetings.")
        return Reply(directed(text))


def meeting_moved(language: str, series: str, old: datetime, new: datetime, place: str, zone: str) -> Reply:
    with use_locale(language):
        text = fill_place(
            N_("The meeting of %(series)s on %(old)s has moved to %(new)s, at %(place)s."),
            N_("The meeting of %(series)s on %(old)s has moved to %(new)s."),
            place,
            series=series,
            old=meeting_time(old, zone),
            new=meeting_time(new, zone),
        )
        return Reply(directed(text))


def series_rescheduled(language: str, series: str, first: datetime, place: str, zone: str) -> Reply:
    """The coordinator changed a series' day, time, start or length before it began."""
    with use_locale(language):
        text = fill_place(
            N_("The meetings of %(series)s have new dates. The first one is on %(when)s, at %(place)s."),
            N_("The meetings of %(series)s have new dates. The first one is on %(when)s."),
            place,
            series=series,
            when=meeting_time(first, zone),
        )
        text += "\n" + _("You stay signed up.")
        return Reply(directed(text))


def missed_you(language: str, series: str, next_meeting: datetime | None, zone: str) -> Reply:
    with use_locale(language):
        if next_meeting is None:
            text = fill(_("We missed you at %(series)s yesterday. We hope you are well."), series=series)
        else:
            text = fill(
                _("We missed you at %(series)s yesterday. We hope to see you next time, on %(when)s."),
                series=series,
                when=meeting_time(next_meeting, zone),
            )
        return Reply(directed(text))


def waitlist_offer(language: str, offer_id: int, series: str, expires: datetime, zone: str) -> Reply:
    with use_locale(language):
        text = fill(
            _(
                "Good news: a seat has opened up in %(series)s. Would you like it? "
                "Please answer before %(deadline)s."
            ),
            series=series,
            deadline=meeting_time(expires, zone),
        )
        return Reply(
            directed(text),
            (
                Option(_("Yes, I'll take it"), f"wo:{offer_id}:y"),
                Option(_("No, thank you"), f"wo:{offer_id}:n"),
            ),
            STANDING,
        )


def broadcast(language: str, texts: dict[str, str], invite_series_id: int | None) -> Reply:
    """The coordinator's text in his language, or the Dutch text with a one-line note."""
    with use_locale(language):
        body = texts.get(language)
        if not body:
            body = texts["nl"] + "\n\n" + _(
                "(This message is in Dutch because there is no translation in your language yet.)"
            )
        options = (
            (Option(_("Sign me up"), f"inv:{invite_series_id}"),) if invite_series_id else ()
        )
        return Reply(directed(body), options, STANDING if options else 0)
