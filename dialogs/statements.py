"""The statements poll before and after a series: a few statements, each answered with one
button (agree completely … disagree completely, or rather not say).

Pure, like every dialog. The scheduler (at a series' first and last meeting) and a
coordinator (``/statements``) send ``offer``: a standing "st:go:SERIES:PHASE" button, which
the router hands to ``standing``; the engine has then loaded the poll into
``ctx.statement_poll`` (``bot.domain.statements.poll_for``). Every later event while
``state["flow"] == "statements"`` goes to ``handle``.

Privacy, as the check-in (``dialogs.checkin``): the answers in progress live only under
``state["statements"]`` and are wiped when the poll ends, is abandoned (``WakeAt`` 30
minutes after the start) or is interrupted by a command. Typed text is never kept. The
finished ``RecordStatements`` carries the series, the phase and the answers, nothing else.
"""

from __future__ import annotations

from datetime import timedelta

from dialogs import polls
from dialogs.i18n import N_, _, directed, fill, use_locale
from dialogs.typed import match_option
from dialogs.types import (
    STANDING,
    Context,
    Effect,
    Event,
    Option,
    RecordStatements,
    Reply,
    State,
    Step,
    WakeAt,
)

FLOW = "statements"
LIFETIME = timedelta(minutes=30)

SHIPPED = {
    1: N_("A man who supports his wife to work invests in the future of his whole family."),
    2: N_("Men can care for the household and the children as well as women."),
    3: N_("It is brave, not weak, when a man supports his wife to work."),
    4: N_("Culture has a big influence, but things can change."),
}
"""The statements every series uses unless it picks others (``meedoen series statements``)."""

SCALE = (
    (1, N_("Fully agree")),
    (2, N_("Agree")),
    (3, N_("Neutral")),
    (4, N_("Disagree")),
    (5, N_("Fully disagree")),
    (0, N_("Rather not say")),
)
"""Stored value and label of each answer, in the order of the buttons."""


def offer(language: str, series_id: int, phase: str, series_name: str) -> Reply:
    """The invitation to answer, with a standing button (valid whatever else is open)."""
    with use_locale(language):
        if phase == "before":
            text = _(
                "At the start of “%(series)s” we would like to know what you think about a few "
                "statements. It is anonymous and takes a minute."
            )
        else:
            text = _(
                "At the end of “%(series)s” we would like to know again what you think about "
                "the statements. It is anonymous and takes a minute."
            )
        return Reply(
            directed(fill(text, series=series_name)),
            (Option(_("Yes, let's start"), f"st:go:{series_id}:{phase}"), Option(_("Not now"), "st:later")),
            STANDING,
        )


def standing(state: State, key: str, ctx: Context) -> Step:
    """The offer's buttons."""
    state = dict(state)
    if key == "st:later":
        return _say(state, _("That's fine. Thank you anyway!"))
    poll = ctx.statement_poll
    if poll is None or poll.status == "closed" or f"st:go:{poll.series_id}:{poll.phase}" != key:
        return _say(state, _("Sorry, these statements can no longer be answered."))
    if poll.status == "answered":
        return _say(state, _("You have already answered these statements. Thank you!"))
    if state.get("flow") == FLOW and state[FLOW].get("key") == key and not polls.expired(state, FLOW, ctx.now):
        return _ask(state)  # already under way: the current statement again
    if state.get("flow") is not None:
        state.pop(state.pop("flow"), None)  # whatever was under way ends here
    state["flow"] = FLOW
    state[FLOW] = {
        "key": key,
        "series": poll.series_id,
        "phase": poll.phase,
        "items": [list(item) for item in poll.items],
        "answers": [],
        "until": (ctx.now + LIFETIME).isoformat(),
    }
    intro = _(
        "Your answers are anonymous: they are saved without your name, your number or the "
        "exact date. Press the button that fits best."
    )
    return _ask(state, intro, effects=(WakeAt(ctx.now + LIFETIME),))


def handle(state: State, event: Event, ctx: Context) -> Step:
    """Any event while the poll is under way."""
    state = dict(state)
    if not isinstance(state.get(FLOW), dict):
        return Step(polls.wiped(state, FLOW))
    step = polls.interruption(state, event, FLOW, ctx.now, _("These statements have expired. Thank you anyway!"), _ask)
    if step is not None:
        return step
    key = polls.answer_key(state, event, lambda text: match_option(text, _options()), _ask)
    if isinstance(key, Step):
        return key
    values = {f"v:{value}": value for value, _label in SCALE}
    if key not in values:
        return _ask(state, _("Sorry, that choice is no longer available."))
    poll = state[FLOW]
    answers = [*poll["answers"], values[key]]
    if len(answers) < len(poll["items"]):
        return _ask({**state, FLOW: {**poll, "answers": answers}})
    numbers = [number for number, _text in poll["items"]]
    record = RecordStatements(poll["series"], poll["phase"], tuple(zip(numbers, answers, strict=True)))
    return _say(polls.wiped(state, FLOW), _("Thank you for your answers!"), WakeAt(None), record)


def _options() -> tuple[Option, ...]:
    return tuple(Option(_(label), f"v:{value}") for value, label in SCALE)


def _ask(state: State, *before: str, effects: tuple[Effect, ...] = ()) -> Step:
    poll = state[FLOW]
    number = len(poll["answers"])
    statement, text = poll["items"][number]
    heading = fill(_("Statement %(number)s of %(total)s"), number=number + 1, total=len(poll["items"]))
    body = "\n\n".join([*before, f"{heading}\n{text if text is not None else _(SHIPPED[statement])}"])
    state = {**state, "q": state.get("q", 0) + 1}
    return Step(state, (*effects, Reply(directed(body), _options(), state["q"])))


def _say(state: State, text: str, *effects: Effect) -> Step:
    return Step(state, (*effects, Reply(directed(text))))
