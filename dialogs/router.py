"""Which dialog hears an event. One chat, several dialogs:

- a *standing* button (question 0: reminder answers, invites, waiting-list offers, check-in
  offers) goes to the handler of its kind, whatever question is open;
- coordinator commands go to the coordinator dialog, for coordinators only (anyone else
  gets the ordinary "unknown command" answer: nobody else sees or can trigger them);
- facilitator commands (``/rsvps``, ``/attendance`` over his own series, ``/form``,
  ``/livingroom``) go to the facilitator dialogs, for facilitators only; a coordinator who is
  also a facilitator keeps the coordinator's wider ``/rsvps`` and ``/attendance``;
- ``/whoami`` is answered for anyone at any moment (before consent too) and ends no flow;
- ``/checkin`` and the check-in's own answers go to the check-in dialog; the statements
  poll (``st:`` buttons) and its answers to ``dialogs.statements``;
- everything else goes to the sign-up conversation. Any other command ends a flow that is
  under way (a check-in left half-way is wiped, answers and all).

The state is one dict per chat: the conversation's keys at the top level, a flow's own keys
under its name, ``flow`` naming the flow under way, and ``q`` the question number shared by
all, so a button from any earlier question is recognised as stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dialogs import (
    checkin,
    conversation,
    coordinator,
    facilitator,
    keywords,
    meeting_report,
    standing,
    statements,
)
from dialogs.i18n import use_locale
from dialogs.language_guess import likely_language
from dialogs.types import STANDING, ChoiceMade, Command, Context, Event, State, Step, Text, Timer

FLOWS: dict[str, Callable[[State, Event, Context], Step]] = {
    "checkin": checkin.handle,
    "coordinator": coordinator.handle,
    meeting_report.FLOW: meeting_report.handle,
    facilitator.FLOW: facilitator.living_room,
    statements.FLOW: statements.handle,
}
GUESS = "guess"
"""State key: the language guessed for a man who has not signed up (``dialogs.language_guess``),
kept so that a later "1" is read against the same menu and answered in the same language."""


def handle(state: State, event: Event, ctx: Context) -> Step:
    # A coordinator's words are texts for others (an Arabic broadcast): they say nothing
    # about the language he reads.
    guessing = ctx.participant is None and not ctx.is_coordinator
    if guessing:
        ctx = _with_guess(state, event, ctx)
    elif GUESS in state:
        state = {k: v for k, v in state.items() if k != GUESS}
    with use_locale(conversation.language_of(state, ctx)):
        step = _route(dict(state), keywords.as_command(event), ctx)
    if statements.FLOW in step.state and step.state.get("flow") != statements.FLOW:
        # another flow took over (a check-in offer's button, say): the poll's answers go
        step = Step({k: v for k, v in step.state.items() if k != statements.FLOW}, step.effects)
    if guessing and ctx.suggested_language and step.state.get(GUESS) != ctx.suggested_language:
        step = Step({**step.state, GUESS: ctx.suggested_language}, step.effects)
    return step


def _with_guess(state: State, event: Event, ctx: Context) -> Context:
    """His words (before they become a keyword command: "bilow" is Somali) over the guess
    made earlier, over the platform's hint."""
    text = event.text if isinstance(event, Text) else None
    guess = likely_language(text, state.get(GUESS) or ctx.suggested_language)
    return ctx if guess == ctx.suggested_language else replace(ctx, suggested_language=guess)


def _route(state: State, event: Event, ctx: Context) -> Step:
    if isinstance(event, ChoiceMade) and event.question == STANDING:
        if event.key.startswith("ck:"):
            return checkin.standing(state, event.key, ctx)
        if event.key.startswith("st:"):
            return statements.standing(state, event.key, ctx)
        if event.key.startswith("fr:") and ctx.facilitator is not None:
            return meeting_report.standing(state, event.key, ctx)
        if event.key.startswith("lr:"):
            return facilitator.approve(state, event.key, ctx)
        return standing.handle(state, event.key, ctx)
    flow = state.get("flow")
    if isinstance(event, Command) and event.name in conversation.ANY_MOMENT:
        return conversation.handle(state, event, ctx)  # a flow under way goes on after it
    if isinstance(event, Command):
        if ctx.is_coordinator and event.name in coordinator.COMMANDS:
            return coordinator.handle(_end_flow(state), event, ctx)
        if ctx.facilitator is not None and event.name in facilitator.COMMANDS:
            return facilitator.handle(_end_flow(state), event, ctx)
        if event.name in checkin.COMMANDS:
            return checkin.handle(_end_flow(state), event, ctx)
        return conversation.handle(_end_flow(state), event, ctx)
    if isinstance(event, Timer) and flow is None:
        return Step(state)
    if flow in FLOWS and _may_continue(flow, ctx):
        return FLOWS[flow](state, event, ctx)
    return conversation.handle(_end_flow(state), event, ctx)


def _may_continue(flow: str, ctx: Context) -> bool:
    """A role's flow goes on only while he still has the role (removed mid-flow: it ends)."""
    if flow == "coordinator":
        return ctx.is_coordinator or ctx.facilitator is not None
    if flow in (meeting_report.FLOW, facilitator.FLOW):
        return ctx.facilitator is not None
    return True


def _end_flow(state: State) -> State:
    flow = state.pop("flow", None)
    if flow is not None:
        state.pop(flow, None)
    return state
