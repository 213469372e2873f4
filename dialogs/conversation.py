"""A participant's conversation: sign-up, and the commands around it.

``handle(state, event, context)`` is the whole dialog: pure, no I/O. The state remembers
which question is open (``at``), its number (``q``, so a button from an earlier question is
recognised as stale) and, before consent, the chosen language (``lang``).

```mermaid
stateDiagram-v2
    [*] --> language: /start or first message
    language --> consent: picks a language
    consent --> [*]: no (nothing kept)
    consent --> name: yes (participant stored)
    name --> series: a name, or Skip
    series --> waitlist: full series
    waitlist --> area: yes
    waitlist --> series: choose another
    series --> area: seat taken
    series --> menu: no open series
    area --> menu: confirmation sent
    menu --> series: sign up again
    menu --> leave: /cancel
    menu --> erase: /delete
```
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from dialogs import buttons, funnel, keywords
from dialogs.coordinator import COMMANDS as COORDINATOR_COMMANDS
from dialogs.coordinator import HELP as COORDINATOR_HELP
from dialogs.facilitator import HELP as FACILITATOR_HELP
from dialogs.formatting import (
    LANGUAGE_NAMES,
    cannot_read,
    clock,
    language_in_text,
    meeting_time,
    weekday_name,
)
from dialogs.i18n import N_, Phrase, _, fill, fill_place, ngettext, use_locale
from dialogs.speech import ask, say
from dialogs.typed import match_option
from dialogs.types import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    BadButton,
    ChoiceMade,
    Command,
    Context,
    CountStep,
    Effect,
    EraseParticipant,
    Event,
    ForgetConversation,
    LeaveSeries,
    Option,
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
    State,
    Step,
    Text,
    Timer,
    Unsupported,
)

NAME_MAX = 40
NAME_PUNCTUATION = frozenset(" -'’.")


def handle(state: State, event: Event, ctx: Context) -> Step:
    """One turn of the conversation, in the participant's language."""
    with use_locale(language_of(state, ctx)):
        return _turn(dict(state), keywords.as_command(event), ctx)


def language_of(state: State, ctx: Context) -> str:
    if ctx.participant is not None:
        return ctx.participant.language
    chosen = state.get("lang")
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    if ctx.suggested_language in LANGUAGES:
        return ctx.suggested_language
    return DEFAULT_LANGUAGE


MENU_JOIN = buttons.MENU.key("join")
MENU_MINE = buttons.MENU.key("mine")
MENU_LANGUAGE = buttons.MENU.key("language")
MENU_HELP = buttons.MENU.key("help")
MENU_CALENDAR = buttons.MENU.key("cal")  # "Add to my calendar"
MENU_FRIEND = buttons.MENU.key("friend")  # "Invite a friend"


# --- Questions: each renders its text and buttons from state and context ----------------


def _q_language(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    order = sorted(LANGUAGES, key=lambda code: code != ctx.suggested_language)
    return (
        _("Which language would you like me to use?"),
        tuple(Option(LANGUAGE_NAMES[code], buttons.LANGUAGE.key(code)) for code in order),
    )


def _q_consent(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    return (
        fill(
            _(
                "Before we start: to sign you up, I keep your phone number or Telegram name "
                "and your language, and if you want, a first name and your area. Only the "
                "coordinators of %(organisation)s see this. It is never shared with anyone "
                "else. You can erase it all at any time with /delete. Is that okay?"
            ),
            organisation=ctx.organisation,
        ),
        (Option(_("Yes, that's okay"), buttons.YES), Option(_("No, thank you"), buttons.NO)),
    )


def _q_name(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    return (
        _("What may we call you? Write a first name or a nickname, or press Skip."),
        (Option(_("Skip"), buttons.SKIP),),
    )


def _q_series(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    lines = [_("These conversation groups are open. Which one would you like to join?")]
    ordered = _invited_first(state, _open_series(ctx))
    for series in ordered:
        lines.append("• " + _series_line(series, ctx))
    options = tuple(Option(s.name[:60], buttons.SERIES.key(s.id)) for s in ordered)
    return "\n".join(lines), options


def _invited_first(state: State, open_series: tuple[SeriesView, ...]) -> tuple[SeriesView, ...]:
    """The series of the invite link he came through first, then the others as they were."""
    invited = state.get("invite", {}).get("series")
    return tuple(sorted(open_series, key=lambda series: series.id != invited))


def _q_waitlist(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    series = ctx.series_by_id(state.get("series", -1))
    name = series.name if series else "?"
    return (
        fill(
            _(
                "%(series)s is full. Would you like a place on the waiting list? "
                "If a seat opens up, I will let you know."
            ),
            series=name,
        ),
        (
            Option(_("Yes, waiting list"), buttons.WAIT),
            Option(_("Choose another group"), buttons.OTHER),
        ),
    )


def _q_area(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    return (
        _("In which area do you live? This helps us plan meetings close to home."),
        (
            *(Option(area, buttons.AREA.key(n)) for n, area in enumerate(ctx.areas)),
            Option(_("I'd rather not say"), buttons.AREA.key(buttons.NONE)),
        ),
    )


def _q_menu(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    friend = (Option(_("Invite a friend"), MENU_FRIEND),) if _friend_series(state, ctx) else ()
    calendar = (Option(_("Add to my calendar"), MENU_CALENDAR),) if _has_seat(state, ctx) else ()
    return (
        _("What would you like to do?"),
        (
            Option(_("Join a group"), MENU_JOIN),
            Option(_("My groups"), MENU_MINE),
            *calendar,
            Option(_("Language"), MENU_LANGUAGE),
            Option(_("Help"), MENU_HELP),
            *friend,
        ),
    )


def _friend_series(state: State, ctx: Context) -> int | None:
    """The series he last took a seat in, while he still has it: the menu then offers
    "Invite a friend" to it."""
    series_id = state.get("friend")
    mine = {s.series_id for s in _signups(ctx) if s.status == "confirmed"}
    return series_id if series_id in mine else None


SEAT_TAKEN = "seat_taken"
"""State key, for one turn: he has just taken a seat (the context still shows him without it),
so the menu after the confirmation offers the calendar file."""


def _has_seat(state: State, ctx: Context) -> bool:
    return bool(state.get(SEAT_TAKEN)) or any(s.status == "confirmed" for s in _signups(ctx))


def _q_leave(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    mine = _my_series(ctx)
    return (
        _("Which conversation group would you like to leave?"),
        (
            *(Option(series.name[:60], buttons.LEAVE.key(series.id)) for series in mine),
            Option(_("Never mind"), buttons.KEEP),
        ),
    )


def _q_erase(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    return (
        _(
            "Shall I erase all your data: your sign-ups, your name, your language and your "
            "area? This cannot be undone."
        ),
        (Option(_("Yes, erase it all"), buttons.ERASE), Option(_("No, keep it"), buttons.KEEP)),
    )


Question = Callable[[State, Context], tuple[str, tuple[Option, ...]]]

INVITE_KEPT_AT = frozenset({"language", "consent", "name", "series", "waitlist", "area"})
"""The questions on the way from an invite link to a sign-up; elsewhere its source is dropped."""

QUESTIONS: dict[str, Question] = {
    "language": _q_language,
    "consent": _q_consent,
    "name": _q_name,
    "series": _q_series,
    "waitlist": _q_waitlist,
    "area": _q_area,
    "menu": _q_menu,
    "leave": _q_leave,
    "erase": _q_erase,
}


def _ask(state: State, ctx: Context, at: str, *before: str, effects: tuple[Effect, ...] = ()) -> Step:
    """Move to question ``at`` and send it, after optional lines ``before`` it. An invite's
    source is kept only on the way to a sign-up: any other question drops it."""
    state = {**state, "at": at}
    if at not in INVITE_KEPT_AT:
        state.pop("invite", None)
    return ask(state, lambda numbered: QUESTIONS[at](numbered, ctx), *before, effects=effects)




def _again(state: State, ctx: Context, text: str) -> Step:
    """A short answer to something unexpected, then the open question again (if one is)."""
    at = state.get("at")
    if at in QUESTIONS:
        return _ask(state, ctx, at, text)
    return say(state, text)


# --- The turn -----------------------------------------------------------------------------


PAUSED_MAY_ANSWER = frozenset({"erase", "language"})
"""Questions a paused man may still answer: erasing his data and choosing a language."""


def _turn(state: State, event: Event, ctx: Context) -> Step:
    state.pop(SEAT_TAKEN, None)  # by now the context shows the seat he took last turn
    if isinstance(event, Timer):
        return Step(state)  # timers are for other dialogs; this one never speaks unasked
    if isinstance(event, Command):
        return _command(state, event, ctx)
    paused = ctx.participant is not None and ctx.participant.status == "stopped"
    if paused and state.get("at") not in PAUSED_MAY_ANSWER:
        return say(state, _("Your messages are paused. Send /start to turn them back on."))
    if isinstance(event, Text) and _invited_series(ctx) is not None:
        return _start(state, ctx)  # the first message of a WhatsApp invite link, with its code
    at = state.get("at")
    if at not in QUESTIONS:  # a first message, or a conversation whose state was lost
        if ctx.participant is None:
            return _start(state, ctx)
        at = "menu"
        state["at"] = at
        if isinstance(event, Unsupported) and event.kind == "voice":  # thanked already (dialogs.router)
            return _ask(state, ctx, "menu", cannot_read(event))
        if isinstance(event, (Text, Unsupported)):
            return _ask(state, ctx, "menu", _("I'm an automated assistant."))
    if isinstance(event, Unsupported):
        return _ask(state, ctx, at, cannot_read(event))
    if isinstance(event, BadButton):
        return _ask(state, ctx, at, _("Sorry, I could not read that button."))
    if isinstance(event, ChoiceMade):
        if event.question != state.get("q"):
            return _ask(
                state, ctx, at, _("That button belongs to an earlier question. Here is the current one.")
            )
        if event.key not in {option.key for option in QUESTIONS[at](state, ctx)[1]}:
            return _ask(state, ctx, at, _("Sorry, that choice is no longer available."))
        return _choice(state, event.key, ctx)
    assert isinstance(event, Text)
    key = match_option(event.text, QUESTIONS[at](state, ctx)[1])
    if at == "name" and key is None:
        return _name_given(state, event.text, ctx)
    if key is not None:
        return _choice(state, key, ctx)
    return _ask(state, ctx, at, _("Please choose one of the buttons."))


def _start(state: State, ctx: Context) -> Step:
    invited = _invited_series(ctx)
    if ctx.participant is None:
        greeting = fill(
            _(
                "Hello! I'm the automated assistant of %(organisation)s. I can sign you up "
                "for our conversation groups for men."
            ),
            organisation=ctx.organisation,
        )
        fresh: State = {"q": state.get("q", 0), funnel.MARKER: funnel.ongoing(state.get(funnel.MARKER), ctx.now)}
        if invited is not None:
            greeting += "\n" + fill(_("You were invited to %(series)s. Welcome!"), series=invited.name)
            fresh["invite"] = _invite_state(ctx)
        fresh, counted = _count(fresh, "started", language_of(state, ctx))
        return _ask(fresh, ctx, "language", greeting, effects=counted)
    if ctx.participant.status == "stopped":
        return _ask(
            state,
            ctx,
            "menu",
            _("Welcome back! You will get messages from me again."),
            effects=(SetStatus("active"),),
        )
    hello = (
        fill(_("Welcome back, %(name)s!"), name=ctx.participant.name)
        if ctx.participant.name
        else _("Welcome back!")
    )
    if invited is not None and invited.id not in {s.series_id for s in ctx.participant.signups}:
        return _ask({**state, "invite": _invite_state(ctx)}, ctx, "series", hello)
    if not ctx.participant.signups and _open_series(ctx):
        return _ask(state, ctx, "series", hello)
    return _ask(state, ctx, "menu", hello)


def _invited_series(ctx: Context) -> SeriesView | None:
    """The open series of the invite link this message came through, if any."""
    if ctx.invited is None:
        return None
    return next((s for s in _open_series(ctx) if s.id == ctx.invited.series_id), None)


def _invite_state(ctx: Context) -> dict[str, int | str]:
    """Kept in his state only until he signs up (then the source is counted, not kept)."""
    assert ctx.invited is not None
    return {"series": ctx.invited.series_id, "source": ctx.invited.source}


ANY_MOMENT = frozenset({"whoami"})
"""Commands answered for anyone (before consent, paused, in the middle of a check-in too)
without changing where he is."""
COMMANDS = frozenset({"start", "help", "privacy", "language", "stop", "delete", "mysignups", "cancel", *ANY_MOMENT})


def _command(state: State, command: Command, ctx: Context) -> Step:
    name = command.name
    if name == "whoami":
        return say(state, _whoami_text(ctx))
    paused = ctx.participant is not None and ctx.participant.status == "stopped"
    if name not in COMMANDS and not paused:
        return _again(state, ctx, _("I don't know that command. Send /help to see what I can do."))
    if name == "start":
        return _start(state, ctx)
    if name == "help":
        return say(state, _help_text(ctx))
    if name == "privacy":
        return say(state, _privacy_text(ctx))
    if name == "language":
        state["after"] = "menu" if ctx.participant else "consent"
        return _ask(state, ctx, "language")
    if ctx.participant is None:
        return _again(state, ctx, _("You haven't signed up yet. Send /start to begin."))
    if name == "stop":
        return say(
            {"q": state.get("q", 0)},
            _(
                "Okay, I won't send you any more messages. Send /start whenever you want to "
                "hear from me again."
            ),
            effects=(SetStatus("stopped"),),
        )
    if name == "delete":
        return _ask(state, ctx, "erase")
    if paused:  # also for a command he cannot use while paused, or one we do not know
        return say(state, _("Your messages are paused. Send /start to turn them back on."))
    if name == "mysignups":
        if _has_seat(state, ctx):  # the menu under his groups offers "Add to my calendar"
            return _ask(state, ctx, "menu", _my_signups_text(ctx))
        return say(state, _my_signups_text(ctx))
    # /cancel
    if not _my_series(ctx):
        return say(state, _my_signups_text(ctx))
    return _ask(state, ctx, "leave")


def _choice(state: State, key: str, ctx: Context) -> Step:
    at = state["at"]
    if at == "language":
        return _language_chosen(state, buttons.LANGUAGE.value(key) or key, ctx)
    if at == "consent":
        return _consent(state, key == buttons.YES, ctx)
    if at == "name":  # only "skip" is a button here
        return _after_name(state, ctx)
    if at == "series":
        return _series_chosen(state, buttons.SERIES.number(key), ctx)
    if at == "waitlist":
        if key == buttons.WAIT:
            return _series_chosen(state, state["series"], ctx, waitlist_ok=True)
        return _ask(state, ctx, "series")
    if at == "area":
        index = buttons.AREA.value(key) or ""
        area = ctx.areas[int(index)] if index.isdigit() and int(index) < len(ctx.areas) else None
        return _confirm(state, ctx, effects=(SetArea(area),))
    if at == "leave":
        if key == buttons.KEEP:
            return _ask(state, ctx, "menu", _("Okay, nothing has changed."))
        return _leave(state, buttons.LEAVE.number(key), ctx)
    if at == "erase":
        if key == buttons.ERASE:
            return say(
                {},
                _("Everything is erased. Thank you for taking part. You are always welcome back: just send /start."),
                (EraseParticipant(),),
            )
        return _ask(state, ctx, "menu", _("Okay, nothing was erased."))
    return _menu_choice(state, key, ctx)


def _menu_choice(state: State, key: str, ctx: Context) -> Step:
    if key == MENU_JOIN:
        if not _open_series(ctx):
            return _ask(state, ctx, "menu", _no_series_text())
        return _ask(state, ctx, "series")
    if key == MENU_FRIEND:
        series_id = _friend_series(state, ctx)
        return _ask(state, ctx, "menu", effects=(ShareInvite(series_id),) if series_id else ())
    if key == MENU_MINE:
        return _ask(state, ctx, "menu", _my_signups_text(ctx))
    if key == MENU_CALENDAR:  # the files go first, the menu follows them
        return _ask(state, ctx, "menu", effects=(SendCalendar(),))
    if key == MENU_LANGUAGE:
        state["after"] = "menu"
        return _ask(state, ctx, "language")
    return _ask(state, ctx, "menu", _help_text(ctx))


def _language_chosen(state: State, language: str, ctx: Context) -> Step:
    after = state.pop("after", "consent" if ctx.participant is None else "menu")
    with use_locale(language):
        if ctx.participant is None:
            state, counted = _count({**state, "lang": language}, "language", language)
            return _ask(state, ctx, "consent", effects=counted)
        done = fill(_("Okay, from now on I will write in %(language)s."), language=language_in_text(language))
        return _ask(state, ctx, after, done, effects=(SetLanguage(language),))


def _consent(state: State, agreed: bool, ctx: Context) -> Step:
    if not agreed:
        return say(
            {},
            _("That's fine. I have not kept anything about you. If you change your mind, just send /start."),
            (ForgetConversation(),),
        )
    language = state.pop("lang", DEFAULT_LANGUAGE)
    state, counted = _count(state, "consent", language)
    return _ask(
        state,
        ctx,
        "name",
        _("Thank you!"),
        effects=(SaveParticipant(language, ctx.now), *counted),
    )


def _name_given(state: State, text: str, ctx: Context) -> Step:
    name = clean_name(text)
    if name is None:
        return _ask(
            state,
            ctx,
            "name",
            _("I couldn't use that as a name. Please write a short first name, or press Skip."),
        )
    return _after_name(state, ctx, fill(_("Nice to meet you, %(name)s!"), name=name), (SetName(name),))


def _after_name(
    state: State, ctx: Context, before: str | None = None, effects: tuple[Effect, ...] = ()
) -> Step:
    lines = [before] if before else []
    if not _open_series(ctx):
        return _ask(state, ctx, "menu", *lines, _no_series_text(), effects=effects)
    return _ask(state, ctx, "series", *lines, effects=effects)


def _series_chosen(state: State, series_id: int, ctx: Context, *, waitlist_ok: bool = False) -> Step:
    """Take a seat if one is free; a full series offers (or, once accepted, takes) a place
    on the waiting list. Re-checked on every answer: the series may have changed meanwhile."""
    if ctx.participant is None:  # erased meanwhile: a sign-up needs his consent again
        return _start(state, ctx)
    series = ctx.series_by_id(series_id)
    if series is None or series not in _open_series(ctx):
        return _ask(state, ctx, "series", _("Sorry, that conversation group is no longer open."))
    if any(s.series_id == series_id for s in ctx.participant.signups):
        return _ask(
            state, ctx, "menu", fill(_("You are already signed up for %(series)s."), series=series.name)
        )
    if series.seats_left == 0 and not waitlist_ok:
        return _ask({**state, "series": series_id}, ctx, "waitlist")
    return _take_place(
        state, series_id, ctx, waitlist=series.seats_left == 0, area_known=ctx.participant.area is not None
    )


def _take_place(state: State, series_id: int, ctx: Context, *, waitlist: bool, area_known: bool) -> Step:
    invite = state.pop("invite", None) or {}
    source = invite.get("source") if invite.get("series") == series_id else None
    state, counted = _count({**state, "series": series_id, "waitlist": waitlist}, "series", language_of(state, ctx))
    if not waitlist:
        state["friend"] = series_id
    effects: tuple[Effect, ...] = (SignUp(series_id, waitlist=waitlist, source=source), *counted)
    if not area_known and not state.get("area_asked"):
        return _ask({**state, "area_asked": True}, ctx, "area", effects=effects)
    return _confirm(state, ctx, effects)


def _confirm(state: State, ctx: Context, effects: tuple[Effect, ...] = ()) -> Step:
    series = ctx.series_by_id(state.pop("series", -1))
    waitlist = state.pop("waitlist", False)
    state, counted = _count(state, "finished", language_of(state, ctx))
    state.pop(funnel.MARKER, None)  # his sign-up is done: the funnel follows him no further
    effects = (*effects, *counted)
    if series is None:
        return _ask(state, ctx, "menu", effects=effects)
    if waitlist:
        text = fill(
            _(
                "You are on the waiting list for %(series)s (number %(position)s). I will let "
                "you know as soon as a seat opens up."
            ),
            series=series.name,
            position=_waitlist_place(series, ctx),
        )
    elif series.next_meeting is None:  # its last meeting began while he chose his area
        text = fill(_("%(series)s: no more meetings planned"), series=series.name)
    else:
        text = fill_place(
            N_(
                "You are signed up for %(series)s! The next meeting is on %(when)s at "
                "%(place)s. I will send you a reminder before each meeting. See you there!"
            ),
            N_(
                "You are signed up for %(series)s! The next meeting is on %(when)s. I will "
                "send you a reminder before each meeting. See you there!"
            ),
            series.location,
            series=series.name,
            when=meeting_time(series.next_meeting, ctx.timezone),
        )
    if not waitlist:
        state[SEAT_TAKEN] = True
    return _ask(state, ctx, "menu", text, effects=effects)


def _count(state: State, step: str, language: str) -> tuple[State, tuple[CountStep, ...]]:
    """Count ``step`` of the sign-up funnel, once per conversation (``dialogs.funnel``)."""
    marker, counted = funnel.reach(state.get(funnel.MARKER), funnel.SIGNUP, step, language)
    if marker is None:
        return state, ()
    return {**state, funnel.MARKER: marker}, counted


def _waitlist_place(series: SeriesView, ctx: Context) -> int:
    """His place on the list: stored already if he signed up in an earlier turn."""
    mine = next((s for s in _signups(ctx) if s.series_id == series.id), None)
    if mine is not None and mine.waitlist_position is not None:
        return mine.waitlist_position
    return series.waitlisted + 1


def _leave(state: State, series_id: int, ctx: Context) -> Step:
    series = next((s for s in _my_series(ctx) if s.id == series_id), None)
    if series is None:
        return _ask(state, ctx, "menu", _("You are not signed up for that conversation group."))
    return _ask(
        state,
        ctx,
        "menu",
        fill(_("You have left %(series)s. You are welcome back any time."), series=series.name),
        effects=(LeaveSeries(series_id),),
    )


# --- Texts built from the context ----------------------------------------------------------


def clean_name(text: str) -> str | None:
    """A first name fit to store, or ``None``: letters of any script (with their marks),
    digits, spaces, hyphens, apostrophes and dots; at least one letter; one line of at most
    ``NAME_MAX`` characters. Invisible formatting characters (such as RTL marks) are dropped."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    name = " ".join(visible.split())
    if not name or len(name) > NAME_MAX or not any(ch.isalpha() for ch in name):
        return None
    if not all(unicodedata.category(ch)[0] in "LMN" or ch in NAME_PUNCTUATION for ch in name):
        return None
    return name


def _open_series(ctx: Context) -> tuple[SeriesView, ...]:
    """Series one can join: open, with a meeting still ahead."""
    return tuple(s for s in ctx.series if s.open and s.next_meeting is not None)


def _signups(ctx: Context) -> tuple[SignupView, ...]:
    """His sign-ups; none before he has consented (there is no participant yet)."""
    return ctx.participant.signups if ctx.participant else ()


def _my_series(ctx: Context) -> list[SeriesView]:
    mine = {s.series_id for s in _signups(ctx)}
    return [s for s in ctx.series if s.id in mine]


def _series_line(series: SeriesView, ctx: Context) -> str:
    seats = Phrase(
        fill(
            ngettext("%(count)s seat left", "%(count)s seats left", series.seats_left),
            count=series.seats_left,
        )
        if series.seats_left
        else _("full, waiting list open")
    )
    place = "" if series.place_private else series.location  # a living-room talk: after sign-up
    if series.one_off and series.next_meeting is not None:
        return fill_place(
            N_("%(series)s: once, on %(when)s, %(place)s (%(seats)s)"),
            N_("%(series)s: once, on %(when)s (%(seats)s)"),
            place,
            series=series.name,
            when=meeting_time(series.next_meeting, ctx.timezone),
            seats=seats,
        )
    when = {"series": series.name, "weekday": weekday_name(series.weekday), "time": clock(series.start_time)}
    return fill_place(
        N_("%(series)s: every %(weekday)s at %(time)s, %(place)s (%(seats)s)"),
        N_("%(series)s: every %(weekday)s at %(time)s (%(seats)s)"),
        place,
        seats=seats,
        **when,
    )


def _no_series_text() -> str:
    return _("There is no open conversation group right now. I will let you know when a new one starts.")


def _my_signups_text(ctx: Context) -> str:
    by_id = {s.id: s for s in ctx.series}
    lines = []
    for signup in _signups(ctx):
        series = by_id.get(signup.series_id)
        if series is None:
            continue
        if signup.status == "waitlist":
            lines.append(
                fill(
                    _("%(series)s: waiting list, number %(position)s"),
                    series=series.name,
                    position=signup.waitlist_position,
                )
            )
        elif series.next_meeting is not None:
            lines.append(
                fill_place(
                    N_("%(series)s: next meeting %(when)s at %(place)s"),
                    N_("%(series)s: next meeting %(when)s"),
                    series.location,
                    series=series.name,
                    when=meeting_time(series.next_meeting, ctx.timezone),
                )
            )
        else:
            lines.append(fill(_("%(series)s: no more meetings planned"), series=series.name))
    if not lines:
        return _("You are not signed up for any conversation group yet. Send /start to choose one.")
    return "\n".join([_("Your conversation groups:"), *("• " + line for line in lines)])


def _help_text(ctx: Context) -> str:
    return "\n".join(
        [
            fill(
                _("I am the automated assistant of %(organisation)s, not a person. You can use:"),
                organisation=ctx.organisation,
            ),
            _("/start – join a conversation group"),
            _("/mysignups – my conversation groups and the next meeting"),
            _("/cancel – leave a conversation group"),
            _("/checkin – a few anonymous questions"),
            _("/listen – what keeps you away, what would interest you (anonymous)"),
            _("/language – choose another language"),
            _("/stop – pause all messages"),
            _("/delete – erase my data"),
            _("/privacy – what happens with my data"),
            _("/whoami – how this chat knows me (for coordinators)"),
            *_coordinator_help(ctx),
            _("For other questions, talk to the coordinator at the meeting."),
        ]
    )


def _whoami_text(ctx: Context) -> str:
    """His chat address exactly as ``meedoen coordinator add`` takes it, on a line of its own
    so that it can be copied, and who it is for."""
    return fill(
        _(
            "This is how this chat knows you:\n%(address)s\nAre you a coordinator? Give this line to your "
            "organisation, and they can add you."
        ),
        address=ctx.chat_address,
    )


def _coordinator_help(ctx: Context) -> list[str]:
    """A coordinator's (or facilitator's) ``/help`` also lists his own commands (nobody else
    sees them)."""
    lines = []
    if ctx.is_coordinator:
        lines += ["", _("As a coordinator you can also use:"), *(_(line) for _name, line in COORDINATOR_HELP)]
    if ctx.facilitator is not None:
        own = [line for name, line in FACILITATOR_HELP if not (ctx.is_coordinator and name in COORDINATOR_COMMANDS)]
        lines += ["", _("As a facilitator you can also use:"), *(_(line) for line in own)]
    return lines


def _privacy_text(ctx: Context) -> str:
    return fill(
        _(
            "I keep only what is needed to sign you up: your phone number or Telegram name, your "
            "language and, "
            "if you gave them, a first name and your area, plus your sign-ups. Only the "
            "coordinators of %(organisation)s see this; it is never shared. /stop pauses all "
            "messages. /delete erases everything about you for good."
        ),
        organisation=ctx.organisation,
    ) + "\n" + _(
        "If you came through an invitation link or a flyer, we only count how many people signed "
        "up through it. Where you came from is not kept with your name."
    ) + "\n" + _(
        "You can also answer a few anonymous questions with /listen, without signing up. Your "
        "answers are kept without your name, number or date. A coded mark of this chat makes "
        "sure you are asked only once; /delete erases it."
    )


def join_series(state: State, series_id: int, ctx: Context) -> Step:
    """An invite's "Sign me up": a seat if one is free, else the waiting list."""
    return _series_chosen({**state, "at": "series"}, series_id, ctx, waitlist_ok=True)
