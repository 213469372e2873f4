"""The report's chart: the trend over months and the "participation map" (areas × months,
coloured by the share of men who are moderately or severely lonely; hidden cells marked).
It draws only what the report's tables show (``Report.shown``), and every configured area,
whether or not anyone from it answered.

matplotlib's object API with the Agg canvas: no pyplot, so no global figure state shared
between concurrent requests, and no display needed. Labels are translated with gettext, in
every language: matplotlib joins Arabic letters and lays out right-to-left text itself, and
``bot.analytics.image_text`` gives each label its direction.
"""

from __future__ import annotations

import io
import math
import textwrap
from datetime import date

from babel.dates import format_date
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bot.analytics.area_map import draw
from bot.analytics.image_text import image_gettext as _
from bot.analytics.image_text import image_text
from bot.analytics.report import ALL, Report, area_cell, area_key, month_key
from bot.common.area_shapes import AreaShapes
from dialogs.anonymity import MIN_GROUP
from dialogs.i18n import fill, gettext, use_locale
from dialogs.listening import BARRIERS

CHART_MONTHS = 12
"""Months drawn (the latest); the text and CSV report hold them all."""

HIDDEN_GREY = "#d9d9d9"
COLOURS = LinearSegmentedColormap.from_list("lonely", ["#f7fbff", "#fdd49e", "#d7301f"])
BLUES = LinearSegmentedColormap.from_list("counts", ["#eff3ff", "#2171b5"])
CATEGORIES = tuple(colour for n, colour in enumerate(colormaps["tab10"].colors) if n != 7)
"""A colour per barrier on the map: tab10 without its grey, which reads as "hidden" there."""
TITLE_Y = 1.0
"""Where the axes titles go (their default place). Given, so that matplotlib does not measure
every tick label of both axes at each draw to see whether one reaches above the axes: none
does here."""


def render_png(report: Report, language: str = "en", shapes: AreaShapes | None = None) -> bytes:
    buffer = io.BytesIO()
    chart(report, language, shapes).savefig(buffer, format="png")
    return buffer.getvalue()


def chart(report: Report, language: str = "en", shapes: AreaShapes | None = None) -> Figure:
    """With ``shapes`` (MEEDOEN_AREAS_GEOJSON), the participation map is a row of real maps
    (``_draw_choropleths``); without, the grid of areas × months."""
    with use_locale(language):
        label_language = language
        # A fixed layout: matplotlib's automatic ("constrained") layout draws everything twice.
        figure = Figure(figsize=(11, 8.5), dpi=100)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(left=0.2, right=0.9, top=0.91, bottom=0.1, hspace=0.55)
        if shapes is None:
            trend, heat = figure.subplots(2, 1, height_ratios=(1, 1.3))
        else:
            grid = figure.add_gridspec(2, 4, height_ratios=(1, 1.3), left=0.06, right=0.95, wspace=0.05)
            trend = figure.add_subplot(grid[0, :])
        months = report.months[-CHART_MONTHS:]
        labels = [_month_label(m, label_language) for m in months]
        figure.suptitle(_("Check-ins: loneliness and taking part (anonymous)"), fontsize=14)
        if not months:
            trend.text(0.5, 0.5, _("No check-ins yet."), ha="center", va="center", fontsize=12)
            trend.set_axis_off()
        else:
            _draw_trend(trend, report, months, labels)
        if shapes is not None:
            _draw_choropleths([figure.add_subplot(grid[1, n]) for n in range(4)], report, shapes, language)
        elif not months:
            heat.set_axis_off()
        else:
            _draw_map(figure, heat, report, months, labels)
        figure.text(
            0.01,
            0.005,
            "\n".join(
                [
                    image_text(
                        fill(
                            gettext(
                                "Groups of fewer than %(min)s people are hidden, and so is anything from "
                                "which they could be worked out."
                            ),
                            min=MIN_GROUP,
                        )
                    ),
                    _(
                        "The Arabic and Somali versions of the questions still await "
                        "validation by native speakers."
                    ),
                ]
            ),
            fontsize=8.5,
            va="bottom",
        )
        return figure


def _month_label(month: str, language: str) -> str:
    return image_text(format_date(date.fromisoformat(month + "-01"), "MMM y", locale=language))


def _nan(value: float | None, scale: float = 100.0) -> float:
    return math.nan if value is None else value * scale


def _draw_trend(axes, report: Report, months, labels) -> None:
    shown = [report.shown(month_key(m)) for m in months]
    x = list(range(len(months)))
    series = (
        (_("Moderately or severely lonely"), "share_lonely", "#d7301f", "-"),
        (_("Severely lonely"), "share_severe", "#7f0000", "--"),
        (_("Took part in an activity"), "took_part", "#2b8cbe", "-"),
    )
    for label, attribute, colour, style in series:
        values = [_nan(getattr(f, attribute)) if f is not None else math.nan for f in shown]
        axes.plot(x, values, style, marker="o", color=colour, label=label)
    axes.set_ylim(0, 100)
    axes.set_ylabel(_("Share of respondents (%)"))
    right = axes.twinx()
    worthwhile = [_nan(f.worthwhile, 1.0) if f is not None else math.nan for f in shown]
    right.plot(x, worthwhile, ":", marker="s", color="#31a354", label=_("Worthwhile (0–10)"))
    right.set_ylim(0, 10)
    right.set_ylabel(_("Worthwhile (0–10)"))
    for position, figures in zip(x, shown, strict=True):
        text = _("hidden") if figures is None else f"n={_count(figures.respondents)}"
        axes.text(position, 2, text, ha="center", fontsize=7.5, color="#555555")
    axes.set_xticks(x, labels, fontsize=8)
    axes.set_xlim(-0.5, len(months) - 0.5)
    handles = axes.get_legend_handles_labels()
    extra = right.get_legend_handles_labels()
    axes.legend(
        handles[0] + extra[0], handles[1] + extra[1],
        loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=8, ncols=4, frameon=False,
    )
    axes.set_title(_("Trend over the months (all areas)"), fontsize=11, y=TITLE_Y)


def _draw_map(figure, axes, report: Report, months, labels) -> None:
    rows = [*report.areas, None]  # every configured area, used or not; None: all areas
    columns = [*months, None]  # None: the shown months together
    image = [[math.nan] * len(columns) for _row in rows]
    for i, area in enumerate(rows):
        for j, month in enumerate(columns):
            key = _key(area, month)
            figures = report.shown(key)
            if figures is not None and figures.share_lonely is not None:
                image[i][j] = figures.share_lonely * 100
    mapped = axes.imshow(image, cmap=COLOURS, vmin=0, vmax=100, aspect="auto")
    for i, area in enumerate(rows):
        for j, month in enumerate(columns):
            figures = report.shown(_key(area, month))
            if figures is None:
                axes.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=HIDDEN_GREY, hatch="///",
                              edgecolor="#9e9e9e", linewidth=0)
                )
                axes.text(j, i, _("hidden"), ha="center", va="center", fontsize=7.5, color="#424242")
            else:
                share = figures.share_lonely
                text = "–" if share is None else f"{round(share * 100)}%"
                axes.text(j, i, f"{text}\nn={_count(figures.respondents)}", ha="center", va="center", fontsize=7.5)
    axes.set_xticks(range(len(columns)), [*labels, textwrap.fill(_("All months shown"), 12)], fontsize=8)
    axes.set_yticks(
        range(len(rows)),
        [_("All areas") if a is None else (a or _("Area not given")) for a in rows],
        fontsize=8,
    )
    axes.axhline(len(rows) - 1.5, color="black", linewidth=0.8)
    axes.axvline(len(columns) - 1.5, color="black", linewidth=0.8)
    axes.set_title(
        _("Participation map: moderately or severely lonely, by area and month"), fontsize=11, y=TITLE_Y
    )
    bar = figure.colorbar(mapped, ax=axes, fraction=0.03)
    bar.set_label(_("Share of respondents (%)"))


def _draw_choropleths(axes, report: Report, shapes: AreaShapes, language: str) -> None:
    """The participation map as maps: over the shown months, the share moderately or severely
    lonely; now, the men signed up and the men who came at least once; and the barrier named
    most often in the listening poll. Only figures the report shows; the rest hatched "hidden"."""
    participation = {row.area: row for row in report.by_area}
    hidden = _("hidden")

    def lonely(area: str) -> float | None:
        shown = report.shown(area_key(area))
        return None if shown is None else shown.share_lonely

    def counted(name: str):
        def value(area: str) -> int | None:
            row = participation.get(area)
            return None if row is None else getattr(row, name)
        return value

    def scaled(value_of, colours, top: float):
        def colour(area: str) -> str | None:
            value = value_of(area)
            return None if value is None else to_hex(colours(value / top if top else 0.0))
        return colour

    areas = list(shapes.polygons)
    draw(axes[0], shapes, scaled(lonely, COLOURS, 1.0), lambda a: f"{round(lonely(a) * 100)}%",
         _("Moderately or severely lonely"), hidden)
    for ax, name, title in ((axes[1], "signed_up", _("Signed up")), (axes[2], "attended", _("Came at least once"))):
        value_of = counted(name)
        top = max([v for a in areas if (v := value_of(a)) is not None] or [0])
        draw(ax, shapes, scaled(value_of, BLUES, top), lambda a, value_of=value_of: str(value_of(a)), title, hidden)
    heard = report.listening
    main = {a: heard.main_barrier(a) if heard is not None else None for a in areas}
    with use_locale(language):
        names = {n: image_text(gettext(label)) for n, label in enumerate(BARRIERS)}
    draw(axes[3], shapes, lambda a: None if main[a] is None else to_hex(CATEGORIES[main[a] % len(CATEGORIES)]),
         lambda a: textwrap.fill(names[main[a]], 18), _("Main barrier"), hidden)


def _count(n: int) -> str:
    """A respondent count short enough for a cell: 8412, 48k, 1.0M."""
    if n >= 999_500:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{round(n / 1000)}k"
    return str(n)


def _key(area, month):
    if area is None:
        return ALL if month is None else month_key(month)
    return area_key(area) if month is None else area_cell(month, area)
