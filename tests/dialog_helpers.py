"""A small driver for the pure conversation dialog (``dialogs.conversation.handle``).

It plays the engine's part in memory: it threads the dialog state from one event to the
next, and applies the effects that change what the dialog sees of the world (participant,
sign-ups, seats) to a fake ``World``, so the next ``Context`` is what the real engine would
load. No database, no network, no clock.

Every step is checked on the way (``Driver.send``):

- ``handle`` does not mutate the state it was given, and returns a JSON-serialisable state;
- an event from the person is never met with silence: at least one ``Reply``, every reply
  text has visible content, buttons have labels and unique keys and carry a question number;
- bidi hygiene: U+200F only as the first character, isolates (U+2066/U+2068 … U+2069) balanced;
- nothing about the person is stored before consent (the fake world refuses it).

Usage::

    d = Driver()                      # a stranger; or Driver(participant=registered("so"))
    d.send(Command("start"))
    d.press("lang:so")                # a ChoiceMade for the question currently open
    d.send(Text("Cabdi"))
    d.last.text, d.last.options       # the last Reply
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time

from dialogs.conversation import handle
from dialogs.i18n import (
    FSI,
    LRI,
    PDI,
    RLM,
    RTL_LANGUAGES,
    _,
    current_locale,
    fill,
    isolate_runs,
    ngettext,
    use_locale,
)
from dialogs.types import (
    ChoiceMade,
    Context,
    CountStep,
    EraseParticipant,
    Event,
    ForgetConversation,
    LeaveSeries,
    ParticipantView,
    Reply,
    SaveParticipant,
    SendCalendar,
    SeriesView,
    SetArea,
    SetLanguage,
    SetName,
    SetStatus,
    ShareInvite,
    SignUp,
    SignupView,
    Step,
    Timer,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TIMEZONE = "Europe/Amsterdam"
ORGANISATION = "Meedoen"
AREAS = ("Geuzenveld-Slotermeer", "Osdorp")
CHAT_ADDRESS = "telegram:123456789"

ROOMY = SeriesView(
    id=1,
    name="Mannen in gesprek",
    weekday=3,  # Thursday
    start_time=time(19, 0),
    location="Huis van de Wijk Osdorp",
    area="Osdorp",
    capacity=12,
    confirmed=5,
    next_meeting=datetime(2026, 12, 3, 18, 0, tzinfo=UTC),  # 19:00 in Amsterdam
)
FULL = SeriesView(
    id=2,
    name="Thee en praten",
    weekday=1,  # Tuesday
    start_time=time(14, 0),
    location="Buurtkamer De Aker",
    area="Geuzenveld-Slotermeer",
    capacity=8,
    confirmed=8,
    next_meeting=datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
)
CLOSED = SeriesView(
    id=3,
    name="Vaders en zonen",
    weekday=4,
    start_time=time(10, 0),
    location="Buurthuis Slotervaart",
    area="Osdorp",
    capacity=10,
    confirmed=2,
    next_meeting=datetime(2026, 12, 4, 9, 0, tzinfo=UTC),
    open=False,
)
SERIES = (ROOMY, FULL, CLOSED)

STORING = (SaveParticipant, SetLanguage, SetName, SetArea, SetStatus, SignUp, LeaveSeries,
           EraseParticipant, ForgetConversation)
"""Every effect that is not a message."""


# --- Expected texts: always through the real catalogs -----------------------------------


def tr(language: str, message: str, /, **values: object) -> str:
    """``message`` translated into ``language``, values inserted the way the dialog does
    (isolated in Arabic, like the bare left-to-right runs: commands, numbers)."""
    with use_locale(language):
        return _bare_runs(fill(_(message), **values) if values else _(message))


def ntr(language: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    with use_locale(language):
        return _bare_runs(fill(ngettext(singular, plural, n), **values))


def _bare_runs(text: str) -> str:
    return isolate_runs(text) if current_locale() in RTL_LANGUAGES else text


def registered(
    language: str = "nl",
    name: str | None = "Cabdi",
    area: str | None = "Osdorp",
    status: str = "active",
    signups: Iterable[SignupView] = (),
) -> ParticipantView:
    """A participant who consented earlier."""
    return ParticipantView(language, name, area, status, tuple(signups))


# --- The fake world ------------------------------------------------------------------------


@dataclass
class World:
    """What the engine's storage would hold, reduced to what ``Context`` shows."""

    participant: ParticipantView | None = None
    series: dict[int, SeriesView] = field(default_factory=lambda: {s.id: s for s in SERIES})
    counted: list[CountStep] = field(default_factory=list)  # the funnel's counts: no man in them

    def context(self, suggested_language: str | None = None) -> Context:
        return Context(
            now=NOW,
            timezone=TIMEZONE,
            organisation=ORGANISATION,
            areas=AREAS,
            participant=self.participant,
            series=tuple(self.series.values()),
            suggested_language=suggested_language,
            chat_address=CHAT_ADDRESS,
        )

    def apply(self, effect) -> None:
        if isinstance(effect, (Reply, ForgetConversation)):
            return
        if isinstance(effect, CountStep):  # a count, allowed before consent: it names nobody
            self.counted.append(effect)
            return
        if isinstance(effect, SaveParticipant):
            if self.participant is None:
                self.participant = ParticipantView(effect.language, None, None, "active")
            else:
                self.participant = replace(self.participant, language=effect.language)
            return
        if isinstance(effect, EraseParticipant):
            assert self.participant is not None, "erasing someone who was never stored"
            for signup in self.participant.signups:
                self._release(signup)
            self.participant = None
            return
        assert self.participant is not None, f"{effect} before consent: nothing may be stored"
        if isinstance(effect, SetLanguage):
            self.participant = replace(self.participant, language=effect.language)
        elif isinstance(effect, SetName):
            self.participant = replace(self.participant, name=effect.name)
        elif isinstance(effect, SetArea):
            self.participant = replace(self.participant, area=effect.area)
        elif isinstance(effect, SetStatus):
            assert effect.status in ("active", "stopped")
            self.participant = replace(self.participant, status=effect.status)
        elif isinstance(effect, SignUp):
            self._sign_up(effect)
        elif isinstance(effect, LeaveSeries):
            mine = [s for s in self.participant.signups if s.series_id == effect.series_id]
            assert mine, f"{effect}: he is not signed up for that series"
            self._release(mine[0])
            self.participant = replace(
                self.participant,
                signups=tuple(
                    s for s in self.participant.signups if s.series_id != effect.series_id
                ),
            )
        elif isinstance(effect, ShareInvite):
            mine = [s for s in self.participant.signups if s.series_id == effect.series_id]
            assert mine and mine[0].status == "confirmed", f"{effect}: he has no seat in that series"
        elif isinstance(effect, SendCalendar):
            assert any(s.status == "confirmed" for s in self.participant.signups), f"{effect} without a seat"
        else:  # pragma: no cover - a new effect type needs a line here
            raise AssertionError(f"unknown effect {effect!r}")

    def _sign_up(self, effect: SignUp) -> None:
        series = self.series[effect.series_id]
        if not series.open:  # the store refuses a closed series, like a full one
            return
        assert all(s.series_id != series.id for s in self.participant.signups), "signed up twice"
        if effect.waitlist:
            series = replace(series, waitlisted=series.waitlisted + 1)
            signup = SignupView(series.id, "waitlist", waitlist_position=series.waitlisted)
        else:
            if series.seats_left == 0:  # the store refuses a seat in a full series
                return
            series = replace(series, confirmed=series.confirmed + 1)
            signup = SignupView(series.id, "confirmed")
        self.series[series.id] = series
        self.participant = replace(self.participant, signups=(*self.participant.signups, signup))

    def _release(self, signup: SignupView) -> None:
        series = self.series.get(signup.series_id)
        if series is None:
            return
        if signup.status == "waitlist":
            series = replace(series, waitlisted=max(series.waitlisted - 1, 0))
        else:
            series = replace(series, confirmed=max(series.confirmed - 1, 0))
        self.series[series.id] = series


# --- The driver ----------------------------------------------------------------------------


def replies(step: Step) -> list[Reply]:
    return [effect for effect in step.effects if isinstance(effect, Reply)]


def stored(step: Step) -> list:
    """The effects of a step other than messages and the funnel's counts (which name nobody)."""
    return [effect for effect in step.effects if not isinstance(effect, (Reply, CountStep))]


def counted(step: Step) -> list[tuple[str, str, str]]:
    """The funnel counts of a step: (flow, step, language)."""
    return [(e.flow, e.step, e.language) for e in step.effects if isinstance(e, CountStep)]


def text_of(step: Step) -> str:
    return "\n".join(reply.text for reply in replies(step))


def check_reply(reply: Reply) -> None:
    visible = reply.text.replace(RLM, "").replace(FSI, "").replace(LRI, "").replace(PDI, "").strip()
    assert visible, f"an empty reply: {reply!r}"
    assert all(
        line.startswith(RLM) for line in reply.text.split("\n") if line and RLM in reply.text
    ), f"an RTL reply with a line that does not start with U+200F: {reply.text!r}"
    assert RLM not in "".join(line[1:] for line in reply.text.split("\n")), (
        f"U+200F inside a line: {reply.text!r}"
    )
    depth = 0
    for ch in reply.text:
        depth += (ch in (FSI, LRI)) - (ch == PDI)
        assert depth >= 0, f"U+2069 without an isolate: {reply.text!r}"
    assert depth == 0, f"an unclosed isolate: {reply.text!r}"
    keys = [option.key for option in reply.options]
    assert len(keys) == len(set(keys)), f"duplicate button keys: {keys}"
    assert all(option.label.strip() for option in reply.options), reply.options
    if reply.options:
        # question 0 only for standing buttons (dialogs.standing), valid whatever is asked
        standing = all(option.key.startswith(("r:", "wo:", "inv:", "ck:", "call:")) for option in reply.options)
        assert reply.question > 0 or standing, f"buttons without a question number: {reply!r}"


@dataclass
class Driver:
    """One conversation: the dialog state, the fake world and what was said."""

    participant: ParticipantView | None = None
    suggested_language: str | None = None
    state: dict = field(default_factory=dict)
    world: World = field(init=False)
    question: int = 0  # the number of the last question asked (for ChoiceMade)
    asked: Reply | None = None  # the last Reply that had buttons
    steps: list[tuple[Event, Step]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.world = World(participant=self.participant)

    @property
    def ctx(self) -> Context:
        return self.world.context(self.suggested_language)

    @property
    def last(self) -> Reply:
        """The last Reply sent."""
        return replies(self.steps[-1][1])[-1]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(option.key for option in self.asked.options) if self.asked else ()

    def send(self, event: Event) -> Step:
        before = copy.deepcopy(self.state)
        step = handle(self.state, event, self.ctx)
        assert self.state == before, "handle() mutated the state it was given"
        json.dumps(step.state)  # the engine stores it as JSON
        sent = replies(step)
        if not isinstance(event, Timer):
            assert sent, f"silence after {event!r}: {step!r}"
        for reply in sent:
            check_reply(reply)
            if reply.question:
                self.question, self.asked = reply.question, reply
        for effect in step.effects:
            self.world.apply(effect)
        forgotten = any(isinstance(e, (ForgetConversation, EraseParticipant)) for e in step.effects)
        self.state = {} if forgotten else step.state
        self.steps.append((event, step))
        return step

    def press(self, key: str, question: int | None = None) -> Step:
        """Press a button of the question currently open (or of ``question``)."""
        return self.send(ChoiceMade(key, self.question if question is None else question))
