"""The anonymous listening poll: what makes taking part hard, what would draw him in, and
which day part suits him (issue 17 §2). Three questions, buttons only.

Pure, like every dialog. Anyone may answer, signed up or not (the men who do not come yet
matter most): ``/listen``; the third button of the consent question ("Only answer a few
anonymous questions"); a listening link (``/start listen``, or a signed code that carries an
area, ``bot.domain.listening``); or the offer sent once after a sign-up (``ls:`` standing
buttons). He answers once: ``ctx.listened`` says he has (a keyed marker, erased by /delete).

```mermaid
stateDiagram-v2
    [*] --> barriers: /listen, a listening link, or "Yes" on the offer
    barriers --> interests: toggle options, then Done (or Skip)
    interests --> day_parts: toggle options, then Done (or Skip)
    day_parts --> [*]: Done (or Skip): thanks; RecordListening
    barriers --> [*]: 30 minutes after the start, Timer("wake"): wiped, silently
```

Privacy: the choices in progress live only under ``state["listening"]`` and are wiped when
the poll ends, is abandoned or is interrupted by a command. Typed text is never kept. The
engine stores ``RecordListening`` with no name, no address and no date finer than the ISO week.
"""

from __future__ import annotations

from datetime import timedelta

from dialogs import polls
from dialogs.i18n import N_, _, directed, use_locale
from dialogs.typed import match_option
from dialogs.types import (
    STANDING,
    Command,
    Context,
    Effect,
    Event,
    Option,
    RecordListening,
    Reply,
    State,
    Step,
    Text,
    WakeAt,
)

COMMANDS = frozenset({"listen"})
FLOW = "listening"
LIFETIME = timedelta(minutes=30)

BARRIERS = (
    N_("Working hours or shifts"),
    N_("My health"),
    N_("Family duties"),
    N_("The language"),
    N_("I don't know anyone there"),
    N_("It's not for men like me"),
    N_("Costs or travel"),
    N_("I didn't know about it"),
    N_("Something else"),
)
INTERESTS = (
    N_("Work and income"),
    N_("Fatherhood and family"),
    N_("Faith"),
    N_("Craft workshops"),
    N_("Young and old learning together"),
    N_("Sport"),
    N_("Learning Dutch"),
    N_("Getting to know other men"),
)
DAY_PARTS = (N_("Weekday evenings"), N_("Weekend"), N_("Daytime"))
QUESTIONS = (
    ("barriers", BARRIERS),
    ("interests", INTERESTS),
    ("day_parts", DAY_PARTS),
)
"""(stored name, options) per question, in order; option n is bit n of the stored bit set:
append new options at the end, never reorder."""
TICK = "✓ "


def _prompt(number: int) -> str:
    return (
        _("What makes it hard for you to take part in meetings like ours? Choose all that apply, then press Done."),
        _("What would interest you in a meeting? Choose all that apply, then press Done."),
        _("Which times suit you? Choose all that apply, then press Done."),
    )[number]


# --- Entry points --------------------------------------------------------------------------


def offer(language: str) -> Reply:
    """The offer sent once after a sign-up (``scheduler.listening_offers``), with standing
    buttons."""
    with use_locale(language):
        return _offer()


def _offer() -> Reply:
    return Reply(
        directed(
            _(
                "One more thing, if you like: three short, anonymous questions about what makes "
                "taking part hard and what would interest you. It helps us reach more men."
            )
        ),
        (Option(_("Yes, let's start"), "ls:go"), Option(_("Not now"), "ls:later")),
        STANDING,
    )


def handle(state: State, event: Event, ctx: Context) -> Step:
    """``/listen`` (or a listening link), or any event while the poll is under way."""
    state = dict(state)
    if isinstance(event, Command) or (ctx.listen_link is not None and isinstance(event, Text)):
        return begin(polls.wiped(state, FLOW), ctx)
    if state.get("flow") != FLOW or not isinstance(state.get(FLOW), dict):
        return begin(polls.wiped(state, FLOW), ctx)
    expired_text = _("These questions have expired. Send /listen if you would like to start again.")
    step = polls.interruption(state, event, FLOW, ctx.now, expired_text, _ask)
    if step is not None:
        return step
    key = polls.answer_key(state, event, lambda text: match_option(text, _question(state)[1]), _ask)
    if isinstance(key, Step):
        return key
    return _pressed(state, key, ctx)


def standing(state: State, key: str, ctx: Context) -> Step:
    """The offer's "Yes" and "Not now"."""
    state = dict(state)
    if key == "ls:go":
        if state.get("flow") == FLOW and isinstance(state.get(FLOW), dict):
            return _ask(state)  # already under way: the current question again
        return begin(state, ctx)
    if key == "ls:later":
        return _say(state, _("That's fine. If you feel like it another time, just send /listen."))
    return _say(state, _("Sorry, I could not read that button."))


def begin(state: State, ctx: Context) -> Step:
    """Start the poll, for anyone who has not answered it yet."""
    if ctx.participant is not None and ctx.participant.status == "stopped":
        return _say(state, _("Your messages are paused. Send /start to turn them back on."))
    if ctx.listened:
        return _say(state, _("You have already answered these questions. Thank you!"))
    state = {k: v for k, v in state.items() if k != "at"} if ctx.participant is None else state
    state["flow"] = FLOW
    state[FLOW] = {"answers": [], "chosen": [], "until": (ctx.now + LIFETIME).isoformat(), "area": ctx.listen_link or None}
    intro = _(
        "Thank you! Your answers are anonymous: they are saved without your name, your number "
        "or the date, and nobody can see what you chose. So that you are asked only once, I "
        "keep a coded mark of this chat that says nothing about your answers; /delete erases it."
    )
    return _ask(state, intro, effects=(WakeAt(ctx.now + LIFETIME),))


# --- Steps -----------------------------------------------------------------------------------


def _question(state: State) -> tuple[str, tuple[Option, ...]]:
    poll = state[FLOW]
    number = len(poll["answers"])
    chosen = set(poll["chosen"])
    _name, options = QUESTIONS[number]
    buttons = tuple(Option((TICK if n in chosen else "") + _(label), f"t:{n}") for n, label in enumerate(options))
    return _prompt(number), (*buttons, Option(_("Done"), "done"), Option(_("Skip"), "skip"))


def _ask(state: State, *before: str, effects: tuple[Effect, ...] = ()) -> Step:
    state = {**state, "q": state.get("q", 0) + 1}
    text, options = _question(state)
    return Step(state, (*effects, Reply(directed("\n\n".join([*before, text])), options, state["q"])))


def _say(state: State, text: str, *effects: Effect) -> Step:
    return Step(state, (*effects, Reply(directed(text))))


def _pressed(state: State, key: str, ctx: Context) -> Step:
    poll = dict(state[FLOW])
    _name, options = QUESTIONS[len(poll["answers"])]
    if key.startswith("t:") and key[2:].isdecimal() and int(key[2:]) < len(options):
        option = int(key[2:])
        chosen = set(poll["chosen"]) ^ {option}
        return _ask({**state, FLOW: {**poll, "chosen": sorted(chosen)}})
    if key not in ("done", "skip"):
        return _ask(state, _("Sorry, that choice is no longer available."))
    bits = None if key == "skip" or (key == "done" and not poll["chosen"]) else sum(1 << n for n in poll["chosen"])
    poll = {**poll, "answers": [*poll["answers"], bits], "chosen": []}
    state = {**state, FLOW: poll}
    if len(poll["answers"]) < len(QUESTIONS):
        return _ask(state)
    return _finish(state, ctx)


def _finish(state: State, ctx: Context) -> Step:
    poll = state[FLOW]
    barriers, interests, day_parts = poll["answers"]
    effects: list[Effect] = [WakeAt(None)]
    if any(answer is not None for answer in poll["answers"]):
        effects.append(RecordListening(barriers, interests, day_parts, poll.get("area")))
    lines = [_("Thank you for your answers! They help us shape meetings that suit more men.")]
    if ctx.participant is None:
        lines.append(_("Would you like to join one of our conversation groups? Just send /start."))
    return Step(polls.wiped(state, FLOW), (*effects, Reply(directed("\n\n".join(lines)))))
