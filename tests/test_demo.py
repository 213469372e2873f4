"""The demo's seed: every coordinator view has something to show (without a browser; the page
itself is tested in tests/test_demo_browser.py)."""

from __future__ import annotations

import dataclasses

import httpx
from icalendar import Calendar
from sqlalchemy import func, select

from bot.analytics import report
from bot.app.demo import COORDINATOR, ENDED_SERIES, PAST_SERIES, demo_routes, seed
from bot.app.http import build_app
from bot.app.service import Service
from bot.store import audiences, console_links, coordinators, meetings, report_data
from bot.store.schema import checkin_markers, checkin_pool, checkin_responses


async def test_the_seed_gives_attendance_rsvps_broadcast_audiences_and_an_unsuppressed_report(settings):
    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        await seed(service)  # a second start seeds nothing twice
        now = service.now()
        async with service.db.transaction() as connection:
            assert await coordinators.is_coordinator(connection, "demo", COORDINATOR)
            upcoming, past = await meetings.coordinator_meetings(connection, now)
            built = await report_data.build(connection, settings, now)
            responses = await connection.scalar(select(func.count()).select_from(checkin_responses))
            markers = await connection.scalar(select(func.count()).select_from(checkin_markers))
            pooled = await connection.scalar(select(func.count()).select_from(checkin_pool))
            everyone = await audiences.count(connection, ["all"], settings.areas, now)
    finally:
        await service.stop()

    # /attendance: the last meeting of the series that began weeks ago, nobody ticked yet
    [last] = [m for m in past if m.series_name == PAST_SERIES]
    assert len(last.lines) == 6 and all(line.present is None for line in last.lines)
    # /rsvps: its next meeting, with answers
    [coming] = [m for m in upcoming if m.series_name == PAST_SERIES]
    assert {line.answer for line in coming.lines} == {"coming", "not_coming", None}
    assert everyone >= 7  # /broadcast reaches someone

    # every made-up week is over: flushed out of the pool, its markers erased
    assert responses >= 400
    assert markers == pooled == 0
    # /report: several closed months (issue 12), every area cell of the full ones shown with
    # its loneliness (the map), and a trend
    assert len(built.months) >= 4
    full_months = built.months[1:]  # the first may hold only the seed's first week or two
    cells = [report.area_cell(month, area) for month in full_months for area in built.areas]
    assert [cell for cell in cells if built.shown(cell) is None] == []
    assert all(built.shown(cell).respondents >= 10 for cell in cells)
    assert all(built.shown(cell).share_lonely is not None for cell in cells)
    first, last_month = (built.shown(report.month_key(m)) for m in (built.months[0], built.months[-1]))
    assert last_month.share_lonely < first.share_lonely  # the made-up trend has a direction
    assert built.by_series and any(s.attendances for s in built.by_series)
    # the statements before and after: all series together and each ended series, unsuppressed
    assert [scope.name for scope in built.statements.scopes] == ["all series", *(name for name, *_n in ENDED_SERIES)]
    together = built.statements.scopes[0]
    assert all(row.before is not None and row.after is not None for row in together.rows)
    assert any(row.shift is not None and row.shift > 0 for row in together.rows)


async def test_the_demo_pages_console_link_opens_every_console_page_as_the_demo_coordinator(settings):
    """Issue 15's "works in `meedoen demo` too": through /demo/console (the demo page's
    "Console" link) the demo coordinator reaches every page, the new ones included: the
    seeded help request on the overview, a series and its edit form, printable list, one
    meeting's move-or-cancel page, attendance, report, broadcast, coordinators, audit log."""
    import re

    import httpx

    from bot.app.http import build_app
    from bot.store import series as series_store

    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        async with service.db.transaction() as connection:
            rows = await series_store.overview(connection, service.now())
            past_id = next(row.id for row in rows if row.name == PAST_SERIES)
            meeting_rows = await series_store.meeting_rows(connection, past_id)
        now = service.now()
        held = [m for m in meeting_rows if m.starts_at <= now][-1]
        ahead = [m for m in meeting_rows if m.starts_at > now][0]
        transport = httpx.ASGITransport(app=build_app(service, manage_service=False, extra_routes=demo_routes(service)))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            link = await client.get("/demo/console")
            assert link.status_code == 303 and link.headers["location"].startswith("/console/login/")
            form = await client.get(link.headers["location"])
            token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
            entered = await client.post("/console/login", data={"token": token})
            assert entered.status_code == 303
            overview = await client.get("/console/")
            assert overview.status_code == 200 and "demo:demo-ahmed" in overview.text  # the seeded request
            for path in (f"/console/series/{past_id}", f"/console/series/{past_id}/edit", f"/console/series/{past_id}/print",
                         f"/console/meetings/{ahead.id}", f"/console/meetings/{held.id}/attendance", "/console/report",
                         "/console/broadcasts", "/console/coordinators", "/console/audit"):
                assert (await client.get(path)).status_code == 200, path
            audit_page = (await client.get("/console/audit")).text
            assert "demo:coordinator" in audit_page and "console.login" in audit_page
    finally:
        await service.stop()


async def test_the_demo_offers_the_calendar_file_and_its_report_shows_the_funnel(settings):
    """A man signs up in the demo chat and downloads his calendar file; the demo coordinator's
    report page shows the made-up funnel, the English column suppressed."""
    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        transport = httpx.ASGITransport(app=build_app(service, manage_service=False, extra_routes=demo_routes(service)))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            seen = 0

            async def say(**body) -> list[dict]:
                """Send, then read until the next question (a message with buttons) arrives."""
                nonlocal seen
                assert (await client.post("/demo/api/send", json={"user": "karim", **body})).status_code == 202
                answer: list[dict] = []
                while not any(m["options"] for m in answer):
                    found = (await client.get("/demo/api/messages", params={"user": "karim", "after": seen})).json()
                    seen = found["next"]
                    answer += [m for m in found["messages"] if not m.get("mine")]
                return answer

            def tap(messages: list[dict], prefix: str) -> dict:
                asked = next(m for m in reversed(messages) if m["options"])
                key = next(o["key"] for o in asked["options"] if o["key"].startswith(prefix))
                return {"choice": key, "question": asked["question"]}

            answer = await say(text="/start")
            for prefix in ("lang:nl", "yes", "skip", "s:", "a:"):
                answer = await say(**tap(answer, prefix))
            answer = await say(**tap(answer, "menu:cal"))
            document = next(m["document"] for m in answer if m.get("document"))
            fetched = await client.get(document["url"])
            async with service.db.transaction() as connection:
                token = await console_links.create(connection, "demo", COORDINATOR, service.now())
            login = await client.post("/console/login", data={"token": token}, follow_redirects=True)
            report_page = await client.get("/console/report")
    finally:
        await service.stop()
    assert document["name"].endswith(".ics")
    assert fetched.status_code == 200 and fetched.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(fetched.content).walk("VEVENT")
    assert "RRULE" in event
    assert login.status_code == 200
    assert report_page.status_code == 200 and "Waar mannen afhaken" in report_page.text  # in Dutch
    assert "&lt; 10" in report_page.text  # the made-up English column is under 10


async def test_the_demo_seeds_listening_answers_that_show_on_its_map(settings, tmp_path):
    import dataclasses

    from bot.analytics.report_chart import render_png
    from bot.app.demo import areas_geojson
    from bot.config import read_shapes

    service = Service(dataclasses.replace(settings, demo=True))
    await service.start()
    try:
        await seed(service)
        async with service.db.transaction() as connection:
            built = await report_data.build(connection, settings, service.now())
    finally:
        await service.stop()
    heard = built.listening
    assert all(heard.respondents.get(area, 0) >= 10 for area in settings.areas)  # no area hidden
    mains = [heard.main_barrier(area) for area in settings.areas]
    assert None not in mains and len(set(mains)) == len(mains)  # a main barrier of its own each
    shapes = read_shapes(areas_geojson(), settings.areas)
    assert set(shapes.polygons) == set(settings.areas)
    png = render_png(dataclasses.replace(built), "nl", shapes)
    (tmp_path / "demo-map.png").write_bytes(png)
    assert png.startswith(b"\x89PNG")


NOTE_SECTIONS = ("Loneliness and taking part over time", "Barriers and interests per area",
                 "Statements at the start and the end of a group", "Sign-ups, attendance and retention",
                 "Themes from the facilitators' forms")


async def test_the_demo_gives_every_section_of_its_research_note_figures_to_show(settings):
    """Issue 17's "the demo seeds enough that the note and the map show unsuppressed
    figures": the demo page's note link (PDF, and the web page in English) over the demo's
    months, every section with figures the protection shows, some it rightly hides."""
    from bot.analytics import research_note
    from bot.analytics.report import area_key
    from bot.analytics.research_note import Table
    from bot.app.demo import NOTE_PDF, areas_geojson, note_period
    from bot.operations import research_note as note_figures
    from dialogs.i18n import use_locale

    service = Service(dataclasses.replace(settings, demo=True, areas_geojson=areas_geojson()))
    await service.start()
    try:
        await seed(service)
        transport = httpx.ASGITransport(app=build_app(service, manage_service=False, extra_routes=demo_routes(service)))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            pdf = await client.get(NOTE_PDF)
            page = await client.get("/demo/note.html", params={"lang": "en"})
            unknown = await client.get(NOTE_PDF, params={"lang": "xx"})
        now = service.now()
        figures = await note_figures.read(service.db, service.settings, now)
    finally:
        await service.stop()
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert page.status_code == 200 and 'lang="en"' in page.text and "Participation map" in page.text
    assert '<img alt="Participation map" src="data:image/png;base64,' in page.text
    assert unknown.status_code == 404

    first, last = note_period(figures.report.months, now, settings.timezone)
    note = figures.note(first, last)
    assert first == figures.report.months[0] and last == now.strftime("%Y-%m")
    with use_locale("en"):
        sections = {section.title: section for section in research_note.sections(note, "en", b"\x89PNG")}
    cells = {title: [cell for block in sections[title].blocks if isinstance(block, Table)
                     for row in block.rows for cell in row[1:]] for title in NOTE_SECTIONS}
    for title, values in cells.items():
        assert [cell for cell in values if cell not in (None, "–")], f"{title}: no figure shown"
    assert any(None in values for values in cells.values())  # the rule at work: some hidden

    report = note.report
    # the map: loneliness, sign-ups, attendance and the main barrier, shown for areas
    assert [a for a in report.areas if (shown := report.shown(area_key(a))) and shown.share_lonely is not None]
    by_area = [row for row in report.by_area if row.area in settings.areas]
    assert [row for row in by_area if row.signed_up is not None and row.attended is not None]
    assert [a for a in settings.areas if report.listening.main_barrier(a) is not None]
    # the statements: before and after with 10 or more men, together and for a series apart
    shifting = [scope for scope in report.statements.scopes if any(row.shift is not None for row in scope.rows)]
    assert shifting[0].series_id is None and [scope for scope in shifting if scope.series_id is not None]
    # the cohort curve: a series followed from meeting 1 to meeting 6
    assert [sid for sid, (_name, present) in note.cohorts.rows.items()
            if sid in note.in_period and len(present) == 6 and None not in present]
    assert note.themes_total is not None and any(note.themes.values())
