"""The anonymous check-in: loneliness, taking part and meaning, eight taps in all.

Pure, like every dialog. The router calls ``handle`` for ``/checkin`` and for every event
while ``state["flow"] == "checkin"``, and ``standing`` for the ``ck:`` buttons (the offer the
scheduler sends the morning after a meeting, and the "ask a coordinator" button). The locale
is set by the caller, except in ``offer``, which the scheduler calls directly.

```mermaid
stateDiagram-v2
    [*] --> item1: /checkin or "Yes" on the offer (not yet this ISO week)
    [*] --> [*]: "Not now" on the offer (date kept, no offer again that day)
    item1 --> item6: one De Jong Gierveld item per message (yes / more or less / no / skip)
    item6 --> took_part: yes / no / skip
    took_part --> worthwhile: 0 … 10 / skip
    worthwhile --> [*]: thanks (help lines at a severe score); RecordCheckin
    item1 --> [*]: 30 minutes after the start, Timer("wake"): wiped, silently
```

Privacy: the answers in progress live only under ``state["checkin"]`` and are wiped when the
check-in ends, is abandoned (``WakeAt`` 30 minutes after the start, and an ``until`` the
dialog checks itself in case the timer is late) or is interrupted by a command. Typed text is
never kept. The engine stores the finished ``RecordCheckin`` without anything that names him.
Every finished check-in, not only a severe one, offers the "ask a coordinator" button, so a
coordinator who receives the request learns nothing about the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import buttons, funnel, polls, scoring
from dialogs.i18n import N_, Phrase, _, current_locale, directed, fill, use_locale
from dialogs.speech import ask, say
from dialogs.typed import match_option
from dialogs.types import (
    STANDING,
    AskContact,
    Command,
    Context,
    Effect,
    Event,
    Option,
    RecordCheckin,
    Reply,
    State,
    Step,
    WakeAt,
)

COMMANDS = frozenset({"checkin"})
FLOW = "checkin"
LATER = "checkin_later"
"""State key: the local ISO date of his last "not now"; the offer is not sent again that day."""
LIFETIME = timedelta(minutes=30)

ITEMS = (
    N_("I experience a general sense of emptiness"),
    N_("I miss having people around me"),
    N_("I often feel rejected"),
    N_("There are plenty of people I can rely on when I have problems"),
    N_("There are many people I can trust completely"),
    N_("There are enough people I feel close to"),
)
"""The 6-item De Jong Gierveld scale: the published English wording as msgid; the Dutch
catalog holds the official Dutch (informal) wording. Items 1–3 emotional, 4–6 social."""

TOOK_PART, WORTHWHILE = len(ITEMS), len(ITEMS) + 1
QUESTION_COUNT = len(ITEMS) + 2

HELP_LINES = {
    "line113": "113 Zelfmoordpreventie",
    "short": "113",
    "free": "0800-0113",
    "site": "113.nl",
    "listen": "De Luisterlijn",
    "listen_number": "088 0767 000",
}


# --- Entry points --------------------------------------------------------------------------


def offer(language: str) -> Reply:
    """The morning-after offer, with standing buttons (valid whatever else is open)."""
    with use_locale(language):
        text = _(
            "Hello! Would you like to answer a few short questions about how you are "
            "doing? It is anonymous and takes about a minute."
        )
        return Reply(
            directed(text),
            (Option(_("Yes, let's start"), CHECKIN_GO), Option(_("Not now"), CHECKIN_LATER)),
            STANDING,
        )


def handle(state: State, event: Event, ctx: Context) -> Step:
    """``/checkin``, or any event while the check-in is under way."""
    state = dict(state)
    if isinstance(event, Command):
        return _begin(state, ctx)
    if state.get("flow") != FLOW or not isinstance(state.get(FLOW), dict):
        return _begin(polls.wiped(state, FLOW), ctx)

    def again(state: State, *before: str) -> Step:
        return _ask(state, ctx, *before)

    expired_text = _("These questions have expired. Send /checkin if you would like to start again.")
    step = polls.interruption(state, event, FLOW, ctx.now, expired_text, again)
    if step is not None:
        return step
    number = len(state[FLOW]["answers"])
    key = polls.answer_key(state, event, lambda text: _typed_answer(text, number), again)
    if isinstance(key, Step):
        return key
    answer = _ANSWER_OF[number].get(key, _INVALID)
    if answer is _INVALID:
        return _ask(state, ctx, _("Sorry, that choice is no longer available."))
    return _answered(state, answer, ctx)


def standing(state: State, key: str, ctx: Context) -> Step:
    """The offer's "Yes" / "Not now", and the "ask a coordinator to contact me" button."""
    state = dict(state)
    if key == CHECKIN_GO:
        if state.get("flow") == FLOW and isinstance(state.get(FLOW), dict) and not polls.expired(state, FLOW, ctx.now):
            return _ask(state, ctx)  # already under way: show the current question again
        return _begin(polls.wiped(state, FLOW) if state.get("flow") == FLOW else state, ctx)
    refused = _refusal(state, ctx)
    if refused is not None:
        return refused
    if key == CHECKIN_LATER:
        state[LATER] = local_date(ctx.now, ctx.timezone)
        return say(state, _("That's fine. If you feel like it another time, just send /checkin."))
    if key == CHECKIN_CONTACT:
        return say(
            state,
            _(
                "I have asked a coordinator to get in touch with you. They only know that you "
                "asked, not what you answered."
            ),
            (AskContact(),),
        )
    return say(state, _("Sorry, I could not read that button."))


def local_date(moment: datetime, zone: str) -> str:
    """The organisation's calendar date of ``moment`` (ISO), as kept in ``checkin_later``."""
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


# --- The questions ---------------------------------------------------------------------------

CHECKIN_GO = buttons.CHECKIN.key("go")
CHECKIN_LATER = buttons.CHECKIN.key("later")
CHECKIN_CONTACT = buttons.CHECKIN.key("contact")

_INVALID = object()
_ITEM_ANSWERS: dict[str, int | None] = {
    buttons.ANSWER.key(0): scoring.YES,
    buttons.ANSWER.key(1): scoring.MORE_OR_LESS,
    buttons.ANSWER.key(2): scoring.NO,
    buttons.SKIP: None,
}
_ANSWER_OF: list[Mapping[str, object]] = [
    *(_ITEM_ANSWERS for _item in ITEMS),
    {buttons.YES: True, buttons.NO: False, buttons.SKIP: None},
    {**{buttons.WORTHWHILE.key(n): n for n in range(11)}, buttons.SKIP: None},
]
"""Button key → stored answer, per question number (0-based)."""


def _question(number: int) -> tuple[str, tuple[Option, ...]]:
    """Text and buttons of question ``number`` (0-based), in the current locale."""
    skip = Option(_("Skip"), buttons.SKIP)
    options: tuple[Option, ...]
    if number < len(ITEMS):
        text = _(ITEMS[number])
        options = (
            Option(_("Yes"), buttons.ANSWER.key(0)),
            Option(_("More or less"), buttons.ANSWER.key(1)),
            Option(_("No"), buttons.ANSWER.key(2)),
            skip,
        )
    elif number == TOOK_PART:
        text = _(
            "In the past four weeks, did you take part in an activity outside your home — "
            "a course, volunteering, sport, an association or mosque, a meeting like ours?"
        )
        options = (Option(_("Yes"), buttons.YES), Option(_("No"), buttons.NO), skip)
    else:
        text = "\n".join(
            [
                _(
                    "Overall, to what extent do you feel the things you do in your life are "
                    "worthwhile?"
                ),
                _("0 means not at all, 10 means completely."),
            ]
        )
        options = (*(Option(str(n), buttons.WORTHWHILE.key(n)) for n in range(11)), skip)
    heading = fill(_("Question %(number)s of %(total)s"), number=number + 1, total=QUESTION_COUNT)
    return f"{heading}\n{text}", options


def _typed_answer(text: str, number: int) -> str | None:
    """A typed answer that plainly means a button. For the 0–10 question a typed number is
    the score itself (label first), never the button's position."""
    _text, options = _question(number)
    if number == WORTHWHILE:
        typed = " ".join(text.split()).strip(".!?")
        match = next((o.key for o in options if o.label == typed), None)
        if match is not None or typed.isdecimal():
            return match
    return match_option(text, options)


# --- Steps -----------------------------------------------------------------------------------


def _refusal(state: State, ctx: Context) -> Step | None:
    """The answers the conversation gives someone it cannot serve, or None."""
    if ctx.participant is None:
        return say(state, _("You haven't signed up yet. Send /start to begin."))
    if ctx.participant.status == "stopped":
        return say(state, _("Your messages are paused. Send /start to turn them back on."))
    return None


def _begin(state: State, ctx: Context) -> Step:
    refused = _refusal(state, ctx)
    if refused is not None:
        return refused
    if ctx.checked_in_this_week:
        return say(
            state,
            _(
                "You have already answered the questions this week. Thank you! You are "
                "welcome to answer them again next week."
            ),
        )
    state["flow"] = FLOW
    state[FLOW] = {
        "answers": [],
        "until": (ctx.now + LIFETIME).isoformat(),
        funnel.MARKER: funnel.begin(ctx.now),  # which questions were reached: counts only
    }
    intro = "\n\n".join(
        [
            _(
                "Thank you for taking a moment. Your answers are anonymous: they are saved "
                "without your name, your number or the exact date, so nobody, not even the "
                "coordinators, can see what you answered. You can skip any question."
            ),
            _(
                "Please indicate for each of the following statements to what extent it "
                "applies to you, the way you have been feeling lately."
            ),
        ]
    )
    return _ask(state, ctx, intro, effects=(WakeAt(ctx.now + LIFETIME),))


def _ask(state: State, ctx: Context, *before: str, effects: tuple[Effect, ...] = ()) -> Step:
    """Send the current question (after optional lines ``before`` it) with a new number."""
    number = len(state[FLOW]["answers"])
    marker, counted = funnel.reach(state[FLOW].get(funnel.MARKER), funnel.CHECKIN, f"q{number + 1}", current_locale())
    state = {**state, FLOW: {**state[FLOW], funnel.MARKER: marker}}
    return ask(state, lambda numbered: _question(number), *before, effects=(*effects, *counted))


def _answered(state: State, answer: object, ctx: Context) -> Step:
    answers = [*state[FLOW]["answers"], answer]
    state = {**state, FLOW: {**state[FLOW], "answers": answers}}
    if len(answers) < QUESTION_COUNT:
        return _ask(state, ctx)
    _marker, counted = funnel.reach(state[FLOW].get(funnel.MARKER), funnel.CHECKIN, "finished", current_locale())
    return _finish(polls.wiped(state, FLOW), answers, counted)


def _finish(state: State, answers: list[Any], counted: tuple[Effect, ...] = ()) -> Step:
    """``answers``: the values of ``_ANSWER_OF``, as kept in the (JSON) state."""
    items = tuple(answers[: len(ITEMS)])
    took_part, worthwhile = answers[TOOK_PART], answers[WORTHWHILE]
    effects: list[Effect] = [WakeAt(None), *counted]
    if any(answer is not None for answer in answers):
        effects.append(RecordCheckin(items, took_part, worthwhile, current_locale()))
    severe = scoring.score(items).category == "severe"
    contact = Option(_("Yes, contact me"), CHECKIN_CONTACT)
    lines = [_("Thank you for your answers! They help us make the meetings better.")]
    if severe:
        lines.append(_help_text(contact.label))
    lines.append(
        _(
            "Would you like someone from our team to contact you? I can ask a coordinator. "
            "They will not see your answers."
        )
    )
    return Step(state, (*effects, Reply(directed("\n\n".join(lines)), (contact,), STANDING)))


def _help_text(contact_label: str) -> str:
    """Real help, offered gently: a suggestion to talk, never a judgement about him. The help
    lines speak Dutch, so a man who reads another language is told so, and pointed to the
    button that asks a coordinator (who can find help in his language)."""
    lines = [
        _(
            "Thank you for your honesty. Sometimes life feels heavy, and you don't have to "
            "carry that alone. Talking to someone can help, at any moment:"
        ),
        "• "
        + fill(
            _(
                "%(line113)s (suicide prevention): call %(short)s or %(free)s (free), day "
                "and night, 7 days a week. You can also chat at %(site)s."
            ),
            **HELP_LINES,
        ),
        "• "
        + fill(
            _(
                "%(listen)s (a listening line): call %(listen_number)s, day and night, when "
                "you want to talk to someone."
            ),
            **HELP_LINES,
        ),
    ]
    if current_locale() != "nl":
        lines.append(
            fill(
                _("Both lines answer in Dutch. For help in your own language, press “%(button)s” below."),
                button=Phrase(contact_label),
            )
        )
    return "\n".join(lines)
