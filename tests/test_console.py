"""The web console over HTTP (issue 15, first part): the real app (bot.app.http.build_app) of a
running service on a real SQLite file, driven with httpx. Who gets in (the chat's one-time
link, the signed cookie, CSRF, a coordinator removed meanwhile) and each refusal, the
overview, the series page and its form (the rules of `meedoen series add`), attendance."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app.http import build_app
from bot.console import sessions
from bot.domain.console_link import base_url
from bot.store import console_links as link_store
from bot.store import coordinators, meetings, participants
from bot.store import series as series_store
from bot.store.schema import attendance, audit_log, console_links, series
from bot.store.schema import participants as participant_table
from dialogs.i18n import _, fill, use_locale
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings

START = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BOSS = ("telegram", "9001")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def tr(language: str, message: str, **values) -> str:
    with use_locale(language):
        return fill(_(message), **values) if values else _(message)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def service(settings, clock):
    async with running(settings, now=clock) as service:
        async with service.db.transaction() as connection:
            await coordinators.add(connection, *BOSS, START)
        yield service


@pytest.fixture
async def client(service):
    transport = httpx.ASGITransport(app=build_app(service, manage_service=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield client


async def new_token(service, who=BOSS) -> str:
    async with service.db.transaction() as connection:
        return await link_store.create(connection, *who, service.now())


async def log_in(client, service, who=BOSS) -> httpx.Response:
    token = await new_token(service, who)
    return await client.post("/console/login", data={"token": token})


async def count(service, table) -> int:
    async with service.db.transaction() as connection:
        return await connection.scalar(select(func.count()).select_from(table))


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


async def add_series(service, start: date, meetings_count=6, name="Mannen in gesprek") -> int:
    new = series_store.NewSeries(name, start.weekday(), time(19, 0), start, meetings_count, 12, "Buurthuis", "Osdorp")
    async with service.db.transaction() as connection:
        return await series_store.add(connection, new, service.settings.timezone, service.now())


async def sign_up(service, series_id: int, address: str, name: str, language="nl", area="Osdorp", waitlist=False):
    async with service.db.transaction() as connection:
        pid = await participants.create(connection, "telegram", address, language, service.now())
        await connection.execute(
            participant_table.update().where(participant_table.c.id == pid).values(name=name, area=area)
        )
        await series_store.sign_up(connection, pid, series_id, waitlist=waitlist, now=service.now())
    return pid


# --- who gets in ------------------------------------------------------------------------------


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def test_a_coordinator_gets_a_one_time_link_in_his_chat_and_a_man_gets_the_unknown_command_answer(tg, settings):
    configured = dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",), http_port=8765)
    async with running(configured) as service:
        boss = Chat(tg, 9001, language_code="nl")
        reply = (await boss.command("/console"))["text"]
        man = Chat(tg, 5001, language_code="nl")
        plain = (await man.command("/console"))["text"]
        unknown = (await man.command("/nonsense"))["text"]
        async with service.db.transaction() as connection:
            stored = list(await connection.execute(select(console_links)))
    assert reply.startswith(tr("nl", "Here is your link to the web console. It works once, for %(minutes)s minutes:", minutes=10))
    link = reply.splitlines()[-1]
    token = re.fullmatch(r"http://127\.0\.0\.1:8765/console/login/([A-Za-z0-9_-]{40,})", link).group(1)
    assert plain == unknown and "console" not in plain
    # one link, bound to him, valid ten minutes, and only its hash is stored
    assert [(row.channel, row.address) for row in stored] == [BOSS]
    assert stored[0].token_hash != token and token not in str(stored[0])
    assert stored[0].expires_at - stored[0].created_at == timedelta(minutes=10)


def test_the_link_points_at_the_public_url_when_there_is_one(settings):
    assert base_url(settings) == "http://127.0.0.1:8080"
    assert base_url(dataclasses.replace(settings, http_host="192.168.1.5", http_port=9000)) == "http://192.168.1.5:9000"
    assert base_url(dataclasses.replace(settings, public_url="https://meedoen.example.org")) == "https://meedoen.example.org"


async def test_the_link_logs_him_in_once_with_a_strict_cookie_and_strict_headers(service, client):
    token = await new_token(service)
    shown = await client.get(f"/console/login/{token}")  # a chat app's preview fetch spends nothing
    assert shown.status_code == 200 and token in shown.text
    entered = await client.post("/console/login", data={"token": token})
    assert entered.status_code == 303 and entered.headers["location"] == "/console/"
    cookie = entered.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http on the local network
    assert "Max-Age=43200" in cookie
    overview = await client.get("/console/")
    assert overview.status_code == 200
    for response in (shown, entered, overview):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src 'self';" in csp and "unsafe" not in csp  # script files of its own, never inline
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in overview.text and "style=" not in overview.text
    # the same link again: refused, and he stays who he was
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))  # noqa: SLF001
    async with other:
        again = await other.post("/console/login", data={"token": token})
        assert again.status_code == 403 and "set-cookie" not in again.headers
        assert (await other.get("/console/")).status_code == 403
    async with service.db.transaction() as connection:
        actions = [(row.actor, row.action) for row in await connection.execute(select(audit_log))]
    assert actions == [("telegram:9001", "console.login")]


async def test_on_https_the_cookie_is_secure(service):
    transport = httpx.ASGITransport(app=build_app(service, manage_service=False))
    async with httpx.AsyncClient(transport=transport, base_url="https://meedoen.example.org") as client:
        entered = await log_in(client, service)
    assert entered.status_code == 303 and "Secure" in entered.headers["set-cookie"]


async def test_an_expired_link_is_refused(service, client, clock):
    token = await new_token(service)
    clock.now += timedelta(minutes=10, seconds=1)
    refused = await client.post("/console/login", data={"token": token})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert tr("nl", "This link does not work (any more). Send /console in your chat for a new one.") in refused.text
    assert await count(service, audit_log) == 0


@pytest.mark.parametrize("token", ["made-up-token-0123456789abcdefghijklmnopqrstuvwxyz", "", "x" * 500])
async def test_a_forged_link_is_refused(service, client, token):
    await new_token(service)  # a real one exists: guessing still fails
    refused = await client.post("/console/login", data={"token": token} if token else {})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert (await client.get("/console/")).status_code == 403
    async with service.db.transaction() as connection:
        assert [row.used_at for row in await connection.execute(select(console_links))] == [None]
    assert await count(service, audit_log) == 0


async def test_a_link_of_a_man_who_is_no_longer_a_coordinator_is_refused(service, client):
    token = await new_token(service)
    async with service.db.transaction() as connection:
        await coordinators.remove(connection, *BOSS)
    refused = await client.post("/console/login", data={"token": token})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert tr("nl", "You are no longer a coordinator, so this page is closed to you.") in refused.text


async def test_a_non_coordinators_link_is_refused(service, client):
    refused = await log_in(client, service, ("telegram", "5001"))
    assert refused.status_code == 403 and "set-cookie" not in refused.headers


async def test_a_forged_cookie_is_refused(service, client, settings):
    # signed with another key, tampered with, expired, or garbage
    _session, foreign = sessions.issue("another-secret-key-0123456789", *BOSS, START)
    _session, real = sessions.issue(settings.secret_key, *BOSS, START)
    data, mac = real.split(".")
    tampered = sessions.issue(settings.secret_key, "telegram", "5001", START)[1].split(".")[0] + "." + mac
    _session, old = sessions.issue(settings.secret_key, *BOSS, START - timedelta(hours=12, seconds=1))
    for value in (foreign, tampered, old, "garbage", real[:-1] + ("0" if real[-1] != "0" else "1")):
        client.cookies.set(sessions.COOKIE, value, path="/console")
        assert (await client.get("/console/")).status_code == 403
        client.cookies.clear()
    client.cookies.set(sessions.COOKIE, real, path="/console")
    assert (await client.get("/console/")).status_code == 200  # the genuine one works


async def test_a_coordinator_removed_after_login_is_refused_at_the_next_request(service, client):
    await log_in(client, service)
    assert (await client.get("/console/")).status_code == 200
    async with service.db.transaction() as connection:
        await coordinators.remove(connection, *BOSS)
    refused = await client.get("/console/")
    assert refused.status_code == 403
    assert tr("nl", "You are no longer a coordinator, so this page is closed to you.") in refused.text


async def test_a_form_without_the_right_csrf_token_changes_nothing(service, client):
    await log_in(client, service)
    form = await client.get("/console/series/new")
    values = {"name": "Vaders", "weekday": "3", "time": "19:00", "start": "2026-12-03", "meetings": "6",
              "capacity": "12", "location": "", "area": ""}
    for csrf in (None, "wrong", csrf_of(form)[:-1]):
        data = values if csrf is None else {**values, "csrf": csrf}
        refused = await client.post("/console/series/new", data=data)
        assert refused.status_code == 403
    # another session's token does not fit this one
    other_session, _cookie = sessions.issue(service.settings.secret_key, *BOSS, START)
    refused = await client.post("/console/series/new", data={**values, "csrf": sessions.csrf_token(service.settings.secret_key, other_session)})
    assert refused.status_code == 403
    assert await count(service, series) == 0
    assert await count(service, audit_log) == 1  # the login only
    created = await client.post("/console/series/new", data={**values, "csrf": csrf_of(form)})
    assert created.status_code == 303 and await count(service, series) == 1


# --- the pages ---------------------------------------------------------------------------------


async def test_the_overview_shows_every_series_and_the_services_health(service, client):
    first = await add_series(service, date(2026, 11, 26))
    await add_series(service, date(2026, 12, 1), name="Werk en zorg")
    await sign_up(service, first, "7001", "Ahmed")
    pid = await sign_up(service, first, "7002", "Yusuf")
    await sign_up(service, first, "7003", "Omar", waitlist=True)
    async with service.db.transaction() as connection:
        upcoming = await meetings.on_date(connection, first, date(2026, 11, 26), service.settings.timezone)
        await meetings.answer(connection, pid, upcoming.id, "coming", START)
    await log_in(client, service)
    overview = (await client.get("/console/")).text
    assert "Mannen in gesprek" in overview and "Werk en zorg" in overview
    assert "2/12" in overview and "0/12" in overview
    assert re.search(r'<span class="figure">1</span> ' + tr("nl", "on the waiting list"), overview)
    cant = tr("nl", "can't")  # the catalogs are trusted: not escaped
    assert f"{tr('nl', 'coming')}: 1 · {cant}: 0 · {tr('nl', 'no answer yet')}: 1" in overview
    assert tr("nl", "Messages waiting") in overview and tr("nl", "Failures today") in overview
    assert f'<a href="/console/series/{first}">' in overview


async def test_the_console_speaks_the_coordinators_language(service, client):
    async with service.db.transaction() as connection:
        await participants.create(connection, *BOSS, "en", START)
    await log_in(client, service)
    page = (await client.get("/console/")).text
    assert '<html lang="en" dir="ltr">' in page and "Messages waiting" in page
    async with service.db.transaction() as connection:
        await connection.execute(participant_table.update().values(language="ar"))
    assert '<html lang="ar" dir="rtl">' in (await client.get("/console/")).text


async def test_the_series_page_lists_signups_and_waiting_list_with_a_filter_and_a_printable_list(service, client):
    series_id = await add_series(service, date(2026, 11, 26))
    await sign_up(service, series_id, "7001", "Ahmed", language="ar", area="Osdorp")
    await sign_up(service, series_id, "7002", "Yusuf", language="so", area="Slotervaart")
    await sign_up(service, series_id, "7003", "Omar", waitlist=True)
    await log_in(client, service)
    page = (await client.get(f"/console/series/{series_id}")).text
    for shown in ("Ahmed", "Yusuf", "Omar", "العربية", "Soomaali", "Slotervaart", "telegram"):
        assert shown in page
    assert f'{tr("nl", "Waiting list")} (1)' in page
    filtered = (await client.get(f"/console/series/{series_id}", params={"q": "slotervaart"})).text
    assert "Yusuf" in filtered and "Ahmed" not in filtered and "Omar" not in filtered
    printable = (await client.get(f"/console/series/{series_id}/print")).text
    assert "Ahmed" in printable and "Yusuf" in printable and "Omar" not in printable  # seats only
    assert "telegram" not in printable and "Osdorp" not in printable.split("<main>")[1]  # names only
    assert (await client.get("/console/series/999")).status_code == 404


async def test_creating_a_series_applies_the_rules_of_series_add_and_is_audited(service, client):
    await log_in(client, service)
    csrf = csrf_of(await client.get("/console/series/new"))
    values = {"csrf": csrf, "name": "Vaders", "weekday": "3", "time": "19:00", "start": "2026-12-03",
              "meetings": "6", "capacity": "12", "location": "Huis van de Wijk", "area": "osdorp"}
    wrong = {
        "time": ("7pm", "%(field)s %(value)s is not a time; write it like 19:00.", {"field": tr("nl", "Time"), "value": "'7pm'"}),
        "start": ("2020-01-05", "%(field)s %(value)s is in the past; give a date from today on, or %(hint)s if you mean it.",
                  {"field": tr("nl", "First date"), "value": "2020-01-05",
                   "hint": tr("nl", "tick “the first date may be in the past”")}),
        "meetings": ("0", "%(field)s must be between 1 and 52.", {"field": tr("nl", "Number of meetings")}),
        "area": ("Mars", "%(field)s %(value)s is not one of MEEDOEN_AREAS: %(areas)s.",
                 {"field": tr("nl", "Area"), "value": "'Mars'", "areas": ", ".join(service.settings.areas)}),
        "name": ("  ", "%(field)s must not be empty.", {"field": tr("nl", "Name")}),
    }
    for field, (value, message, parts) in wrong.items():
        answer = await client.post("/console/series/new", data={**values, field: value})
        assert answer.status_code == 400
        expected = tr("nl", message, **parts).replace("'", "&#39;")
        assert expected in answer.text, field
    # today (START is a Saturday, 13:00 in Amsterdam) at 09:00: the first meeting has begun
    begun = await client.post("/console/series/new", data={**values, "weekday": "5", "time": "09:00", "start": "2026-11-21"})
    assert begun.status_code == 400
    assert tr("nl", "the first meeting, %(date)s at %(time)s, has already begun; give a later %(field)s, or %(hint)s if you mean it.",
              date="2026-11-21", time="09:00", field=tr("nl", "First date"),
              hint=tr("nl", "tick “the first date may be in the past”")) in begun.text
    assert await count(service, series) == 0
    created = await client.post("/console/series/new", data=values)
    assert created.status_code == 303
    async with service.db.transaction() as connection:
        row = (await connection.execute(select(series))).one()
        entries = [(e.actor, e.action) for e in await connection.execute(select(audit_log).order_by(audit_log.c.id))]
        meeting_rows = await series_store.meeting_rows(connection, row.id)
    assert (row.name, row.weekday, row.start_time, row.area, row.capacity) == ("Vaders", 3, "19:00", "Osdorp", 12)
    assert len(meeting_rows) == 6
    assert created.headers["location"] == f"/console/series/{row.id}"
    assert entries == [("telegram:9001", "console.login"), ("telegram:9001", "series.add")]
    # a past start with the box ticked is taken, as --allow-past
    past = await client.post("/console/series/new", data={**values, "start": "2026-11-01", "allow_past": "1"})
    assert past.status_code == 303 and await count(service, series) == 2


async def test_attendance_for_a_past_meeting_is_saved_with_the_chats_store_function(service, client, clock):
    series_id = await add_series(service, date(2026, 11, 12), meetings_count=4)  # began before START
    ahmed = await sign_up(service, series_id, "7001", "Ahmed")
    yusuf = await sign_up(service, series_id, "7002", "Yusuf")
    async with service.db.transaction() as connection:
        rows = await series_store.meeting_rows(connection, series_id)
    past = [m for m in rows if m.starts_at <= START]
    future = [m for m in rows if m.starts_at > START]
    await log_in(client, service)
    series_page = (await client.get(f"/console/series/{series_id}")).text
    assert f"/console/meetings/{past[-1].id}/attendance" in series_page
    assert f"/console/meetings/{future[0].id}/attendance" not in series_page
    form = await client.get(f"/console/meetings/{past[-1].id}/attendance")
    assert form.status_code == 200 and "Ahmed" in form.text and "Yusuf" in form.text
    saved = await client.post(
        f"/console/meetings/{past[-1].id}/attendance", data={"csrf": csrf_of(form), f"p:{ahmed}": "1"}
    )
    assert saved.status_code == 303
    async with service.db.transaction() as connection:
        marked = {(r.participant_id, r.present) for r in await connection.execute(select(attendance))}
        meeting = await meetings.get(connection, past[-1].id)
        lines = await meetings.lines(connection, meeting)
    assert marked == {(ahmed, 1), (yusuf, 0)}
    assert {line.participant_id: line.present for line in lines} == {ahmed: True, yusuf: False}  # as /attendance sees it
    again = await client.get(saved.headers["location"])
    assert tr("nl", "Attendance is saved.") in again.text
    assert re.search(rf'name="p:{ahmed}" value="1" checked', again.text)
    # a meeting still ahead: refused, nothing stored
    ahead = await client.post(f"/console/meetings/{future[0].id}/attendance", data={"csrf": csrf_of(form), f"p:{ahmed}": "1"})
    assert ahead.status_code == 404
    assert await count(service, attendance) == 2
