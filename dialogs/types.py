"""The vocabulary shared by dialogs, the engine and the channels.

A dialog is a pure function ``(state, event, context) -> Step``. Events come in from a
channel (or a timer); a ``Step`` carries the new state and the *effects* the engine performs
afterwards: messages to send and changes to store. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

LANGUAGES: tuple[str, ...] = ("nl", "ar", "so", "en")
"""The languages the assistant speaks, in menu order. English is the fallback."""

DEFAULT_LANGUAGE = "nl"

State = dict[str, Any]
"""A dialog's own memory between two events; JSON-serialisable."""


# --- Incoming events -------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Free text typed by the person."""

    text: str


@dataclass(frozen=True)
class Command:
    """A slash command (``/start``) or a keyword with the same meaning."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class ChoiceMade:
    """A button press. ``question`` is the number of the question the button belonged to, so
    a button from an earlier question (stale, or replayed) can be told apart."""

    key: str
    question: int


@dataclass(frozen=True)
class BadButton:
    """A button press whose data failed verification (forged, or for another chat)."""


@dataclass(frozen=True)
class Unsupported:
    """Something the assistant cannot read: a sticker, a photo, a voice note, ..."""

    kind: str


@dataclass(frozen=True)
class VoiceNote:
    """A voice note (or audio file) sent in the chat. The dialog never hears it. A man's is
    never even fetched: all it carries is that it came. A coordinator's was fetched and
    checked by the engine: ``clip_id`` is the stored clip (``seconds`` long), or ``problem``
    says why it cannot be used (see ``bot.common.audio.PROBLEMS``)."""

    clip_id: int | None = None
    seconds: int = 0
    problem: str = ""


@dataclass(frozen=True)
class Timer:
    """A scheduled event addressed to this conversation (reminder, check-in prompt, ...)."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


Event = Text | Command | ChoiceMade | BadButton | Unsupported | VoiceNote | Timer


# --- What a dialog sees of the world ---------------------------------------------------


@dataclass(frozen=True)
class SeriesView:
    """An open dialogue series as a participant may see it."""

    id: int
    name: str
    weekday: int  # 0 = Monday
    start_time: time  # wall-clock time in the organisation's time zone
    location: str
    area: str
    capacity: int
    confirmed: int
    next_meeting: datetime | None  # UTC
    open: bool = True
    waitlisted: int = 0
    place_private: bool = False  # the place is told only once he has signed up
    one_off: bool = False  # a single meeting (a living-room talk): named by its date

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)


@dataclass(frozen=True)
class MeetingView:
    """One of his upcoming meetings (or the one that just passed), with his answer."""

    id: int
    series_id: int
    series_name: str
    location: str
    starts_at: datetime  # UTC
    rsvp: str | None = None  # "coming" | "not_coming"


@dataclass(frozen=True)
class OfferView:
    """A seat offered to him from the waiting list, open until ``expires_at``."""

    id: int
    series_id: int
    series_name: str
    expires_at: datetime  # UTC


@dataclass(frozen=True)
class SignupView:
    series_id: int
    status: str  # "confirmed" | "waitlist"
    waitlist_position: int | None = None


@dataclass(frozen=True)
class ParticipantView:
    language: str
    name: str | None
    area: str | None
    status: str  # "active" | "stopped"
    signups: tuple[SignupView, ...] = ()
    meetings: tuple[MeetingView, ...] = ()  # his confirmed series' meetings, from yesterday on
    offers: tuple[OfferView, ...] = ()  # open waiting-list offers


@dataclass(frozen=True)
class Invited:
    """The invite link he came through (``/start CODE``, or the code in a first WhatsApp
    message), read and verified by the engine: offer this series first, and count the
    sign-up for ``source`` ("" when the link carries none)."""

    series_id: int
    source: str


@dataclass(frozen=True)
class StatementPoll:
    """The statements poll a "st:go:SERIES:PHASE" button opens, as the engine found it for
    him (``bot.domain.statements.poll_for``): ``items`` are (number, text) with text None for
    a shipped statement (``dialogs.statements.SHIPPED``, translated by the dialog) and the
    coordinator's text in his language otherwise. ``status``: "open", "answered" (he did this
    phase already) or "closed" (no seat in the series, or the series is over)."""

    series_id: int
    phase: str  # "before" | "after"
    items: tuple[tuple[int, str | None], ...]
    status: str


@dataclass(frozen=True)
class Context:
    """Everything a dialog may read besides its own state, loaded by the engine."""

    now: datetime  # UTC, aware
    timezone: str
    organisation: str
    areas: tuple[str, ...]
    participant: ParticipantView | None
    series: tuple[SeriesView, ...] = ()
    suggested_language: str | None = None  # e.g. Telegram's language_code, never decisive
    is_coordinator: bool = False
    coordinator: CoordinatorView | None = None  # loaded only for coordinators
    checked_in_this_week: bool = False
    chat_address: str = ""  # "telegram:123456789", as `meedoen coordinator add` takes it
    facilitator: FacilitatorView | None = None  # loaded only for facilitators
    invited: Invited | None = None  # this message came through an invite link
    listened: bool = False  # he has answered the listening poll (its keyed marker is there)
    listen_link: str | None = None  # came through a listening link: its area, "" for none
    statement_poll: StatementPoll | None = None  # loaded only for a "st:go" button press

    def series_by_id(self, series_id: int) -> SeriesView | None:
        return next((s for s in self.series if s.id == series_id), None)


@dataclass(frozen=True)
class RsvpLine:
    name: str | None
    language: str
    answer: str | None  # "coming" | "not_coming" | None (no answer yet)
    participant_id: int
    present: bool | None = None  # attendance, once ticked


@dataclass(frozen=True)
class CoordinatorMeeting:
    """A meeting as a coordinator sees it: who is signed up, who said what, who came."""

    id: int
    series_id: int
    series_name: str
    starts_at: datetime
    lines: tuple[RsvpLine, ...]


@dataclass(frozen=True)
class CoordinatorView:
    """What a coordinator's chat may show: next and last meeting per series, and how many
    people each broadcast audience reaches."""

    next_meetings: tuple[CoordinatorMeeting, ...] = ()
    last_meetings: tuple[CoordinatorMeeting, ...] = ()
    audience_sizes: dict[str, int] = field(default_factory=dict)
    selected_count: int = 0  # people in the union of the audiences chosen so far
    series_voices: dict[int, tuple[str, ...]] = field(default_factory=dict)  # series → languages with a recorded reminder


@dataclass(frozen=True)
class ReportDue:
    """A meeting of his series that has begun and has no form yet (the last few days)."""

    meeting_id: int
    series_name: str
    starts_at: datetime  # UTC
    men_present: int | None  # from the attendance, when it was taken


@dataclass(frozen=True)
class FacilitatorView:
    """What a facilitator's chat may show: his series, and the forms still to fill in.
    (His /rsvps and /attendance read ``Context.coordinator``, limited to his series.)"""

    series_ids: tuple[int, ...]
    reports_due: tuple[ReportDue, ...] = ()


# --- Effects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One button: the label shown and the key that comes back in ``ChoiceMade``."""

    label: str
    key: str


@dataclass(frozen=True)
class Reply:
    """A message to the person in this conversation. ``question`` numbers the buttons."""

    text: str
    options: tuple[Option, ...] = ()
    question: int = 0


@dataclass(frozen=True)
class SaveParticipant:
    """Create the participant record (only ever after consent) or update its fields."""

    language: str
    consented_at: datetime


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class SetName:
    name: str | None


@dataclass(frozen=True)
class SetArea:
    area: str | None


@dataclass(frozen=True)
class SetStatus:
    status: str  # "active" | "stopped"


@dataclass(frozen=True)
class SignUp:
    """Take a seat (``waitlist=False``) or a waitlist place. The store refuses a seat in a
    full or closed series, so a stale view can never overfill a series."""

    series_id: int
    waitlist: bool
    source: str | None = None  # through an invite link with this source: counted, not stored


@dataclass(frozen=True)
class ShareInvite:
    """He pressed "Invite a friend": the engine sends him the series' invite message with the
    link for the source "friend", to forward (nothing records who invited whom)."""

    series_id: int


@dataclass(frozen=True)
class SendFlyers:
    """A coordinator asked for a series' flyers: the engine renders and sends them."""

    series_id: int


@dataclass(frozen=True)
class LeaveSeries:
    series_id: int


@dataclass(frozen=True)
class EraseParticipant:
    """Erase every row that names this person (the privacy model's ``/delete``)."""


@dataclass(frozen=True)
class ForgetConversation:
    """Drop the conversation state, e.g. after consent was refused."""


@dataclass(frozen=True)
class Rsvp:
    meeting_id: int
    answer: str  # "coming" | "not_coming"


@dataclass(frozen=True)
class AnswerOffer:
    offer_id: int
    accept: bool


@dataclass(frozen=True)
class MarkAttendance:
    meeting_id: int
    participant_id: int
    present: bool


@dataclass(frozen=True)
class QueueBroadcast:
    """Send ``texts`` (language → text; Dutch required) to everyone in any of ``audiences``
    (keys like "all", "series:3", "waitlist:3", "language:so", "area:Osdorp", "noshow"),
    once per person, optionally with a "Sign me up" button for ``invite_series_id``."""

    audiences: tuple[str, ...]
    texts: dict[str, str]
    invite_series_id: int | None = None
    voices: dict[str, int] = field(default_factory=dict)  # language → voice clip, sent after its text


@dataclass(frozen=True)
class SetSeriesVoice:
    """A series' recorded reminder in one language: a clip, or None to remove it."""

    series_id: int
    language: str
    clip_id: int | None


@dataclass(frozen=True)
class RecordCheckin:
    """A finished check-in, to be stored anonymously (see the privacy model). Items are the
    six De Jong Gierveld answers: 0 = yes, 1 = more or less, 2 = no, None = skipped."""

    items: tuple[int | None, ...]
    took_part: bool | None
    worthwhile: int | None
    language: str


@dataclass(frozen=True)
class RecordListening:
    """A finished listening poll, stored anonymously (``bot.store.listening``). Each answer
    is a bit set over the options of ``dialogs.listening`` (None: skipped); ``area`` the
    area a listening link carried (None: the engine takes his own, if he signed up)."""

    barriers: int | None
    interests: int | None
    day_parts: int | None
    area: str | None = None


@dataclass(frozen=True)
class RecordStatements:
    """A finished statements poll, stored anonymously (``bot.domain.statements.record``).
    ``answers``: (statement number, 1..5 agree completely … disagree completely, 0 rather
    not say)."""

    series_id: int
    phase: str
    answers: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class OfferStatements:
    """A coordinator asks that every man with a seat in the series be offered the
    statements of ``phase`` now (``bot.domain.statements.offer``)."""

    series_id: int
    phase: str


@dataclass(frozen=True)
class AskContact:
    """He asked a coordinator to get in touch. Only this request reaches a coordinator,
    never his answers."""


@dataclass(frozen=True)
class SendReport:
    """A coordinator asked for the report; the engine builds it and sends chart and text."""


@dataclass(frozen=True)
class OpenConsole:
    """A coordinator asked for the web console; the engine answers with a one-time link."""


@dataclass(frozen=True)
class SaveMeetingReport:
    """A facilitator's form after a meeting; stored without any name (the engine checks he
    facilitates the meeting's series)."""

    meeting_id: int
    men_present: int | None
    themes: tuple[str, ...]
    exercises: str | None
    atmosphere: int | None
    outcomes: str | None
    follow_up: bool
    follow_up_text: str | None
    language: str


@dataclass(frozen=True)
class CountStep:
    """Add one to the funnel's counter of ``step`` (see ``dialogs.funnel``): a count, never
    stored with anything about him."""

    flow: str  # "signup" | "checkin"
    step: str
    week: str  # the ISO week the conversation started, "2026-W48"
    language: str


@dataclass(frozen=True)
class ProposeLivingRoom:
    """A facilitator proposes a one-off meeting; every coordinator gets an "Approve" button."""

    starts_at: datetime  # UTC
    location: str
    capacity: int
    name: str


@dataclass(frozen=True)
class ApproveLivingRoom:
    """A coordinator's "Approve": the proposal becomes a series of one meeting."""

    proposal_id: int


@dataclass(frozen=True)
class SendCalendar:
    """Send him the ``.ics`` file of each of ``series_ids`` he holds a seat in (all of his
    seats when empty)."""

    series_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class WakeAt:
    """Send this conversation a ``Timer("wake")`` at ``at`` (UTC); ``None`` cancels."""

    at: datetime | None


Effect = (
    Reply
    | RecordStatements
    | OfferStatements
    | SaveParticipant
    | SetLanguage
    | SetName
    | SetArea
    | SetStatus
    | SignUp
    | LeaveSeries
    | EraseParticipant
    | ForgetConversation
    | Rsvp
    | AnswerOffer
    | MarkAttendance
    | QueueBroadcast
    | SetSeriesVoice
    | RecordCheckin
    | RecordListening
    | AskContact
    | SendReport
    | OpenConsole
    | SaveMeetingReport
    | ProposeLivingRoom
    | ApproveLivingRoom
    | ShareInvite
    | SendFlyers
    | CountStep
    | SendCalendar
    | WakeAt
)

STANDING = 0
"""The question number of a *standing* button (a reminder's "I'm coming", an invite's "Sign
me up"): valid whatever question is open, checked against the context instead."""


@dataclass(frozen=True)
class Step:
    state: State
    effects: tuple[Effect, ...] = ()

