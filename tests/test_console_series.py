"""The web console's series changes, help requests, audit log page and paging (issue 15, the
rest): editing a series with the rules of `meedoen series add`, a new schedule before it
began, moving and cancelling one meeting with the CLI's functions (the men are told), closing
a series; the open help requests and their "done" button; the audit log page; the overview a
page at a time; and a man erased with /delete gone from every page at once. The real app on a
real SQLite file, driven with httpx (fixtures of tests/test_console.py)."""

from __future__ import annotations

import json
import re
from datetime import date, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.base import Outgoing
from bot.common.calendar import local_instant, weekly_meetings
from bot.delivery import outbox as outbox_module
from bot.domain import erasure, series_changes
from bot.store import audit
from bot.store import help_requests as help_store
from bot.store import meetings as meeting_store
from bot.store import series as series_store
from bot.store.schema import attendance, audit_log, help_requests, outbox, series, waitlist_offers
from dialogs import notices
from tests.test_console import (  # noqa: F401 - fixtures
    BOSS,
    START,
    add_series,
    client,
    clock,
    count,
    csrf_of,
    log_in,
    service,
    sign_up,
    tr,
)

ZONE = "Europe/Amsterdam"
ACTOR = "telegram:9001"


async def actions(service) -> list[tuple[str, str, str]]:
    async with service.db.transaction() as connection:
        rows = await connection.execute(select(audit_log).order_by(audit_log.c.id))
        return [(row.actor, row.action, row.detail) for row in rows if row.action != "console.login"]


async def notices_to(service, address: str) -> list[str]:
    async with service.db.transaction() as connection:
        rows = await connection.execute(select(outbox.c.payload).where(outbox.c.address == address, outbox.c.kind == "notice"))
        return [json.loads(row.payload)["text"] for row in rows]


async def meeting_list(service, series_id: int):
    async with service.db.transaction() as connection:
        return await series_store.meeting_rows(connection, series_id)


def form_of(row) -> dict[str, str]:
    return series_changes.stored_values(row)


async def stored(service, series_id: int):
    async with service.db.transaction() as connection:
        return await series_store.get(connection, series_id)


# --- editing a series ---------------------------------------------------------------------------


async def test_editing_a_series_checks_the_rules_of_series_add_and_offers_new_seats_to_the_waiting_list(service, client):
    series_id = await add_series(service, date(2026, 11, 26))  # a Thursday after START
    await sign_up(service, series_id, "7001", "Ahmed")
    async with service.db.transaction() as connection:
        await connection.execute(series.update().values(capacity=1))
    await sign_up(service, series_id, "7002", "Yusuf", waitlist=True)
    await log_in(client, service)
    form = await client.get(f"/console/series/{series_id}/edit")
    assert form.status_code == 200 and 'value="Mannen in gesprek"' in form.text and 'value="Buurthuis"' in form.text
    values = {**form_of(await stored(service, series_id)), "csrf": csrf_of(form)}
    wrong = {
        "time": ("7pm", "%(field)s %(value)s is not a time; write it like 19:00.", {"field": tr("nl", "Time"), "value": "'7pm'"}),
        "name": (" ", "%(field)s must not be empty.", {"field": tr("nl", "Name")}),
        "capacity": ("0", "%(field)s must be between 1 and 1000.", {"field": tr("nl", "Seats")}),
        "area": ("Mars", "%(field)s %(value)s is not one of MEEDOEN_AREAS: %(areas)s.",
                 {"field": tr("nl", "Area"), "value": "'Mars'", "areas": ", ".join(service.settings.areas)}),
    }
    for field, (value, message, parts) in wrong.items():
        answer = await client.post(f"/console/series/{series_id}/edit", data={**values, field: value})
        assert answer.status_code == 400, field
        assert unescape(answer.text).count(tr("nl", message, **parts)) == 1, field
    assert await actions(service) == [] and (await stored(service, series_id)).name == "Mannen in gesprek"
    saved = await client.post(
        f"/console/series/{series_id}/edit",
        data={**values, "name": "Vaders in gesprek", "location": "Huis van de Wijk", "capacity": "2", "area": "slotervaart"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/console/series/{series_id}?done=edit"
    row = await stored(service, series_id)
    assert (row.name, row.location, row.capacity, row.area) == ("Vaders in gesprek", "Huis van de Wijk", 2, "Slotervaart")
    async with service.db.transaction() as connection:
        offers = list(await connection.execute(select(waitlist_offers)))
    assert [(o.series_id, o.status) for o in offers] == [(series_id, "open")]  # the new seat goes to Yusuf
    assert await actions(service) == [
        (ACTOR, "series.edit", f"series {series_id}: name, capacity, location, area changed; 0 told, 1 seats offered")
    ]
    assert len(await meeting_list(service, series_id)) == 6  # the schedule was left alone
    page = await client.get(saved.headers["location"])
    assert tr("nl", "The group is saved.") in unescape(page.text)
    # fewer seats than men holding one (Ahmed, and Yusuf's offer): refused, nothing changed
    fewer = await client.post(f"/console/series/{series_id}/edit", data={**values, "capacity": "1"})
    assert fewer.status_code == 400
    assert tr("nl", "%(taken)s men already have a seat: give at least %(taken)s seats.", taken=2) in unescape(fewer.text)
    assert (await stored(service, series_id)).capacity == 2 and len(await actions(service)) == 1
    assert (await client.get("/console/series/999/edit")).status_code == 404


async def test_a_new_schedule_before_the_first_meeting_plans_the_meetings_anew_and_tells_the_men(service, client):
    series_id = await add_series(service, date(2026, 11, 26))
    await sign_up(service, series_id, "7001", "Ahmed", language="ar")
    await sign_up(service, series_id, "7002", "Omar", waitlist=True)
    first = (await meeting_list(service, series_id))[0]
    async with service.db.transaction() as connection:  # a reminder of the old first date, not sent yet
        await outbox_module.enqueue(
            connection, channel="telegram", address="7001", message=Outgoing("herinnering"), kind="reminder",
            priority=outbox_module.BULK, now=START, dedupe_key=f"reminder:{first.id}:1:1440:{int(first.starts_at.timestamp())}",
        )
    await log_in(client, service)
    form = await client.get(f"/console/series/{series_id}/edit")
    values = {**form_of(await stored(service, series_id)), "csrf": csrf_of(form)}
    saved = await client.post(
        f"/console/series/{series_id}/edit",
        data={**values, "weekday": "1", "time": "20:15", "start": "2026-12-01", "meetings": "4"},
    )
    assert saved.status_code == 303
    async with service.db.transaction() as connection:
        withdrawn = list(await connection.execute(select(outbox.c.status).where(outbox.c.kind == "reminder")))
    assert [row.status for row in withdrawn] == ["cancelled"]
    expected = weekly_meetings(date(2026, 12, 1), 1, time(20, 15), 4, ZONE)
    assert [(m.number, m.starts_at, m.status) for m in await meeting_list(service, series_id)] == [
        (n, at, "scheduled") for n, at in enumerate(expected, 1)
    ]
    assert await notices_to(service, "7001") == [
        notices.series_rescheduled("ar", "Mannen in gesprek", expected[0], "Buurthuis", ZONE).text
    ]
    assert await notices_to(service, "7002") == []  # waiting, no seat: nothing to tell
    assert [a[1:] for a in await actions(service)] == [
        ("series.edit", f"series {series_id}: weekday, time, start, meetings changed; 1 told, 0 seats offered")
    ]


async def test_once_a_meeting_has_begun_the_schedule_stays_but_the_details_can_change(service, client):
    series_id = await add_series(service, date(2026, 11, 12), meetings_count=4)  # began before START
    before = await meeting_list(service, series_id)
    await log_in(client, service)
    form = await client.get(f"/console/series/{series_id}/edit")
    values = {**form_of(await stored(service, series_id)), "csrf": csrf_of(form)}
    moved = await client.post(f"/console/series/{series_id}/edit", data={**values, "time": "20:00"})
    assert moved.status_code == 400
    assert tr("nl", "A meeting of this group has already begun, so its day, time, first date and number of meetings "
              "stay as they are. Move or cancel single meetings below instead.") in unescape(moved.text)
    # the first date, long past, is not held against an edit that leaves the schedule alone
    renamed = await client.post(f"/console/series/{series_id}/edit", data={**values, "name": "Samen verder"})
    assert renamed.status_code == 303
    assert (await stored(service, series_id)).name == "Samen verder"
    assert await meeting_list(service, series_id) == before


# --- one meeting ----------------------------------------------------------------------------------


async def test_moving_and_cancelling_one_meeting_tells_the_men_as_the_cli_does_and_is_audited(service, client):
    series_id = await add_series(service, date(2026, 11, 12), meetings_count=4)
    await sign_up(service, series_id, "7001", "Ahmed", language="so")
    rows = await meeting_list(service, series_id)
    past, ahead = [m for m in rows if m.starts_at <= START], [m for m in rows if m.starts_at > START]
    await log_in(client, service)
    page = (await client.get(f"/console/series/{series_id}")).text
    assert f'href="/console/meetings/{ahead[0].id}"' in page and f'href="/console/meetings/{past[0].id}"' not in page
    form = await client.get(f"/console/meetings/{ahead[0].id}")
    assert form.status_code == 200
    csrf = csrf_of(form)
    # into the past: refused with the CLI's sentence, in the coordinator's language
    backwards = await client.post(f"/console/meetings/{ahead[0].id}/move", data={"csrf": csrf, "date": "2026-11-20", "time": "19:00"})
    assert backwards.status_code == 400
    assert tr("nl", "The new time is in the past; choose a moment ahead.") in unescape(backwards.text)
    garbled = await client.post(f"/console/meetings/{ahead[0].id}/move", data={"csrf": csrf, "date": "soon", "time": "19:00"})
    assert garbled.status_code == 400
    moved = await client.post(f"/console/meetings/{ahead[0].id}/move", data={"csrf": csrf, "date": "2026-11-27", "time": "19:30"})
    assert moved.status_code == 303 and moved.headers["location"] == f"/console/series/{series_id}?done=move"
    to = local_instant(date(2026, 11, 27), time(19, 30), ZONE)
    async with service.db.transaction() as connection:
        assert (await meeting_store.get(connection, ahead[0].id)).starts_at == to
    told = [notices.meeting_moved("so", "Mannen in gesprek", ahead[0].starts_at, to, "Buurthuis", ZONE).text]
    assert await notices_to(service, "7001") == told
    cancelled = await client.post(
        f"/console/meetings/{ahead[1].id}/cancel", data={"csrf": csrf, "reason": "De zaal is bezet"}
    )
    assert cancelled.status_code == 303
    after = await meeting_list(service, series_id)
    assert [m.status for m in after if m.id == ahead[1].id] == ["cancelled"]
    assert len(after) == 5 and after[-1].starts_at == local_instant(
        after[-2].starts_at.astimezone(ZoneInfo(ZONE)).date() + timedelta(weeks=1), time(19, 0), ZONE
    )  # a meeting added at the end, as `cancel-meeting` without --counts
    told.append(notices.meeting_cancelled("so", "Mannen in gesprek", ahead[1].starts_at, "De zaal is bezet", ZONE).text)
    assert await notices_to(service, "7001") == told
    day = lambda m: m.starts_at.astimezone(ZoneInfo(ZONE)).date().isoformat()  # noqa: E731
    assert await actions(service) == [
        (ACTOR, "meeting.move", f"series {series_id}: {day(ahead[0])} to {to.isoformat()}; 1 told"),
        (ACTOR, "meeting.cancel", f"series {series_id}: {day(ahead[1])}, one added on {day(after[-1])}; 1 told"),
    ]
    # "it still counts": no meeting added
    counted = await client.post(f"/console/meetings/{after[-1].id}/cancel", data={"csrf": csrf, "counts": "1"})
    assert counted.status_code == 303 and len(await meeting_list(service, series_id)) == 5
    # a past or cancelled meeting cannot be changed; nothing stored
    for meeting_id in (past[0].id, ahead[1].id):
        assert (await client.get(f"/console/meetings/{meeting_id}")).status_code == 404
        refused = await client.post(f"/console/meetings/{meeting_id}/move", data={"csrf": csrf, "date": "2026-12-30", "time": "19:00"})
        assert refused.status_code == 404
    assert len(await actions(service)) == 3
    # without the CSRF token: refused, nothing changed
    assert (await client.post(f"/console/meetings/{ahead[0].id}/cancel", data={})).status_code == 403
    assert [m.status for m in await meeting_list(service, series_id) if m.id == ahead[0].id] == ["scheduled"]


async def test_closing_a_series_stops_sign_ups_and_is_audited_once(service, client):
    series_id = await add_series(service, date(2026, 11, 26))
    await sign_up(service, series_id, "7001", "Ahmed")
    await log_in(client, service)
    csrf = csrf_of(await client.get(f"/console/series/{series_id}"))
    for _ in range(2):
        closed = await client.post(f"/console/series/{series_id}/close", data={"csrf": csrf})
        assert closed.status_code == 303
    assert (await stored(service, series_id)).status == "closed"
    with pytest.raises(series_store.SeatUnavailable):
        await sign_up(service, series_id, "7002", "Yusuf")
    page = unescape((await client.get(closed.headers["location"])).text)
    assert tr("nl", "The group is closed: nobody can sign up any more.") in page and "Ahmed" in page
    assert tr("nl", "Close group") not in page
    assert await actions(service) == [(ACTOR, "series.close", f"series {series_id}")]


# --- help requests, the audit log, paging ----------------------------------------------------------


async def test_an_open_help_request_shows_on_the_overview_until_a_coordinator_marks_it_done(service, client, clock):
    series_id = await add_series(service, date(2026, 11, 26))
    ahmed = await sign_up(service, series_id, "7001", "Ahmed")
    async with service.db.transaction() as connection:
        assert await help_store.ask(connection, ahmed, START + timedelta(minutes=30))
        assert not await help_store.ask(connection, ahmed, START + timedelta(minutes=40))  # one open request is enough
    await log_in(client, service)
    early = unescape((await client.get("/console/")).text)
    assert tr("nl", "Nobody is waiting to be contacted.") in early and "telegram:7001" not in early  # not yet visible
    clock.now = START + timedelta(minutes=30)
    overview = await client.get("/console/")
    text = unescape(overview.text)
    assert "Ahmed" in text and "telegram:7001" in text
    [request_id] = re.findall(r'action="/console/help/(\d+)/done"', overview.text)
    assert (await client.post(f"/console/help/{request_id}/done", data={"csrf": "forged"})).status_code == 403
    done = await client.post(f"/console/help/{request_id}/done", data={"csrf": csrf_of(overview)})
    assert done.status_code == 303
    after = unescape((await client.get(done.headers["location"])).text)
    assert tr("nl", "The request is marked as done.") in after and "telegram:7001" not in after
    async with service.db.transaction() as connection:
        [row] = list(await connection.execute(select(help_requests)))
    assert (row.participant_id, row.resolved_at) == (ahmed, clock.now)
    assert await actions(service) == [(ACTOR, "help.done", f"help request {request_id}")]
    await client.post(f"/console/help/{request_id}/done", data={"csrf": csrf_of(overview)})  # twice: one entry
    assert len(await actions(service)) == 1


async def test_the_audit_log_page_shows_the_latest_change_first_a_page_at_a_time(service, client):
    async with service.db.transaction() as connection:
        for n in range(1, 121):
            await audit.record(connection, "cli", "series.add", f"entry {n}", START + timedelta(minutes=n))
    await log_in(client, service)  # the 121st entry: console.login
    first = (await client.get("/console/audit")).text
    details = re.findall(r"<td dir=\"ltr\">(entry \d+|telegram:9001)</td>", first)
    assert details[:3] == ["telegram:9001", "entry 120", "entry 119"]
    assert "entry 72" in first and "entry 71" not in first
    assert tr("nl", "Page %(page)s of %(pages)s", page=3, pages=3) in (await client.get("/console/audit?page=3")).text
    last = (await client.get("/console/audit?page=3")).text
    assert re.findall(r"entry \d+", last) == [f"entry {n}" for n in range(21, 0, -1)]
    assert (await client.get("/console/audit?page=99")).text == last  # past the end: the last page
    assert (await client.get("/console/audit?page=x")).status_code == 200


async def test_the_overview_shows_a_page_of_groups_with_the_answers_the_cli_counts(service, client):
    ids = [await add_series(service, date(2026, 11, 26), name=f"Groep {n:03d}") for n in range(1, 121)]
    men = [await sign_up(service, ids[60], f"70{n:02d}", f"Man {n}") for n in range(3)]
    async with service.db.transaction() as connection:
        nxt = await meeting_store.on_date(connection, ids[60], date(2026, 11, 26), ZONE)
        await meeting_store.answer(connection, men[0], nxt.id, "coming", START)
        await meeting_store.answer(connection, men[1], nxt.id, "not_coming", START)
    await log_in(client, service)
    first = (await client.get("/console/")).text
    assert first.count('class="card"') == 50 and "Groep 001" in first and "Groep 051" not in first
    second = (await client.get("/console/?page=2")).text
    assert second.count('class="card"') == 50 and "Groep 051" in second
    card = second.split("Groep 061")[1].split("</li>")[0]
    cant = tr("nl", "can't")
    assert f"{tr('nl', 'coming')}: 1 · {cant}: 1 · {tr('nl', 'no answer yet')}: 1" in card
    assert "3/12" in card
    third = (await client.get("/console/?page=3")).text
    assert third.count('class="card"') == 20 and tr("nl", "Page %(page)s of %(pages)s", page=3, pages=3) in third


# --- /delete reaches every page at once -------------------------------------------------------------


async def test_a_man_erased_with_delete_disappears_from_every_console_page_at_once(service, client, clock):
    ahead = await add_series(service, date(2026, 11, 26), name="Vooruit")
    began = await add_series(service, date(2026, 11, 12), meetings_count=4, name="Begonnen")
    karim = await sign_up(service, ahead, "7001", "Karimovic")
    await sign_up(service, ahead, "7002", "Yusuf")
    async with service.db.transaction() as connection:
        await series_store.sign_up(connection, karim, began, waitlist=False, now=START)
        rows = await series_store.meeting_rows(connection, began)
        last_past = [m for m in rows if m.starts_at <= START][-1]
        await meeting_store.mark_attendance(connection, karim, last_past.id, True, START)
        nxt = await meeting_store.on_date(connection, ahead, date(2026, 11, 26), ZONE)
        await meeting_store.answer(connection, karim, nxt.id, "coming", START)
        await help_store.ask(connection, karim, START)
    await log_in(client, service)
    pages = {
        "overview": "/console/",
        "series": f"/console/series/{ahead}",
        "filtered sign-ups": f"/console/series/{ahead}?q=karim",
        "print list": f"/console/series/{ahead}/print",
        "attendance": f"/console/meetings/{last_past.id}/attendance",
        "broadcasts": "/console/broadcasts",
    }

    async def shown() -> dict[str, str]:
        return {name: unescape((await client.get(path)).text) for name, path in pages.items()}

    def audience(page: str, label: str) -> int:
        return int(re.search(re.escape(label) + r"</bdi> <span class=\"count\">\((\d+)\)", page).group(1))

    before = await shown()
    for name in ("overview", "series", "filtered sign-ups", "print list", "attendance"):
        assert "Karimovic" in before[name], name
    everyone = tr("nl", "Everyone")
    signed_up = tr("nl", "Signed up for %(series)s", series="Vooruit")
    assert audience(before["broadcasts"], everyone) == 2 and audience(before["broadcasts"], signed_up) == 2
    assert "2/12" in before["overview"] and f"{tr('nl', 'coming')}: 1 " in before["overview"]

    async with service.db.transaction() as connection:
        await erasure.erase(connection, service.settings, "telegram", "7001", clock.now)

    after = await shown()
    for name, text in after.items():
        assert "Karimovic" not in text and "telegram:7001" not in text, name
    assert audience(after["broadcasts"], everyone) == 1 and audience(after["broadcasts"], signed_up) == 1
    assert "1/12" in after["overview"] and tr("nl", "Nobody is waiting to be contacted.") in after["overview"]
    assert after["series"].count("Yusuf") == 1
    async with service.db.transaction() as connection:
        assert list(await connection.execute(select(help_requests))) == []
        assert [r.participant_id for r in await connection.execute(select(attendance))] == []


async def test_audience_sizes_counted_per_series_at_once_equal_each_audience_counted_alone(service):
    """``audiences.sizes`` counts every series' sign-ups and waiting list in one query: the
    same numbers as counting each audience alone (only active men, each series apart)."""
    from bot.store import audiences, participants

    first = await add_series(service, date(2026, 11, 26))
    second = await add_series(service, date(2026, 11, 27), name="Tweede")
    await sign_up(service, first, "7001", "Ahmed")
    stopped = await sign_up(service, first, "7002", "Yusuf")
    await sign_up(service, first, "7003", "Omar", waitlist=True)
    await sign_up(service, second, "7004", "Karim", waitlist=True)
    async with service.db.transaction() as connection:
        await participants.change(connection, stopped, status="stopped")
        keys = ["all", "noshow", "language:nl", "area:0", *(f"{kind}:{n}" for n in (first, second, 99)
                                                            for kind in ("series", "waitlist"))]
        together = await audiences.sizes(connection, keys, service.settings.areas, START)
        alone = {key: await audiences.count(connection, [key], service.settings.areas, START) for key in keys}
    assert together == alone
    assert (together[f"series:{first}"], together[f"waitlist:{first}"], together[f"waitlist:{second}"]) == (1, 1, 1)
