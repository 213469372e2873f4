"""How a dialog speaks: ``say`` a line, or ``ask`` a numbered question with buttons. Every
dialog's replies in this conversation go through these two, so each is direction-marked
(``dialogs.i18n.directed``) and each question gets the next number (``state["q"]``, which the
buttons carry back in ``ChoiceMade.question`` so that a stale button is told apart)."""

from __future__ import annotations

from collections.abc import Callable

from dialogs.i18n import directed
from dialogs.types import Effect, Option, Reply, State, Step

Question = Callable[[State], tuple[str, tuple[Option, ...]]]
"""The question's text and buttons, from the state it is asked in (already numbered)."""


def say(state: State, text: str, effects: tuple[Effect, ...] = ()) -> Step:
    """Keep ``state``, store ``effects``, then tell him ``text`` (no buttons)."""
    return Step(state, (*effects, Reply(directed(text))))


def ask(state: State, question: Question, *before: str, effects: tuple[Effect, ...] = ()) -> Step:
    """Number the next question, store ``effects``, then send the question, after optional
    paragraphs ``before`` it."""
    state = {**state, "q": state.get("q", 0) + 1}
    text, options = question(state)
    return Step(state, (*effects, Reply(directed("\n\n".join([*before, text])), options, state["q"])))
