"""The console's broadcast pages over HTTP (issue 15 §4): the real app of a running service
with the real outbox, sending through PTB to the local Telegram stand-in. Audience counts,
the preview per language (Arabic right to left, the invite button, the Dutch-fallback note),
sending queues exactly the rows `meedoen broadcast` queues, a scheduled broadcast waits for its
time, the event stream ends at the final tally, cancelling, and the refusals."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from bot.app.http import build_app
from bot.console import sessions
from bot.domain import broadcasts
from bot.store import coordinators
from bot.store.schema import audit_log, outbox
from bot.store.schema import broadcasts as broadcasts_table
from dialogs import notices
from dialogs.i18n import ngettext, use_locale
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import running, telegram_settings
from tests.test_console import BOSS, START, Clock, add_series, count, csrf_of, log_in, sign_up, tr


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


@pytest.fixture
async def service(settings, tg, clock):
    async with running(telegram_settings(settings, tg), now=clock) as service:
        async with service.db.transaction() as connection:
            await coordinators.add(connection, *BOSS, START)
        yield service


@pytest.fixture
async def client(service):
    transport = httpx.ASGITransport(app=build_app(service, manage_service=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield client


async def people(service):
    """A series with three men (nl, ar, so) and one on its waiting list (en)."""
    series_id = await add_series(service, (START + timedelta(days=5)).date())
    for address, name, language in (("501", "Karim", "nl"), ("502", "Omar", "ar"), ("503", "Abdi", "so")):
        await sign_up(service, series_id, address, name, language)
    await sign_up(service, series_id, "504", "John", "en", waitlist=True)
    return series_id


def form_values(page: httpx.Response, **values: str) -> dict[str, str]:
    return {"csrf": csrf_of(page), **values}


async def wait_finished(service, broadcast_id, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with service.db.transaction() as connection:
            _recipients, tally = await broadcasts.status(connection, broadcast_id)
        if tally["waiting"] == 0:
            return tally
        assert asyncio.get_running_loop().time() < deadline, tally
        await asyncio.sleep(0.05)


async def outbox_rows(service, ref):
    async with service.db.transaction() as connection:
        rows = await connection.execute(
            select(outbox.c.address, outbox.c.payload, outbox.c.dedupe_key, outbox.c.priority, outbox.c.kind)
            .where(outbox.c.ref == ref).order_by(outbox.c.address)
        )
        return [(r.address, r.payload, r.dedupe_key.rsplit(":", 1)[1], r.priority, r.kind) for r in rows]


async def test_the_form_counts_each_audience_as_the_cli_does(service, client):
    series_id = await people(service)
    await log_in(client, service)
    page = await client.get("/console/broadcasts")
    assert page.status_code == 200
    text = unescape(re.sub(r"<[^>]+>", "", page.text))
    assert f"{tr('nl', 'Everyone')} (4)" in text
    assert f"{tr('nl', 'Signed up for %(series)s').replace('%(series)s', 'Mannen in gesprek')} (3)" in text
    assert f"{tr('nl', 'Waiting list of %(series)s').replace('%(series)s', 'Mannen in gesprek')} (1)" in text
    assert 'name="a:language:ar"' in page.text
    assert f'name="a:series:{series_id}"' in page.text


async def test_the_preview_shows_each_language_as_the_man_sees_it(service, client):
    series_id = await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    shown = await client.post("/console/broadcasts/preview", data=form_values(
        form, **{"a:all": "1"}, text_nl="Kom dinsdag!", text_ar="تعال يوم الثلاثاء", invite=str(series_id)))
    assert shown.status_code == 200
    html = unescape(shown.text)
    arabic = notices.broadcast("ar", {"nl": "Kom dinsdag!", "ar": "تعال يوم الثلاثاء"}, series_id)
    somali = notices.broadcast("so", {"nl": "Kom dinsdag!"}, series_id)
    assert re.search(r'<p lang="ar" dir="rtl" class="bubble">' + re.escape(arabic.text) + "</p>", html)
    assert f'<p lang="so" dir="ltr" class="bubble">{somali.text}</p>' in html
    assert "Kom dinsdag!" in somali.text and tr("so", "(This message is in Dutch because there is no translation in your language yet.)") in html
    assert html.count(tr("ar", "Sign me up")) == 1 and tr("nl", "Sign me up") in html
    with use_locale("nl"):
        assert ngettext("This message will go to %(count)s person.", "This message will go to %(count)s people.", 4) % {"count": 4} in html
    assert await count(service, outbox) == 0  # a preview sends nothing


async def test_sending_queues_the_rows_the_cli_queues_and_the_men_get_them(service, client, tg):
    series_id = await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    texts = {"nl": "Kom dinsdag!", "ar": "تعال يوم الثلاثاء"}
    sent = await client.post("/console/broadcasts", data=form_values(
        form, **{f"a:series:{series_id}": "1", "a:language:en": "1"}, text_nl=texts["nl"], text_ar=texts["ar"],
        invite=str(series_id)))
    assert sent.status_code == 303 and sent.headers["location"] == "/console/broadcasts/1"
    tally = await wait_finished(service, 1)
    assert tally == {"delivered": 4, "failed": 0, "blocked": 0, "skipped": 0, "waiting": 0}
    # the same broadcast by the CLI's function queues the same rows
    async with service.db.transaction() as connection:
        cli_id, recipients = await broadcasts.create(
            connection, created_by="cli", audience_keys=(f"series:{series_id}", "language:en"), texts=texts,
            invite_series_id=series_id, areas=service.settings.areas, now=service.now())
        await broadcasts.cancel(connection, cli_id, service.now())
    assert recipients == 4
    console_rows = await outbox_rows(service, "broadcast:1")
    assert [row[2:] for row in console_rows] == [row[2:] for row in await outbox_rows(service, f"broadcast:{cli_id}")]
    expected = {"501": notices.broadcast("nl", texts, series_id).text, "502": notices.broadcast("ar", texts, series_id).text,
                "503": notices.broadcast("so", texts, series_id).text, "504": notices.broadcast("en", texts, series_id).text}
    got = {str(m["chat"]["id"]): m["text"] for m in tg.sent if str(m["chat"]["id"]) in expected}
    assert got == expected
    async with service.db.transaction() as connection:
        row = (await connection.execute(select(broadcasts_table).where(broadcasts_table.c.id == 1))).one()
        audited = list(await connection.execute(select(audit_log)))
    assert row.created_by == "telegram:9001"
    assert [(a.actor, a.action) for a in audited if a.action.startswith("broadcast")] == [("telegram:9001", "broadcast")]


async def test_the_event_stream_reports_progress_and_ends_at_the_final_tally(service, client):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    await client.post("/console/broadcasts", data=form_values(form, **{"a:all": "1"}, text_nl="Hallo"))
    page = await client.get("/console/broadcasts/1")
    assert 'src="/console/static/broadcast.js"' in page.text and '<meta http-equiv="refresh"' in page.text
    events = []
    async with client.stream("GET", "/console/broadcasts/1/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    assert events[0][0] == "progress" and events[-1][0] == "done"
    final = events[-1][1]
    assert final["finished"] and final["percent"] == 100 and final["recipients"] == 4
    assert final["tally"] == {"delivered": 4, "failed": 0, "blocked": 0, "skipped": 0, "waiting": 0}
    done_page = await client.get("/console/broadcasts/1")
    assert "refresh" not in done_page.text and tr("nl", "Finished.") in done_page.text


async def test_a_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(service, client, clock, tg):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    later = (START + timedelta(hours=3)).astimezone(ZoneInfo(service.settings.timezone))
    sent = await client.post("/console/broadcasts", data=form_values(
        form, **{"a:language:nl": "1"}, text_nl="Straks", send_at=later.strftime("%Y-%m-%dT%H:%M")))
    assert sent.status_code == 303
    await asyncio.sleep(1.0)  # the sender had its chance
    assert [m for m in tg.sent if m["text"] == "Straks"] == []
    async with service.db.transaction() as connection:
        not_before = await connection.scalar(select(outbox.c.not_before).where(outbox.c.ref == "broadcast:1"))
    assert not_before == START + timedelta(hours=3)
    await service.progress.run_once(service.now())  # nothing to tell his chat before it begins
    await asyncio.sleep(0.5)
    assert tg.messages_to(int(BOSS[1])) == []
    history = await client.get("/console/broadcasts")
    assert tr("nl", "Queued") in history.text
    cancelled = await client.post("/console/broadcasts/1/cancel", data={"csrf": csrf_of(history)})
    assert cancelled.status_code == 303
    async with service.db.transaction() as connection:
        status = await connection.scalar(select(broadcasts_table.c.status).where(broadcasts_table.c.id == 1))
        states = list(await connection.scalars(select(outbox.c.status).where(outbox.c.ref == "broadcast:1")))
        actions = list(await connection.scalars(select(audit_log.c.action)))
    assert status == "cancelled" and states == ["cancelled"]
    assert [a for a in actions if a.startswith("broadcast")] == ["broadcast", "broadcast cancel"]
    clock.now = START + timedelta(hours=4)
    service.wake_all()
    await asyncio.sleep(0.5)
    assert [m for m in tg.sent if m["text"] == "Straks"] == []


async def test_a_time_in_the_past_or_no_dutch_text_is_refused_with_one_sentence(service, client):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    past = await client.post("/console/broadcasts", data=form_values(
        form, **{"a:all": "1"}, text_nl="Hallo", send_at="2020-01-01T10:00"))
    assert past.status_code == 400
    assert tr("nl", "That time has passed. Choose a later time, or leave it empty to send now.") in unescape(past.text)
    no_dutch = await client.post("/console/broadcasts", data=form_values(form, **{"a:all": "1"}, text_en="Hello"))
    assert tr("nl", "Write the Dutch text; the other languages are optional.") in unescape(no_dutch.text)
    nobody = await client.post("/console/broadcasts", data=form_values(form, **{"a:noshow": "1"}, text_nl="Hallo"))
    assert tr("nl", "Nobody is in the chosen groups, so nothing would be sent.") in unescape(nobody.text)
    assert await count(service, broadcasts_table) == 0


async def test_without_csrf_or_as_a_man_no_longer_coordinator_nothing_is_sent_or_cancelled(service, client):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    values = {"a:all": "1", "text_nl": "Hallo"}
    for csrf in (None, "wrong"):
        data = values if csrf is None else {**values, "csrf": csrf}
        assert (await client.post("/console/broadcasts", data=data)).status_code == 403
    other = sessions.issue(service.settings.secret_key, "telegram", "777", service.now())[0]
    forged = {**values, "csrf": sessions.csrf_token(service.settings.secret_key, other)}
    assert (await client.post("/console/broadcasts", data=forged)).status_code == 403
    assert await count(service, broadcasts_table) == 0
    await client.post("/console/broadcasts", data=form_values(form, **values, send_at="2030-01-01T10:00"))
    assert (await client.post("/console/broadcasts/1/cancel", data={})).status_code == 403
    async with service.db.transaction() as connection:
        await coordinators.remove(connection, *BOSS)
    assert (await client.post("/console/broadcasts/1/cancel", data={"csrf": csrf_of(form)})).status_code == 403
    assert (await client.get("/console/broadcasts/1/events")).status_code == 403
    async with service.db.transaction() as connection:
        assert await connection.scalar(select(broadcasts_table.c.status)) == "queued"


async def test_a_scheduled_broadcast_goes_out_when_its_time_comes(service, client, clock, tg):
    await people(service)
    await log_in(client, service)
    form = await client.get("/console/broadcasts")
    later = (START + timedelta(hours=3)).astimezone(ZoneInfo(service.settings.timezone))
    await client.post("/console/broadcasts", data=form_values(
        form, **{"a:language:nl": "1"}, text_nl="Straks", send_at=later.strftime("%Y-%m-%dT%H:%M")))
    await asyncio.sleep(0.5)
    assert [m for m in tg.sent if m["text"] == "Straks"] == []
    clock.now = START + timedelta(hours=3, minutes=1)
    service.wake_all()
    assert (await wait_finished(service, 1))["delivered"] == 1
    assert [m["chat"]["id"] for m in tg.sent if m["text"] == "Straks"] == [501]
