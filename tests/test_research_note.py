"""The research note (``meedoen research-note``): generated from the demo's synthetic data,
its text holds only figures the report shows, no free text, and every section."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from bot.analytics import research_note
from bot.analytics.report import area_cell, month_key
from bot.app.demo import seed
from bot.app.service import Service
from bot.store import report_data
from bot.store import research_note as note_store
from dialogs.anonymity import MIN_GROUP

SECTIONS = {
    "nl": ["Periode en methode", "Eenzaamheid en meedoen door de tijd", "Drempels en interesses per gebied",
           "Stellingen bij het begin en het einde van een groep", "Aanmeldingen, aanwezigheid en blijven komen"],
    "en": ["Period and method", "Loneliness and taking part over time", "Barriers and interests per area",
           "Statements at the start and the end of a group", "Sign-ups, attendance and retention"],
}


async def read_note(connection, settings, now):
    """The note over every closed month the report shows, as ``meedoen research-note`` reads
    it; with the raw cohorts and themes it was built from."""
    built = await report_data.build(connection, settings, now)
    cohorts = await note_store.cohorts(connection, now)
    starts = await note_store.starts(connection)
    themes = await note_store.themes(connection)
    return research_note.build(built, built.months[0], built.months[-1], cohorts, starts, themes), cohorts, themes


@pytest.fixture
async def demo_note(settings):
    """The demo's seed, and the note over every closed month it shows."""
    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        async with service.db.transaction() as connection:
            return await read_note(connection, settings, service.now())
    finally:
        await service.stop()


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>|src=\"data:[^\"]*\"", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _shown_numbers(note) -> set[str]:
    """Every figure the note may print: what the report and the note's own tables show,
    formatted as the note formats them."""
    report = note.report
    shown: set[str] = {str(MIN_GROUP), *map(str, range(0, 7)), "10"}  # the rule, meetings 1-6, scales
    for value in report.cells.values():
        shown.add(str(value.respondents))
        for name in ("share_lonely", "took_part"):
            if (share := getattr(value, name)) is not None:
                shown.add(str(round(share * 100)))
        if value.worthwhile is not None:
            shown.update(f"{value.worthwhile:.1f}".split("."))
    for row in report.by_series:
        shown.add(str(row.signed_up))
    for _name, present in note.cohorts.rows.values():
        shown.update(map(str, present))
    shown.update(map(str, note.cohorts.total))
    shown.update(str(n) for n in (*note.themes.values(), note.themes_total) if n is not None)
    shown.update(map(str, report.listening.respondents.values()))
    for shares in report.listening.shares.values():
        shown.update(str(round(v * 100)) for v in shares.values())
    for scope in report.statements.scopes:
        for row in scope.rows:
            for part in (row.before, row.after):
                if part is not None and part.agree() is not None:
                    shown.add(str(round(part.agree() * 100)))
            if row.shift is not None:
                shown.add(str(abs(round(row.shift * 100))))
    return shown


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_the_note_shows_every_section_and_only_figures_the_report_shows(demo_note, language):
    note, cohorts, _themes = demo_note
    page = research_note.render_html(note, language, map_png=b"\x89PNG")
    text = _text(page)
    for title in SECTIONS[language]:
        assert title in text
    assert note.report.months and note.cohorts.rows  # the demo gives the note figures to show
    shown = _shown_numbers(note)
    dates = {note.first[:4], note.last[:4], str(note.report.generated_at.year), str(note.report.generated_at.day)}
    printed = set(re.findall(r"\d+", text))
    assert printed - shown - dates == set()
    # a raw attendance count the protection hid never shows
    hidden = {n for sid, (_n, raw) in cohorts.items() for k, n in enumerate(raw)
              if note.cohorts.rows[sid][1][k] is None and n is not None and n > 6}
    assert not (hidden & printed - shown)


async def test_no_free_text_of_the_facilitators_form_appears(demo_note):
    note, _cohorts, _themes = demo_note
    text = _text(research_note.render_html(note, "nl"))
    for words in ("Open gesprek", "taalcafé", "vrijwilligerswerk", "Stelling:"):
        assert words not in text


def test_a_small_series_hides_its_count_and_the_one_it_would_reveal():
    raw = {1: ("Reeks Oost", [25, 20]), 2: ("Reeks West", [7])}
    cohorts = research_note.protect_cohorts(raw)
    assert cohorts.rows[2][1] == (None,)
    assert cohorts.rows[1][1] == (None, 20)  # 25 shown beside a total of 32 would give away 7
    assert cohorts.total == (32, 20)


def test_a_meeting_nobody_ticked_is_not_recorded_rather_than_empty():
    raw = {1: ("Reeks Oost", [22, None]), 2: ("Reeks West", [19, 18]), 3: ("Reeks Zuid", [20, 17])}
    cohorts = research_note.protect_cohorts(raw)
    assert cohorts.rows[1][1] == (22, research_note.UNRECORDED)
    assert cohorts.rows[2][1] == (19, 18) and cohorts.total == (61, 35)
    nought = research_note.protect_cohorts({**raw, 1: ("Reeks Oost", [22, 0])})
    assert nought.rows[1][1][1] is None  # a real nought is a count like any other: hidden under the rule
    only = research_note.protect_cohorts({1: ("Reeks Oost", [22, None])})
    assert only.total == (22, research_note.UNRECORDED)


async def test_the_note_says_which_meetings_nobody_recorded(settings):
    """A group's first meeting with nobody ticked (the coordinator's /attendance still to
    do): the store reads it as not recorded, and the note says so in words, where it used to
    print a 0 that looked like everyone dropping out. Ticked absent, it is a real 0."""
    from sqlalchemy import delete, select

    from bot.store.schema import attendance, meetings, series

    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        now = service.now()
        async with service.db.transaction() as connection:
            sid, meeting_id = (await connection.execute(
                select(series.c.id, meetings.c.id).join(meetings, meetings.c.series_id == series.c.id)
                .where(meetings.c.starts_at <= now, meetings.c.status == "scheduled")
                .order_by(meetings.c.starts_at).limit(1)
            )).one()
            await connection.execute(delete(attendance).where(attendance.c.meeting_id == meeting_id))
            unticked = (await note_store.cohorts(connection, now))[sid][1]
            await connection.execute(attendance.insert(), [
                {"participant_id": pid, "meeting_id": meeting_id, "present": 0, "marked_at": now}
                for pid in (await connection.scalars(select(attendance.c.participant_id).distinct().limit(3)))
            ])
            ticked_absent = (await note_store.cohorts(connection, now))[sid][1]
            await connection.execute(delete(attendance).where(attendance.c.meeting_id == meeting_id))
            note, _cohorts, _themes = await read_note(connection, settings, now)
    finally:
        await service.stop()
    assert unticked[0] is None
    assert ticked_absent[0] == 0  # everyone ticked absent is a real nought
    for language, words in (("en", "not recorded"), ("nl", "niet bijgehouden")):
        text = _text(research_note.render_html(note, language))
        assert words in text


def test_themes_under_the_rule_of_ten_are_hidden_whole():
    shown, total = research_note.protect_themes({"work": 3})
    assert total is None and set(shown.values()) == {None}
    shown, total = research_note.protect_themes({"work": 14, "father": 12, "roles": 2})
    assert total == 28 and shown["work"] is None or shown["roles"] is None


def test_months_outside_the_period_leave_the_note(demo_note):
    note, _cohorts, _themes = demo_note
    months = note.report.months
    only = research_note.for_period(note.report, months[-1], months[-1])
    assert only.months == (months[-1],)
    assert only.shown(month_key(months[0])) is None or len(months) == 1
    assert all(key[1] == months[-1] for key in only.cells if key[0] == "area")
    assert area_cell(months[-1], note.report.areas[0]) in only.cells


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_the_pdf_opens_and_holds_every_section(demo_note, language):
    import io

    from pypdf import PdfReader

    from bot.analytics.research_note_pdf import render_pdf

    note, _cohorts, _themes = demo_note
    reader = PdfReader(io.BytesIO(render_pdf(note, language)))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for title in SECTIONS[language]:
        assert title in text
    assert set(re.findall(r"\d+", text)) - _shown_numbers(note) - {note.first[:4], note.last[:4],
                                                                       str(note.report.generated_at.day)} == set()
    assert "Open gesprek" not in text


async def test_the_arabic_pdf_keeps_its_numbers_in_reading_order(demo_note):
    import io

    from pypdf import PdfReader

    from bot.analytics.research_note_pdf import render_pdf

    note, _cohorts, _themes = demo_note
    reader = PdfReader(io.BytesIO(render_pdf(note, "ar")))
    text = reader.pages[0].extract_text()
    year = note.first[:4]
    assert year in text and year[::-1] not in text  # "2026", never "6202"


def _meedoen(database_url: str, *args: str):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env["MEEDOEN_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "bot.app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_command_writes_html_and_pdf_by_the_file_name(database_url, tmp_path):
    assert _meedoen(database_url, "db", "upgrade").returncode == 0
    html_file, pdf_file = tmp_path / "note.html", tmp_path / "note.pdf"
    made = _meedoen(database_url, "research-note", "--from", "2026-01", "--to", "2026-06", "--out", str(html_file),
                    "--lang", "en")
    assert made.returncode == 0, made.stderr
    page = html_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="en"' in page and "Period and method" in page
    assert _meedoen(database_url, "research-note", "--from", "2026-01", "--to", "2026-06",
                    "--out", str(pdf_file)).returncode == 0
    assert pdf_file.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(("args", "sentence"), [
    (["--from", "2026-01", "--to", "2026-06", "--out", "note.docx"], "--out must end in .html or .pdf"),
    (["--from", "2026-06", "--to", "2026-01", "--out", "note.html"], "--from is after --to"),
    (["--from", "juni", "--to", "2026-01", "--out", "note.html"], "is not a month; write it as YYYY-MM"),
])
def test_a_mistake_gets_one_sentence(database_url, tmp_path, args, sentence):
    assert _meedoen(database_url, "db", "upgrade").returncode == 0
    result = _meedoen(database_url, "research-note", *(str(tmp_path / a) if a.startswith("note.") else a for a in args))
    assert result.returncode == 2 and sentence in result.stderr
    assert "Traceback" not in result.stderr


def test_two_periods_cannot_be_subtracted_to_reveal_a_hidden_count(demo_note):
    """Cohorts and themes are protected over the whole programme: a note over a shorter
    period lists fewer series but the same protected figures, and the same total."""
    note, cohorts, themes = demo_note
    starts = {sid: "2026-01" for sid in cohorts} | {min(cohorts): "2026-05"}
    early = research_note.build(note.report, "2026-01", "2026-03", cohorts, starts, themes)
    late = research_note.build(note.report, "2026-04", "2026-06", cohorts, starts, themes)
    assert early.in_period and late.in_period and not early.in_period & late.in_period
    assert early.cohorts == late.cohorts and early.themes == late.themes
