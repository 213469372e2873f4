"""The facilitator's form after a meeting (issue 16): seven short questions, buttons where
possible, in his own language.

Pure, like every dialog. The scheduler sends ``offer`` the morning after a meeting of his
series (and ``reminder`` two days later, once); its standing button ``fr:<meeting id>`` (or
``/form``) starts the form here. The router sends every event to ``handle`` while
``state["flow"] == "report"``, for facilitators only. The answers wait under
``state["report"]`` until the last one, then become one ``SaveMeetingReport``.

```mermaid
stateDiagram-v2
    [*] --> count: "Fill in the form" (a meeting of HIS series without a form) or /form
    count --> themes: a number (the attendance's count is one tap)
    themes --> exercises: tap themes (on / off), then Done
    exercises --> atmosphere: short text or Skip
    atmosphere --> outcomes: 1 … 5
    outcomes --> follow_up: text (no names) or Skip
    follow_up --> follow_up_text: Yes
    follow_up --> [*]: No — SaveMeetingReport
    follow_up_text --> [*]: text — SaveMeetingReport
```
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialogs import buttons
from dialogs.formatting import meeting_time
from dialogs.i18n import N_, _, current_locale, directed, fill, use_locale
from dialogs.speech import ask, say
from dialogs.typed import match_option
from dialogs.types import (
    STANDING,
    BadButton,
    ChoiceMade,
    Command,
    Context,
    Effect,
    Event,
    Option,
    Reply,
    ReportDue,
    SaveMeetingReport,
    State,
    Step,
    Text,
    Unsupported,
)

FLOW = "report"
COMMANDS = frozenset({"form"})
OUTCOMES_LIMIT = 1000
EXERCISES_LIMIT = 300
FOLLOW_UP_LIMIT = 500
MEN_LIMIT = 500  # more than any room holds: a typo, not a count

THEMES = (
    ("work", N_("Work and income")),
    ("care", N_("Care and household")),
    ("roles", N_("Family roles")),
    ("wife", N_("Support wife's work")),
    ("lonely", N_("Loneliness")),
    ("father", N_("Fatherhood")),
    ("faith", N_("Faith")),
    ("health", N_("Health")),
    ("other", N_("Other")),
)
"""The themes a meeting may touch: key (as stored) → label."""
THEME_LABELS = dict(THEMES)


# --- Entry points ------------------------------------------------------------------------------


def offer(language: str, meeting_id: int, series_name: str, starts_at: datetime, zone: str) -> Reply:
    """The morning-after message, with a standing button (valid whatever else is open)."""
    with use_locale(language):
        text = fill(
            _(
                "Good morning! How did %(series)s go (%(when)s)? Please fill in the short form "
                "for the coordinators. It takes about two minutes."
            ),
            series=series_name,
            when=meeting_time(starts_at, zone),
        )
        return Reply(directed(text), (Option(_("Fill in the form"), buttons.FORM.key(meeting_id)),), STANDING)


def reminder(language: str, meeting_id: int, series_name: str, starts_at: datetime, zone: str) -> Reply:
    """Two days later, when the form is still empty: once."""
    with use_locale(language):
        text = fill(
            _("A short reminder: the form about %(series)s (%(when)s) is not filled in yet."),
            series=series_name,
            when=meeting_time(starts_at, zone),
        )
        return Reply(directed(text), (Option(_("Fill in the form"), buttons.FORM.key(meeting_id)),), STANDING)


def standing(state: State, key: str, ctx: Context) -> Step:
    """His "Fill in the form" button: only for a meeting of his own series still without a form."""
    meeting_id = key.partition(":")[2]
    due = _due(ctx, int(meeting_id)) if meeting_id.isdecimal() else None
    if due is None:
        return _say(state, _("That form is already filled in, or it is not yours to fill in."))
    data = state.get(FLOW)
    if state.get("flow") == FLOW and isinstance(data, dict) and data.get("meeting") == due.meeting_id:
        return _ask(state, ctx)  # under way: the current question again
    return _begin(_without_flow(state), due, ctx)


def handle(state: State, event: Event, ctx: Context) -> Step:
    """``/form``, or any event while the form is under way."""
    state = dict(state)
    if isinstance(event, Command):
        dues = ctx.facilitator.reports_due if ctx.facilitator else ()
        if not dues:
            return _say(_without_flow(state), _("There is no form to fill in right now."))
        return _begin(_without_flow(state), dues[0], ctx)
    data = state.get(FLOW)
    if state.get("flow") != FLOW or not isinstance(data, dict):
        return Step(_without_flow(state))
    if _due(ctx, data["meeting"]) is None:  # filled in meanwhile (by another facilitator)
        return _say(_without_flow(state), _("That form is already filled in, or it is not yours to fill in."))
    if isinstance(event, (Unsupported, BadButton)):
        return _ask(state, ctx, _("Sorry, I could not read that."))
    if isinstance(event, ChoiceMade):
        if event.question != state.get("q"):
            return _ask(state, ctx, _("That button belongs to an earlier question. Here is the current one."))
        if event.key not in {o.key for o in _question(state, ctx)[1]}:
            return _ask(state, ctx, _("Sorry, that choice is no longer available."))
        return _choice(state, event.key, ctx)
    if isinstance(event, Text):
        return _typed(state, event.text, ctx)
    return Step(state)  # a timer: nothing to say


# --- The questions -----------------------------------------------------------------------------


def _question(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    data = state[FLOW]
    at = data["at"]
    skip = Option(_("Skip"), buttons.FORM_ANSWER.key("skip"))
    if at == "count":
        text = _("How many men were there? Type the number.")
        if data.get("ticked") is None:
            return text, ()
        hint = fill(_("The attendance says %(count)s: tap it, or type another number."), count=data["ticked"])
        return f"{text}\n{hint}", (Option(str(data["ticked"]), f"mr:n:{data['ticked']}"),)
    if at == "themes":
        chosen = data["themes"]
        return (
            _("Which themes came up? Tap all that apply, then press Done."),
            (
                *(
                    Option(("✅ " if key in chosen else "◻️ ") + _(label), f"mr:t:{key}")
                    for key, label in THEMES
                ),
                Option(_("Done"), buttons.FORM_ANSWER.key("done")),
            ),
        )
    if at == "exercises":
        return _("Which statements or exercises did you use? Write them briefly, or press Skip."), (skip,)
    if at == "atmosphere":
        return (
            _("How was the atmosphere? 1 = tense, 5 = very good."),
            tuple(Option(str(n), f"mr:a:{n}") for n in range(1, 6)),
        )
    if at == "outcomes":
        return (
            fill(
                _(
                    "What were the main outcomes, in your own words? At most %(limit)s characters.\n"
                    "Please do not write any names of participants."
                ),
                limit=OUTCOMES_LIMIT,
            ),
            (skip,),
        )
    if at == "follow_up":
        return _("Is any follow-up needed?"), (Option(_("Yes"), "mr:f:y"), Option(_("No"), "mr:f:n"))
    return _("What follow-up is needed? Write it briefly."), ()


def _ask(state: State, ctx: Context, *before: str) -> Step:
    return ask(state, lambda numbered: _question(numbered, ctx), *before)


def _begin(state: State, due: ReportDue, ctx: Context) -> Step:
    data: dict[str, Any] = {"at": "count", "meeting": due.meeting_id, "ticked": due.men_present, "themes": []}
    intro = fill(
        _("The form about %(series)s (%(when)s)."),
        series=due.series_name,
        when=meeting_time(due.starts_at, ctx.timezone),
    )
    return _ask({**state, "flow": FLOW, FLOW: data}, ctx, intro)


# --- The answers -------------------------------------------------------------------------------


def _choice(state: State, key: str, ctx: Context) -> Step:
    data = dict(state[FLOW])
    state = {**state, FLOW: data}
    if key.startswith("mr:n:"):
        data.update(present=int(key[5:]), at="themes")
    elif key.startswith("mr:t:"):
        theme = key[5:]
        data["themes"] = [t for t in data["themes"] if t != theme] if theme in data["themes"] else [*data["themes"], theme]
    elif key == buttons.FORM_ANSWER.key("done"):
        data["at"] = "exercises"
    elif key == buttons.FORM_ANSWER.key("skip"):
        data[data["at"]] = None
        data["at"] = "atmosphere" if data["at"] == "exercises" else "follow_up"
    elif key.startswith("mr:a:"):
        data.update(atmosphere=int(key[5:]), at="outcomes")
    elif key == "mr:f:y":
        data["at"] = "follow_up_text"
    elif key == "mr:f:n":
        return _finish(state, ctx, follow_up=False, follow_up_text=None)
    return _ask(state, ctx)


def _typed(state: State, text: str, ctx: Context) -> Step:
    data = state[FLOW]
    at = data["at"]
    body = text.strip()
    if at in ("count", "atmosphere"):
        number = _number(body)
        if at == "count" and number is not None and 0 <= number <= MEN_LIMIT:
            return _choice(state, f"mr:n:{number}", ctx)
        if at == "atmosphere" and number is not None and 1 <= number <= 5:
            return _choice(state, f"mr:a:{number}", ctx)
        return _ask(state, ctx, _("Please type a number, for example 8.") if at == "count" else _("Please choose one of the buttons."))
    limits = {"exercises": EXERCISES_LIMIT, "outcomes": OUTCOMES_LIMIT, "follow_up_text": FOLLOW_UP_LIMIT}
    if at not in limits:
        key = match_option(body, _question(state, ctx)[1])
        if key is not None:
            return _choice(state, key, ctx)
        return _ask(state, ctx, _("Please choose one of the buttons."))
    if not body:
        return _ask(state, ctx, _("That message is empty. Please write it again."))
    if len(body) > limits[at]:
        return _ask(state, ctx, fill(_("That is too long. Please keep it under %(limit)s characters."), limit=limits[at]))
    if at == "follow_up_text":
        return _finish(state, ctx, follow_up=True, follow_up_text=body)
    data = {**data, at: body, "at": "atmosphere" if at == "exercises" else "follow_up"}
    return _ask({**state, FLOW: data}, ctx)


def _finish(state: State, ctx: Context, *, follow_up: bool, follow_up_text: str | None) -> Step:
    data = state[FLOW]
    effect = SaveMeetingReport(
        meeting_id=data["meeting"],
        men_present=data.get("present"),
        themes=tuple(key for key, _label in THEMES if key in data["themes"]),
        exercises=data.get("exercises"),
        atmosphere=data.get("atmosphere"),
        outcomes=data.get("outcomes"),
        follow_up=follow_up,
        follow_up_text=follow_up_text,
        language=current_locale(),
    )
    return _say(_without_flow(state), _("Thank you! The form is saved and the coordinators have been told."), effect)


# --- Helpers -----------------------------------------------------------------------------------


def _due(ctx: Context, meeting_id: int) -> ReportDue | None:
    dues = ctx.facilitator.reports_due if ctx.facilitator else ()
    return next((due for due in dues if due.meeting_id == meeting_id), None)


def _number(text: str) -> int | None:
    """A typed whole number, in any script's digits ("٨" is 8)."""
    try:
        return int(text)
    except ValueError:
        return None


def _without_flow(state: State) -> State:
    if state.get("flow") != FLOW:
        return dict(state)
    return {k: v for k, v in state.items() if k not in ("flow", FLOW)}


def _say(state: State, text: str, *effects: Effect) -> Step:
    return say(state, text, effects)
