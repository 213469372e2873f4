"""The language preview: every message of one language, in the order a man meets them.

``meedoen translations preview --lang so`` plays one made-up man through the pure dialogs
(no database, no network): the first /start, consent, his name, a full group and a group with
room, the menu, /help and /privacy, reminders and their answers, a moved and a cancelled
meeting, "we missed you", a waiting-list offer, a broadcast that has no Somali text, the
check-in (with a score that shows the help lines), leaving a group, the waiting list, another
language, /stop and /start, /delete, and a new start where he says no to the privacy terms. A
reviewer reads the whole conversation, buttons and all, as it will appear. (The coordinators'
messages are not in it; the export names the code that shows them.)

``contexts()`` says, for each msgid, at which step of that conversation it appears and with
which buttons: the "context" column of ``meedoen translations export``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from dialogs import buttons, checkin, listening, notices, router
from dialogs.i18n import recording, use_locale
from dialogs.types import (
    ChoiceMade,
    Command,
    Context,
    EraseParticipant,
    Event,
    LeaveSeries,
    MeetingView,
    OfferView,
    ParticipantView,
    RecordCheckin,
    RecordListening,
    Reply,
    SaveParticipant,
    SeriesView,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    SignUp,
    SignupView,
    Step,
    Text,
    Unsupported,
    VoiceNote,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ZONE = "Europe/Amsterdam"
ORGANISATION = "Meedoen"
AREAS = ("Osdorp", "Geuzenveld-Slotermeer", "Slotervaart", "De Aker")
NEXT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
ROOMY = SeriesView(1, "Mannen in gesprek", 3, time(19, 0), "Huis van de Wijk Geuzenveld",
                   "Geuzenveld-Slotermeer", 12, 7, NEXT)
FULL = SeriesView(2, "Vaders en zonen", 1, time(20, 0), "Buurthuis Osdorp", "Osdorp", 10, 10,
                  NEXT - timedelta(days=2))


@dataclass(frozen=True)
class Shown:
    """One message as he sees it, after what he did."""

    number: int
    after: str
    text: str
    buttons: tuple[str, ...]
    keys: tuple[str, ...]


class _Man:
    """A made-up man and the little of the world his dialogs look at."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.state: dict = {}
        self.participant: ParticipantView | None = None
        self.series = {ROOMY.id: ROOMY, FULL.id: FULL}
        self.shown: list[Shown] = []
        self.looked_up: list[tuple[Shown, list[str]]] = []
        self.question = 0
        self.checked_in = False
        self.listened = False

    def context(self) -> Context:
        participant = self.participant
        if participant is not None:
            mine = [s.series_id for s in participant.signups if s.status == "confirmed"]
            meetings = tuple(
                MeetingView(100 + week, sid, self.series[sid].name, self.series[sid].location,
                            self.series[sid].next_meeting + timedelta(weeks=week))
                for sid in mine for week in range(2)
            )
            offers = (OfferView(7, FULL.id, FULL.name, NOW + timedelta(days=1)),)
            participant = replace(participant, meetings=meetings, offers=offers)
        return Context(NOW, ZONE, ORGANISATION, AREAS, participant, tuple(self.series.values()),
                       suggested_language=self.language, checked_in_this_week=self.checked_in,
                       listened=self.listened)

    def event(self, after: str, event: Event) -> None:
        with recording() as looked_up:
            step = router.handle(self.state, event, self.context())
        self._take(after, step, looked_up)

    def press(self, key: str) -> None:
        """Press the button ``key`` of the last message (a standing one carries question 0)."""
        last = self.shown[-1]
        label = last.buttons[last.keys.index(key)]
        self.event(f"he presses “{label}”", ChoiceMade(key, self.question))

    def notice(self, after: str, render) -> None:
        with recording() as looked_up, use_locale(self.language):
            reply = render()
        self._take(after, Step(self.state, (reply,)), looked_up)

    def _take(self, after: str, step: Step, looked_up: list[str]) -> None:
        self.state = step.state
        for effect in step.effects:
            if isinstance(effect, Reply):
                shown = Shown(len(self.shown) + 1, after, effect.text,
                              tuple(o.label for o in effect.options), tuple(o.key for o in effect.options))
                self.shown.append(shown)
                self.looked_up.append((shown, looked_up))
                self.question = effect.question
                after = "(the next message)"
            else:
                self._apply(effect)

    def _apply(self, effect) -> None:
        if isinstance(effect, RecordCheckin):
            self.checked_in = True
        elif isinstance(effect, RecordListening):
            self.listened = True
        elif isinstance(effect, SaveParticipant):
            self.participant = ParticipantView(effect.language, None, None, "active")
        elif isinstance(effect, EraseParticipant):
            self.participant = None
        elif self.participant is None:
            return
        elif isinstance(effect, SetName):
            self.participant = replace(self.participant, name=effect.name)
        elif isinstance(effect, SetArea):
            self.participant = replace(self.participant, area=effect.area)
        elif isinstance(effect, SetStatus):
            self.participant = replace(self.participant, status=effect.status)
        elif isinstance(effect, SetLanguage):
            self.participant = replace(self.participant, language=effect.language)
        elif isinstance(effect, SignUp):
            status = "waitlist" if effect.waitlist else "confirmed"
            signup = SignupView(effect.series_id, status, 1 if effect.waitlist else None)
            self.participant = replace(self.participant, signups=(*self.participant.signups, signup))
        elif isinstance(effect, LeaveSeries):
            self.participant = replace(
                self.participant,
                signups=tuple(s for s in self.participant.signups if s.series_id != effect.series_id),
            )


def conversation(language: str) -> list[Shown]:
    """Every message of ``language`` in order (see the module's docstring)."""
    return _play(language).shown


def _play(language: str) -> _Man:
    man = _Man(language)
    man.event("he sends /start", Command("start"))
    man.press(buttons.LANGUAGE.key(language))
    man.press(buttons.YES)
    man.event("he writes “?”", Text("?"))
    man.event("he writes his name", Text("Cabdi"))
    man.press(buttons.SERIES.key(FULL.id))
    man.press(buttons.OTHER)
    man.press(buttons.SERIES.key(ROOMY.id))
    man.press(buttons.AREA.key(0))
    man.event("he sends a sticker", Unsupported("sticker"))
    man.event("he sends a voice note", VoiceNote())
    man.press("call:me")
    man.event("he writes “?”", Text("?"))
    man.press(buttons.MENU.key("mine"))
    man.event("he sends /help", Command("help"))
    man.event("he sends /privacy", Command("privacy"))
    man.event("he sends /foo", Command("foo"))
    man.notice("a day before the meeting", lambda: notices.reminder(language, 100, ROOMY.name, NEXT, ROOMY.location, ZONE))
    man.press(buttons.RSVP.key(100, "n"))
    man.notice("two hours before the meeting", lambda: notices.reminder(language, 100, ROOMY.name, NEXT, ROOMY.location, ZONE))
    man.press(buttons.RSVP.key(100, "y"))
    man.notice("a coordinator moves a meeting", lambda: notices.meeting_moved(
        language, ROOMY.name, NEXT, NEXT + timedelta(days=1), ROOMY.location, ZONE))
    man.notice("a coordinator cancels a meeting", lambda: notices.meeting_cancelled(
        language, ROOMY.name, NEXT + timedelta(weeks=1), "Ziekte van de gespreksleider", ZONE))
    man.notice("the morning after a meeting he missed", lambda: notices.missed_you(
        language, ROOMY.name, NEXT + timedelta(weeks=1), ZONE))
    man.notice("a seat opens up in a full group", lambda: notices.waitlist_offer(
        language, 7, FULL.name, NOW + timedelta(days=1), ZONE))
    man.press(buttons.WAITLIST_OFFER.key(7, "y"))
    man.notice("a broadcast written only in Dutch, with an invite", lambda: notices.broadcast(
        language, {"nl": "Zaterdag is er een buurtfeest in Osdorp. Kom je ook?"}, ROOMY.id))
    man.notice("the morning after a meeting", lambda: checkin.offer(language))
    man.press(checkin.CHECKIN_LATER)
    man.event("he sends /checkin", Command("checkin"))
    yes, no = buttons.ANSWER.key(0), buttons.ANSWER.key(2)
    for key in (yes, yes, yes, no, no, no, buttons.YES, buttons.WORTHWHILE.key(3)):
        man.press(key)
    man.press(checkin.CHECKIN_CONTACT)
    man.event("he sends /checkin again the same week", Command("checkin"))
    man.notice("the day after his sign-up", lambda: listening.offer(language))
    man.press("ls:later")
    man.event("he sends /listen", Command("listen"))
    for key in ("t:0", "t:3", "done", "t:1", "done", "skip"):
        man.press(key)
    man.event("he sends /listen again", Command("listen"))
    man.event("he sends /cancel", Command("cancel"))
    man.press(buttons.KEEP)
    man.event("he sends /cancel", Command("cancel"))
    man.press(buttons.LEAVE.key(ROOMY.id))
    man.press(buttons.MENU.key("join"))
    man.press(buttons.SERIES.key(FULL.id))
    man.press(buttons.WAIT)
    man.event("he presses a button of an old message", ChoiceMade("menu:join", man.question - 1))
    man.event("he sends /language", Command("language"))
    man.press(buttons.LANGUAGE.key(language))
    man.event("he sends /stop", Command("stop"))
    man.event("he writes “hello”", Text("hello"))
    man.event("he sends /start", Command("start"))
    man.event("he sends /delete", Command("delete"))
    man.press(buttons.KEEP)
    man.event("he sends /delete", Command("delete"))
    man.press(buttons.ERASE)
    man.event("he sends /start again", Command("start"))
    man.press(buttons.LANGUAGE.key(language))
    man.press(buttons.NO)
    return man


def render(language: str) -> str:
    """The preview as plain text: each message under what he did, its buttons below it."""
    from dialogs.formatting import LANGUAGE_NAMES

    out = [f"Every message in {LANGUAGE_NAMES[language]} ({language}), in the order a man meets "
           "them (made-up groups, names and dates).", ""]
    for shown in conversation(language):
        out.append(f"── {shown.number}. {shown.after} ──")
        out.append(shown.text)
        if shown.buttons:
            out.append("   " + "  ".join(f"[ {label} ]" for label in shown.buttons))
        out.append("")
    return "\n".join(out)


@lru_cache(maxsize=1)
def contexts() -> dict[str, tuple[str, ...]]:
    """msgid → where the preview shows it: "message 12 (he presses “Yes”), with the buttons
    [A] [B]". Read in English, the language of the msgids."""
    man = _play("en")
    found: dict[str, list[str]] = {}
    for shown, msgids in man.looked_up:
        buttons = " ".join(f"[{label}]" for label in shown.buttons) or "no buttons"
        place = f"message {shown.number} of the preview ({shown.after}), with {buttons}"
        for msgid in dict.fromkeys(msgids):
            places = found.setdefault(msgid, [])
            if len(places) < 2 and place not in places:
                places.append(place)
    return {msgid: tuple(places) for msgid, places in found.items()}
