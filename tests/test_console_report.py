"""The console's report and coordinators pages over HTTP (issue 15): the real app of a running
service on a real SQLite file, driven with httpx. The report page shows what `meedoen report`
shows (built by the same function, so the same suppression), its filters only hide rows, and
its CSV is the CLI's; the coordinators page lists, adds and removes with the CLI's validation,
refuses removing the last coordinator, audits every change, and ends a removed man's session."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from bot.analytics import report
from bot.app.http import build_app
from bot.store import coordinators, report_data
from bot.store.schema import audit_log
from tests.test_console import (  # noqa: F401 - fixtures
    BOSS,
    START,
    client,
    clock,
    count,
    csrf_of,
    log_in,
    service,
    tr,
)
from tests.test_report import GEUZENVELD, OSDORP, SLOTERVAART, response, store

LATER = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
"""Every month of 2026 is closed."""


async def seed_checkins(service) -> None:
    """October: Osdorp 25 men, Slotervaart 12, Geuzenveld 3 (Slotervaart must hide too, else
    40 - 25 - 12 = 3); November: 30, 15 and 20 (tests/test_report.py's case)."""
    rows = [response("2026-W41", OSDORP, items=(1, 2, 2, 0, 0, 1), worthwhile=6) for _ in range(20)]
    rows += [response("2026-W41", OSDORP, items=(0, 0, 0, 2, 2, 2), took_part=0) for _ in range(5)]
    rows += [response("2026-W42", SLOTERVAART, items=(2, 2, 2, 0, 0, 0), took_part=0) for _ in range(6)]
    rows += [response("2026-W42", SLOTERVAART, items=(0, 0, 2, 0, 0, 2)) for _ in range(6)]
    rows += [response("2026-W43", GEUZENVELD, language="so", items=(0, 0, 0, 2, 2, 2)) for _ in range(3)]
    rows += [response("2026-W46", OSDORP, items=(1, 2, 2, 0, 0, 1)) for _ in range(30)]
    rows += [response("2026-W47", SLOTERVAART) for _ in range(15)]
    rows += [response("2026-W47", GEUZENVELD, language="ar") for _ in range(20)]
    await store(service.db, rows)


def table_rows(page: httpx.Response, caption: str) -> dict[str, list[str]]:
    """A table of the page by its caption: row label → its cells' text."""
    text = page.text
    start = text.index(f"<caption>{html.escape(caption)}</caption>")
    body = text[start:text.index("</table>", start)]
    rows = {}
    for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', body):
        rows[html.unescape(label)] = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
    return rows


@pytest.fixture
async def reported(service, clock):
    await seed_checkins(service)
    clock.now = LATER
    return service


async def test_the_report_page_shows_the_reports_figures_with_the_same_hidden_cells(reported, client):
    await log_in(client, reported)
    page = await client.get("/console/report", params={"month": "2026-10"})
    assert page.status_code == 200
    hidden = tr("nl", "hidden")
    built = await report_data.build_from(reported.db, reported.settings, LATER)
    by_area = table_rows(page, tr("nl", "Check-ins by area"))
    assert by_area[OSDORP][0] == str(built.shown(report.area_cell("2026-10", OSDORP)).respondents) == "25"
    assert by_area[SLOTERVAART] == [hidden] * len(report.MEASURES_SHOWN)  # else 40 - 25 - 12 = 3
    assert by_area[GEUZENVELD] == [hidden] * len(report.MEASURES_SHOWN)
    by_month = table_rows(page, tr("nl", "Check-ins by month (all areas)"))
    assert list(by_month) == ["2026-10"] and by_month["2026-10"][0] == "40"
    assert ">3<" not in page.text and ">12<" not in page.text
    by_language = table_rows(page, tr("nl", "Check-ins by language"))
    assert by_language["so"][0] == hidden and by_language["nl"][0] == hidden  # else 40 - 37 = 3

    everything = await client.get("/console/report")
    months = table_rows(everything, tr("nl", "Check-ins by month (all areas)"))
    assert list(months) == [*built.months, tr("nl", "All months shown")]
    assert months["2026-12"][0] == hidden  # nobody reads as hidden too
    assert months[tr("nl", "All months shown")][0] == str(built.shown(report.ALL).respondents)
    assert table_rows(everything, tr("nl", "Check-ins by area"))[GEUZENVELD][0] == "20"  # over the shown months
    assert '<img class="chart" src="/console/report/chart.png"' in everything.text


async def test_a_filter_only_hides_rows_and_never_shows_a_smaller_group(reported, client):
    await log_in(client, reported)
    built = await report_data.build_from(reported.db, reported.settings, LATER)
    geuzenveld = str(built.areas.index(GEUZENVELD))
    page = await client.get("/console/report", params={"month": "2026-10", "area": geuzenveld})
    by_area = table_rows(page, tr("nl", "Check-ins by area"))
    assert list(by_area) == [GEUZENVELD] and set(by_area[GEUZENVELD]) == {tr("nl", "hidden")}
    assert tr("nl", "Check-ins by language") not in page.text  # not about one area
    # values the report does not list are not taken: all months and areas, nothing more
    odd = await client.get("/console/report", params={"month": "2026-10-01", "area": "99"})
    whole = await client.get("/console/report")
    assert odd.status_code == 200 and odd.text == whole.text


async def test_the_csv_is_the_command_lines_and_the_chart_a_png(reported, client):
    await log_in(client, reported)
    csv = await client.get("/console/report.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    built = await report_data.build_from(reported.db, reported.settings, LATER)  # frozen: the same again
    assert csv.text == report.render_csv(built)
    chart = await client.get("/console/report/chart.png")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("path", ["/console/report", "/console/report.csv", "/console/report/chart.png", "/console/coordinators"])
async def test_the_pages_are_closed_without_a_coordinators_session(service, client, path):
    refused = await client.get(path)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert tr("nl", "This page needs a login. Send /console in your chat for a new link.") in refused.text


# --- coordinators -------------------------------------------------------------------------------


async def audit_entries(service) -> list[tuple[str, str, str]]:
    async with service.db.transaction() as connection:
        rows = await connection.execute(select(audit_log).order_by(audit_log.c.id))
        return [(row.actor, row.action, row.detail) for row in rows if row.action.startswith("coordinator")]


async def ids(service) -> list[str]:
    async with service.db.transaction() as connection:
        return await coordinators.all_ids(connection)


async def test_coordinators_are_listed_added_and_removed_with_the_clis_rules_and_audited(service, client):
    await log_in(client, service)
    page = await client.get("/console/coordinators")
    assert page.status_code == 200 and "telegram:9001" in page.text
    csrf = csrf_of(page)
    wrong = await client.post("/console/coordinators/add", data={"csrf": csrf, "chat": "telegram:abc"})
    assert wrong.status_code == 400
    assert tr("nl", "That is not a chat id. Write it like telegram:123456 or whatsapp:+31612345678.") in wrong.text
    added = await client.post("/console/coordinators/add", data={"csrf": csrf, "chat": " whatsapp:+31612345678 "})
    assert added.status_code == 303
    assert await ids(service) == ["telegram:9001", "whatsapp:+31612345678"]
    shown = await client.get(added.headers["location"])
    assert "whatsapp:+31612345678" in shown.text and tr("nl", "The coordinator is added.") in shown.text
    removed = await client.post("/console/coordinators/remove", data={"csrf": csrf, "chat": "whatsapp:+31612345678"})
    assert removed.status_code == 303 and await ids(service) == ["telegram:9001"]
    assert await audit_entries(service) == [
        ("telegram:9001", "coordinator.add", "whatsapp:+31612345678"),
        ("telegram:9001", "coordinator.remove", "whatsapp:+31612345678"),
    ]


async def test_add_and_remove_without_the_csrf_token_change_nothing(service, client):
    await log_in(client, service)
    async with service.db.transaction() as connection:
        await coordinators.add(connection, "telegram", "77", START)
    for path, chat in (("/console/coordinators/add", "telegram:55"), ("/console/coordinators/remove", "telegram:77")):
        for data in ({"chat": chat}, {"chat": chat, "csrf": "wrong"}):
            assert (await client.post(path, data=data)).status_code == 403
    assert await ids(service) == ["telegram:77", "telegram:9001"]
    assert await audit_entries(service) == []


async def test_the_last_coordinator_cannot_remove_himself(service, client):
    await log_in(client, service)
    csrf = csrf_of(await client.get("/console/coordinators"))
    refused = await client.post("/console/coordinators/remove", data={"csrf": csrf, "chat": "telegram:9001"})
    assert refused.status_code == 409
    assert tr("nl", "You are the last coordinator. Add another one first, then you can be removed.") in refused.text
    assert await ids(service) == ["telegram:9001"] and await audit_entries(service) == []
    assert (await client.get("/console/coordinators")).status_code == 200


async def test_a_removed_coordinators_console_closes_at_once(service, client):
    async with service.db.transaction() as connection:
        await coordinators.add(connection, "telegram", "77", START)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(service, manage_service=False)),
                              base_url="http://127.0.0.1:8080")
    async with other:
        await log_in(other, service, ("telegram", "77"))
        assert (await other.get("/console/report")).status_code == 200
        await log_in(client, service)
        csrf = csrf_of(await client.get("/console/coordinators"))
        assert (await client.post("/console/coordinators/remove", data={"csrf": csrf, "chat": "telegram:77"})).status_code == 303
        assert (await other.get("/console/report")).status_code == 403
        # with another one left, he may remove himself; his own console closes then
        assert (await client.post("/console/coordinators/add", data={"csrf": csrf, "chat": "telegram:88"})).status_code == 303
        assert (await client.post("/console/coordinators/remove", data={"csrf": csrf, "chat": "telegram:9001"})).status_code == 303
        assert (await client.get("/console/coordinators")).status_code == 403
    assert await ids(service) == ["telegram:88"]
    assert await count(service, audit_log) >= 5


async def test_the_participation_map_is_the_command_lines(reported, client):
    await log_in(client, reported)
    built = await report_data.build_from(reported.db, reported.settings, LATER)
    page = await client.get("/console/report")
    rows = table_rows(page, tr("nl", "Participation map: moderately or severely lonely, by area and month"))
    hidden = tr("nl", "hidden")
    assert rows[GEUZENVELD][built.months.index("2026-10")] == hidden
    november = built.shown(report.area_cell("2026-11", GEUZENVELD))
    assert rows[GEUZENVELD][built.months.index("2026-11")].endswith(f"({november.respondents})")
    assert rows[tr("nl", "All areas")][-1].endswith(f"({built.shown(report.ALL).respondents})")
    picked = await client.get("/console/report", params={"month": "2026-10", "area": str(built.areas.index(OSDORP))})
    assert table_rows(picked, tr("nl", "Participation map: moderately or severely lonely, by area and month")) == {
        OSDORP: [rows[OSDORP][built.months.index("2026-10")]]
    }


async def test_the_report_page_shows_the_listening_poll_with_the_same_hidden_areas(reported, client):
    from sqlalchemy import insert

    from bot.store.schema import listening_responses
    from tests.test_listening_report import answers

    async with reported.db.transaction() as connection:
        await connection.execute(
            insert(listening_responses), answers(OSDORP, 14) + answers(SLOTERVAART, 11) + answers(GEUZENVELD, 3)
        )
    await log_in(client, reported)
    page = await client.get("/console/report")
    caption = tr("nl", "What makes taking part hard (share of the men who answered)")
    barriers = table_rows(page, caption)
    after = page.text.split(f"<caption>{html.escape(caption)}</caption>")[1]
    heads = re.findall(r'<th scope="col">([^<]*)</th>', after.split("</thead>")[0])
    assert heads[:3] == [tr("nl", "All areas"), GEUZENVELD, OSDORP]
    assert barriers[tr("nl", "Men who answered")][:3] == ["28", tr("nl", "hidden"), "14"]
    assert barriers[tr("nl", "Family duties")][:3] == ["54%", tr("nl", "hidden"), "50%"]  # 15 of 28, 7 of 14
    assert set(barriers[tr("nl", "Family duties")][3:]) == {tr("nl", "hidden")}  # Slotervaart hidden with Geuzenveld
