"""The research note (``meedoen research-note``): a document a policy maker reads in ten minutes.

Built only from what the report shows (``bot.analytics.report.Report``: check-ins, sign-ups,
attendance, the listening poll, the statements before and after) and from two more tables of
counts, each protected by the same rule of ``MIN_GROUP`` (``bot.analytics.suppression``) before
anything is drawn: attendance at meetings 1–6 of each series (the cohort curve) and the themes
the facilitators ticked. It never holds free text: not a man's, and not the facilitators'
outcomes, exercises or follow-up notes. Pure: figures in, HTML out; the PDF is drawn from the
same sections by ``bot.analytics.research_note_pdf``.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Final, Literal, TypeAlias

from babel.dates import format_date

from bot.analytics.report import (
    ALL,
    NO_AREA,
    Report,
    area_cell,
    area_key,
    language_cell,
    language_key,
    month_key,
    protected_column,
    sum_shown,
)
from dialogs.anonymity import MIN_GROUP
from dialogs.formatting import LANGUAGE_NAMES
from dialogs.i18n import N_, _, fill, gettext, use_locale
from dialogs.listening import QUESTIONS
from dialogs.meeting_report import THEME_LABELS

MEETINGS_FOLLOWED = 6
TEMPLATE = Path(__file__).parent / "templates" / "research_note.html"
RTL = {"ar"}


# --- Figures ----------------------------------------------------------------------------------------


UNRECORDED: Final = "unrecorded"
"""A cohort cell for a meeting that was held but whose attendance nobody ticked."""

Attendance: TypeAlias = int | None | Literal["unrecorded"]
"""A cohort cell: men present, None when hidden, or ``UNRECORDED``."""


@dataclass(frozen=True)
class Cohorts:
    """Men present at meetings 1..6: ``rows`` series id → (name, counts; None hidden,
    ``UNRECORDED`` for a meeting held without attendance ticked, and a meeting not held yet is
    missing from the end); ``total`` per meeting over the series that recorded it."""

    rows: dict[int, tuple[str, tuple[Attendance, ...]]]
    total: tuple[Attendance, ...]


@dataclass(frozen=True)
class Note:
    first: str  # YYYY-MM
    last: str
    report: Report  # restricted to the period's months (``for_period``)
    cohorts: Cohorts
    in_period: frozenset[int]  # the series that started in the period: the rows the note lists
    themes: dict[str, int | None]  # theme key → forms that ticked it; None: hidden
    themes_total: int | None  # forms with any theme, None: hidden (or none)


def for_period(report: Report, first: str, last: str) -> Report:
    """The report over the closed months ``first`` .. ``last`` only; its totals are again sums
    of the months' shown figures, so they tell nothing the months do not."""
    months = tuple(m for m in report.months if first <= m <= last)
    cells = {key: value for key, value in report.cells.items()
             if key[0] in ("month", "area", "language") and key[1] in months}
    totals = {
        ALL: [cells.get(month_key(m)) for m in months],
        **{area_key(a): [cells.get(area_cell(m, a)) for m in months] for a in report.areas},
        **{language_key(lang): [cells.get(language_cell(m, lang)) for m in months] for lang in report.languages},
    }
    for key, parts in totals.items():
        total = sum_shown([part for part in parts if part is not None])
        if total is not None:
            cells[key] = total
    return replace(report, months=months, cells=cells)


def protect_cohorts(raw: dict[int, tuple[str, list[int | None]]]) -> Cohorts:
    """Each meeting number is a row of counts over the series that held it and recorded who
    came (None in ``raw``: held, nobody ticked): a count shows when it and what the others
    leave of the total are ``MIN_GROUP`` men or more (``protect_counts``, the same rule as the
    report's sign-ups). An unrecorded meeting is left out of its total rather than counted as
    nobody, which would show men dropping out who may all have come."""
    counts: dict[int, list[Attendance]] = {sid: [] for sid in raw}
    total: list[Attendance] = []
    for k in range(MEETINGS_FOLLOWED):
        held = [sid for sid, (_name, present) in raw.items() if len(present) > k]
        if not held:
            break
        recorded = {sid: n for sid in held if (n := raw[sid][1][k]) is not None}
        column = protected_column(recorded, list(recorded)) if recorded else {}
        for sid in held:
            counts[sid].append(column[sid] if sid in recorded else UNRECORDED)
        total.append(column[None] if recorded else UNRECORDED)
    return Cohorts({sid: (raw[sid][0], tuple(counts[sid])) for sid in raw}, tuple(total))


def protect_themes(counts: dict[str, int]) -> tuple[dict[str, int | None], int | None]:
    keys = list(THEME_LABELS)
    column = protected_column({key: counts.get(key, 0) for key in keys}, keys)
    return {key: column[key] for key in keys}, column[None]


def build(report: Report, first: str, last: str, cohorts: dict[int, tuple[str, list[int | None]]], starts: dict[int, str], themes: dict[str, int]) -> Note:
    """``cohorts`` and ``themes`` over the whole programme (``bot.store.research_note``), so
    that their protection is the same whatever the period; ``starts``: series → its month."""
    shown_themes, total = protect_themes(themes)
    in_period = frozenset(sid for sid, month in starts.items() if first <= month <= last)
    return Note(first, last, for_period(report, first, last), protect_cohorts(cohorts), in_period, shown_themes, total)


# --- Words ------------------------------------------------------------------------------------------

METHOD = (
    N_("Men who signed up for a conversation group through the chat assistant were asked short "
       "questions in their own language (Dutch, Arabic, Somali or English): every week four "
       "questions on loneliness and taking part, once what makes taking part hard and what "
       "would interest them, and before the first and after the last meeting how much they "
       "agree with a few statements. Facilitators filled in a short form after each meeting."),
    N_("Anonymous means: no name, phone number, Telegram name or exact date is kept with an answer. Answers "
       "are counted per month, per area and per language, and area and language are never "
       "crossed."),
    N_("A figure is shown only when it holds at least %(n)s men, and not when it would say how "
       "everyone in a group answered. Figures that could be worked out from the ones shown are "
       "hidden too. \"Hidden\" stands for nobody, a few, or a figure kept back for that reason."),
    N_("This note holds no free text, neither of the men nor of the facilitators."),
)


# --- Blocks: what a section holds, drawn by the HTML template and by the PDF alike ---------------

HIDDEN = None
"""A table cell the protection hides: drawn as the word "hidden"."""


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Subhead:
    text: str


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]  # None: hidden


@dataclass(frozen=True)
class Picture:
    png: bytes
    alt: str


Block = Para | Subhead | Table | Picture


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


def _count(value: int | None) -> str | None:
    return HIDDEN if value is None else str(value)


def _pct(value: float | None) -> str | None:
    return HIDDEN if value is None else f"{round(value * 100)}%"


def _mean(value: float | None) -> str | None:
    return HIDDEN if value is None else f"{value:.1f}"


def _points(value: float | None) -> str | None:
    return HIDDEN if value is None else f"{round(value * 100):+d}"


def month_name(month: str, language: str) -> str:
    return format_date(datetime.strptime(month + "-01", "%Y-%m-%d").date(), "MMMM y", locale=language)


def _area(area: str) -> str:
    return _("Area not given") if area == NO_AREA else area


def title_of(note: Note, language: str) -> str:
    """The note's title; call inside ``use_locale``."""
    return fill(_("Research note: men taking part, %(first)s to %(last)s"),
                first=month_name(note.first, language), last=month_name(note.last, language))


def made_on(note: Note, language: str, now: datetime | None) -> str:
    return fill(_("Made on %(date)s from anonymous figures only."),
                date=format_date((now or note.report.generated_at).date(), "long", locale=language))


# --- Sections ---------------------------------------------------------------------------------------


def sections(note: Note, language: str, map_png: bytes | None = None) -> list[Section]:
    """The note's sections in order; call inside ``use_locale``."""
    report = note.report
    period = fill(_("Period: %(first)s to %(last)s."), first=month_name(note.first, language),
                  last=month_name(note.last, language))
    out = [Section(_("Period and method"), (Para(period), *(Para(fill(gettext(text), n=MIN_GROUP)) for text in METHOD)))]
    if map_png is not None:
        out.append(Section(_("Participation map"), (
            Para(_("Loneliness, sign-ups, attendance and the main barrier per area.")),
            Picture(map_png, _("Participation map")),
        )))
    out.append(Section(_("Loneliness and taking part over time"), _trend(report, language)))
    out.append(Section(_("Barriers and interests per area"), _listening(report)))
    out.append(Section(_("Statements at the start and the end of a group"), _statements(report)))
    out.append(Section(_("Sign-ups, attendance and retention"), _retention(note)))
    if note.themes_total is not None:
        rows = tuple((gettext(THEME_LABELS[key]), _count(n)) for key, n in note.themes.items())
        out.append(Section(_("Themes from the facilitators' forms"), (
            Para(_("How many meeting forms so far named each theme.")), Table((_("Theme"), _("Forms")), rows),
        )))
    return out


def _trend(report: Report, language: str) -> tuple[Block, ...]:
    if not report.months:
        return (Para(_("No closed month with answers in this period yet.")),)
    head = (_("Month"), _("Men who answered"), _("Lonely (moderately or severely)"),
            _("Took part in an activity"), _("Worthwhile (0–10)"))
    rows: list[tuple[str | None, ...]] = []
    for key, label in [*((month_key(m), month_name(m, language)) for m in report.months), (ALL, _("All months"))]:
        shown = report.shown(key)
        if shown is None:
            rows.append((label, HIDDEN, HIDDEN, HIDDEN, HIDDEN))
        else:
            rows.append((label, _count(shown.respondents), _pct(shown.share_lonely), _pct(shown.took_part),
                         _mean(shown.worthwhile)))
    languages = tuple((LANGUAGE_NAMES.get(lang, _("Other language")), _count(_respondents(report, language_key(lang))))
                      for lang in report.languages)
    return Table(head, tuple(rows)), Table((_("Language"), _("Men who answered")), languages)


def _respondents(report: Report, key: tuple[str, ...]) -> int | None:
    shown = report.shown(key)
    return None if shown is None else shown.respondents


def _listening(report: Report) -> tuple[Block, ...]:
    heard = report.listening
    if heard is None or not heard.respondents:
        return (Para(fill(_("Not shown: fewer than %(n)s men answered."), n=MIN_GROUP)),)
    groups = [None, *heard.areas]
    head = ("", *(_("All areas") if key is None else _area(key) for key in groups))
    blocks: list[Block] = [Para(_("Share of the men who answered the question."))]
    for question, options in QUESTIONS:
        if question == "day_parts":
            continue
        blocks.append(Subhead(_("What makes taking part hard") if question == "barriers" else _("What would interest him")))
        rows = [(_("Men who answered"), *(_count(heard.respondents.get(key)) for key in groups))]
        rows += [(gettext(label), *(_pct(heard.share(key, question, n)) for key in groups)) for n, label in enumerate(options)]
        blocks.append(Table(head, tuple(rows)))
    return tuple(blocks)


def _statements(report: Report) -> tuple[Block, ...]:
    figures = report.statements
    if figures is None or not figures.has_figures():
        return (Para(fill(_("Not shown: fewer than %(n)s men answered."), n=MIN_GROUP)),)
    blocks: list[Block] = [Para(_("Share of the men who agree, before the first and after the last meeting; the shift in "
                           "percentage points."))]
    for scope in figures.scopes:
        rows = tuple((gettext(report.statement_texts.get(row.statement, "")),
                      _pct(None if row.before is None else row.before.agree()),
                      _pct(None if row.after is None else row.after.agree()), _points(row.shift)) for row in scope.rows)
        blocks.append(Subhead(_("All groups") if scope.series_id is None else scope.name))
        blocks.append(Table((_("Statement"), _("Before"), _("After"), _("Shift")), rows))
    return tuple(blocks)


def _retention(note: Note) -> tuple[Block, ...]:
    report = note.report
    total = next((row for row in report.by_series if row.id == 0), None)
    head = (_("Group"), _("Signed up"), *(fill(_("Meeting %(n)s"), n=k) for k in range(1, MEETINGS_FOLLOWED + 1)))
    rows = [(name, _count(row.signed_up), *_padded(present))
            for row in report.by_series if row.id in note.cohorts.rows and row.id in note.in_period
            for name, present in [note.cohorts.rows[row.id]]]
    if not rows:
        return (Para(_("No group started in this period.")),)
    rows.append((_("All groups so far"), _count(None if total is None else total.signed_up), *_padded(note.cohorts.total)))
    blocks: tuple[Block, ...] = (Para(_("Men present at the first six meetings of each group that started in the period.")),
                                 Table(head, tuple(rows)))
    if any(_("not recorded") in row for row in rows):
        blocks += (Para(_("Not recorded: the meeting took place, but nobody ticked who came.")),)
    return blocks


def _padded(present: tuple[Attendance, ...]) -> list[str | None]:
    cells = [_("not recorded") if isinstance(n, str) else _count(n) for n in present]
    return cells + ["–"] * (MEETINGS_FOLLOWED - len(present))


# --- HTML -------------------------------------------------------------------------------------------


def _cell(value: str | None) -> str:
    return f'<span class="hidden">{html.escape(_("hidden"))}</span>' if value is None else html.escape(value)


def _block_html(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Subhead):
        return f"<h3>{html.escape(block.text)}</h3>"
    if isinstance(block, Picture):
        data = base64.b64encode(block.png).decode("ascii")
        return f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in block.head)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in block.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(note: Note, language: str = "nl", map_png: bytes | None = None, now: datetime | None = None) -> str:
    with use_locale(language):
        title = title_of(note, language)
        body = "".join(
            f"<section><h2>{html.escape(s.title)}</h2>{''.join(_block_html(b) for b in s.blocks)}</section>"
            for s in sections(note, language, map_png)
        )
        generated = made_on(note, language, now)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        lang=language, direction="rtl" if language in RTL else "ltr", title=html.escape(title),
        generated=html.escape(generated), sections=body,
    )
