"""Peer facilitators (issue 16 §4), end to end on Telegram (python-telegram-bot against the
local Bot API server), a real SQLite file, the real catalogs and scheduler with an
injectable clock: the form after a meeting in Dutch and in Arabic, a facilitator who cannot
see or act on another series (not even with forged buttons), the form's one reminder, and a
living-room talk from proposal to a man's sign-up."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import callback_data
from bot.store import facilitators as facilitator_store
from bot.store import meetings as meeting_store
from bot.store import participants
from bot.store import series as series_store
from bot.store.schema import (
    attendance,
    facilitators,
    living_room_proposals,
    meeting_reports,
    report_requests,
    series,
)
from dialogs.i18n import _, fill, use_locale
from scheduler import meeting_reports as form_job
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_console import client, clock, log_in, service  # noqa: F401 - fixtures
from tests.test_store import rows_mentioning

MEETING = datetime(2026, 11, 19, 18, 0, tzinfo=UTC)  # Thursday 19 November, 19:00 local
MORNING_AFTER = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)  # 09:30 local, the form is due
EVERYONE = ["start", "mysignups", "cancel", "checkin", "listen", "language", "privacy", "stop", "delete", "help"]
FACILITATOR = ["rsvps", "attendance", "form", "livingroom", "flyer", "voice"]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def in_(language: str, text: str, **values) -> str:
    with use_locale(language):
        return fill(_(text), **values) if values else _(text)


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


async def two_series(db) -> dict:
    """Series A (facilitated by telegram:7001, in Dutch) and B (by telegram:7002, who reads
    Arabic), both on Thursdays from 19 November, each with its own men."""
    ids: dict = {"men": {}}
    async with db.transaction() as connection:
        for key, name in (("a", "Mannen in gesprek"), ("b", "Vaders en zonen")):
            new = series_store.NewSeries(name, 3, time(19), date(2026, 11, 19), 3, 10, "Huis van de Wijk", "Osdorp")
            ids[key] = await series_store.add(connection, new, "Europe/Amsterdam", MEETING - timedelta(days=10))
            ids[f"{key}_meetings"] = [m.id for m in await series_store.meeting_rows(connection, ids[key])]
        for address, name, key in ((8101, "Jan", "a"), (8102, "Cabdi", "a"), (8103, "Karim", "a"), (8201, "Yusuf", "b")):
            pid = await participants.create(connection, "telegram", str(address), "nl", MEETING - timedelta(days=9))
            await participants.change(connection, pid, name=name)
            await series_store.sign_up(connection, pid, ids[key], waitlist=False, now=MEETING - timedelta(days=9))
            ids["men"][name] = pid
        await facilitator_store.add(connection, "telegram", "7001", ids["a"], MEETING - timedelta(days=8))
        arabic = await participants.create(connection, "telegram", "7002", "ar", MEETING - timedelta(days=8))
        assert arabic
        await facilitator_store.add(connection, "telegram", "7002", ids["b"], MEETING - timedelta(days=8))
    return ids


def configured(settings, tg):
    return dataclasses.replace(telegram_settings(settings, tg), coordinators=("telegram:9001",), reminders=())


async def one(db, statement):
    async with db.transaction() as connection:
        return (await connection.execute(statement)).all()


# --- the form, in two languages -----------------------------------------------------------------


async def test_the_form_after_a_meeting_in_dutch_and_in_arabic(tg, settings, db):
    ids = await two_series(db)
    clock = Clock(MEETING + timedelta(hours=2))
    async with running(configured(settings, tg), now=clock) as service:
        # the facilitator of A takes attendance the same evening: Jan and Cabdi came
        leader = Chat(tg, 7001, language_code="nl")
        await leader.command("/attendance")
        assert leader.keys() == [f"co:m:{ids['a_meetings'][0]}"]  # his series' meeting only
        await leader.tap(f"co:m:{ids['a_meetings'][0]}")
        await leader.tap(f"co:p:{ids['men']['Jan']}")
        await leader.tap(f"co:p:{ids['men']['Cabdi']}")
        await leader.tap("co:done")
        await service.scheduler.tick()  # the evening itself: no form yet
        await asyncio.sleep(0.2)
        assert not any("fr:" in key for m in leader.messages for key in leader.keys(m))

        # the next morning: each facilitator gets the form's first message in his language
        clock.at = MORNING_AFTER
        await service.scheduler.tick()
        await tg.wait_for(lambda: any(leader.keys(m) == [f"fr:{ids['a_meetings'][0]}"] for m in leader.messages))
        arab = Chat(tg, 7002, language_code="ar")
        await tg.wait_for(lambda: arab.messages and arab.keys() == [f"fr:{ids['b_meetings'][0]}"])
        assert arab.text.startswith("\u200f") and in_("ar", "Fill in the form") in arab.labels()
        assert "Vaders en zonen" in arab.text

        # Dutch: every answer given, the count from the attendance one tap away
        offer = next(m for m in leader.messages if leader.keys(m) == [f"fr:{ids['a_meetings'][0]}"])
        offer_data = offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        count = await leader.tap(f"fr:{ids['a_meetings'][0]}")
        assert in_("nl", "How many men were there? Type the number.") in count["text"]
        assert leader.labels(count) == ["2"]
        await leader.tap("mr:n:2")
        await leader.tap("mr:t:work")
        await leader.tap("mr:t:faith")
        themes = await leader.tap("mr:t:work")  # tapped again: off
        assert f"◻️ {in_('nl', 'Work and income')}" in leader.labels(themes)
        assert f"✅ {in_('nl', 'Faith')}" in leader.labels(themes)
        await leader.tap("mr:t:father")
        exercises = await leader.tap("mr:done")
        assert in_("nl", "Skip") in leader.labels(exercises)
        await leader.say("Stelling: een vader hoort de kost te verdienen")
        outcomes = await leader.tap("mr:a:4")
        assert "Schrijf geen namen van deelnemers op." in outcomes["text"]  # the note, in his language
        too_long = await leader.say("x" * 1001)
        assert "1000" in too_long["text"]
        await leader.say("Open gesprek over werk en wie thuis wat doet.")
        await leader.tap("mr:f:y")
        thanks = await leader.say("Informatie over vrijwilligerswerk meenemen")
        assert thanks["text"] == in_("nl", "Thank you! The form is saved and the coordinators have been told.")

        # Arabic: typed Arabic-Indic digits, skipped answers, no follow-up
        await arab.tap(f"fr:{ids['b_meetings'][0]}")
        assert arab.keys() == []  # no attendance taken: he types the number
        await arab.say("٣")
        await arab.tap("mr:t:lonely")
        await arab.tap("mr:done")
        await arab.tap("mr:skip")
        await arab.say("5")
        await arab.tap("mr:skip")
        done = await arab.tap("mr:f:n")
        assert done["text"] == "\u200f" + in_("ar", "Thank you! The form is saved and the coordinators have been told.")

        boss = Chat(tg, 9001)
        await tg.wait_for(lambda: sum("Vaders en zonen" in m["text"] or "Mannen in gesprek" in m["text"] for m in boss.messages) == 2)
        assert any(in_("nl", "Follow-up is needed.") in m["text"] for m in boss.messages)
        # the form is done: the button no longer opens it
        again = await leader.forge(offer, offer_data)  # pressed again later
        assert again["text"] == in_("nl", "That form is already filled in, or it is not yours to fill in.")

    forms = {row.meeting_id: row for row in await one(db, select(meeting_reports))}
    dutch, arabic = forms[ids["a_meetings"][0]], forms[ids["b_meetings"][0]]
    assert (dutch.men_present, dutch.themes, dutch.atmosphere, dutch.follow_up) == (2, "father,faith", 4, 1)  # in the list's order
    assert dutch.exercises.startswith("Stelling") and dutch.outcomes.startswith("Open gesprek")
    assert dutch.follow_up_text == "Informatie over vrijwilligerswerk meenemen" and dutch.language == "nl"
    assert (arabic.men_present, arabic.themes, arabic.exercises, arabic.atmosphere) == (3, "lonely", None, 5)
    assert (arabic.outcomes, arabic.follow_up, arabic.language) == (None, 0, "ar")


def test_series_reports_prints_the_forms(database_url, monkeypatch, capsys):
    """`meedoen series reports ID`: every form of the series, readable."""
    from bot.app import cli
    from bot.store.database import Database

    url = database_url
    monkeypatch.setenv("MEEDOEN_DATABASE_URL", url)

    async def seed() -> int:
        database = Database(url)
        await database.upgrade()
        async with database.transaction() as connection:
            new = series_store.NewSeries("Mannen in gesprek", 3, time(19), date(2026, 11, 19), 2, 10, "", "")
            series_id = await series_store.add(connection, new, "Europe/Amsterdam", MEETING)
            first = (await series_store.meeting_rows(connection, series_id))[0]
            await facilitator_store.save_report(
                connection,
                {"meeting_id": first.id, "men_present": 7, "themes": "work,health", "exercises": None, "atmosphere": 3,
                 "outcomes": "Goed gesprek.", "follow_up": 0, "follow_up_text": None, "language": "nl"},
                MORNING_AFTER,
            )
        await database.close()
        return series_id

    series_id = asyncio.run(seed())
    assert cli.main(["series", "reports", str(series_id)]) == 0
    out = capsys.readouterr().out
    assert "Meeting 1, Thursday 19 November 19:00:" in out
    for line in ("Men there: 7", "Themes: Work and income, Health", "Statements or exercises: —",
                 "Atmosphere (1–5): 3", "Main outcomes: Goed gesprek.", "Follow-up needed: No"):
        assert f"  {line}" in out
    assert cli.main(["series", "reports", "99"]) == 2
    assert cli.main(["facilitator", "add", "telegram:7001", "--series", "99"]) == 2
    assert "there is no series 99" in capsys.readouterr().err


# --- his own series only -------------------------------------------------------------------------


async def test_a_facilitator_sees_and_acts_on_his_own_series_only(tg, settings, db):
    ids = await two_series(db)
    clock = Clock(MEETING + timedelta(hours=2))
    secret = settings.secret_key.encode()
    async with db.transaction() as connection:  # the coordinator facilitates B as well
        await facilitator_store.add(connection, "telegram", "9001", ids["b"], MEETING)
    async with running(configured(settings, tg), now=clock):
        for language in ("nl", "ar", "so", "en"):
            assert [c["command"] for c in tg.menu_for(7001, language)] == FACILITATOR + EVERYONE
        assert [c["command"] for c in tg.menu_for(8101, "nl")] == EVERYONE
        coordinator = ["rsvps", "attendance", "broadcast", "voice", "report", "console", "flyer"]
        assert [c["command"] for c in tg.menu_for(9001, "nl")] == coordinator + ["form", "livingroom"] + EVERYONE

        leader = Chat(tg, 7001, language_code="nl")
        rsvps = await leader.command("/rsvps")
        assert "Mannen in gesprek" in rsvps["text"] and "Jan" in rsvps["text"]
        assert "Vaders en zonen" not in rsvps["text"] and "Yusuf" not in rsvps["text"]
        help_text = (await leader.command("/help"))["text"]
        assert in_("nl", "/form – the form about your last meeting") in help_text

        question = await leader.command("/attendance")
        assert leader.keys(question) == [f"co:m:{ids['a_meetings'][0]}"]
        # a modified client, with a valid signature even (as if the secret leaked): B's meeting
        forged = callback_data.encode(secret, "7001", 1, f"co:m:{ids['b_meetings'][0]}")
        refused = await leader.forge(question, forged)
        assert in_("nl", "Sorry, that choice is no longer available.") in refused["text"]
        listing = await leader.tap(f"co:m:{ids['a_meetings'][0]}")
        q = int(next(b["callback_data"] for row in listing["reply_markup"]["inline_keyboard"] for b in row).split("|")[0])
        # ... and a man of series B on A's attendance list
        await leader.forge(listing, callback_data.encode(secret, "7001", q, f"co:p:{ids['men']['Yusuf']}"))
        # ... the form of B's meeting, and approving a living-room talk
        refused = await leader.forge(listing, callback_data.encode(secret, "7001", 0, f"fr:{ids['b_meetings'][0]}"))
        assert refused["text"] == in_("nl", "That form is already filled in, or it is not yours to fill in.")
        await leader.forge(listing, callback_data.encode(secret, "7001", 0, "lr:1"))
        # a broadcast is a coordinator's, not his
        assert (await leader.command("/broadcast"))["text"] == (await leader.command("/frobnicate"))["text"]

        man = Chat(tg, 8101, language_code="nl")
        assert (await man.command("/rsvps"))["text"] == (await man.command("/frobnicate"))["text"]
        assert (await man.command("/form"))["text"] == (await man.command("/frobnicate"))["text"]
    assert await one(db, select(attendance)) == []
    assert await one(db, select(meeting_reports)) == []


async def test_a_facilitator_is_erased_by_delete(tg, settings, db):
    ids = await two_series(db)
    async with db.transaction() as connection:
        await facilitator_store.claim_request(connection, ids["b_meetings"][0], "telegram", "7002", "form", MORNING_AFTER)
        await facilitator_store.propose(
            connection, "telegram", "7002",
            {"name": "Huiskamergesprek", "starts_at": MORNING_AFTER + timedelta(days=3), "location": "Thuis",
             "capacity": 6, "area": ""},
            MORNING_AFTER,
        )
    async with running(configured(settings, tg), now=Clock(MORNING_AFTER)):
        arab = Chat(tg, 7002, language_code="ar")
        await arab.command("/delete")
        await arab.tap(next(key for key in arab.keys() if key != "no"))
    for table in (facilitators, report_requests, living_room_proposals):
        assert await one(db, select(table).where(table.c.address == "7002")) == []
    assert await rows_mentioning(db, ["7002"]) == []
    assert len(await one(db, select(facilitators))) == 1  # 7001's stays


# --- the reminder, at most once ------------------------------------------------------------------


async def test_the_form_is_sent_once_and_reminded_at_most_once(settings, db):
    ids = await two_series(db)
    meeting = ids["a_meetings"][0]

    async def queued(kind: str) -> int:
        statement = select(func.count()).select_from(report_requests).where(
            report_requests.c.kind == kind, report_requests.c.address == "7001"
        )
        async with db.transaction() as connection:
            return await connection.scalar(statement)

    assert await form_job.queue_forms(db, settings, MEETING + timedelta(hours=3)) == 0  # the same evening
    # two processes at the same instant: the claim lets one of them send
    sent = await asyncio.gather(*(form_job.queue_forms(db, settings, MORNING_AFTER) for _ in range(2)))
    assert sorted(sent) == [0, 2]  # A's facilitator and B's, by one of the two
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + timedelta(hours=1)) == 0
    assert await queued("form") == 1 and await queued("reminder") == 0
    # not filled in within two days: one reminder each, and never a second
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + timedelta(days=1, hours=23)) == 0
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + timedelta(days=2)) == 2
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + timedelta(days=2, hours=1)) == 0
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + timedelta(days=3)) == 0
    assert await queued("reminder") == 1
    # a form filled in before its reminder is due: no reminder at all
    second = ids["a_meetings"][1]
    week = timedelta(days=7)
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + week) == 2
    async with db.transaction() as connection:
        await facilitator_store.save_report(
            connection,
            {"meeting_id": second, "men_present": 5, "themes": "", "exercises": None, "atmosphere": None,
             "outcomes": None, "follow_up": 0, "follow_up_text": None, "language": "nl"},
            MORNING_AFTER + week + timedelta(hours=1),
        )
    assert await form_job.queue_forms(db, settings, MORNING_AFTER + week + timedelta(days=2)) == 1  # B's only
    assert meeting != second


# --- a living-room talk ----------------------------------------------------------------------------


async def test_a_living_room_talk_is_proposed_approved_and_a_man_signs_up(tg, settings, db):
    await two_series(db)
    clock = Clock(MORNING_AFTER)
    async with running(configured(settings, tg), now=clock):
        leader = Chat(tg, 7001, language_code="nl")
        await leader.command("/livingroom")
        assert (await leader.say("31-2"))["text"].startswith(in_("nl", "I could not read that date. Please write it as day-month, for example 12-12."))
        await leader.say("28-11")
        await leader.say("19.30")
        await leader.say("Kerkstraat 5, Osdorp")
        assert leader.labels() == ["4", "6", "8", "10", "12"]
        await leader.tap("lr:c:6")
        assert "Kerkstraat 5, Osdorp" in leader.text and "zaterdag 28 november 19:30" in leader.text
        sent = await leader.tap("lr:send")
        assert sent["text"] == in_("nl", "Sent. I will let you know as soon as a coordinator approves it.")

        boss = Chat(tg, 9001, language_code="nl")
        await tg.wait_for(lambda: any(key.startswith("lr:") for m in boss.messages for key in boss.keys(m)))
        proposal = next(m for m in boss.messages if boss.keys(m))
        assert "Kerkstraat 5, Osdorp" in proposal["text"] and boss.labels(proposal) == [in_("nl", "Approve")]
        approve_data = proposal["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        approved = await boss.tap(boss.keys(proposal)[0], proposal)
        assert approved["text"] == in_("nl", "Approved. %(series)s is open for sign-up.", series="Huiskamergesprek")
        again = await boss.forge(proposal, approve_data)  # a second tap, or a second coordinator's
        assert again["text"] == in_("nl", "This living-room talk was approved already.")
        await tg.wait_for(lambda: any("28 november" in m["text"] and "Kerkstraat" not in m["text"] for m in leader.messages[-2:]))

        # a man finds it, without the place, and signs up: then he is told where it is
        man = Chat(tg, 8301, language_code="nl")
        await man.command("/start")
        await man.tap("lang:nl")
        await man.tap("yes")
        listing = await man.say("Ahmed")
        [talk] = [key for key in man.keys(listing) if key.startswith("s:")][-1:]
        assert "Huiskamergesprek: één keer, op zaterdag 28 november 19:30 (" in listing["text"]
        assert "Kerkstraat" not in listing["text"]  # the place: only once he has signed up
        await man.tap(talk)
        confirmation = await man.tap("a:0")
        assert "Kerkstraat 5, Osdorp" in confirmation["text"] and "Huiskamergesprek" in confirmation["text"]
    [talk_series] = await one(db, select(series).where(series.c.name == "Huiskamergesprek"))
    assert (talk_series.meeting_count, talk_series.capacity, talk_series.place_private) == (1, 6, 1)
    assert (await one(db, select(living_room_proposals.c.status)))[0][0] == "approved"
    async with db.transaction() as connection:  # he facilitates his living-room talk too
        assert talk_series.id in await facilitator_store.series_of(connection, "telegram", "7001")
        meeting = (await series_store.meeting_rows(connection, talk_series.id))[0]
        assert (await meeting_store.get(connection, meeting.id)).starts_at == datetime(2026, 11, 28, 18, 30, tzinfo=UTC)


# --- the console -----------------------------------------------------------------------------------


async def test_the_console_series_page_shows_the_forms(service, client):
    async with service.db.transaction() as connection:
        new = series_store.NewSeries("Mannen in gesprek", 3, time(19), date(2026, 11, 19), 2, 10, "", "")
        series_id = await series_store.add(connection, new, "Europe/Amsterdam", MEETING)
        first = (await series_store.meeting_rows(connection, series_id))[0]
        await facilitator_store.save_report(
            connection,
            {"meeting_id": first.id, "men_present": 7, "themes": "work,health", "exercises": None, "atmosphere": 3,
             "outcomes": "Goed gesprek <b>vet</b>", "follow_up": 1, "follow_up_text": "Bellen", "language": "nl"},
            MORNING_AFTER,
        )
        empty_id = await series_store.add(connection, new, "Europe/Amsterdam", MEETING)
    await log_in(client, service)
    page = (await client.get(f"/console/series/{series_id}")).text
    assert in_("nl", "Facilitators' forms").replace("'", "&#39;") in page
    for shown in ("Werk en inkomen, Gezondheid", "Goed gesprek &lt;b&gt;vet&lt;/b&gt;", "Ja: Bellen", "donderdag 19 november 19:00"):
        assert shown in page
    empty = (await client.get(f"/console/series/{empty_id}")).text
    assert in_("nl", "No forms yet: a facilitator gets the form the morning after each meeting.") in empty
