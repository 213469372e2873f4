"""The anonymous report in the console: the figures ``meedoen report`` shows, built by the same
``bot.store.report_data.build_from`` (closed months, frozen published figures, the rule of 10 over men),
as tables; the CLI's chart and CSV as downloads.

The month and area filters only *select* among the report's own cells (a month is one of
``Report.months``, an area one of ``Report.areas``): they hide rows, never compute a figure,
so a filter cannot show a smaller group than the report already does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from babel.numbers import format_decimal, format_percent
from starlette.requests import Request
from starlette.responses import Response

from bot.analytics import funnel_table, report
from bot.analytics import listening as listening_section
from bot.app.service import Service
from bot.console.access import Visit
from bot.console.security import secured
from bot.console.templating import page
from bot.store import funnel, report_data
from dialogs.funnel import CHECKIN, CHECKIN_QUESTIONS, SIGNUP
from dialogs.i18n import _, fill

PERCENT = {"share_not", "share_moderate", "share_severe", "took_part"}
COUNTS = {"respondents", "answers"}


@dataclass(frozen=True)
class Line:
    """One row of a table: its label and its cells as text (``hidden`` where not shown)."""

    label: str
    cells: list[str]


def measure_titles() -> list[str]:
    return [
        _("Men"), _("Answers"), _("Not lonely"), _("Moderately lonely"), _("Severely lonely"),
        _("Emotional loneliness (0–3)"), _("Social loneliness (0–3)"), _("Took part in an activity"),
        _("Worthwhile (0–10)"),
    ]


def _figure(shown: report.Shown | None, attribute: str, language: str) -> str:
    value = None if shown is None else getattr(shown, attribute)
    if value is None:
        return _("hidden")
    if attribute in COUNTS:
        return str(value)
    if attribute in PERCENT:
        return format_percent(value, locale=language)
    return format_decimal(round(value, 1), format="0.0", locale=language)


def _figures(label: str, shown: report.Shown | None, language: str) -> Line:
    return Line(label, [_figure(shown, attribute, language) for attribute, _name in report.MEASURES_SHOWN])


def _count(value: int | None) -> str:
    return _("hidden") if value is None else str(value)


def area_name(area: str) -> str:
    return area or _("Area not given")


@dataclass(frozen=True)
class Choice:
    """What the filters picked: a month of the report (None: all shown months) and an area
    of the report (None: all areas)."""

    month: str | None
    area: str | None


def choice_of(request: Request, built: report.Report) -> Choice:
    """Only values the report itself lists are taken; anything else means "all"."""
    month = request.query_params.get("month")
    index = request.query_params.get("area", "")
    area = built.areas[int(index)] if index.isdigit() and int(index) < len(built.areas) else None
    return Choice(month if month in built.months else None, area)


def tables(built: report.Report, choice: Choice, language: str) -> dict[str, list[Line]]:
    months = [choice.month] if choice.month else list(built.months)
    areas = [choice.area] if choice.area is not None else list(built.areas)
    by_month = [_figures(m, built.shown(report.month_key(m)), language) for m in months]
    if choice.month is None and built.months:
        by_month.append(_figures(_("All months shown"), built.shown(report.ALL), language))

    def area_figures(area: str) -> report.Shown | None:
        key = report.area_cell(choice.month, area) if choice.month else report.area_key(area)
        return built.shown(key)

    def language_figures(code: str) -> report.Shown | None:
        key = report.language_cell(choice.month, code) if choice.month else report.language_key(code)
        return built.shown(key)

    by_area = [_figures(area_name(a), area_figures(a), language) for a in areas] if built.months else []
    by_language = (
        [_figures(code, language_figures(code), language) for code in built.languages]
        if built.months and choice.area is None else []
    )
    signups = [
        Line(_("All areas") if row.area == "all" else area_name(row.area),
             [_count(row.signed_up), _count(row.waitlisted), _count(row.attended)])
        for row in built.by_area
        if (row.area == "all" and choice.area is None) or row.area in areas and row.area != "all"
    ]
    series = [
        Line(_("All groups") if row.id == 0 else f"{row.name} ({area_name(row.area)})",
             [_count(row.signed_up), _count(row.waitlisted), str(row.meetings_held), _count(row.attendances)])
        for row in built.by_series
        if (row.id == 0 and choice.area is None) or (row.id != 0 and row.area in areas)
    ]
    present = [
        Line(f"{month} · {_('All areas') if area == 'all' else area_name(area)}", [_count(count)])
        for (month, area), count in sorted(built.attendances.items())
        if month in months and ((area == "all" and choice.area is None) or (area != "all" and area in areas))
    ]
    return {"by_month": by_month, "by_area": by_area, "by_language": by_language,
            "signups": signups, "series": series, "present": present,
            "map": participation_map(built, choice, language),
            "listening": listening_tables(built, choice, language)}


def listening_heads(built: report.Report, choice: Choice) -> list[str]:
    if choice.area is not None:
        return [area_name(choice.area)]
    return [_("All areas"), *(area_name(a) for a in built.listening.areas)] if built.listening else []


def listening_tables(built: report.Report, choice: Choice, language: str) -> list[Funnel]:
    """The listening poll (bot/analytics/listening.py): per question, the share of the men who
    answered it that named each option, by area; the same suppressed figures as the CLI's."""
    heard = built.listening
    if heard is None or not heard.respondents:
        return []
    groups: list[str | None] = [choice.area] if choice.area is not None else [None, *heard.areas]
    men = Line(_("Men who answered"), [_count(heard.respondents.get(key)) for key in groups])
    captions = {
        "barriers": _("What makes taking part hard (share of the men who answered)"),
        "interests": _("What would interest them (share of the men who answered)"),
        "day_parts": _("Times that suit them (share of the men who answered)"),
    }
    heads = listening_heads(built, choice)
    result = []
    for number, (question, options) in enumerate(listening_section.OPTIONS.items()):
        lines = [men] if number == 0 else []
        for n, label in enumerate(options):
            shares = [heard.share(key, question, n) for key in groups]
            lines.append(Line(_(label), [_("hidden") if v is None else format_percent(v, locale=language) for v in shares]))
        result.append(Funnel(captions[question], heads, lines))
    return result


def _map_cell(shown: report.Shown | None, language: str) -> str:
    """As ``meedoen report``'s participation map: the share moderately or severely lonely,
    with the men it is over."""
    if shown is None:
        return _("hidden")
    return f"{_figure(shown, 'share_lonely', language)} ({shown.respondents})"


def participation_map(built: report.Report, choice: Choice, language: str) -> list[Line]:
    """Areas × months (and the shown months together when no month is picked)."""
    if not built.months:
        return []
    months = [choice.month] if choice.month else list(built.months)
    areas = [choice.area] if choice.area is not None else list(built.areas)

    def row(label: str, cell_of, total) -> Line:
        cells = [_map_cell(built.shown(cell_of(month)), language) for month in months]
        if choice.month is None:
            cells.append(_map_cell(built.shown(total), language))
        return Line(label, cells)

    lines = [row(area_name(a), lambda m, a=a: report.area_cell(m, a), report.area_key(a)) for a in areas]
    if choice.area is None:
        lines.append(row(_("All areas"), report.month_key, report.ALL))
    return lines


def map_heads(built: report.Report, choice: Choice) -> list[str]:
    return [choice.month] if choice.month else [*built.months, _("All months shown")]


@dataclass(frozen=True)
class Funnel:
    """One funnel as a table: its caption, column titles and rows (week · language)."""

    caption: str
    heads: list[str]
    lines: list[Line]


def funnels(counts: list, now) -> list[Funnel]:
    """The sign-up and check-in funnels, as ``meedoen report --funnel`` shows them
    (bot/analytics/funnel_table.py: weeks that are over, fewer than 10 as "< 10")."""
    heads = {
        SIGNUP: [_("Started"), _("Chose a language"), _("Agreed to privacy"), _("Chose a group"), _("Finished")],
        CHECKIN: [*(fill(_("Question %(number)s"), number=n) for n in range(1, CHECKIN_QUESTIONS + 1)), _("Finished")],
    }
    captions = {
        SIGNUP: _("Sign-up funnel: men per step, by week and language"),
        CHECKIN: _("Check-in funnel: check-ins per question reached, by week and language"),
    }
    return [
        Funnel(captions[flow], heads[flow],
               [Line(f"{row.week} · {row.language}", list(row.cells)) for row in funnel_table.rows(counts, flow, now)])
        for flow in (SIGNUP, CHECKIN)
    ]


async def funnel_counts(service: Service) -> list:
    async with service.db.transaction() as connection:
        return await funnel.all_counts(connection)


def statement_tables(built: report.Report, added: dict[int, dict[str, str]], language: str) -> list[Funnel]:
    """The statements before and after (bot/analytics/statements.py), one table per scope:
    a row per statement and phase, the share of each answer, and the shift in agreement."""
    from dialogs.statements import SCALE, SHIPPED

    figures = built.statements
    if figures is None or not figures.has_figures():
        return []
    heads = [_("Men"), *(_(label) for _value, label in SCALE), _("Shift in agreement")]
    order = [value for value, _label in SCALE]

    def text(number: int) -> str:
        return _(SHIPPED[number]) if number in SHIPPED else added.get(number, {}).get(language, "")

    def share(value: float | None) -> str:
        return _("hidden") if value is None else format_percent(value, locale=language)

    tables = []
    for scope in figures.scopes:
        lines = []
        for row in scope.rows:
            shift = _("hidden") if row.shift is None else fill(_("%(points)s points"), points=f"{row.shift * 100:+.0f}")
            for phase, distribution, last in ((_("before"), row.before, ""), (_("after"), row.after, shift)):
                cells = [_("hidden")] * (len(heads) - 1) if distribution is None else [
                    str(distribution.respondents), *(share(distribution.shares[v]) for v in order)
                ]
                lines.append(Line(f"{row.statement}. {text(row.statement)} · {phase}", [*cells, last]))
        caption = _("All groups") if scope.series_id is None else scope.name
        tables.append(Funnel(caption, heads, lines))
    return tables


async def added_statements(service: Service) -> dict[int, dict[str, str]]:
    from bot.store import statements as store

    async with service.db.transaction() as connection:
        return await store.added(connection)


def report_pages(service: Service):
    async def built() -> report.Report:
        return await report_data.build_from(service.db, service.settings, service.now())

    async def show(request: Request, visit: Visit) -> Response:
        current = await built()
        choice = choice_of(request, current)
        return page(
            request, "report.html", visit=visit, report=current, choice=choice,
            titles=measure_titles(), tables=tables(current, choice, visit.language),
            map_heads=map_heads(current, choice),
            areas=[(index, area_name(area)) for index, area in enumerate(current.areas)],
            funnels=funnels(await funnel_counts(service), service.now()), hidden_count=funnel_table.HIDDEN,
            statement_tables=statement_tables(current, await added_statements(service), visit.language),
        )

    async def chart(request: Request, visit: Visit) -> Response:
        from bot.analytics.report_chart import render_png
        from bot.config import read_shapes

        shapes = read_shapes(service.settings.areas_geojson, service.settings.areas)
        image = await asyncio.to_thread(render_png, await built(), visit.language, shapes)
        return secured(Response(image, media_type="image/png"))

    async def csv(request: Request, visit: Visit) -> Response:
        response = Response(report.render_csv(await built()), media_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = 'attachment; filename="meedoen-report.csv"'
        return secured(response)

    return show, chart, csv
