"""A peer facilitator's commands, in his own chat (issue 16): who is coming to his series'
next meeting (``/rsvps``), who was there (``/attendance``), the form after a meeting
(``/form``, see ``dialogs.meeting_report``), proposing a living-room talk (``/livingroom``),
his series' flyers with his own invite link (``/flyer``) and his series' recorded reminders
(``/voice``).

The router sends these only for facilitators. ``/rsvps``, ``/attendance``, ``/flyer`` and
``/voice`` are the coordinator's own dialog over a view the engine limits to his series
(``Context.coordinator``; ``/flyer`` and ``/voice`` offer only ``Context.facilitator``'s
series), so he never sees, and cannot press a button for, another series; the engine checks
each attendance mark, flyer request and recording again. The living-room proposal keeps its answers under
``state["livingroom"]``; its buttons carry keys starting with ``lr:``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import buttons, coordinator, meeting_report
from dialogs.formatting import meeting_time
from dialogs.i18n import N_, _, directed, fill
from dialogs.speech import ask, say
from dialogs.typed import match_option
from dialogs.types import (
    ApproveLivingRoom,
    BadButton,
    ChoiceMade,
    Command,
    Context,
    Effect,
    Event,
    Option,
    ProposeLivingRoom,
    Reply,
    State,
    Step,
    Text,
    Unsupported,
)

HELP = (
    ("rsvps", N_("/rsvps – who is coming to the next meetings")),
    ("attendance", N_("/attendance – tick who was there")),
    ("form", N_("/form – the form about your last meeting")),
    ("livingroom", N_("/livingroom – propose a living-room talk")),
    ("flyer", N_("/flyer – flyers and your own invite link for your group")),
    ("voice", N_("/voice – record a reminder for your group as a voice message")),
)
"""The facilitator commands, as ``/help`` lists them to a facilitator."""

COMMANDS = frozenset(name for name, _line in HELP)
FLOW = "livingroom"
PLACE_LIMIT = 200
CAPACITY_RANGE = range(2, 51)
CAPACITIES = (4, 6, 8, 10, 12)
AHEAD = timedelta(days=366)  # a proposal further ahead is a typo


def handle(state: State, event: Event, ctx: Context) -> Step:
    """A facilitator's command (the router checked he is one)."""
    assert isinstance(event, Command)
    if event.name in ("rsvps", "attendance", "flyer", "voice"):
        return coordinator.handle(state, event, ctx)
    if event.name in meeting_report.COMMANDS:
        return meeting_report.handle(state, event, ctx)
    return _ask({**state, "flow": FLOW, FLOW: {"at": "date"}}, ctx)


# --- the living-room proposal -----------------------------------------------------------------


def living_room(state: State, event: Event, ctx: Context) -> Step:
    """Every event while a living-room proposal is under way."""
    data = state.get(FLOW)
    if state.get("flow") != FLOW or not isinstance(data, dict):
        return Step(_without_flow(state))
    if isinstance(event, (Unsupported, BadButton)):
        return _ask(state, ctx, _("Sorry, I could not read that."))
    if isinstance(event, ChoiceMade):
        if event.question != state.get("q"):
            return _ask(state, ctx, _("That button belongs to an earlier question. Here is the current one."))
        if event.key not in {o.key for o in _question(state, ctx)[1]}:
            return _ask(state, ctx, _("Sorry, that choice is no longer available."))
        return _choice(state, event.key, ctx)
    if isinstance(event, Text):
        return _typed(state, event.text.strip(), ctx)
    return Step(state)  # a timer: nothing to say


def approve(state: State, key: str, ctx: Context) -> Step:
    """A coordinator's "Approve" on a proposal (a standing button); the engine checks the
    proposal is still waiting and answers with the outcome."""
    proposal = key.partition(":")[2]
    if not ctx.is_coordinator or not proposal.isdecimal():
        return Step(state, (Reply(directed(_("Sorry, I could not read that button."))),))
    return Step(state, (ApproveLivingRoom(int(proposal)),))


def _question(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    data = state[FLOW]
    at = data["at"]
    if at == "date":
        return (
            _(
                "A living-room talk is one meeting, for example at someone's home. On which day? "
                "Write the date as day-month, for example 12-12."
            ),
            (),
        )
    if at == "time":
        return _("At what time does it start? For example 19:30."), ()
    if at == "place":
        return _("Where is it? Write the address. Only the men who sign up will see it."), ()
    if at == "capacity":
        return _("How many men can come at most?"), tuple(Option(str(n), f"lr:c:{n}") for n in CAPACITIES)
    starts_at = datetime.fromisoformat(data["starts_at"])
    summary = fill(
        _(
            "Please check:\n%(when)s\n%(place)s\nAt most %(count)s men.\n"
            "Shall I send it to the coordinators for approval?"
        ),
        when=meeting_time(starts_at, ctx.timezone),
        place=data["place"],
        count=data["capacity"],
    )
    return summary, (Option(_("Send"), buttons.LIVING_ROOM.key("send")), Option(_("Cancel"), buttons.LIVING_ROOM.key("cancel")))


def _ask(state: State, ctx: Context, *before: str) -> Step:
    return ask(state, lambda numbered: _question(numbered, ctx), *before)


def _choice(state: State, key: str, ctx: Context) -> Step:
    data: dict[str, Any] = dict(state[FLOW])
    if key == buttons.LIVING_ROOM.key("cancel"):
        return _say(_without_flow(state), _("Cancelled. Nothing was sent."))
    if key.startswith("lr:c:"):
        data.update(capacity=int(key[5:]), at="confirm")
        return _ask({**state, FLOW: data}, ctx)
    starts_at = datetime.fromisoformat(data["starts_at"])
    if starts_at <= ctx.now:
        return _ask({**state, FLOW: {"at": "date"}}, ctx, _("That moment has passed. Please choose a later day."))
    effect = ProposeLivingRoom(starts_at, data["place"], data["capacity"], _("Living-room talk"))
    text = _("Sent. I will let you know as soon as a coordinator approves it.")
    return _say(_without_flow(state), text, effect)


def _typed(state: State, text: str, ctx: Context) -> Step:
    data: dict[str, Any] = dict(state[FLOW])
    at = data["at"]
    if at == "date":
        day = _date(text, ctx)
        if day is None:
            return _ask(state, ctx, _("I could not read that date. Please write it as day-month, for example 12-12."))
        data.update(day=day.isoformat(), at="time")
    elif at == "time":
        at_time = _time(text)
        if at_time is None:
            return _ask(state, ctx, _("I could not read that time. Please write it like 19:30."))
        zone = ZoneInfo(ctx.timezone)
        starts_at = datetime.combine(date.fromisoformat(data["day"]), at_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))
        if starts_at <= ctx.now:
            data = {"at": "date"}
            return _ask({**state, FLOW: data}, ctx, _("That moment has passed. Please choose a later day."))
        data.update(starts_at=starts_at.isoformat(), at="place")
    elif at == "place":
        if not text:
            return _ask(state, ctx, _("That message is empty. Please write it again."))
        if len(text) > PLACE_LIMIT:
            return _ask(state, ctx, fill(_("That is too long. Please keep it under %(limit)s characters."), limit=PLACE_LIMIT))
        data.update(place=" ".join(text.split()), at="capacity")
    elif at == "capacity":
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count not in CAPACITY_RANGE:
            return _ask(state, ctx, _("Please type a number from 2 to 50."))
        data.update(capacity=count, at="confirm")
    elif at == "confirm":
        key = match_option(text, _question(state, ctx)[1])
        if key is None:
            return _ask(state, ctx, _("Please choose one of the buttons."))
        return _choice(state, key, ctx)
    return _ask({**state, FLOW: data}, ctx)


_DATE = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s*[-/.]\s*(\d{2}|\d{4}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIME = re.compile(r"(\d{1,2})\s*[:.h]\s*(\d{2})|(\d{1,2})")


def _date(text: str, ctx: Context) -> date | None:
    """Day-month (this year, or next when it has passed), day-month-year, or ISO; from today
    on, within a year. Digits of any script count."""
    typed = "".join(str(int(ch)) if ch.isdecimal() else ch for ch in text)
    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    try:
        if match := _ISO.fullmatch(typed):
            day = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _DATE.fullmatch(typed):
            year = int(match[3]) if match[3] else today.year
            year += 2000 if year < 100 else 0
            day = date(year, int(match[2]), int(match[1]))
            if not match[3] and day < today:
                day = day.replace(year=today.year + 1)
        else:
            return None
    except ValueError:  # 31-2
        return None
    return day if today <= day <= today + AHEAD else None


def _time(text: str) -> time | None:
    typed = "".join(str(int(ch)) if ch.isdecimal() else ch for ch in text)
    match = _TIME.fullmatch(typed)
    if match is None:
        return None
    hour, minute = (int(match[1]), int(match[2])) if match[1] else (int(match[3]), 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _without_flow(state: State) -> State:
    return {k: v for k, v in state.items() if k not in ("flow", FLOW)}


def _say(state: State, text: str, *effects: Effect) -> Step:
    return say(state, text, effects)
