"""The vocabulary shared by dialogs, the engine and the channels.

A dialog is a pure function ``(state, event, context) -> Step``. Events come in from a
channel (or a timer); a ``Step`` carries the new state and the *effects* the engine performs
afterwards: messages to send and changes to store. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Union

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
class Timer:
    """A scheduled event addressed to this conversation (reminder, check-in prompt, ...)."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


Event = Union[Text, Command, ChoiceMade, BadButton, Unsupported, Timer]


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

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.confirmed, 0)


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

    def series_by_id(self, series_id: int) -> SeriesView | None:
        return next((s for s in self.series if s.id == series_id), None)


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


@dataclass(frozen=True)
class LeaveSeries:
    series_id: int


@dataclass(frozen=True)
class EraseParticipant:
    """Erase every row that names this person (the privacy model's ``/delete``)."""


@dataclass(frozen=True)
class ForgetConversation:
    """Drop the conversation state, e.g. after consent was refused."""


Effect = Union[
    Reply,
    SaveParticipant,
    SetLanguage,
    SetName,
    SetArea,
    SetStatus,
    SignUp,
    LeaveSeries,
    EraseParticipant,
    ForgetConversation,
]


@dataclass(frozen=True)
class Step:
    state: State
    effects: tuple[Effect, ...] = ()

