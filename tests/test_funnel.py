"""Where men give up: the sign-up and check-in funnels (issue 19 §3). Counts from a scripted
set of conversations through the Telegram stand-in, once per conversation, suppressed under
10 in the CLI and the console, and nothing per man in the database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, text

from bot.analytics import funnel_table
from bot.console.report_page import funnels
from bot.store import checkins as checkin_store
from bot.store import funnel as funnel_store
from bot.store import series as series_store
from bot.store.schema import checkin_pool, conversations, funnel_counts, participants
from dialogs import funnel
from dialogs.i18n import use_locale
from dialogs.types import Command, Text
from tests.conftest import NOW
from tests.dialog_helpers import Driver, counted
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_checkin_dialog import Chat as CheckinChat
from tests.test_checkin_dialog import context as checkin_context
from tests.test_checkin_telegram import NOT_LONELY
from tests.test_cli import meedoen
from tests.test_telegram_signup import tg  # noqa: F401 - the fixture

NEXT_WEEK = NOW + timedelta(weeks=1)


# --- the dialogs: which step is counted when ------------------------------------------------------


def test_each_sign_up_step_is_counted_once_per_conversation():
    d = Driver()
    assert counted(d.send(Command("start"))) == [("signup", "started", "nl")]
    assert counted(d.send(Command("start"))) == []  # the same conversation: not again
    assert counted(d.send(Text("hallo"))) == []
    assert counted(d.press("lang:so")) == [("signup", "language", "so")]
    assert counted(d.send(Command("language"))) == []
    assert counted(d.press("lang:so")) == []  # chose a language again: already counted
    assert counted(d.press("yes")) == [("signup", "consent", "so")]
    assert counted(d.press("skip")) == []  # the name is not a step of the funnel
    assert counted(d.press("s:1")) == [("signup", "series", "so")]
    assert counted(d.press("a:1")) == [("signup", "finished", "so")]
    assert funnel.MARKER not in d.state  # done: the funnel follows him no further
    # Signed up, he joins another series later: he started long ago, not counted again
    assert counted(d.send(Command("start"))) == []


def test_a_refusal_ends_the_conversation_and_a_new_start_counts_again():
    d = Driver()
    d.send(Command("start"))
    d.press("lang:ar")
    assert counted(d.press("no")) == []
    assert d.state == {}  # nothing kept, the marker neither
    assert counted(d.send(Command("start"))) == [("signup", "started", "nl")]


def test_the_first_message_starts_it_in_the_language_he_is_greeted_in():
    d = Driver(suggested_language="ar")
    assert counted(d.send(Text("hallo"))) == [("signup", "started", "ar")]


def test_a_conversation_taken_up_in_a_later_week_is_a_new_start():
    d = Driver()
    d.send(Command("start"))
    week = d.state[funnel.MARKER]["week"]
    d.state[funnel.MARKER] = {**d.state[funnel.MARKER], "week": "2026-W01"}  # as if started long ago
    assert counted(d.send(Command("start"))) == [("signup", "started", "nl")]
    assert d.state[funnel.MARKER]["week"] == week


def test_a_check_in_counts_each_question_reached_once_and_the_end():
    chat = CheckinChat(checkin_context("en"))
    assert counted(chat.send(Command("checkin"))) == [("checkin", "q1", "en")]
    assert counted(chat.send(Text("something typed"))) == []  # q1 asked again: not counted again
    seen = []
    for _answer in range(funnel.CHECKIN_QUESTIONS):
        seen += counted(chat.press(chat.last.options[-1].key))  # skip every question
    assert [step for _flow, step, _language in seen] == [*(f"q{n}" for n in range(2, 9)), "finished"]
    assert "checkin" not in chat.state
    # a new check-in (next week) is a new conversation: counted again
    assert counted(chat.send(Command("checkin"))) == [("checkin", "q1", "en")]


# --- the store, the CLI and the console, from conversations through the Telegram stand-in ----------


async def add_series(db) -> int:
    new = series_store.NewSeries("Mannen in gesprek", 3, time(19, 0), date(2026, 12, 3), 6, 40, "Huis", "Osdorp")
    async with db.transaction() as connection:
        return await series_store.add(connection, new, "Europe/Amsterdam", NOW)


async def walk(chat: Chat, language: str, series_id: int, stop_after: str) -> None:
    """A man's sign-up, given up after step ``stop_after``."""
    await chat.command("/start")
    if stop_after == "started":
        return
    await chat.tap(f"lang:{language}")
    if stop_after == "language":
        return
    await chat.tap("yes")
    await chat.tap("skip")
    if stop_after == "consent":
        return
    await chat.tap(f"s:{series_id}")
    if stop_after == "series":
        return
    await chat.tap("a:1")


SCRIPT = (
    # (language, how many men, where they stop)
    ("so", 3, "started"),
    ("so", 2, "language"),  # 12 Somali men start, 9 read the privacy text
    ("so", 1, "consent"),
    ("so", 6, "finished"),
    ("ar", 2, "consent"),
    ("ar", 1, "series"),
    ("ar", 8, "finished"),  # 11 Arabic men start, all 11 agree, 9 finish
)


async def scripted(tg, settings, db) -> list[Chat]:
    series_id = await add_series(db)
    chats = []
    async with running(telegram_settings(settings, tg), now=lambda: NOW):
        user = 6000
        for language, men, stop in SCRIPT:
            for _man in range(men):
                user += 1
                chat = Chat(tg, user, language_code=language)
                await walk(chat, language, series_id, stop)
                chats.append(chat)
        # Somali men who finished check in: 6 start, 4 go on to the end, 2 answer three questions, see the fourth and stop
        finished = [c for c in chats[6:12]]
        await asyncio.gather(*(checkin(chat, 8 if n < 4 else 3) for n, chat in enumerate(finished)))
    return chats


async def checkin(chat: Chat, answers: int) -> None:
    await chat.command("/checkin")
    for key in NOT_LONELY[:answers]:
        await chat.tap(key)


async def test_the_funnel_counts_suppresses_and_keeps_nothing_per_man(tg, settings, db):
    chats = await scripted(tg, settings, db)
    async with db.transaction() as connection:
        stored = {(r.flow, r.step, r.language): r.count for r in await connection.execute(select(funnel_counts))}
        weeks = set(await connection.scalars(select(funnel_counts.c.week)))
    assert weeks == {"2026-W47"}
    signup = {(step, language): count for (flow, step, language), count in stored.items() if flow == "signup"}
    assert signup == {
        ("started", "so"): 12, ("language", "so"): 9, ("consent", "so"): 7, ("series", "so"): 6,
        ("finished", "so"): 6,
        ("started", "ar"): 11, ("language", "ar"): 11, ("consent", "ar"): 11, ("series", "ar"): 9,
        ("finished", "ar"): 8,
    }
    check = {step: count for (flow, step, language), count in stored.items() if flow == "checkin"}
    assert check == {"q1": 6, "q2": 6, "q3": 6, "q4": 6, "q5": 4, "q6": 4, "q7": 4, "q8": 4, "finished": 4}
    # A check-in's language is counted as its answers are stored (bot/store/anonymity.py): here
    # the six Somali men's cell is folded into "other", and the counters say no more than the pool.
    async with db.transaction() as connection:
        in_pool = {row["language"] for row in await checkin_store.pooled(connection, checkin_pool)}
    assert {language for (flow, _s, language) in stored if flow == "checkin"} == in_pool == {"other"}

    # Shown: only weeks that are over, and every count under 10 as "< 10".
    async with db.transaction() as connection:
        counts = await funnel_store.all_counts(connection)
    assert funnel_table.rows(counts, "signup", NOW) == []  # the running week is not shown
    rows = funnel_table.rows(counts, "signup", NEXT_WEEK)
    assert [(r.week, r.language, r.cells) for r in rows] == [
        ("2026-W47", "ar", ("11", "11", "11", "< 10", "< 10")),
        ("2026-W47", "so", ("12", "< 10", "< 10", "< 10", "< 10")),
    ]
    (checkins,) = funnel_table.rows(counts, "checkin", NEXT_WEEK)
    assert set(checkins.cells) == {"< 10"}

    # The CLI (a real process; today is after that week)
    result = meedoen(settings.database_url, "report", "--funnel")
    assert result.returncode == 0, result.stderr
    assert "2026-W47  so        12       < 10" in result.stdout
    assert "2026-W47  ar        11       11                11                 < 10" in result.stdout
    csv = meedoen(settings.database_url, "report", "--funnel", "--format", "csv").stdout
    assert "signup,2026-W47,so,started,12\n" in csv and "signup,2026-W47,so,finished,< 10\n" in csv
    assert ",4\n" not in csv and ",6\n" not in csv  # no count under 10 anywhere
    refused = meedoen(settings.database_url, "report", "--funnel", "--format", "png", "--out", "f.png")
    assert refused.returncode == 2 and "funnel" in refused.stderr

    # Nothing per man: the counters hold no id, address or name, and their number of rows
    # depends on the steps and languages, not on the men.
    async with db.transaction() as connection:
        men = (await connection.execute(select(participants.c.id, participants.c.address))).all()
        dump = [tuple(str(v) for v in row) for row in await connection.execute(text("SELECT * FROM funnel_counts"))]
        states = list(await connection.scalars(select(conversations.c.state)))
    assert len(dump) == len(stored) == 10 + 9
    addresses = {str(chat.user_id) for chat in chats} | {address for _id, address in men}
    assert not any(value in addresses or value.startswith("User") for row in dump for value in row)
    assert {column.name for column in funnel_counts.columns} == {"week", "flow", "step", "language", "count"}
    # A finished man's conversation keeps no sign-up marker; one who gave up keeps only his
    # own (the week and the steps he reached); a check-in left half-way keeps its marker with
    # its answers in progress, until they are wiped.
    decoded = [json.loads(state) for state in states]
    assert sum(funnel.MARKER in state for state in decoded) == len(chats) - 6 - 8
    assert sum(funnel.MARKER in state.get("checkin", {}) for state in decoded) == 2
    for state in decoded:
        if funnel.MARKER in state:
            assert set(state[funnel.MARKER]) == {"week", "done"}


async def test_the_console_report_shows_the_funnel(db):
    async with db.transaction() as connection:
        for language, count in (("so", 14), ("ar", 3)):
            for _n in range(count):
                await funnel_store.add_one(connection, "2026-W47", "signup", "started", language)
        counts = await funnel_store.all_counts(connection)
    with use_locale("nl"):
        signup, checkin = funnels(counts, NEXT_WEEK)
    assert signup.heads[0] == "Begonnen"
    assert [(line.label, line.cells[0]) for line in signup.lines] == [("2026-W47 · ar", "< 10"), ("2026-W47 · so", "14")]
    assert checkin.lines == []


def test_weeks_are_newest_first_and_a_missing_step_is_zero():
    class C:
        def __init__(self, week, step, count):
            self.week, self.flow, self.step, self.language, self.count = week, "signup", step, "nl", count

    counts = [C("2025-W52", "started", 30), C("2026-W02", "started", 12), C("2026-W02", "language", 10)]
    rows = funnel_table.rows(counts, "signup", datetime(2026, 2, 1, tzinfo=UTC))
    assert [(r.week, r.cells) for r in rows] == [
        ("2026-W02", ("12", "10", "< 10", "< 10", "< 10")),
        ("2025-W52", ("30", "< 10", "< 10", "< 10", "< 10")),
    ]
