"""The aggregated, anonymous check-in and participation report.

``bot.store.report_data.build`` returns a ``Report``: check-in figures per month (the month of the ISO week's
Thursday) and per area, and separately per language — area and language are never crossed —
plus sign-ups and attendance per area and per series. What may be shown is decided so that no
figure, in one report or by comparing any number of them, says anything about a group of fewer
than 10 men (docs/report-privacy.md):

- **Closed months only.** Month M is shown from the first day of month M + 2: every ISO week
  whose Thursday falls in M has ended by then. The month that is still running never shows.
- **Frozen.** The first report that shows a closed month works out its figures, protects them
  (``bot.analytics.suppression``) and stores what is shown in ``published_figures``; every later report
  shows exactly that again. A response stored late for a closed month changes nothing.
- **Sums over months are sums of shown figures** ("all shown months"): they tell nothing that
  the months' own figures do not.
- Every configured area and language is listed, used or not (an unknown area counts as "no
  area given", an unknown language as "other"); a hidden figure and nobody read the same.
- Sign-up and attendance counts follow the same rule of 10 (``protect_counts``).

This module is pure: the figures, the rules that protect them and the renderers. Reading and
publishing happen in ``bot.store.report_data`` (aggregation in SQL, ``GROUP BY`` ISO week, area
and language, over the weeks of the months still to be published, so a report whose months are
all published reads no responses).

Renderers: ``render_text`` and ``render_csv`` (English, for the ``meedoen report`` command),
``bot.analytics.report_chart.render_png`` (the chart), and ``summary`` (a short text in the
coordinator's language that ``bot.domain.coordinator_report`` sends with the chart for ``/report``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dataclass_field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from bot.analytics import listening as listening_section
from bot.analytics.listening import Listening
from bot.analytics.statements import StatementReport
from bot.analytics.statements import csv_rows as statement_csv_rows
from bot.analytics.statements import render_text as statement_section
from bot.analytics.suppression import MEASURES, MIN_GROUP, protect, protect_counts
from bot.config import Settings
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import LANGUAGES

NO_AREA = ""
"""The column of responses (and people) without a configured area: none given, or an area no
longer in ``MEEDOEN_AREAS``."""
OTHER_LANGUAGE = "other"
"""The column of responses in a language outside ``LANGUAGES`` (always listed)."""
HIDDEN = "hidden"
"""What every figure not shown reads as, whether it holds nobody, a few, or many."""
SHOWN_MONTHS = "all shown months"

VALIDATION_NOTE = (
    "The Arabic and Somali versions of the check-in questions await validation by native "
    "speakers; read their figures with care."
)
COARSENING_NOTE = (
    "Language \"other\" and \"(no area given)\" also hold answers whose language or area "
    "fewer than 5 signed-up men shared when they were stored; this week's answers are added "
    "when the week is over."
)
SUPPRESSION_NOTE = (
    f"Anonymous: only months that ended more than a month ago are shown, and a month's figures "
    f"never change once shown. A figure needs at least {MIN_GROUP} men of its own (a man "
    "who answers every week counts once a month: 'respondents' are men, shares and means are "
    "over answers, and months added up count a man once in each); "
    "'hidden' stands for nobody, a few, or a figure hidden so that no group of fewer than "
    f"{MIN_GROUP} can be worked out, and for shares and means so close to either end of "
    "their scale that they would say how everyone answered."
)


# --- Figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Sums over a group of responses; shares and means are derived from them (over answers:
    a man who answered in three weeks weighs three times). ``respondents`` and the ``*_men``
    fields count men: the answers that were the first of their man in the month (and answer
    that measure) — never more than the men behind the answers, and what the rule of 10
    counts (``bot.analytics.suppression``)."""

    respondents: int = 0  # men
    answers: int = 0
    scored: int = 0  # responses with a loneliness total (at most one item skipped)
    scored_men: int = 0
    not_lonely: int = 0
    moderate: int = 0
    severe: int = 0
    emotional_sum: int = 0
    emotional_n: int = 0
    emotional_men: int = 0
    social_sum: int = 0
    social_n: int = 0
    social_men: int = 0
    took_part_yes: int = 0
    took_part_n: int = 0
    took_part_men: int = 0
    worthwhile_sum: int = 0
    worthwhile_n: int = 0
    worthwhile_men: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @staticmethod
    def _ratio(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def share_not(self) -> float | None:
        return self._ratio(self.not_lonely, self.scored)

    @property
    def share_moderate(self) -> float | None:
        return self._ratio(self.moderate, self.scored)

    @property
    def share_severe(self) -> float | None:
        return self._ratio(self.severe, self.scored)

    @property
    def share_lonely(self) -> float | None:
        """Moderately or severely lonely: what the participation map is coloured by."""
        return self._ratio(self.moderate + self.severe, self.scored)

    @property
    def emotional(self) -> float | None:
        return self._ratio(self.emotional_sum, self.emotional_n)

    @property
    def social(self) -> float | None:
        return self._ratio(self.social_sum, self.social_n)

    @property
    def took_part(self) -> float | None:
        return self._ratio(self.took_part_yes, self.took_part_n)

    @property
    def worthwhile(self) -> float | None:
        return self._ratio(self.worthwhile_sum, self.worthwhile_n)


MEASURE_OF = {
    "respondents": "respondents",
    "answers": "respondents",
    "share_not": "lonely",
    "share_moderate": "lonely",
    "share_severe": "lonely",
    "share_lonely": "lonely",
    "emotional": "emotional",
    "social": "social",
    "took_part": "took_part",
    "worthwhile": "worthwhile",
}
"""Each figure a report shows → the measure (``bot.analytics.suppression.MEASURES``) it belongs to."""

FIELDS_OF = {measure.name: measure.fields for measure in MEASURES}

MEASURES_SHOWN = (
    ("respondents", "respondents"),  # men, each counted once in a month
    ("answers", "answers"),
    ("share_not", "share not lonely"),
    ("share_moderate", "share moderately lonely"),
    ("share_severe", "share severely lonely"),
    ("emotional", "emotional loneliness (mean, 0-3)"),
    ("social", "social loneliness (mean, 0-3)"),
    ("took_part", "share who took part in an activity"),
    ("worthwhile", "worthwhile (mean, 0-10)"),
)


@dataclass(frozen=True)
class Shown:
    """What a report shows of one cell or total: its figures of the measures in ``measures``
    and None (hidden) for the others."""

    figures: Figures
    measures: frozenset[str]

    def __getattr__(self, name: str):
        measure = MEASURE_OF.get(name)
        if measure is None:
            raise AttributeError(name)
        return getattr(self.figures, name) if measure in self.measures else None

    def to_json(self) -> dict:
        sums = asdict(self.figures)
        return {
            "measures": sorted(self.measures),
            "sums": {f: sums[f] for m in sorted(self.measures) for f in FIELDS_OF[m]},
        }

    @staticmethod
    def from_json(data: dict) -> Shown:
        return Shown(Figures(**data["sums"]), frozenset(data["measures"]))


def sum_shown(parts: list[Shown]) -> Shown | None:
    """The sum of shown figures, measure by measure (each over the parts that show it)."""
    sums: dict[str, int] = defaultdict(int)
    measures: set[str] = set()
    for part in parts:
        for measure in part.measures:
            measures.add(measure)
            for field in FIELDS_OF[measure]:
                sums[field] += getattr(part.figures, field)
    if "respondents" not in measures:
        return None
    return Shown(Figures(**sums), frozenset(measures))


@dataclass(frozen=True)
class AreaParticipation:
    area: str
    signed_up: int | None  # men with a confirmed seat in any series; None: hidden
    waitlisted: int | None  # men on a waiting list
    attended: int | None  # men marked present at least once


@dataclass(frozen=True)
class SeriesParticipation:
    id: int
    name: str
    area: str
    signed_up: int | None
    waitlisted: int | None
    meetings_held: int  # meetings that have started and were not cancelled
    attendances: int | None  # "present" marks over all its meetings


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    months: tuple[str, ...]  # closed months, oldest first, without gaps
    areas: tuple[str, ...]  # the configured areas (and any a shown month had), NO_AREA last
    languages: tuple[str, ...]
    cells: dict  # member key → Shown (see the key helpers below); missing: hidden
    by_area: tuple[AreaParticipation, ...]  # the last one: all areas
    by_series: tuple[SeriesParticipation, ...]  # the last one: all series (id 0)
    attendances: dict  # (month, area) → "present" marks at that month's meetings, None: hidden
    listening: Listening | None = None  # the listening poll (bot.analytics.listening)
    statements: StatementReport | None = None  # before and after a series (bot/analytics/statements.py)
    statement_texts: dict = dataclass_field(default_factory=dict)  # statement number → English text

    def shown(self, key) -> Shown | None:
        """What is shown of a cell or total, or None when it is hidden whole."""
        return self.cells.get(key)

    def has_checkins(self) -> bool:
        """Whether there is a closed month to show."""
        return bool(self.months)


# Member keys.
ALL = ("all",)  # the shown months together


def month_key(month: str) -> tuple:
    return ("month", month)


def area_cell(month: str, area: str) -> tuple:
    return ("area", month, area)


def area_key(area: str) -> tuple:
    """An area over all months in which it is shown."""
    return ("area_total", area)


def language_cell(month: str, language: str) -> tuple:
    return ("language", month, language)


def language_key(language: str) -> tuple:
    return ("language_total", language)


# --- Months ----------------------------------------------------------------------------------------


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_closed_month(now: datetime, zone: ZoneInfo) -> str:
    """The latest month that may be shown at ``now``: the one before last. Month M is closed
    from the first day of M + 2, when the last ISO week with its Thursday in M (which ends
    at most three days into M + 1) is long over."""
    return _shift(now.astimezone(zone).strftime("%Y-%m"), -2)


def month_range(first: str, last: str) -> tuple[str, ...]:
    out = []
    while first <= last:
        out.append(first)
        first = _shift(first, 1)
    return tuple(out)


def weeks_of(first: str, last: str) -> tuple[str, str]:
    """The first and last ISO week whose Thursday falls in months ``first`` .. ``last``."""
    start = date.fromisoformat(first + "-01")
    thursday = start + timedelta(days=(3 - start.weekday()) % 7)
    end = date.fromisoformat(_shift(last, 1) + "-01") - timedelta(days=1)
    last_thursday = end - timedelta(days=(end.weekday() - 3) % 7)
    iso = lambda day: "{}-W{:02d}".format(*day.isocalendar()[:2])  # noqa: E731
    return iso(thursday), iso(last_thursday)


# --- Reading the responses -------------------------------------------------------------------------


MEN_OF = {
    "respondents": "answers",
    "scored_men": "scored",
    "emotional_men": "emotional_n",
    "social_men": "social_n",
    "took_part_men": "took_part_n",
    "worthwhile_men": "worthwhile_n",
}
"""Each count of men in ``Figures`` → the count of answers it is, over first answers only."""




_SUMMED = [field.name for field in fields(Figures) if field.name not in MEN_OF]


def figures_of(first_in_month, counts) -> list[int]:
    """The fields of ``Figures`` for one group of answers that are all first answers of their
    men (``first_in_month`` 1), or none (0, or NULL: stored before men were counted)."""
    summed = dict(zip(_SUMMED, counts, strict=True))
    first = first_in_month == 1
    return [
        (int(summed[MEN_OF[f.name]]) if first else 0) if f.name in MEN_OF else int(summed[f.name])
        for f in fields(Figures)
    ]


Tallies = dict[tuple[str, str], list[int]]
"""(month, area) or (month, language) → the fields of ``Figures`` as plain ints."""




def add_tally(tallies: Tallies, key: tuple[str, str], counts) -> None:
    total = tallies.get(key)
    if total is None:
        tallies[key] = [int(count) for count in counts]
    else:
        for i, count in enumerate(counts):
            total[i] += int(count)


def merge_tallies(parts: list[tuple[Tallies, Tallies]]) -> tuple[Tallies, Tallies]:
    by_area: Tallies = {}
    by_language: Tallies = {}
    for part_by_area, part_by_language in parts:
        for target, source in ((by_area, part_by_area), (by_language, part_by_language)):
            for key, counts in source.items():
                add_tally(target, key, counts)
    return by_area, by_language


# --- Building ------------------------------------------------------------------------------------






def columns_of(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(settings.areas) + (NO_AREA,), tuple(LANGUAGES) + (OTHER_LANGUAGE,)


def protect_month(month: str, areas, languages, by_area: Tallies, by_language: Tallies) -> dict:
    """Work out and protect one closed month; what is shown, as stored in
    ``published_figures`` (nothing that is hidden is stored)."""
    area_sums = {a: Figures() for a in areas}
    language_sums = {lang: Figures() for lang in languages}
    for (m, area), counts in by_area.items():
        if m == month:
            column = area if area in area_sums else NO_AREA
            area_sums[column] = area_sums[column] + Figures(*counts)
    for (m, language), counts in by_language.items():
        if m == month:
            column = language if language in language_sums else OTHER_LANGUAGE
            language_sums[column] = language_sums[column] + Figures(*counts)
    total = sum(area_sums.values(), Figures())
    shown = protect(
        asdict(total),
        [
            {("area", a): asdict(f) for a, f in area_sums.items()},
            {("language", lang): asdict(f) for lang, f in language_sums.items()},
        ],
    )
    sums = {None: total} | {("area", a): f for a, f in area_sums.items()}
    sums |= {("language", lang): f for lang, f in language_sums.items()}
    members = {
        ("total" if key is None else f"{key[0]}:{key[1]}"): Shown(sums[key], measures).to_json()
        for key, measures in shown.items()
    }
    return {"areas": list(areas), "languages": list(languages), "members": members}












# --- Sign-ups and attendance -------------------------------------------------------------------------


def protected_column(values: dict, keys) -> dict:
    """A count per key, with what ``protect_counts`` hides as None, and the total under ``None``."""
    shown = protect_counts({key: values.get(key, 0) for key in keys})
    total = sum(values.get(key, 0) for key in keys)
    column = {key: (values.get(key, 0) if key in shown else None) for key in keys}
    column[None] = total if total >= MIN_GROUP else None
    return column




# --- Text and CSV (English: the operator's command line) ---------------------------------------


def _area_name(area: str) -> str:
    if area == "all":
        return "all areas"
    return area or "(no area given)"


def _pct(value: float | None) -> str:
    return HIDDEN if value is None else f"{round(value * 100)}%"


def _mean(value: float | None) -> str:
    return HIDDEN if value is None else f"{value:.1f}"


def _count(value: int | None) -> str:
    return HIDDEN if value is None else str(value)


def _row(label: str, figures: Shown | None, width: int) -> str:
    if figures is None:
        return f"{label:<{width}}  {HIDDEN:>7}"
    return (
        f"{label:<{width}}  {figures.respondents:>7}  {figures.answers:>7}  {_pct(figures.share_not):>6}  "
        f"{_pct(figures.share_moderate):>8}  {_pct(figures.share_severe):>6}  "
        f"{_mean(figures.emotional):>9}  {_mean(figures.social):>6}  "
        f"{_pct(figures.took_part):>9}  {_mean(figures.worthwhile):>10}"
    )


def _header(label: str, width: int) -> str:
    return (
        f"{label:<{width}}  {'men':>7}  {'answers':>7}  {'not':>6}  {'moderate':>8}  {'severe':>6}  "
        f"{'emotional':>9}  {'social':>6}  {'took part':>9}  {'worthwhile':>10}"
    )


def render_text(report: Report) -> str:
    lines = [
        f"Meedoen check-in and participation report (generated {report.generated_at:%Y-%m-%d})",
        SUPPRESSION_NOTE,
        f"Note: {COARSENING_NOTE}",
        f"Note: {VALIDATION_NOTE}",
        "Loneliness: 6-item De Jong Gierveld scale (0-1 not, 2-4 moderately, 5-6 severely lonely;",
        "emotional and social subscales 0-3). Month = month of the ISO week's Thursday.",
        "",
    ]
    if not report.has_checkins():
        lines += ["No check-ins yet: a month is shown once it has been over for a month.", ""]
    else:
        width = max(len(SHOWN_MONTHS), *(len(_area_name(a)) for a in report.areas), 12)
        lines += ["Check-ins by month (all areas)", _header("month", width)]
        lines += [_row(m, report.shown(month_key(m)), width) for m in report.months]
        lines += [_row(SHOWN_MONTHS, report.shown(ALL), width), ""]
        lines += ["Check-ins by area (each over the months in which it is shown)", _header("area", width)]
        lines += [_row(_area_name(a), report.shown(area_key(a)), width) for a in report.areas]
        lines += [""]
        lines += ["Check-ins by language of the questions (each over the months in which it is shown)",
                  _header("language", width)]
        lines += [_row(language, report.shown(language_key(language)), width) for language in report.languages]
        lines += [""]
        lines += ["Participation map: share moderately or severely lonely (men), area x month"]
        lines += [_map_line("area", [m for m in report.months] + ["shown months"], width)]
        for area in report.areas:
            cells = [report.shown(area_cell(m, area)) for m in report.months]
            cells.append(report.shown(area_key(area)))
            lines.append(_map_line(_area_name(area), [_map_cell(c) for c in cells], width))
        totals = [report.shown(month_key(m)) for m in report.months] + [report.shown(ALL)]
        lines += [_map_line("all areas", [_map_cell(c) for c in totals], width), ""]
    lines += ["Sign-ups and attendance by area (people; sign-up data, not check-in answers)"]
    width = max([len("area"), *(len(_area_name(a.area)) for a in report.by_area)])
    lines.append(f"{'area':<{width}}  {'signed up':>9}  {'waiting':>7}  {'attended':>8}")
    for row in report.by_area:
        lines.append(f"{_area_name(row.area):<{width}}  {_count(row.signed_up):>9}  "
                     f"{_count(row.waitlisted):>7}  {_count(row.attended):>8}")
    if report.attendances:
        lines += ["", "Attendance by month and area (times present at a meeting)"]
        for (month, area), count in sorted(report.attendances.items()):
            lines.append(f"{month}  {_area_name(area)}: {_count(count)}")
    lines += ["", "Sign-ups and attendance by series"]
    if not report.by_series:
        lines.append("No series yet.")
    for row in report.by_series:
        label = "all series" if row.id == 0 else f"{row.id:>4}  {row.name} ({row.area or 'no area'})"
        lines.append(
            f"{label}: {_count(row.signed_up)} signed up, {_count(row.waitlisted)} waiting, "
            f"{row.meetings_held} {'meeting' if row.meetings_held == 1 else 'meetings'} held, "
            f"{_count(row.attendances)} times present"
        )
    if report.listening is not None:
        lines += ["", *listening_section.render_text(report.listening)]
    if report.statements is not None:
        lines += ["", *statement_section(report.statements, report.statement_texts)]
    return "\n".join(lines) + "\n"


def _map_cell(figures: Shown | None) -> str:
    if figures is None:
        return HIDDEN
    return f"{_pct(figures.share_lonely)} ({figures.respondents})"


def _map_line(label: str, cells: list[str], width: int) -> str:
    return f"{label:<{width}}  " + "  ".join(f"{cell:>14}" for cell in cells)


def render_csv(report: Report) -> str:
    """Tidy CSV: one row per figure; a figure not shown has the value ``hidden``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "month", "group", "measure", "value"])

    def figures_rows(table: str, month: str, group: str, figures: Shown | None) -> None:
        for attribute, name in MEASURES_SHOWN:
            raw = None if figures is None else getattr(figures, attribute)
            value = HIDDEN if raw is None else (raw if isinstance(raw, int) else f"{raw:.4f}")
            writer.writerow([table, month, group, name, value])

    for month in report.months:
        figures_rows("checkins_by_month", month, "all", report.shown(month_key(month)))
        for area in report.areas:
            figures_rows("checkins_by_area", month, _area_name(area), report.shown(area_cell(month, area)))
        for language in report.languages:
            figures_rows("checkins_by_language", month, language, report.shown(language_cell(month, language)))
    if report.months:
        for area in report.areas:
            figures_rows("checkins_by_area", SHOWN_MONTHS, _area_name(area), report.shown(area_key(area)))
        for language in report.languages:
            figures_rows("checkins_by_language", SHOWN_MONTHS, language, report.shown(language_key(language)))
        figures_rows("checkins_by_month", SHOWN_MONTHS, "all", report.shown(ALL))
    for row in report.by_area:
        for name in ("signed_up", "waitlisted", "attended"):
            writer.writerow(["signups_by_area", "now", _area_name(row.area), name, _count(getattr(row, name))])
    for (month, area), count in sorted(report.attendances.items()):
        writer.writerow(["attendance_by_area", month, _area_name(area), "times present", _count(count)])
    for row in report.by_series:
        group = "all series" if row.id == 0 else f"{row.id} {row.name}"
        for name in ("signed_up", "waitlisted", "meetings_held", "attendances"):
            value = getattr(row, name)
            writer.writerow(["signups_by_series", "now", group, name, value if name == "meetings_held" else _count(value)])
    if report.listening is not None:
        writer.writerows(listening_section.csv_rows(report.listening))
    if report.statements is not None:
        writer.writerows(statement_csv_rows(report.statements))
    writer.writerow(["note", "", "", "validation", VALIDATION_NOTE])
    writer.writerow(["note", "", "", "suppression", SUPPRESSION_NOTE])
    writer.writerow(["note", "", "", "coarsening", COARSENING_NOTE])
    return out.getvalue()


# --- For the coordinator's chat ----------------------------------------------------------------


def latest_shown_month(report: Report) -> tuple[str, Shown] | None:
    for month in reversed(report.months):
        figures = report.shown(month_key(month))
        if figures is not None:
            return month, figures
    return None


def summary(report: Report, language: str) -> str:
    """A short text in ``language`` to go with the chart."""
    with use_locale(language):
        lines = [_("Check-in report (anonymous)")]
        latest = latest_shown_month(report)
        if latest is None:
            lines.append(
                fill(_("There are not enough check-ins yet to show: a group needs at least %(min)s people."),
                     min=MIN_GROUP)
            )
        else:
            month, figures = latest
            lines.append(
                fill(
                    _(
                        "%(month)s: %(count)s men answered. Not lonely: %(not)s, moderately "
                        "lonely: %(moderate)s, severely lonely: %(severe)s. Took part in an "
                        "activity: %(took_part)s. Worthwhile (0–10): %(worthwhile)s."
                    ),
                    month=format_date(date.fromisoformat(month + "-01"), "MMMM y", locale=language),
                    count=figures.respondents,
                    **{
                        "not": _percent(figures.share_not, language),
                        "moderate": _percent(figures.share_moderate, language),
                        "severe": _percent(figures.share_severe, language),
                        "took_part": _percent(figures.took_part, language),
                        "worthwhile": _decimal(figures.worthwhile, language),
                    },
                )
            )
        everyone = report.by_area[-1]
        lines.append(
            fill(
                _("Signed up now: %(signed_up)s men. Came at least once: %(attended)s."),
                signed_up=_people(everyone.signed_up),
                attended=_people(everyone.attended),
            )
        )
        lines.append(
            fill(
                _(
                    "Groups of fewer than %(min)s people are hidden, and so is anything from which "
                    "they could be worked out."
                ),
                min=MIN_GROUP,
            )
        )
        lines.append(
            _(
                "Only months that ended more than a month ago are shown, and they do not "
                "change afterwards. A dash is a hidden figure."
            )
        )
        lines.append(
            _("The Arabic and Somali versions of the questions still await validation by native speakers.")
        )
        return directed("\n\n".join(lines))


def _people(count: int | None) -> str:
    return fill(_("fewer than %(min)s"), min=MIN_GROUP) if count is None else str(count)


def _percent(value: float | None, language: str) -> str:
    return "–" if value is None else format_percent(value, locale=language)


def _decimal(value: float | None, language: str) -> str:
    return "–" if value is None else format_decimal(round(value, 1), format="0.0", locale=language)


