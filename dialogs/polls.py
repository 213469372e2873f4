"""What the three anonymous polls (check-in, statements, listening) do alike.

Each keeps its answers in the conversation state under its flow's name until it ends, and
forgets them when it ends, expires or is abandoned: no answer outlives the poll in the state.
While one is under way, the same events get the same treatment: a timer ends it silently, an
expired poll says so once, something unreadable or an old button shows the current question
again. Only what a poll asks, how it reads a typed answer and what it records differ.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dialogs.formatting import cannot_read
from dialogs.i18n import _
from dialogs.speech import say
from dialogs.types import BadButton, ChoiceMade, Event, State, Step, Text, Timer, Unsupported, WakeAt

# (state, *lines before the question) -> the step that shows the current question again
AskAgain = Callable[..., Step]


def wiped(state: State, flow: str) -> State:
    """The state without the poll: no answers survive."""
    state = dict(state)
    state.pop(flow, None)
    if state.get("flow") == flow:
        state.pop("flow")
    return state


def expired(state: State, flow: str, now: datetime) -> bool:
    until = state.get(flow, {}).get("until")
    return until is None or now >= datetime.fromisoformat(until)


def interruption(state: State, event: Event, flow: str, now: datetime, expired_text: str, ask: AskAgain) -> Step | None:
    """The step for an event that is not an answer (a timer, an expired poll, something
    unreadable, a button of an earlier question), or None when ``event`` is an answer."""
    if isinstance(event, Timer):
        return Step(wiped(state, flow)) if event.kind == "wake" else Step(state)
    if expired(state, flow, now):
        return say(wiped(state, flow), expired_text, (WakeAt(None),))
    if isinstance(event, Unsupported):
        return ask(state, cannot_read(event))
    if isinstance(event, BadButton):
        return ask(state, _("Sorry, I could not read that button."))
    if isinstance(event, ChoiceMade) and event.question != state.get("q"):
        return ask(state, _("That button belongs to an earlier question. Here is the current one."))
    return None


def answer_key(state: State, event: Event, read_text: Callable[[str], str | None], ask: AskAgain) -> str | Step:
    """The button he pressed, or the one his text names (``read_text``); when his text names
    none, the step that asks again (what he typed is not kept)."""
    if isinstance(event, ChoiceMade):
        return event.key
    assert isinstance(event, Text)
    key = read_text(event.text)
    if key is None:
        return ask(state, _("Please answer with one of the buttons. What you type here is not saved."))
    return key
