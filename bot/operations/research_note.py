"""The research note made from the database: what ``meedoen research-note`` writes and what
the demo page's "Research note" link opens. The figures are read here (the report's shown
figures, the cohort curve and the facilitators' themes); protecting and drawing them is
``bot.analytics.research_note`` (HTML) and ``bot.analytics.research_note_pdf`` (PDF).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.analytics import research_note
from bot.analytics.report import Report
from bot.config import Settings, read_shapes
from bot.store import report_data
from bot.store import research_note as note_store
from bot.store.database import Database

FORMATS = (".html", ".pdf")


@dataclass(frozen=True)
class Figures:
    """Everything a note over any period is built from (``research_note.build``)."""

    report: Report
    cohorts: dict[int, tuple[str, list[int]]]
    starts: dict[int, str]
    themes: dict[str, int]

    def note(self, first: str, last: str) -> research_note.Note:
        return research_note.build(self.report, first, last, self.cohorts, self.starts, self.themes)


async def read(db: Database, settings: Settings, now: datetime) -> Figures:
    """The report (it may publish a newly closed month, as ``meedoen report`` does), then the
    cohort counts and the themes."""
    built = await report_data.build_from(db, settings, now)
    async with db.transaction() as connection:
        cohorts = await note_store.cohorts(connection, now)
        starts = await note_store.starts(connection)
        themes = await note_store.themes(connection)
    return Figures(built, cohorts, starts, dict(themes))


def render(note: research_note.Note, settings: Settings, language: str, suffix: str, now: datetime) -> bytes | str:
    """The note as a PDF (bytes) or an HTML page (text), by ``suffix`` (one of ``FORMATS``),
    with the report's chart as the participation map (real maps when the areas have shapes)."""
    from bot.analytics.report_chart import render_png

    shapes = read_shapes(settings.areas_geojson, settings.areas)
    map_png = render_png(note.report, language, shapes) if note.report.months else None
    if suffix == ".pdf":
        from bot.analytics.research_note_pdf import render_pdf

        return render_pdf(note, language, map_png, now)
    return research_note.render_html(note, language, map_png, now)
