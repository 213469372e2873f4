"""Messages the assistant sends on its own: reminders, changes to a meeting, "we missed
you", waiting-list offers and broadcasts, a coordinator's notices and console link, and the
apology after an internal error. Pure renderers: the scheduler, the broadcast fan-out and the
engine's effect handlers call them once per recipient, in the recipient's language."""

from __future__ import annotations

from datetime import datetime, time

from dialogs import buttons
from dialogs.formatting import clock, meeting_time, weekday_name
from dialogs.i18n import N_, _, directed, fill, fill_place, use_locale
from dialogs.types import STANDING, Option, Reply


def reminder(
    language: str, meeting_id: int, series: str, when: datetime, place: str, zone: str, *, friend_series: int | None = None
) -> Reply:
    """``friend_series`` (before a series' second meeting) adds an "Invite a friend" button."""
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
                Option(_("I'm coming"), buttons.RSVP.key(meeting_id, "y")),
                Option(_("I can't this time"), buttons.RSVP.key(meeting_id, "n")),
                *((Option(_("Invite a friend"), buttons.FRIEND.key(friend_series)),) if friend_series is not None else ()),
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
                Option(_("Yes, I'll take it"), buttons.WAITLIST_OFFER.key(offer_id, "y")),
                Option(_("No, thank you"), buttons.WAITLIST_OFFER.key(offer_id, "n")),
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
            (Option(_("Sign me up"), buttons.INVITE.key(invite_series_id)),) if invite_series_id else ()
        )
        return Reply(directed(body), options, STANDING if options else 0)


def friend_invitation(language: str, series: str, weekday: int, at: time, link: str) -> str:
    """The message a man forwards to a friend ("Invite a friend"), with the series' link."""
    with use_locale(language):
        return directed(
            fill(
                _(
                    "Hello! I take part in %(series)s, conversations for men, every %(weekday)s at "
                    "%(time)s. You are welcome too. Sign up here: %(link)s"
                ),
                series=series,
                weekday=weekday_name(weekday),
                time=clock(at),
                link=link,
            )
        )


def friend_instructions(language: str, channel: str, share_link: str | None) -> str:
    """What to do with the invitation: forward it (Telegram), or tap a link that opens
    WhatsApp with the invitation written, to send to a friend."""
    with use_locale(language):
        if channel == "whatsapp" and share_link:
            text = fill(
                _("Tap this link, choose a friend and send him the invitation:\n%(link)s"), link=share_link
            )
        elif share_link:
            text = fill(
                _("Forward the next message to a friend, or share it with this link:\n%(link)s"), link=share_link
            )
        else:
            text = _("Forward the next message to a friend.")
        return directed(text)


def contact_request(language: str, name: str | None, channel: str, address: str) -> Reply:
    """To a coordinator: a man asked to be contacted (and nothing else about him)."""
    with use_locale(language):
        text = fill(
            _("%(name)s (%(channel)s %(address)s) would like a coordinator to get in touch."),
            name=name or _("A participant"),
            channel=channel,
            address=address,
        )
        return Reply(directed(text))


def console_link(language: str, minutes: int, link: str) -> Reply:
    """To a coordinator: his one-time link into the web console, valid ``minutes``."""
    with use_locale(language):
        text = directed(fill(
            _("Here is your link to the web console. It works once, for %(minutes)s minutes:"),
            minutes=minutes,
        ))
        return Reply(text + "\n" + link)


def apology(language: str) -> Reply:
    """After an internal error: a kind word rather than silence."""
    with use_locale(language):
        return Reply(directed(_("Sorry, something went wrong on my side. Please try again in a moment.")))
