"""Which dialog hears an event. One chat, several dialogs:

- a *standing* button (question 0: reminder answers, invites, waiting-list offers, check-in
  offers) goes to the handler of its kind, whatever question is open;
- coordinator commands go to the coordinator dialog, for coordinators only (anyone else
  gets the ordinary "unknown command" answer: nobody else sees or can trigger them);
- facilitator commands (``/rsvps``, ``/attendance`` and ``/voice`` over his own series,
  ``/form``, ``/livingroom``) go to the facilitator dialogs, for facilitators only; a
  coordinator who is also a facilitator keeps the coordinator's wider ``/rsvps``,
  ``/attendance`` and ``/voice``;
- ``/whoami`` is answered for anyone at any moment (before consent too) and ends no flow;
- ``/checkin`` and the check-in's own answers go to the check-in dialog; ``/listen``, a
  listening link (``/start listen``, a signed code) and the poll's answers to the listening
  poll (``dialogs.listening``), for anyone, signed up or not; the statements poll (``st:``
  buttons) and its answers to ``dialogs.statements``;
- a voice note goes to the coordinator dialog while its flow is under way (a coordinator's,
  or a facilitator's ``/voice``); anyone else's gets a kind
  answer (the assistant cannot listen yet) and the current question again, with a "Call me
  back" button added (``_voice_from_him``), valid like a standing one whatever is asked later;
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
    buttons,
    checkin,
    conversation,
    coordinator,
    facilitator,
    keywords,
    listening,
    meeting_report,
    standing,
    statements,
)
from dialogs.i18n import _, directed, use_locale
from dialogs.language_guess import likely_language
from dialogs.types import (
    STANDING,
    ChoiceMade,
    Command,
    Context,
    Event,
    Option,
    Reply,
    State,
    Step,
    Text,
    Timer,
    Unsupported,
    VoiceNote,
)

FLOWS: dict[str, Callable[[State, Event, Context], Step]] = {
    "checkin": checkin.handle,
    listening.FLOW: listening.handle,
    "coordinator": coordinator.handle,
    meeting_report.FLOW: meeting_report.handle,
    facilitator.FLOW: facilitator.living_room,
    statements.FLOW: statements.handle,
}
GUESS = "guess"
"""State key: the language guessed for a man who has not signed up (``dialogs.language_guess``),
kept so that a later "1" is read against the same menu and answered in the same language."""
CALL_BACK = buttons.CALL_BACK
"""The button a man presses, after a voice note, to be called back by a coordinator
(``dialogs.standing``); valid whatever question is open."""


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
    if isinstance(event, ChoiceMade) and (event.question == STANDING or event.key == CALL_BACK):
        if buttons.CHECKIN.value(event.key) is not None:
            return checkin.standing(state, event.key, ctx)
        if buttons.STATEMENTS.value(event.key) is not None:
            return statements.standing(state, event.key, ctx)
        if buttons.LISTENING.value(event.key) is not None:
            return listening.standing(state, event.key, ctx)
        if buttons.FORM.value(event.key) is not None and ctx.facilitator is not None:
            return meeting_report.standing(state, event.key, ctx)
        if buttons.LIVING_ROOM.value(event.key) is not None:
            return facilitator.approve(state, event.key, ctx)
        return standing.handle(state, event.key, ctx)
    flow = state.get("flow")
    if isinstance(event, VoiceNote):
        # a coordinator's flow, or a facilitator's /voice: it says where it takes one
        if (ctx.is_coordinator or ctx.facilitator is not None) and flow == coordinator.FLOW:
            return coordinator.handle(state, event, ctx)
        return _voice_from_him(state, ctx)
    if isinstance(event, Command) and event.name in conversation.ANY_MOMENT:
        return conversation.handle(state, event, ctx)  # a flow under way goes on after it
    if ctx.listen_link is not None and (isinstance(event, Text) or _is_start(event)):
        return listening.handle(_end_flow(state), event, ctx)
    if isinstance(event, Command):
        if ctx.is_coordinator and event.name in coordinator.COMMANDS:
            return coordinator.handle(_end_flow(state), event, ctx)
        if ctx.facilitator is not None and event.name in facilitator.COMMANDS:
            return facilitator.handle(_end_flow(state), event, ctx)
        if event.name in checkin.COMMANDS:
            return checkin.handle(_end_flow(state), event, ctx)
        if event.name in listening.COMMANDS:
            return listening.handle(_end_flow(state), event, ctx)
        return conversation.handle(_end_flow(state), event, ctx)
    if isinstance(event, Timer) and flow is None:
        return Step(state)
    if flow in FLOWS and _may_continue(flow, ctx):
        return FLOWS[flow](state, event, ctx)
    return conversation.handle(_end_flow(state), event, ctx)


def _is_start(event: Event) -> bool:
    return isinstance(event, Command) and event.name == "start"


def _may_continue(flow: str, ctx: Context) -> bool:
    """A role's flow goes on only while he still has the role (removed mid-flow: it ends)."""
    if flow == "coordinator":
        return ctx.is_coordinator or ctx.facilitator is not None
    if flow in (meeting_report.FLOW, facilitator.FLOW):
        return ctx.facilitator is not None
    return True


def _voice_from_him(state: State, ctx: Context) -> Step:
    """His voice note is never fetched: thank him, say why it cannot be heard, and ask the
    current question again, in one message whose buttons end with "Call me back" (once he
    has signed up: before that nobody may pass his number on). One message, so that on
    WhatsApp a typed number is read against the very list he sees."""
    thanks = directed(_("Thank you for your voice message! I'm an automated assistant and cannot listen to voice messages yet."))
    step = _route(state, Unsupported("voice"), ctx)
    replies = [effect for effect in step.effects if isinstance(effect, Reply)]
    last = replies[-1] if replies else Reply("")
    options, question = last.options, last.question
    if ctx.participant is not None:
        thanks += "\n" + directed(_("Would you rather talk to a person? A coordinator can call you back."))
        options = (*options, Option(_("📞 Call me back"), CALL_BACK))
        question = question if last.options else STANDING
    combined = Reply(thanks + ("\n\n" + last.text if last.text else ""), options, question)
    effects = tuple(combined if effect is last else effect for effect in step.effects)
    return Step(step.state, effects if replies else (*effects, combined))


def _end_flow(state: State) -> State:
    flow = state.pop("flow", None)
    if flow is not None:
        state.pop(flow, None)
    return state
