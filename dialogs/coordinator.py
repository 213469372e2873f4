"""The coordinator's commands, in his own chat: who is coming (``/rsvps``), who was there
(``/attendance``), an invite to many (``/broadcast``, with a voice message per language if he
records one), a series' recorded reminders (``/voice``), the anonymous report (``/report``),
a series' flyers (``/flyer``) and the statements poll on demand (``/statements``).

The router sends these only for coordinators (and ``/rsvps``, ``/attendance`` and ``/flyer``
for facilitators, limited to their series, see ``dialogs.facilitator``).
The flow keeps its data under ``state["coordinator"]``; its buttons carry keys starting with
``co:`` and the shared question number, so a button from an earlier question is stale.
"""

from __future__ import annotations

from typing import Any

from dialogs import buttons
from dialogs.anonymity import MIN_GROUP
from dialogs.formatting import LANGUAGE_NAMES, language_in_text, meeting_time
from dialogs.i18n import FSI, N_, PDI, _, fill, ngettext
from dialogs.speech import ask, say
from dialogs.typed import match_option
from dialogs.types import (
    LANGUAGES,
    BadButton,
    ChoiceMade,
    Command,
    Context,
    CoordinatorMeeting,
    Effect,
    Event,
    MarkAttendance,
    OfferStatements,
    OpenConsole,
    Option,
    QueueBroadcast,
    Reply,
    RsvpLine,
    SendFlyers,
    SendReport,
    SeriesView,
    SetSeriesVoice,
    State,
    Step,
    Text,
    Unsupported,
    VoiceNote,
)

HELP = (
    ("rsvps", N_("/rsvps – who is coming to the next meetings")),
    ("attendance", N_("/attendance – tick who was there")),
    ("broadcast", N_("/broadcast – send a message to many people")),
    ("voice", N_("/voice – record a reminder as a voice message")),
    ("report", N_("/report – the anonymous report")),
    ("console", N_("/console – a link to the web console")),
    ("flyer", N_("/flyer – flyers with QR codes for a group, in every language")),
    ("statements", N_("/statements – ask a group's men the statements now")),
)
"""The coordinator commands, as ``/help`` lists them to a coordinator."""

COMMANDS = frozenset(name for name, _line in HELP)
BROADCAST_LIMIT = 3000  # characters per language; well within every platform's limit
FLOW = "coordinator"
VOICE_SECONDS = 60  # bot.common.audio.MAX_SECONDS: dialogs import nothing from bot
VOICE_STEPS = ("voice", "sv_record")
"""The questions a voice message answers: a broadcast language's, a series' reminder's."""


def wants_voice(state: State) -> bool:
    """Is this chat's coordinator flow waiting for a voice message? Only then does the engine
    fetch and keep the one he sends."""
    return state.get("flow") == FLOW and state.get(FLOW, {}).get("at") in VOICE_STEPS


def voice_problem(kind: str) -> str:
    """Why a voice message cannot be used, in one sentence that says what to do
    (``bot.common.audio.PROBLEMS``); for the chat and the console."""
    if kind == "too_long":
        return fill(
            _("That voice message is too long. Please keep it under %(seconds)s seconds and record it again."),
            seconds=VOICE_SECONDS,
        )
    if kind == "too_big":
        return _("That sound file is too large. Please record a shorter voice message.")
    if kind == "no_converter":
        return _("I can only take voice messages recorded in the chat, or .ogg files. Please record one.")
    if kind == "lost":
        return _("That voice message was lost during a restart. Please record it again.")
    return _("I could not play that sound file. Please record a voice message in the chat.")


def handle(state: State, event: Event, ctx: Context) -> Step:
    if isinstance(event, Command):
        return _command(state, event.name, ctx, event.argument)
    data = state.get(FLOW, {})
    at = data.get("at")
    if at is None:
        return _end(state, _("Send /broadcast, /rsvps, /attendance or /report."))
    if isinstance(event, VoiceNote):
        return _voice_given(state, event, ctx)
    if isinstance(event, (Unsupported, BadButton)):
        return _ask(state, ctx, _("Sorry, I could not read that."))
    if isinstance(event, ChoiceMade):
        if event.question != state.get("q"):
            return _ask(state, ctx, _("That button belongs to an earlier question. Here is the current one."))
        if event.key not in {o.key for o in _question(state, ctx)[1]}:
            return _ask(state, ctx, _("Sorry, that choice is no longer available."))
        return _choice(state, event.key, ctx)
    if isinstance(event, Text):
        if at in ("text_nl", "text_other"):
            return _text_given(state, event.text, ctx)
        key = match_option(event.text, _question(state, ctx)[1])
        if key is not None:
            return _choice(state, key, ctx)
        return _ask(state, ctx, _("Please choose one of the buttons."))
    return Step(state)  # a timer: nothing to say


# --- commands --------------------------------------------------------------------------------


def _command(state: State, name: str, ctx: Context, argument: str = "") -> Step:
    if name == "rsvps":
        return _end(state, _rsvps_text(ctx))
    if name == "report":
        return _end(state, fill(_("Here is the report. It only shows groups of %(min)s or more people."), min=MIN_GROUP), (SendReport(),))
    if name == "console":  # the engine makes the link and answers with it
        return Step({k: v for k, v in state.items() if k not in ("flow", FLOW)}, (OpenConsole(),))
    if name == "flyer":
        groups = _flyer_series(ctx)
        if not groups:
            return _end(state, _("There is no open conversation group right now."))
        if len(groups) == 1 and not ctx.is_coordinator:  # a facilitator's one group: no question
            return _end(state, _flyers_coming(), (SendFlyers(groups[0].id),))
        return _start(state, ctx, {"at": "flyer"})
    if name == "statements":
        if not _statement_groups(ctx):
            return _end(state, _("There is no conversation group right now."))
        return _start(state, ctx, {"at": "statements"})
    if name == "attendance":
        meetings = ctx.coordinator.last_meetings if ctx.coordinator else ()
        if not meetings:
            return _end(state, _("No meeting has taken place yet."))
        return _start(state, ctx, {"at": "attendance_meeting"})
    if name == "voice":
        if not _voice_series(ctx):
            return _end(state, _("There is no conversation group with meetings ahead."))
        return _start(state, ctx, {"at": "sv_series"})
    return _start_broadcast(state, ctx, argument)


def _start_broadcast(state: State, ctx: Context, text: str) -> Step:
    """``/broadcast`` alone asks for everything; ``/broadcast Hello all`` takes "Hello all"
    as the Dutch text and does not ask for it again."""
    data = {"at": "audience", "audiences": []}
    body = text.strip()
    if not body:
        return _start(state, ctx, data)
    if len(body) > BROADCAST_LIMIT:
        return _ask({**state, "flow": FLOW, FLOW: data}, ctx, _too_long())
    return _start(state, ctx, {**data, "texts": {"nl": body}})


def _too_long() -> str:
    return fill(_("That is too long. Please keep it under %(limit)s characters."), limit=BROADCAST_LIMIT)


def _start(state: State, ctx: Context, data: dict[str, Any]) -> Step:
    return _ask({**state, "flow": FLOW, FLOW: data}, ctx)


def _end(state: State, text: str, effects: tuple[Effect, ...] = ()) -> Step:
    return say({k: v for k, v in state.items() if k not in ("flow", FLOW)}, text, effects)


DONE = buttons.COORDINATOR.key("done")
NEXT = buttons.COORDINATOR.key("next")
SKIP = buttons.COORDINATOR.key("skip")
SEND = buttons.COORDINATOR.key("send")
CANCEL = buttons.COORDINATOR.key("cancel")
NO_INVITE = buttons.BROADCAST_INVITE.key(buttons.NONE)
NO_VOICE = buttons.COORDINATOR.key("novoice")  # no voice message for this language
REMOVE_VOICE = buttons.COORDINATOR.key("vrm")  # remove a series' recorded reminder


# --- questions --------------------------------------------------------------------------------


def _question(state: State, ctx: Context) -> tuple[str, tuple[Option, ...]]:
    data = state[FLOW]
    at = data["at"]
    view = ctx.coordinator
    if at == "attendance_meeting":
        return (
            _("Which meeting do you want to take attendance for?"),
            tuple(
                Option(f"{m.series_name} · {meeting_time(m.starts_at, ctx.timezone)}", buttons.MEETING.key(m.id))
                for m in (view.last_meetings if view else ())
            ),
        )
    if at == "attendance":
        meeting = _meeting(ctx, data["meeting"])
        lines = meeting.lines if meeting else ()
        return (
            _("Tap each man who was there. Tap again to undo. Press Done when ready."),
            (
                *(
                    Option(("✅ " if line.present else "◻️ ") + (line.name or _("(no name)")), buttons.PRESENT.key(line.participant_id))
                    for line in lines
                ),
                Option(_("Done"), DONE),
            ),
        )
    if at == "audience":
        chosen = data["audiences"]
        options = [Option(_label(key, ctx), buttons.AUDIENCE.key(key)) for key in _audience_keys(ctx) if key not in chosen]
        if chosen:
            options.append(Option(_("Continue"), NEXT))
        text = _("Who should get this message?")
        if chosen:
            text = "\n".join(
                [
                    _("Chosen so far:"),
                    *("• " + _label(key, ctx) for key in chosen),
                    _("Add another group, or continue."),
                ]
            )
        return text, tuple(options)
    if at == "text_nl":
        return _("Write the message in Dutch."), ()
    if at == "text_other":
        language = data["language"]
        return (
            fill(_("Now the same message in %(language)s, or press Skip."), language=language_in_text(language)),
            (Option(_("Skip"), SKIP),),
        )
    if at == "flyer":
        return (
            _("Flyers for which conversation group?"),
            tuple(Option(s.name[:60], buttons.FLYERS.key(s.id)) for s in _flyer_series(ctx)),
        )
    if at == "voice":
        return (
            fill(
                _("Press the microphone and record the %(language)s version as a voice message "
                  "(at most %(seconds)s seconds), or press Skip."),
                language=language_in_text(data["language"]),
                seconds=VOICE_SECONDS,
            ),
            (Option(_("Skip"), "co:novoice"),),
        )
    if at.startswith("sv_"):
        return _series_voice_question(data, ctx)
    if at == "statements":
        return (
            _("Ask the statements in which conversation group?"),
            tuple(Option(name[:60], buttons.STATEMENTS_SERIES.key(series_id)) for series_id, name in _statement_groups(ctx).items()),
        )
    if at == "statements_phase":
        return (
            _("Is this the start or the end of the group?"),
            (
                Option(_("The start (before)"), buttons.STATEMENTS_PHASE.key("before")),
                Option(_("The end (after)"), buttons.STATEMENTS_PHASE.key("after")),
            ),
        )
    if at == "invite":
        return (
            _("Add a “Sign me up” button for a conversation group?"),
            (
                *(Option(s.name[:60], buttons.BROADCAST_INVITE.key(s.id)) for s in ctx.series if s.open),
                Option(_("No button"), NO_INVITE),
            ),
        )
    return _preview(data, ctx)


def _preview(data: dict[str, Any], ctx: Context) -> tuple[str, tuple[Option, ...]]:
    count = ctx.coordinator.selected_count if ctx.coordinator else 0
    lines = [
        fill(
            ngettext(
                "This message will go to %(count)s person.",
                "This message will go to %(count)s people.",
                count,
            ),
            count=count,
        )
    ]
    for language in LANGUAGES:
        text = data["texts"].get(language)
        shown = text if text else _("(the Dutch text, with a note)")
        # The label is isolated: "[العربية]" in a Dutch message would otherwise take the
        # brackets into the Arabic run and show them the wrong way round.
        lines.append(f"\n[{FSI}{LANGUAGE_NAMES[language]}{PDI}]\n{shown}")
        voice = data.get("voices", {}).get(language)
        if voice:
            lines.append("🎙 " + fill(_("With a voice message (%(seconds)s s)."), seconds=voice[1]))
    if data.get("invite"):
        series = ctx.series_by_id(data["invite"])
        if series is not None:
            lines.append("\n" + fill(_("With a “Sign me up” button for %(series)s."), series=series.name))
    return "\n".join(lines), (Option(_("Send"), SEND), Option(_("Cancel"), CANCEL))


def _ask(state: State, ctx: Context, *before: str) -> Step:
    return ask(state, lambda numbered: _question(numbered, ctx), *before)


# --- answers --------------------------------------------------------------------------------


def _choice(state: State, key: str, ctx: Context) -> Step:
    data = dict(state[FLOW])
    state = {**state, FLOW: data}
    if key == CANCEL:
        return _end(state, _("Cancelled. Nothing was sent."))
    if (meeting_id := buttons.MEETING.value(key)) is not None:
        data.update(at="attendance", meeting=int(meeting_id))
        return _ask(state, ctx)
    if (participant_id := buttons.PRESENT.value(key)) is not None:
        meeting = _meeting(ctx, data["meeting"])
        line = next((entry for entry in meeting.lines if entry.participant_id == int(participant_id)), None) if meeting else None
        if meeting is None or line is None:  # the meeting list moved on meanwhile (a newer meeting began)
            return _end(state, _("Sorry, that choice is no longer available."))
        return _toggle(state, ctx, meeting, line)
    if key == DONE:
        return _end(state, _("Thank you, attendance is saved."))
    if (audience := buttons.AUDIENCE.value(key)) is not None:
        data["audiences"] = [*data["audiences"], audience]
        return _ask(state, ctx)
    if key == NEXT:
        if "nl" in data.get("texts", {}):  # given with the command: /broadcast TEXT
            data.update(at="voice", language="nl")
            return _ask(state, ctx)
        data.update(at="text_nl", texts={})
        return _ask(state, ctx)
    if key in (SKIP, NO_VOICE):
        return _next_language(state, ctx)
    if (series_id := buttons.STATEMENTS_SERIES.value(key)) is not None:
        data.update(at="statements_phase", series=int(series_id))
        return _ask(state, ctx)
    if (phase := buttons.STATEMENTS_PHASE.value(key)) is not None:
        return _end(
            state, _("I am offering the statements to the men of this group now."),
            (OfferStatements(data["series"], phase),),
        )
    if (series_id := buttons.VOICE_SERIES.value(key)) is not None:
        data.update(at="sv_language", series=int(series_id))
        return _ask(state, ctx)
    if (language := buttons.VOICE_LANGUAGE.value(key)) is not None:
        data.update(at="sv_record", language=language)
        return _ask(state, ctx)
    if key == REMOVE_VOICE:
        removal = SetSeriesVoice(data["series"], data["language"], None)
        return _end(state, _("Removed. The reminders go out as text only in that language."), (removal,))
    if (series_id := buttons.FLYERS.value(key)) is not None:
        return _end(state, _flyers_coming(), (SendFlyers(int(series_id)),))
    if (series_id := buttons.BROADCAST_INVITE.value(key)) is not None:
        data.update(at="preview", invite=None if key == NO_INVITE else int(series_id))
        return _ask(state, ctx)
    if key == SEND:
        voices = {language: clip for language, (clip, _seconds) in data.get("voices", {}).items()}
        effect = QueueBroadcast(tuple(data["audiences"]), dict(data["texts"]), data.get("invite"), voices)
        return _end(state, _("Sending now. I will tell you here how it goes."), (effect,))
    return _ask(state, ctx, _("Sorry, that choice is no longer available."))


def _toggle(state: State, ctx: Context, meeting: CoordinatorMeeting, line: RsvpLine) -> Step:
    """Mark him present or absent, and show the list again as it will be."""
    present = not line.present
    step = _ask(state, ctx)
    reply = step.effects[0]
    assert isinstance(reply, Reply)  # _ask's one effect is the question
    mark = "✅ " if present else "◻️ "
    options = tuple(
        Option(mark + o.label[2:].lstrip(), o.key) if o.key == buttons.PRESENT.key(line.participant_id) else o
        for o in reply.options
    )
    return Step(
        step.state,
        (MarkAttendance(meeting.id, line.participant_id, present), Reply(reply.text, options, reply.question)),
    )


def _text_given(state: State, text: str, ctx: Context) -> Step:
    data = dict(state[FLOW])
    state = {**state, FLOW: data}
    body = text.strip()
    if not body:
        return _ask(state, ctx, _("That message is empty. Please write it again."))
    if len(body) > BROADCAST_LIMIT:
        return _ask(state, ctx, _too_long())
    language = "nl" if data["at"] == "text_nl" else data["language"]
    data["texts"] = {**data["texts"], language: body}
    data.update(at="voice", language=language)
    return _ask(state, ctx)


def _voice_given(state: State, event: VoiceNote, ctx: Context) -> Step:
    """A voice message: a broadcast language's version, or a series' reminder."""
    data = dict(state[FLOW])
    state = {**state, FLOW: data}
    if data["at"] not in VOICE_STEPS:
        return _ask(state, ctx, _("I can only use a voice message where I ask for one."))
    if event.clip_id is None:
        return _ask(state, ctx, voice_problem(event.problem))
    if data["at"] == "voice":
        data["voices"] = {**data.get("voices", {}), data["language"]: [event.clip_id, event.seconds]}
        return _next_language(state, ctx)
    if data["series"] not in dict(_voice_series(ctx)):  # a facilitator no longer of that series
        return _end(state, _("Sorry, that choice is no longer available."))
    series = _series_name(ctx, data["series"])
    text = fill(
        _("Saved. The reminders for %(series)s in %(language)s now come with your voice message."),
        series=series,
        language=language_in_text(data["language"]),
    )
    return _end(state, text, (SetSeriesVoice(data["series"], data["language"], event.clip_id),))


def _voice_series(ctx: Context) -> list[tuple[int, str]]:
    """The series a reminder can be recorded for: open ones and those with meetings ahead; for
    a facilitator who is no coordinator, only his own (the engine checks each again)."""
    found = {s.id: s.name for s in ctx.series}
    for meeting in ctx.coordinator.next_meetings if ctx.coordinator else ():
        found.setdefault(meeting.series_id, meeting.series_name)
    if not ctx.is_coordinator:
        mine = ctx.facilitator.series_ids if ctx.facilitator else ()
        found = {series_id: name for series_id, name in found.items() if series_id in mine}
    return sorted(found.items())


def _series_name(ctx: Context, series_id: int) -> str:
    return dict(_voice_series(ctx)).get(series_id, "?")


def _series_voice_question(data: dict[str, Any], ctx: Context) -> tuple[str, tuple[Option, ...]]:
    at = data["at"]
    cancel = Option(_("Cancel"), "co:cancel")
    if at == "sv_series":
        return (
            _("Which conversation group is the voice reminder for?"),
            (*(Option(name[:60], f"co:vs:{series_id}") for series_id, name in _voice_series(ctx)), cancel),
        )
    recorded = ctx.coordinator.series_voices.get(data["series"], ()) if ctx.coordinator else ()
    if at == "sv_language":
        return (
            _("In which language? 🎙 marks a language that has a voice reminder already."),
            (
                *(
                    Option(LANGUAGE_NAMES[code] + (" 🎙" if code in recorded else ""), f"co:vl:{code}")
                    for code in LANGUAGES
                ),
                cancel,
            ),
        )
    values = {
        "series": _series_name(ctx, data["series"]),
        "language": language_in_text(data["language"]),
        "seconds": VOICE_SECONDS,
    }
    if data["language"] in recorded:
        return (
            fill(
                _("The reminders for %(series)s in %(language)s have a voice message. Record a new one "
                  "(at most %(seconds)s seconds) to replace it, or remove it."),
                **values,
            ),
            (Option(_("Remove"), "co:vrm"), cancel),
        )
    return (
        fill(
            _("Press the microphone and record the reminder for %(series)s in %(language)s "
              "(at most %(seconds)s seconds). It goes with every reminder, after the text."),
            **values,
        ),
        (cancel,),
    )


def _next_language(state: State, ctx: Context) -> Step:
    data = state[FLOW]
    done = set(data["texts"]) | set(data.get("skipped", []))
    if data["at"] == "text_other":
        done.add(data["language"])
        data["skipped"] = sorted(done - set(data["texts"]))
    remaining = [language for language in LANGUAGES if language not in done]
    if remaining:
        data.update(at="text_other", language=remaining[0])
    else:
        data["at"] = "invite"
    return _ask(state, ctx)


# --- texts ------------------------------------------------------------------------------------


def _statement_groups(ctx: Context) -> dict[int, str]:
    """The groups a coordinator may ask the statements: those with a meeting behind or ahead
    (a group just ended is asked "after"; the engine refuses one whose answers are final)."""
    view = ctx.coordinator
    meetings = (*view.last_meetings, *view.next_meetings) if view else ()
    return dict(sorted({m.series_id: m.series_name for m in meetings}.items()))


def _meeting(ctx: Context, meeting_id: int) -> CoordinatorMeeting | None:
    view = ctx.coordinator
    meetings = (*view.last_meetings, *view.next_meetings) if view else ()
    return next((m for m in meetings if m.id == meeting_id), None)


def _flyer_series(ctx: Context) -> list[SeriesView]:
    """The open series whose flyers he may have: every one for a coordinator, his own for a
    facilitator (the engine checks again)."""
    mine = ctx.facilitator.series_ids if ctx.facilitator is not None and not ctx.is_coordinator else None
    return [s for s in ctx.series if s.open and (mine is None or s.id in mine)]


def _flyers_coming() -> str:
    return _("Making the flyers, one for each language. They will be here in a moment.")


def _audience_keys(ctx: Context) -> list[str]:
    keys = ["all"]
    for series in ctx.series:
        keys += [f"series:{series.id}", f"waitlist:{series.id}"]
    keys += [f"language:{code}" for code in LANGUAGES]
    keys += [f"area:{n}" for n in range(len(ctx.areas))]
    keys.append("noshow")
    return keys


def _label(key: str, ctx: Context) -> str:
    kind, _sep, value = key.partition(":")
    size = ctx.coordinator.audience_sizes.get(key, 0) if ctx.coordinator else 0
    if kind == "all":
        name = _("Everyone")
    elif kind in ("series", "waitlist"):
        series = ctx.series_by_id(int(value))
        title = series.name if series else "?"
        name = title if kind == "series" else fill(_("Waiting list of %(series)s"), series=title)
    elif kind == "language":
        name = fill(_("Everyone who reads %(language)s"), language=language_in_text(value))
    elif kind == "area":
        name = ctx.areas[int(value)]
    else:
        name = _("Signed up but never came")
    return f"{name} ({size})"


def _rsvps_text(ctx: Context) -> str:
    meetings = ctx.coordinator.next_meetings if ctx.coordinator else ()
    if not meetings:
        return _("There is no meeting planned.")
    blocks = []
    for meeting in meetings:
        groups: dict[str | None, list[str]] = {"coming": [], "not_coming": [], None: []}
        for line in meeting.lines:
            groups[line.answer].append(line.name or _("(no name)"))
        blocks.append(
            "\n".join(
                [
                    fill(
                        _("%(series)s, %(when)s:"),
                        series=meeting.series_name,
                        when=meeting_time(meeting.starts_at, ctx.timezone),
                    ),
                    fill(_("Coming (%(count)s): %(names)s"), count=len(groups["coming"]), names=", ".join(groups["coming"]) or "—"),
                    fill(_("Can't come (%(count)s): %(names)s"), count=len(groups["not_coming"]), names=", ".join(groups["not_coming"]) or "—"),
                    fill(_("No answer yet (%(count)s): %(names)s"), count=len(groups[None]), names=", ".join(groups[None]) or "—"),
                ]
            )
        )
    return "\n\n".join(blocks)
