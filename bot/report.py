"""The aggregated, anonymous check-in and participation report.

``build`` reads the check-in responses and the sign-up data and returns a ``Report``: check-in
figures per month (the month of the ISO week's Thursday) and per area, and separately per
language — area and language are never crossed — plus sign-ups and attendance per area and per
series. Suppression (``bot.suppression``) decides which check-in figures are hidden: groups of 1
to 9 people, and any figure from which a hidden one could be worked out. Sign-up and attendance
counts are not check-in answers and are shown as they are.

Aggregation happens in SQL (``GROUP BY`` ISO week and area, and ISO week and language), so a
million responses become a few hundred rows before Python sees them; weeks are folded into
months in Python, where the sums simply add up.

Renderers: ``render_text`` and ``render_csv`` (English, for the ``meedoen report`` command),
``bot.report_chart.render_png`` (the chart), and ``coordinator_report`` (a short summary in the
coordinator's language with the chart, for ``/report``).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.channels.base import Outgoing
from bot.config import Settings
from bot.database import Database
from bot.schema import attendance, checkin_responses, meetings, participants, series, signups
from bot.suppression import MIN_RESPONDENTS, grid_relations, suppress
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import LANGUAGES

NO_AREA = ""
"""The column of responses (and people) without an area: he chose not to say."""

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
    f"Anonymous: groups of fewer than {MIN_RESPONDENTS} respondents are hidden, and so is any "
    "figure from which a hidden one could be worked out."
)


# --- Figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Sums over a group of responses; shares and means are derived from them."""

    respondents: int = 0
    scored: int = 0  # responses with a loneliness total (at most one item skipped)
    not_lonely: int = 0
    moderate: int = 0
    severe: int = 0
    emotional_sum: int = 0
    emotional_n: int = 0
    social_sum: int = 0
    social_n: int = 0
    took_part_yes: int = 0
    took_part_n: int = 0
    worthwhile_sum: int = 0
    worthwhile_n: int = 0

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


MEASURES = (
    ("respondents", "respondents"),
    ("share_not", "share not lonely"),
    ("share_moderate", "share moderately lonely"),
    ("share_severe", "share severely lonely"),
    ("emotional", "emotional loneliness (mean, 0-3)"),
    ("social", "social loneliness (mean, 0-3)"),
    ("took_part", "share who took part in an activity"),
    ("worthwhile", "worthwhile (mean, 0-10)"),
)


@dataclass(frozen=True)
class AreaParticipation:
    area: str
    signed_up: int  # men with a confirmed seat in any series
    waitlisted: int  # men on a waiting list
    attended: int  # men marked present at least once


@dataclass(frozen=True)
class SeriesParticipation:
    id: int
    name: str
    area: str
    signed_up: int
    waitlisted: int
    meetings_held: int  # meetings that have started and were not cancelled
    attendances: int  # "present" marks over all its meetings


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    months: tuple[str, ...]  # "2026-11", oldest first, without gaps
    areas: tuple[str, ...]  # NO_AREA last
    languages: tuple[str, ...]
    figures: dict  # member key → Figures (see the key helpers below)
    hidden: frozenset
    by_area: tuple[AreaParticipation, ...]
    by_series: tuple[SeriesParticipation, ...]
    attendances: dict  # (month, area) → "present" marks at that month's meetings

    def shown(self, key) -> Figures | None:
        """The figures of a cell or total, or None when hidden."""
        return None if key in self.hidden else self.figures.get(key, Figures())

    def has_checkins(self) -> bool:
        return self.figures.get(ALL, Figures()).respondents > 0


# Member keys. Month totals and the grand total are shared by the area and the language
# table, so both are protected together and a total hidden in one is hidden in the other.
ALL = ("all",)


def month_key(month: str) -> tuple:
    return ("month", month)


def area_cell(month: str, area: str) -> tuple:
    return ("area", month, area)


def area_key(area: str) -> tuple:
    return ("area_total", area)


def language_cell(month: str, language: str) -> tuple:
    return ("language", month, language)


def language_key(language: str) -> tuple:
    return ("language_total", language)


# --- Building --------------------------------------------------------------------------------------


def month_of(iso_week: str) -> str:
    """``2026-W01`` → ``2026-01``: the month of the ISO week's Thursday (the ISO rule for
    the week's year, applied to months)."""
    year, week = iso_week.split("-W")
    return date.fromisocalendar(int(year), int(week), 4).strftime("%Y-%m")


def _tally_columns() -> list:
    """One SQL sum per field of ``Figures``, in the order of its fields."""
    r = checkin_responses.c
    sums = {
        "respondents": func.count(),
        "scored": func.count(r.total),
        "not_lonely": func.coalesce(func.sum(case((r.total <= 1, 1), else_=0)), 0),
        "moderate": func.coalesce(func.sum(case((r.total.between(2, 4), 1), else_=0)), 0),
        "severe": func.coalesce(func.sum(case((r.total >= 5, 1), else_=0)), 0),
        "emotional_sum": func.coalesce(func.sum(r.emotional), 0),
        "emotional_n": func.count(r.emotional),
        "social_sum": func.coalesce(func.sum(r.social), 0),
        "social_n": func.count(r.social),
        "took_part_yes": func.coalesce(func.sum(r.took_part), 0),
        "took_part_n": func.count(r.took_part),
        "worthwhile_sum": func.coalesce(func.sum(r.worthwhile), 0),
        "worthwhile_n": func.count(r.worthwhile),
    }
    return [sums[field.name].label(field.name) for field in fields(Figures)]


Sums = dict[tuple[str, str], Figures]
"""(month, area) or (month, language) → Figures."""

Tallies = dict[tuple[str, str], list[int]]
"""Like ``Sums`` while adding up: the fields of ``Figures`` as a list of plain ints."""


async def _tallies(connection: AsyncConnection, where=None) -> tuple[Tallies, Tallies]:
    """Check-in sums by month and area, and by month and language, in one pass.

    SQL groups by week, area and language together, reading the responses in that order from
    their covering index (``ix_checkin_responses_report``) rather than sorting them; the rows
    that come back are folded into the two margins at once and the crossed counts go no
    further: they are never suppressed, shown, stored or returned. (The response rows
    themselves hold both values; this is no more than they say.)"""
    r = checkin_responses.c
    query = select(r.iso_week, r.area, r.language, *_tally_columns()).group_by(
        r.iso_week, r.area, r.language
    )
    if where is not None:
        query = query.where(where)
    by_area: Tallies = {}
    by_language: Tallies = {}
    months: dict[str, str] = {}
    for week, area, language, *counts in await connection.execute(query):
        month = months.get(week) or months.setdefault(week, month_of(week))
        _add(by_area, (month, area or NO_AREA), counts)
        _add(by_language, (month, language), counts)
    return by_area, by_language


def _add(tallies: Tallies, key: tuple[str, str], counts) -> None:
    """Add one result row's sums to ``tallies[key]`` (plain ints: a few thousand rows are
    folded, and building a ``Figures`` for each costs more than the query's own Python)."""
    total = tallies.get(key)
    if total is None:
        tallies[key] = [int(count) for count in counts]
    else:
        for i, count in enumerate(counts):
            total[i] += int(count)


def _figures(parts: list[tuple[Tallies, Tallies]]) -> tuple[Sums, Sums]:
    """The halves' tallies added up, as ``Figures``."""
    by_area: Tallies = {}
    by_language: Tallies = {}
    for part_by_area, part_by_language in parts:
        for target, source in ((by_area, part_by_area), (by_language, part_by_language)):
            for key, counts in source.items():
                _add(target, key, counts)
    return (
        {key: Figures(*counts) for key, counts in by_area.items()},
        {key: Figures(*counts) for key, counts in by_language.items()},
    )


def _month_range(months: set[str]) -> tuple[str, ...]:
    if not months:
        return ()
    first, last = min(months), max(months)
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


async def build(connection: AsyncConnection, settings: Settings, now: datetime | None = None) -> Report:
    """Read, aggregate and suppress, on one connection (inside the caller's transaction)."""
    by_area, by_language = _figures([await _tallies(connection)])
    return await _assemble(connection, settings, now or _utcnow(), by_area, by_language)


async def build_from(db: Database, settings: Settings, now: datetime | None = None) -> Report:
    """Like ``build``, for the command line: the responses before and from their middle week
    are summed at once on two read-only connections, one per core. Each response falls in
    exactly one half, so the sums add up whatever is stored meanwhile."""
    reader = create_async_engine(db.url)  # plain deferred reads: no BEGIN IMMEDIATE, no lock
    try:

        async def tallies(where=None):
            async with reader.connect() as connection:
                return await _tallies(connection, where)

        async with reader.connect() as connection:
            middle = await _middle_week(connection)
        week = checkin_responses.c.iso_week
        halves = [tallies()] if middle is None else [tallies(week < middle), tallies(week >= middle)]
        by_area, by_language = _figures(await asyncio.gather(*halves))
        async with reader.connect() as connection:
            return await _assemble(connection, settings, now or _utcnow(), by_area, by_language)
    finally:
        await reader.dispose()


async def _middle_week(connection: AsyncConnection) -> str | None:
    """The week of the middle response in week order, None when there are none. Read from
    the report's index, so the two halves of ``build_from`` each read half of it."""
    r = checkin_responses.c
    count = (await connection.execute(select(func.count()).select_from(checkin_responses))).scalar_one()
    query = select(r.iso_week).order_by(r.iso_week).offset(count // 2).limit(1)
    return (await connection.execute(query)).scalar()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def _assemble(
    connection: AsyncConnection,
    settings: Settings,
    now: datetime,
    by_area: dict[tuple[str, str], Figures],
    by_language: dict[tuple[str, str], Figures],
) -> Report:
    months = _month_range({month for month, _area in by_area})
    seen_areas = {area for _month, area in by_area}
    areas = tuple(a for a in settings.areas) + tuple(
        sorted(a for a in seen_areas if a not in settings.areas and a != NO_AREA)
    ) + (NO_AREA,)
    languages = tuple(LANGUAGES) + tuple(
        sorted({lang for _month, lang in by_language} - set(LANGUAGES))
    )

    figures: dict = {}
    for month in months:
        for area in areas:
            figures[area_cell(month, area)] = by_area.get((month, area), Figures())
        for language in languages:
            figures[language_cell(month, language)] = by_language.get((month, language), Figures())
        figures[month_key(month)] = sum(
            (figures[area_cell(month, a)] for a in areas), Figures()
        )
    for area in areas:
        figures[area_key(area)] = sum((figures[area_cell(m, area)] for m in months), Figures())
    for language in languages:
        figures[language_key(language)] = sum(
            (figures[language_cell(m, language)] for m in months), Figures()
        )
    figures[ALL] = sum((figures[month_key(m)] for m in months), Figures())

    relations = grid_relations(
        months, areas, cell=area_cell, row_total=month_key, column_total=area_key, grand_total=ALL
    ) + grid_relations(
        months,
        languages,
        cell=language_cell,
        row_total=month_key,
        column_total=language_key,
        grand_total=ALL,
    )
    hidden = suppress({key: f.respondents for key, f in figures.items()}, relations)
    area_people, series_rows, visits = await _participation(connection, settings, now)
    return Report(
        generated_at=now,
        months=months,
        areas=areas,
        languages=languages,
        figures=figures,
        hidden=hidden,
        by_area=area_people,
        by_series=series_rows,
        attendances=visits,
    )


async def _participation(connection: AsyncConnection, settings: Settings, now: datetime):
    p, s, a, m = participants.c, signups.c, attendance.c, meetings.c
    area = func.coalesce(p.area, NO_AREA)
    people: dict[str, dict[str, int]] = defaultdict(lambda: {"confirmed": 0, "waitlist": 0, "attended": 0})
    result = await connection.execute(
        select(area, s.status, func.count(func.distinct(p.id)))
        .select_from(signups.join(participants, s.participant_id == p.id))
        .group_by(area, s.status)
    )
    for row_area, status, count in result:
        if status in ("confirmed", "waitlist"):
            people[row_area][status] = count
    result = await connection.execute(
        select(area, func.count(func.distinct(p.id)))
        .select_from(attendance.join(participants, a.participant_id == p.id))
        .where(a.present == 1)
        .group_by(area)
    )
    for row_area, count in result:
        people[row_area]["attended"] = count
    order = list(settings.areas) + sorted(set(people) - set(settings.areas) - {NO_AREA}) + [NO_AREA]
    by_area = tuple(
        AreaParticipation(name, people[name]["confirmed"], people[name]["waitlist"], people[name]["attended"])
        for name in order
        if name in people or name in settings.areas
    )

    confirmed = select(func.count()).where(s.series_id == series.c.id, s.status == "confirmed").scalar_subquery()
    waiting = select(func.count()).where(s.series_id == series.c.id, s.status == "waitlist").scalar_subquery()
    held = (
        select(func.count())
        .where(m.series_id == series.c.id, m.status == "scheduled", m.starts_at <= now)
        .scalar_subquery()
    )
    marks = (
        select(func.count())
        .select_from(attendance.join(meetings, a.meeting_id == m.id))
        .where(m.series_id == series.c.id, a.present == 1)
        .scalar_subquery()
    )
    result = await connection.execute(
        select(series.c.id, series.c.name, series.c.area, confirmed, waiting, held, marks).order_by(series.c.id)
    )
    by_series = tuple(SeriesParticipation(*row) for row in result)

    zone = ZoneInfo(settings.timezone)
    result = await connection.execute(
        select(m.starts_at, area, func.count())
        .select_from(
            attendance.join(meetings, a.meeting_id == m.id).join(participants, a.participant_id == p.id)
        )
        .where(a.present == 1)
        .group_by(m.id, m.starts_at, area)
    )
    visits: dict[tuple[str, str], int] = defaultdict(int)
    for starts_at, row_area, count in result:
        if starts_at.tzinfo is None:  # a plain column in a grouped select: naive UTC
            starts_at = starts_at.replace(tzinfo=ZoneInfo("UTC"))
        visits[(starts_at.astimezone(zone).strftime("%Y-%m"), row_area)] += count
    return by_area, by_series, dict(visits)


# --- Text and CSV (English: the operator's command line) ---------------------------------------


def _area_name(area: str) -> str:
    return area or "(no area given)"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(label: str, figures: Figures | None, width: int) -> str:
    if figures is None:
        return f"{label:<{width}}  hidden"
    if figures.respondents == 0:
        return f"{label:<{width}}  {0:>7}"
    return (
        f"{label:<{width}}  {figures.respondents:>7}  {_pct(figures.share_not):>5}  "
        f"{_pct(figures.share_moderate):>8}  {_pct(figures.share_severe):>6}  "
        f"{_mean(figures.emotional):>9}  {_mean(figures.social):>6}  "
        f"{_pct(figures.took_part):>9}  {_mean(figures.worthwhile):>10}"
    )


def _header(label: str, width: int) -> str:
    return (
        f"{label:<{width}}  {'n':>7}  {'not':>5}  {'moderate':>8}  {'severe':>6}  "
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
        lines += ["No check-ins yet.", ""]
    else:
        width = max(len("all months"), *(len(_area_name(a)) for a in report.areas), 12)
        lines += ["Check-ins by month (all areas)", _header("month", width)]
        lines += [_row(m, report.shown(month_key(m)), width) for m in report.months]
        lines += [_row("all months", report.shown(ALL), width), ""]
        lines += ["Check-ins by area (all months)", _header("area", width)]
        lines += [_row(_area_name(a), report.shown(area_key(a)), width) for a in report.areas]
        lines += [""]
        lines += ["Check-ins by language of the questions (all months)", _header("language", width)]
        lines += [_row(l, report.shown(language_key(l)), width) for l in report.languages]
        lines += [""]
        lines += ["Participation map: share moderately or severely lonely (respondents), area x month"]
        lines += [_map_line("area", [m for m in report.months] + ["all"], width)]
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
        lines.append(f"{_area_name(row.area):<{width}}  {row.signed_up:>9}  {row.waitlisted:>7}  {row.attended:>8}")
    if report.attendances:
        lines += ["", "Attendance by month and area (times present at a meeting)"]
        for (month, area), count in sorted(report.attendances.items()):
            lines.append(f"{month}  {_area_name(area)}: {count}")
    lines += ["", "Sign-ups and attendance by series"]
    if not report.by_series:
        lines.append("No series yet.")
    for row in report.by_series:
        lines.append(
            f"{row.id:>4}  {row.name} ({row.area or 'no area'}): {row.signed_up} signed up, "
            f"{row.waitlisted} waiting, {row.meetings_held} meetings held, "
            f"{row.attendances} times present"
        )
    return "\n".join(lines) + "\n"


def _map_cell(figures: Figures | None) -> str:
    if figures is None:
        return "hidden"
    if figures.respondents == 0:
        return "-"
    return f"{_pct(figures.share_lonely)} ({figures.respondents})"


def _map_line(label: str, cells: list[str], width: int) -> str:
    return f"{label:<{width}}  " + "  ".join(f"{cell:>12}" for cell in cells)


def render_csv(report: Report) -> str:
    """Tidy CSV: one row per figure. A hidden group has the value ``hidden`` throughout."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "month", "group", "measure", "value"])

    def figures_rows(table: str, month: str, group: str, figures: Figures | None) -> None:
        for attribute, name in MEASURES:
            if figures is None:
                value = "hidden"
            else:
                raw = getattr(figures, attribute)
                value = "" if raw is None else (raw if isinstance(raw, int) else f"{raw:.4f}")
            writer.writerow([table, month, group, name, value])

    for month in report.months:
        figures_rows("checkins_by_month", month, "all", report.shown(month_key(month)))
        for area in report.areas:
            figures_rows("checkins_by_area", month, _area_name(area), report.shown(area_cell(month, area)))
        for language in report.languages:
            figures_rows("checkins_by_language", month, language, report.shown(language_cell(month, language)))
    for area in report.areas:
        figures_rows("checkins_by_area", "all", _area_name(area), report.shown(area_key(area)))
    for language in report.languages:
        figures_rows("checkins_by_language", "all", language, report.shown(language_key(language)))
    figures_rows("checkins_by_month", "all", "all", report.shown(ALL))
    for row in report.by_area:
        for name in ("signed_up", "waitlisted", "attended"):
            writer.writerow(["signups_by_area", "all", _area_name(row.area), name, getattr(row, name)])
    for (month, area), count in sorted(report.attendances.items()):
        writer.writerow(["attendance_by_area", month, _area_name(area), "times present", count])
    for row in report.by_series:
        group = f"{row.id} {row.name}"
        for name in ("signed_up", "waitlisted", "meetings_held", "attendances"):
            writer.writerow(["signups_by_series", "all", group, name, getattr(row, name)])
    writer.writerow(["note", "", "", "validation", VALIDATION_NOTE])
    writer.writerow(["note", "", "", "suppression", SUPPRESSION_NOTE])
    writer.writerow(["note", "", "", "coarsening", COARSENING_NOTE])
    return out.getvalue()


# --- For the coordinator's chat ----------------------------------------------------------------


def latest_shown_month(report: Report) -> tuple[str, Figures] | None:
    for month in reversed(report.months):
        figures = report.shown(month_key(month))
        if figures is not None and figures.respondents > 0:
            return month, figures
    return None


def summary(report: Report, language: str) -> str:
    """A short text in ``language`` to go with the chart."""
    with use_locale(language):
        lines = [_("Check-in report (anonymous)")]
        latest = latest_shown_month(report)
        if latest is None:
            lines.append(
                _("There are not enough check-ins yet to show: a group needs at least 10 people.")
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
        signed_up = sum(row.signed_up for row in report.by_area)
        attended = sum(row.attended for row in report.by_area)
        lines.append(
            fill(
                _("Signed up now: %(signed_up)s men. Came at least once: %(attended)s."),
                signed_up=signed_up,
                attended=attended,
            )
        )
        lines.append(
            _(
                "Groups of fewer than 10 people are hidden, and so is anything from which "
                "they could be worked out."
            )
        )
        lines.append(
            _("The Arabic and Somali versions of the questions still await validation by native speakers.")
        )
        return directed("\n\n".join(lines))


def _percent(value: float | None, language: str) -> str:
    return "–" if value is None else format_percent(value, locale=language)


def _decimal(value: float | None, language: str) -> str:
    return "–" if value is None else format_decimal(round(value, 1), format="0.0", locale=language)


async def coordinator_report(
    db: Database, settings: Settings, language: str, now: datetime | None = None
) -> Outgoing:
    """``/report``: the chart as a PNG, with a short summary in the coordinator's language.
    Reads on their own connections (``build_from``), so no write waits for it, and draws the
    chart in a worker thread, so the event loop keeps answering meanwhile."""
    from bot.report_chart import render_png

    report = await build_from(db, settings, now)
    image = await asyncio.to_thread(render_png, report, language)
    return Outgoing(text=summary(report, language), image=image)
