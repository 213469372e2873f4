"""Issue 11, tried as an adversary would: someone who holds every byte of the database (main
file and write-ahead log) and the participants' table, but not MEEDOEN_SECRET_KEY, tries to
tie check-in answers to men.

Men check in one after another through the Telegram stand-in; the files are then read raw. A
row's place is found the way an attacker finds it: by searching the file for its random id
(or, for a marker, its value) and walking SQLite's b-tree pages to see which table or index a
page belongs to.

The statistics: the test knows the order of the check-ins, and lists the men in the order of
each thing an attacker can see (byte offsets of the answer rows, of their index entries, of the
markers, the order in which a table gives its rows). If the storage leaked the order, that list
would be the check-in order (or its reverse): Kendall's tau of exactly +1 or -1, as it was before
the fix. An exact permutation test (the null distribution counts permutations by their
inversions) gives the chance of a tau at least that far from 0 when the order is random; the
test fails below ``ALPHA``. With ten men the two extreme orders alone have probability 5.5e-7,
so the fixed storage passes all but one run in about a hundred thousand, and the old storage
fails every time.
"""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.analytics.report import COARSENING_NOTE, render_text
from bot.store import anonymity, checkins
from bot.store.report_data import build
from bot.store.schema import checkin_markers, checkin_month_markers, checkin_pool, participants
from dialogs.i18n import _, use_locale
from tests import raw_database, sealed
from tests.conftest import NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import Chat, running, telegram_settings
from tests.test_telegram_signup import add_series, sign_up

ALPHA = 1e-5
MEN = 10
# The order in which the men (numbered by sign-up) check in: Kendall's tau with the sign-up
# order is 0.02, so a column that follows the sign-up order (a participant id) does not
# stand for one that follows the check-ins.
CHECKIN_ORDER = [3, 7, 0, 9, 5, 1, 8, 2, 6, 4]
# The "worthwhile" answer of each man, in check-in order: it tells the test whose row is
# whose, and is itself unrelated to the order (tau 0.02), so a report index in value order
# proves nothing either way.
WORTHWHILE = [6, 1, 8, 3, 0, 9, 4, 7, 2, 5]
ITEMS = ["a:1", "a:2", "a:2", "a:0", "a:1", "a:2", "yes"]


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


class Clock:
    def __init__(self, start):
        self.moment = start

    def __call__(self):
        return self.moment


# --- the attacker's tools ----------------------------------------------------------------------


def inversions(sequence: list[int]) -> int:
    return sum(1 for i in range(len(sequence)) for j in range(i + 1, len(sequence)) if sequence[i] > sequence[j])


def kendall_tau(sequence: list[int]) -> float:
    n = len(sequence)
    return 1 - 4 * inversions(sequence) / (n * (n - 1))


def kendall_p(sequence: list[int]) -> float:
    """Exact two-sided p-value of Kendall's tau between ``sequence`` and 0..n-1 when every
    order is equally likely: the share of permutations at least as far from tau = 0
    (Mahonian numbers: permutations of n counted by their inversions)."""
    n = len(sequence)
    counts = [1]
    for m in range(2, n + 1):
        grown = [0] * (len(counts) + m - 1)
        for k, c in enumerate(counts):
            for j in range(m):
                grown[k + j] += c
        counts = grown
    found = inversions(sequence)
    tail = min(found, n * (n - 1) // 2 - found)
    return min(1.0, 2 * sum(counts[: tail + 1]) / math.factorial(n))


def test_the_permutation_test_itself():
    assert kendall_p(list(range(10))) == pytest.approx(2 / math.factorial(10))
    assert kendall_p(list(range(10))[::-1]) == pytest.approx(2 / math.factorial(10))
    assert kendall_p(list(range(10))) < ALPHA  # so the old storage cannot pass
    assert kendall_p(CHECKIN_ORDER) > 0.5 and kendall_p(WORTHWHILE) > 0.5
    rng = random.Random(11)
    samples = [kendall_p(rng.sample(range(10), 10)) for _ in range(2000)]
    assert 0.4 < sum(p <= 0.5 for p in samples) / len(samples) < 0.6  # roughly uniform
    assert all(p > ALPHA for p in samples)


class RawFile:
    """The database file as bytes, with SQLite's b-tree pages walked by hand."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        size = int.from_bytes(self.data[16:18], "big")
        self.page_size = 65536 if size == 1 else size
        raw = sqlite3.connect(path)
        self.roots = dict(raw.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0"))
        raw.close()

    def pages_of(self, name: str) -> set[int]:
        pages, todo = set(), [self.roots[name]]
        while todo:
            number = todo.pop()
            pages.add(number)
            start = (number - 1) * self.page_size
            header = start + (100 if number == 1 else 0)
            if self.data[header] in (2, 5):  # interior page: follow its children
                cells = int.from_bytes(self.data[header + 3 : header + 5], "big")
                todo.append(int.from_bytes(self.data[header + 8 : header + 12], "big"))
                for i in range(cells):
                    pointer = int.from_bytes(self.data[header + 12 + 2 * i : header + 14 + 2 * i], "big")
                    todo.append(int.from_bytes(self.data[start + pointer : start + pointer + 4], "big"))
        return pages

    def offsets(self, needle: bytes) -> list[int]:
        found, at = [], self.data.find(needle)
        while at != -1:
            found.append(at)
            at = self.data.find(needle, at + 1)
        return found

    def offset_in(self, needle: bytes, tree: str) -> int:
        """Where ``needle`` lies inside the pages of one table or index (exactly once)."""
        pages = self.pages_of(tree)
        inside = [o for o in self.offsets(needle) if o // self.page_size + 1 in pages]
        assert len(inside) == 1, (tree, inside)
        return inside[0]


def order_seen(positions: dict[int, int]) -> list[int]:
    """Check-in numbers listed in the order of what the attacker sees (``positions``: check-in
    number → offset, or rank)."""
    return [number for number, _place in sorted(positions.items(), key=lambda item: item[1])]


def assert_no_order(name: str, positions: dict[int, int]) -> None:
    seen = order_seen(positions)
    assert sorted(seen) == list(range(len(positions))), name
    p = kendall_p(seen)
    assert p > ALPHA, f"{name} follow the order of the check-ins (tau={kendall_tau(seen):+.2f}, p={p:.1e})"


# --- the raw-bytes test ---------------------------------------------------------------------------


@pytest.mark.sqlite_only("walks SQLite's b-tree pages in the database file")
async def test_nothing_in_the_files_follows_the_order_of_check_ins(tg, settings, db):
    clock = Clock(NOW)
    series_id = await add_series(db)
    path = Path(settings.database_url.split("///", 1)[1])
    secret = settings.secret_key.encode()
    async with running(telegram_settings(settings, tg), now=clock) as service:
        chats = [Chat(tg, 6200 + n, language_code="nl") for n in range(MEN)]
        for n, chat in enumerate(chats):
            clock.moment = NOW + timedelta(minutes=n)
            await sign_up(chat, "nl", f"Man{n}" if n % 2 else None, f"s:{series_id}", "a:1")
        for position, man in enumerate(CHECKIN_ORDER):
            clock.moment = NOW + timedelta(hours=1, minutes=7 * position)  # minutes apart
            await chats[man].command("/checkin")
            for key in [*ITEMS, f"w:{WORTHWHILE[position]}"]:
                await chats[man].tap(key)
        await service.db.truncate_log()
        whose = {address: position for position, address in enumerate(str(6200 + m) for m in CHECKIN_ORDER)}

        # During the week: the answers wait in the pool, the markers say "checked in".
        raw = RawFile(path)
        assert path.with_name(path.name + "-wal").stat().st_size == 0
        week = checkins.iso_week(clock.moment)
        pool = sealed.pool_rows(settings.database_url, "checkin_pool", "id, worthwhile")
        assert len(pool) == MEN
        by_worth = {w: position for position, w in enumerate(WORTHWHILE)}
        assert_no_order("byte offsets of the pool's rows", {
            by_worth[w]: raw.offset_in(row_id.encode(), "checkin_pool") for row_id, w in pool
        })
        assert_no_order("the pool's rows as the table gives them", {
            by_worth[w]: rank for rank, (_id, w) in enumerate(pool)
        })
        markers = {
            checkins.marker(secret, "telegram", address, week): position for address, position in whose.items()
        }
        assert_no_order("byte offsets of the markers", {
            position: raw.offset_in(value.encode(), "checkin_markers") for value, position in markers.items()
        })
        assert_no_order("the markers as the table gives them", {
            markers[value]: rank
            for rank, (value,) in enumerate(sqlite3.connect(path).execute("SELECT marker FROM checkin_markers"))
        })
        month = checkins.month_of(week)
        month_markers = {
            checkins.marker(secret, "telegram", address, month): position for address, position in whose.items()
        }
        assert_month_markers_keep_no_order(path, month_markers)
        assert [first for (first,) in sealed.pool_rows(settings.database_url, "checkin_pool", "first_in_month")] \
            == [1] * MEN, "each man's first answer of the month"
        assert_men_cannot_be_ordered(path, whose)

        # The week is over: the pool moves to the responses, shuffled, under new ids.
        clock.moment = NOW + timedelta(days=7)
        await service.scheduler.tick()
        await service.db.truncate_log()

    raw = RawFile(path)
    connection = sqlite3.connect(path)
    assert list(connection.execute("SELECT count(*) FROM checkin_pool")) == [(0,)]
    assert list(connection.execute("SELECT count(*) FROM checkin_markers")) == [(0,)], "last week's markers"
    for row_id, _w in pool:
        assert raw.offsets(row_id.encode()) == [], "a pool id survived the move"
    for value in markers:
        assert raw.offsets(value.encode()) == [], "an old marker survived in the file"
    # The month is still running (its week 48 has its Thursday on 26 November): the month's
    # markers stay, still in no order; a later week's flush in December erases them.
    assert checkins.month_of(checkins.iso_week(clock.moment)) == month
    assert_month_markers_keep_no_order(path, month_markers)
    responses = list(connection.execute("SELECT id, worthwhile, language, area, iso_week FROM checkin_responses"))
    assert len(responses) == MEN
    assert {(language, area, iso) for _i, _w, language, area, iso in responses} == {("nl", "Osdorp", week)}
    assert_no_order("byte offsets of the answer rows", {
        by_worth[w]: raw.offset_in(row_id.encode(), "checkin_responses") for row_id, w, *_r in responses
    })
    assert_no_order("byte offsets of the report index's entries", {
        by_worth[w]: raw.offset_in(row_id.encode(), "ix_checkin_responses_report") for row_id, w, *_r in responses
    })
    assert_no_order("the answer rows as the table gives them", {
        by_worth[w]: rank for rank, (_id, w, *_r) in enumerate(responses)
    })
    assert_men_cannot_be_ordered(path, whose)


def assert_month_markers_keep_no_order(path: Path, month_markers: dict[str, int]) -> None:
    """``month_markers``: each man's month marker → his place in the check-in order."""
    raw = RawFile(path)
    stored = [value for (value,) in sqlite3.connect(path).execute("SELECT marker FROM checkin_month_markers")]
    assert sorted(stored) == sorted(month_markers)
    assert_no_order("byte offsets of the month markers", {
        position: raw.offset_in(value.encode(), "checkin_month_markers") for value, position in month_markers.items()
    })
    assert_no_order("the month markers as the table gives them", {
        month_markers[value]: rank for rank, value in enumerate(stored)
    })


def assert_men_cannot_be_ordered(path: Path, whose: dict[str, int]) -> None:
    """No column of any table that names a man (by chat address or participant id) orders the
    men the way they checked in: the times kept per man are too coarse to tell minutes apart
    (``last_inbound_at`` is not kept for Telegram at all)."""
    connection = sqlite3.connect(path)
    ids = dict(connection.execute("SELECT address, id FROM participants"))
    by_id = {ids[address]: position for address, position in whose.items()}
    tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    checked = 0
    for table in tables:
        columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
        key = "address" if "address" in columns else "participant_id" if "participant_id" in columns else None
        if key is None:
            continue
        lookup = whose if key == "address" else by_id
        rows = [dict(zip(columns, row, strict=True)) for row in connection.execute(f'SELECT * FROM "{table}"')]
        rows = [row for row in rows if str(row[key]) in lookup or row[key] in lookup]
        for column in columns:
            values = {lookup.get(row[key], lookup.get(str(row[key]))): row[column] for row in rows}
            if len(values) < len(lookup) or None in values.values() or len(set(values.values())) < 2:
                continue  # not a value per man, or the same for all of them
            checked += 1
            # Ties broken in the attacker's favour (by check-in order): a coarse value that
            # still split the men into "earlier" and "later" would show as an order too.
            seen = order_seen({position: (value, position) for position, value in values.items()})
            assert kendall_p(seen) > ALPHA, f"{table}.{column} orders the men as they checked in"
    assert checked, "the participants' table was read"


# --- k-anonymity --------------------------------------------------------------------------------


async def add_men(db, count: int, language: str, area: str | None, first: int) -> None:
    async with db.transaction() as connection:
        await connection.execute(
            insert(participants),
            [
                {"channel": "telegram", "address": str(first + n), "language": language, "area": area,
                 "consented_at": NOW, "status": "active"}
                for n in range(count)
            ],
        )


async def test_a_lone_arabic_reader_is_not_singled_out(tg, settings, db):
    """Six men read Dutch and live in Osdorp; one reads Arabic and gave no area. His answer
    must not say "Arabic" (it would match him alone), and whatever it says must match at least
    five signed-up men, also for an attacker who knows the rule."""
    series_id = await add_series(db)
    await add_men(db, 6, "nl", "Osdorp", first=8000)
    async with running(telegram_settings(settings, tg)) as service:
        chat = Chat(tg, 6300, language_code="ar")
        await sign_up(chat, "ar", None, f"s:{series_id}", "a:-")
        await chat.command("/checkin")
        for key in [*ITEMS, "w:7"]:
            await chat.tap(key)
        await service.db.truncate_log()
    [(language, area)] = sealed.pool_rows(settings.database_url, "checkin_pool", "language, area")
    assert (language, area) == (anonymity.OTHER, None)
    men = raw_database.query(settings.database_url, "SELECT language, area FROM participants")
    assert ("ar", None) in men and len(men) == 7
    # The plain reading: men whose language and area fit the stored ones ("other" and "not
    # given" fit anything).
    assert sum(language in (his_language, anonymity.OTHER) and area in (his_area, None) for his_language, his_area in men) >= anonymity.K
    # The attacker who knows the rule: men whose answer would be stored just so.
    rule = anonymity.Generalisation.of(anonymity.population_of_rows(men))
    assert sum(rule.stored_as(*man) == (language, area) for man in men) >= anonymity.K
    # Once the week is over, the report says what "other" and "no area" hold.
    async with db.transaction() as connection:
        assert await checkins.flush(connection, NOW + timedelta(days=400)) == 1
        text = render_text(await build(connection, settings, NOW + timedelta(days=400)))
    assert COARSENING_NOTE in text


async def test_his_second_check_in_of_the_month_does_not_count_him_again(tg, settings, db):
    """Through the chat: a man checks in this week and the next (the same report month,
    November) and once more in December; the scheduler's weekly flushes run in between. His
    answers are marked first, not first, and first again."""
    clock = Clock(NOW)  # Saturday 21 November, week 47
    series_id = await add_series(db)
    await add_men(db, 5, "nl", "Osdorp", first=8400)
    async with running(telegram_settings(settings, tg), now=clock) as service:
        chat = Chat(tg, 6500, language_code="nl")
        await sign_up(chat, "nl", None, f"s:{series_id}", "a:1")
        for moment in (NOW, NOW + timedelta(days=7), NOW + timedelta(days=14)):  # weeks 47, 48, 49
            clock.moment = moment
            await service.scheduler.tick()
            await chat.command("/checkin")
            for key in [*ITEMS, "w:7"]:
                await chat.tap(key)
        clock.moment = NOW + timedelta(days=21)
        await service.scheduler.tick()
    answers = sorted(raw_database.query(settings.database_url, "SELECT iso_week, first_in_month FROM checkin_responses"))
    assert answers == [("2026-W47", 1), ("2026-W48", 0), ("2026-W49", 1)]
    december = checkins.marker(settings.secret_key.encode(), "telegram", "6500", "2026-12")
    assert raw_database.query(settings.database_url, "SELECT marker, month FROM checkin_month_markers") \
        == [(december, "2026-12")], \
        "November's marker went with November (week 49's Thursday is 3 December)"


async def test_with_fewer_than_five_men_signed_up_no_answer_is_kept(tg, settings, db):
    series_id = await add_series(db)
    await add_men(db, 3, "nl", "Osdorp", first=8100)
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6301, language_code="nl")
        await sign_up(chat, "nl", None, f"s:{series_id}", "a:1")
        await chat.command("/checkin")
        for key in [*ITEMS, "w:7"]:
            thanks = await chat.tap(key)
        with use_locale("nl"):
            assert _("Thank you for your answers! They help us make the meetings better.") in thanks["text"]
    async with db.transaction() as connection:
        assert list(await connection.execute(select(checkin_pool))) == []
        assert list(await connection.execute(select(checkin_markers))) == []


def test_every_stored_language_and_area_is_shared_by_at_least_five_men():
    """For many random populations: each (language, area) the rule can store is the outcome
    for at least K men, or for none."""
    rng = random.Random(7)
    languages, areas = ["nl", "ar", "so", "en"], ["Osdorp", "Slotervaart", "Geuzenveld", None]
    for _trial in range(3000):
        men = [
            (rng.choice(languages), rng.choice(areas))
            for _n in range(rng.randint(anonymity.K, 40))
        ]
        rule = anonymity.Generalisation.of(anonymity.population_of_rows(men))
        stored = [rule.stored_as(*man) for man in men]
        for value in set(stored):
            assert stored.count(value) >= anonymity.K, (men, value)
        for (language, area), outcome in zip(men, stored, strict=True):
            assert outcome in ((language, area), (language, None), (anonymity.OTHER, None))
            if outcome != (language, area) and area is not None and men.count((language, area)) >= anonymity.K:
                assert (language, area) in rule.folded_cells, "a big group is coarsened only to make 'other' big enough"
    everyone_in_big_groups = [("nl", "Osdorp")] * 5 + [("ar", "Osdorp")] * 6
    rule = anonymity.Generalisation.of(anonymity.population_of_rows(everyone_in_big_groups))
    assert {rule.stored_as(*man) for man in everyone_in_big_groups} == {("nl", "Osdorp"), ("ar", "Osdorp")}
    assert anonymity.Generalisation.of(anonymity.population_of_rows([("nl", None)] * 4)) is None


# --- /delete --------------------------------------------------------------------------------------


async def test_delete_erases_his_markers_and_nobody_elses(tg, settings, db):
    series_id = await add_series(db)
    await add_men(db, 5, "nl", "Osdorp", first=8200)
    secret = settings.secret_key.encode()
    today = datetime.now(UTC)
    this_week, last_week = checkins.iso_week(today), checkins.iso_week(today - timedelta(days=7))
    async with running(telegram_settings(settings, tg)):
        chat = Chat(tg, 6400, language_code="nl")
        await sign_up(chat, "nl", "Ahmed", f"s:{series_id}", "a:1")
        # Last week's marker, as in the seconds before the first tick of a new week clears it.
        async with db.transaction() as connection:
            for address, week in (("6400", last_week), ("8200", this_week)):
                week_marker, month_marker = checkins.markers(secret, "telegram", address, week)
                await checkins.record(connection, week_marker, week, {"language": "nl"}, month_marker=month_marker)
        await chat.command("/checkin")
        for key in [*ITEMS, "w:7"]:
            await chat.tap(key)
        mine = {checkins.marker(secret, "telegram", "6400", week) for week in (this_week, last_week)}
        months = {checkins.month_of(week) for week in (this_week, last_week)}
        my_months = {checkins.marker(secret, "telegram", "6400", month) for month in months}
        async with db.transaction() as connection:
            assert mine <= set(await connection.scalars(select(checkin_markers.c.marker)))
            assert my_months <= set(await connection.scalars(select(checkin_month_markers.c.marker)))
        await chat.command("/delete")
        # Let the sender record the question as delivered first: erasing him deletes his outbox
        # rows, and a reply deleted while in flight can hand its id to the farewell, which the
        # late "delivered" record then deletes unsent (an outbox race outside this issue).
        await asyncio.sleep(0.5)
        await chat.tap("erase")
    async with db.transaction() as connection:
        left = set(await connection.scalars(select(checkin_markers.c.marker)))
        months_left = set(await connection.scalars(select(checkin_month_markers.c.marker)))
        pool = list(await connection.execute(select(checkin_pool)))
    assert left == {checkins.marker(secret, "telegram", "8200", this_week)}
    assert months_left == {checkins.marker(secret, "telegram", "8200", checkins.month_of(this_week))}
    assert len(pool) == 3, "his answers stay: nothing ties them to him"


# --- the migration -----------------------------------------------------------------------------


@pytest.mark.sqlite_only("migrates answers stored before PostgreSQL was supported; no PostgreSQL database holds them")
async def test_the_migration_shuffles_coarsens_and_dates_what_was_stored_before(empty_database_url):
    """A database at 0005 with answers stored in arrival order (a lone Somali reader among
    them), markers without a week and exact last-message times is brought to the new rules."""
    from alembic import command

    from bot.store import database
    from bot.store.database import Database

    db = Database(empty_database_url)
    try:
        async with db.transaction() as connection:

            def to_0005(sync_connection) -> None:
                config = database._alembic_config()
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "0005")

            await connection.run_sync(to_0005)
        path = empty_database_url.split("///", 1)[1]
        raw = sqlite3.connect(path)
        men = [("telegram", str(n), "nl", "Osdorp", f"2026-11-20 10:{n:02d}:07.123456") for n in range(7)]
        men += [("telegram", str(100 + n), "nl", None, None) for n in range(5)]
        men.append(("whatsapp", "+31600000001", "so", None, "2026-11-20 11:23:07.123456"))
        raw.executemany(
            "INSERT INTO participants (channel, address, language, area, consented_at, status, last_inbound_at)"
            " VALUES (?, ?, ?, ?, '2026-11-01 00:00:00.000000', 'active', ?)", men,
        )
        old_ids = [f"{n:032x}" for n in range(40)]
        raw.executemany(
            "INSERT INTO checkin_responses (id, iso_week, language, area, worthwhile) VALUES (?, '2026-W40', ?, ?, ?)",
            [(i, "so" if n == 0 else "nl", None if n == 0 else "Osdorp", n % 11) for n, i in enumerate(old_ids)],
        )
        raw.execute("INSERT INTO checkin_markers (marker) VALUES ('ab')")
        raw.execute("INSERT INTO conversations (channel, address, state, updated_at) VALUES ('telegram', '1', '{}', '2026-11-20 10:01:07.123456')")
        raw.commit()
        await db.upgrade()
        rows = list(raw.execute("SELECT id, language, area FROM checkin_responses"))
        assert len(rows) == 40 and not {i for i, *_r in rows} & set(old_ids), "new ids"
        assert ("so", None) not in {(language, area) for _i, language, area in rows}, "the lone Somali reader"
        assert {(language, area) for _i, language, area in rows} == {("nl", "Osdorp"), (anonymity.OTHER, None)}
        assert list(raw.execute("SELECT marker, iso_week FROM checkin_markers")) == [
            ("ab", checkins.iso_week(datetime.now(UTC)))
        ]
        times = dict(raw.execute("SELECT channel, last_inbound_at FROM participants WHERE address IN ('1', '+31600000001')"))
        assert times == {"telegram": None, "whatsapp": "2026-11-20 11:00:00.000000"}
        assert list(raw.execute("SELECT updated_at FROM conversations")) == [("2026-11-20 00:00:00.000000",)]
    finally:
        await db.close()


async def test_whatsapp_keeps_the_hour_of_his_last_message_and_telegram_nothing(db):
    """The only per-man time of a message kept finer than the day: WhatsApp's, to the hour,
    for its 24-hour window (counted from the hour's start, so it closes early, not late)."""
    from bot.channels.base import Incoming
    from bot.channels.whatsapp import store as whatsapp_store
    from bot.config import Settings
    from bot.engine import Engine
    from dialogs.types import Text

    await add_men(db, 1, "nl", None, first=8300)
    async with db.transaction() as connection:
        await connection.execute(
            insert(participants).values(channel="whatsapp", address="+31600000002", language="nl",
                                        consented_at=NOW, status="active")
        )
    moment = NOW.replace(minute=47, second=13, microsecond=5)
    await whatsapp_store.inbound(db, "+31600000002", moment)
    async with db.transaction() as connection:
        assert await connection.scalar(select(participants.c.last_inbound_at).where(
            participants.c.channel == "whatsapp")) == NOW.replace(minute=0)
    settings = Settings(database_url=str(db.url), secret_key="k" * 32)
    engine = Engine(db, settings, now=lambda: moment + timedelta(hours=2))
    await engine.handle(Incoming("telegram", "8300", Text("/help")))
    await engine.handle(Incoming("whatsapp", "+31600000002", Text("/help"), keeps_window=True))
    async with db.transaction() as connection:
        kept = dict(list(await connection.execute(select(participants.c.channel, participants.c.last_inbound_at))))
    assert kept == {"telegram": None, "whatsapp": NOW.replace(minute=0) + timedelta(hours=2)}
