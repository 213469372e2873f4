"""The report's attacks (issue 12), each played the way a coordinator could: from what the
report shows (its CSV, which holds every figure the text, the chart and the chat summary
show), over one or several runs, against synthetic check-ins in a real SQLite file.

The attacker's tool is a linear programme (scipy's HiGHS): every check-in cell, month total and
cross-month total he can read is an equation over the unknown crossed counts (month × area ×
language, never shown, all ≥ 0); for every figure he cannot read he computes the largest value
the shown ones allow. A hidden figure that cannot exceed 9 but may hold someone is a group of
1 to 9 men worked out from the report."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from sqlalchemy import delete, func, insert, inspect, select

from bot.analytics import report
from bot.config import Settings
from bot.store import checkins, report_data
from bot.store import series as series_store
from bot.store.database import Database
from bot.store.schema import (
    attendance,
    checkin_month_markers,
    checkin_responses,
    meetings,
    participants,
    signups,
)
from tests.conftest import NOW
from tests.test_report import response, store

OSDORP, SLOTERVAART = "Osdorp", "Slotervaart"
NOT_LONELY = (2, 2, 2, 0, 0, 0)  # total 0
MODERATE = (0, 0, 2, 0, 0, 2)  # total 3
SEVERE = (0, 0, 0, 2, 2, 2)  # total 6
LATER = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # every month of 2026 closed
CHECKIN_TABLES = ("checkins_by_month", "checkins_by_area", "checkins_by_language")
PEOPLE_MEASURES = ("signed_up", "waitlisted", "attended", "attendances", "times present")


# --- What the coordinator sees ------------------------------------------------------------------


async def shown(db, settings, now) -> dict[tuple[str, str, str, str], str]:
    """(table, month, group, measure) → the value as the CSV writes it."""
    built = await report_data.build_from(db, settings, now)
    rows = csv.DictReader(io.StringIO(report.render_csv(built)))
    return {(r["table"], r["month"], r["group"], r["measure"]): r["value"] for r in rows if r["table"] != "note"}


def number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def months_in(view) -> list[str]:
    return sorted({m for (t, m, _g, _x) in view if t in CHECKIN_TABLES and m[:1].isdigit()})


def derivable_small_groups(view, count: str = "respondents") -> list[str]:
    """Every hidden check-in figure whose size the shown counts (``respondents``: men, or
    ``answers``) bound to 1..9."""
    months = months_in(view)
    areas = sorted({g for (t, _m, g, _x) in view if t == "checkins_by_area"})
    languages = sorted({g for (t, _m, g, _x) in view if t == "checkins_by_language"})
    atoms = [(m, a, lang) for m in months for a in areas for lang in languages]
    index = {atom: i for i, atom in enumerate(atoms)}

    def cell_months(table, month, group):
        if month[:1].isdigit():
            return [month]
        if month == "all":  # every month listed
            return months
        # a cross-month figure summed over the months in which this group is shown
        return [m for m in months if number(view.get((table, m, group, "respondents"), "")) is not None]

    def members(table, month, group):
        chosen = set(cell_months(table, month, group))
        return [
            index[(m, a, lang)] for (m, a, lang) in atoms if m in chosen
            and (table != "checkins_by_area" or a == group)
            and (table != "checkins_by_language" or lang == group)
        ]

    figures = [(t, m, g) for (t, m, g, x) in view if t in CHECKIN_TABLES and x == count]
    equations, values = [], []
    for t, m, g in figures:
        value = number(view[(t, m, g, count)])
        if value is not None:
            row = [0.0] * len(atoms)
            for i in members(t, m, g):
                row[i] = 1.0
            equations.append(row)
            values.append(value)
    problems = []
    for t, m, g in figures:
        if number(view[(t, m, g, count)]) is not None or not m[:1].isdigit():
            continue
        objective = [0.0] * len(atoms)
        for i in members(t, m, g):
            objective[i] = -1.0  # maximise
        result = linprog(objective, A_eq=equations or None, b_eq=values or None, bounds=(0, None), method="highs")
        assert result.status in (0, 3), result.message
        if result.status == 0 and 0.5 < -result.fun < 9.5:
            problems.append(f"{t} {m} {g}: at most {-result.fun:g} men")
    return problems


def changed_by_fewer_than_ten(before, after) -> list[str]:
    """Figures of the first run that a later run shows otherwise, unless the respondents
    behind them differ by 10 or more (a group too big to single anyone out)."""
    problems = []
    for key, old in before.items():
        new = after.get(key)
        if new == old:
            continue
        table, month, group, _measure = key
        if table not in CHECKIN_TABLES:
            continue
        counts = [number(v.get((table, month, group, "respondents"), "")) for v in (before, after)]
        if None in counts or abs(counts[1] - counts[0]) < 10:
            problems.append(f"{key}: {old} → {new}")
    return problems


# --- 1. Differencing over time -------------------------------------------------------------------


def ten_in_september() -> list[dict]:
    rows = [response("2026-W36", OSDORP, items=NOT_LONELY, took_part=1, worthwhile=7) for _ in range(6)]
    rows += [response("2026-W36", OSDORP, items=MODERATE, took_part=0, worthwhile=5) for _ in range(4)]
    return rows


def the_somali_man(week: str) -> dict:
    return response(week, SLOTERVAART, language="so", items=SEVERE, took_part=0, worthwhile=2)


async def test_a_man_who_checks_in_after_a_report_changes_no_figure_by_one(db, settings):
    await store(db, ten_in_september())
    first = await shown(db, settings, NOW)
    assert any(number(v) == 10 for (t, _m, _g, x), v in first.items() if x == "respondents"), "10 are shown"
    await store(db, [the_somali_man("2026-W47")])  # this week
    assert changed_by_fewer_than_ten(first, await shown(db, settings, NOW)) == []
    later = await shown(db, settings, LATER)  # his month is closed now
    assert changed_by_fewer_than_ten(first, later) == []
    assert derivable_small_groups(later) == []


async def test_a_late_row_for_a_month_already_reported_changes_nothing(db, settings):
    await store(db, ten_in_september())
    first = await shown(db, settings, NOW)
    await store(db, [the_somali_man("2026-W37")])  # September again, after the report
    assert changed_by_fewer_than_ten(first, await shown(db, settings, NOW)) == []
    assert changed_by_fewer_than_ten(first, await shown(db, settings, LATER)) == []


# --- 2. Sums of hidden cells ---------------------------------------------------------------------


async def test_no_sum_of_hidden_cells_gives_a_group_of_one_to_nine(db, settings):
    """The 23-man table: January 1 Somali severe; February 10 Somali not lonely + 1 Dutch
    severe; March 10 Somali not lonely + 1 Dutch moderate; all in one area. Before: all months
    − March − February-Somali = January + February-Dutch = 2 men, both severe."""
    rows = [response("2026-W02", OSDORP, language="so", items=SEVERE, took_part=0)]
    rows += [response("2026-W06", OSDORP, language="so", items=NOT_LONELY) for _ in range(10)]
    rows += [response("2026-W06", OSDORP, language="nl", items=SEVERE, took_part=0)]
    rows += [response("2026-W10", OSDORP, language="so", items=NOT_LONELY) for _ in range(10)]
    rows += [response("2026-W10", OSDORP, language="nl", items=MODERATE, took_part=0)]
    await store(db, rows)
    view = await shown(db, settings, LATER)
    assert derivable_small_groups(view) == []


# --- 3. Uniform totals and small denominators ---------------------------------------------------------


SCALE_ENDS = {
    "share not lonely": (0.0, 1.0), "share moderately lonely": (0.0, 1.0), "share severely lonely": (0.0, 1.0),
    "share who took part in an activity": (0.0, 1.0), "emotional loneliness (mean, 0-3)": (0.0, 3.0),
    "social loneliness (mean, 0-3)": (0.0, 3.0), "worthwhile (mean, 0-10)": (0.0, 10.0),
}


async def test_a_shown_total_never_says_that_everyone_answered_alike(db, settings):
    """12 men, all not lonely, one of them Somali (hidden): a total of 100 % not lonely says
    that the hidden man is not lonely too."""
    rows = [response("2026-W36", OSDORP, items=NOT_LONELY, took_part=1, worthwhile=7) for _ in range(11)]
    rows += [response("2026-W36", OSDORP, language="so", items=NOT_LONELY, took_part=0, worthwhile=6)]
    await store(db, rows)
    view = await shown(db, settings, LATER)
    assert any(number(v) == 12 for (_t, _m, _g, x), v in view.items() if x == "respondents"), "the total is shown"
    at_an_end = [
        (key, value) for key, value in view.items()
        if key[3] in SCALE_ENDS and number(value) is not None and number(value) in SCALE_ENDS[key[3]]
    ]
    assert at_an_end == []


async def test_every_measure_needs_ten_answers_of_its_own(db, settings):
    """10 men, 9 of whom skipped items 1-2 and "worthwhile": the loneliness shares, the
    emotional mean and "worthwhile" would be one man's answers."""
    rows = [response("2026-W36", OSDORP, items=(None, None, 2, 0, 0, 1), took_part=1, worthwhile=None) for _ in range(9)]
    rows += [response("2026-W36", OSDORP, items=SEVERE, took_part=0, worthwhile=1)]
    await store(db, rows)
    view = await shown(db, settings, LATER)
    assert any(number(v) == 10 for (_t, _m, _g, x), v in view.items() if x == "respondents"), "the men are counted"
    one_mans = {"share not lonely", "share moderately lonely", "share severely lonely",
                "emotional loneliness (mean, 0-3)", "worthwhile (mean, 0-10)"}
    assert [(k, v) for k, v in view.items() if k[3] in one_mans and number(v) is not None] == []


# --- 4. Sign-up tables ---------------------------------------------------------------------------


async def test_sign_up_and_attendance_tables_name_no_small_group(db, settings):
    """One man in Slotervaart: signed up for "Koffie B", came once, checked in."""
    async with db.transaction() as connection:
        koffie = series_store.NewSeries("Koffie B", 3, time(19, 0), date(2026, 9, 3), 6, 12, "Buurthuis", SLOTERVAART)
        series_id = await series_store.add(connection, koffie, settings.timezone, NOW)
        result = await connection.execute(insert(participants).values(
            channel="telegram", address="990", language="so", area=SLOTERVAART, consented_at=NOW, status="active"))
        man = result.inserted_primary_key[0]
        await connection.execute(insert(signups).values(series_id=series_id, participant_id=man, status="confirmed", created_at=NOW))
        first = (await connection.execute(meetings.select().where(meetings.c.series_id == series_id, meetings.c.number == 1))).first()
        await connection.execute(insert(attendance).values(participant_id=man, meeting_id=first.id, present=1, marked_at=NOW))
    await store(db, ten_in_september() + [the_somali_man("2026-W37")])
    view = await shown(db, settings, LATER)
    small = [(k, v) for k, v in view.items() if k[3] in PEOPLE_MEASURES and number(v) is not None and 0 < number(v) < 10]
    assert small == []
    built = await report_data.build_from(db, settings, LATER)
    for language in ("en", "nl", "ar", "so"):
        sign_ups = report.summary(built, language).split("\n\n")[2]  # "Signed up now: ..."
        assert set(sign_ups.replace("10", "")) & set("123456789") == set(), sign_ups


# --- 5. Presence ------------------------------------------------------------------------------------


async def test_nobody_and_a_few_look_the_same_and_every_area_and_language_is_listed(db, settings):
    await store(db, ten_in_september() + [the_somali_man("2026-W37")]
                + [response("2026-W36", "Somewhere else", language="xx")])
    view = await shown(db, settings, LATER)
    september = {(t, g): v for (t, m, g, x), v in view.items() if m == "2026-09" and x == "respondents"}
    # Slotervaart (1 man) and Geuzenveld-Slotermeer (nobody) read the same, so do so and ar.
    assert september[("checkins_by_area", SLOTERVAART)] == september[("checkins_by_area", "Geuzenveld-Slotermeer")]
    assert september[("checkins_by_language", "so")] == september[("checkins_by_language", "ar")]
    groups = {g for (t, _m, g, _x) in view if t in ("checkins_by_area", "checkins_by_language")}
    assert "Somewhere else" not in groups and "xx" not in groups, "a name shown only because it was used"
    assert set(settings.areas) <= groups and {"nl", "ar", "so", "en"} <= groups


async def test_the_month_list_does_not_start_at_the_first_check_in(db, settings):
    """With a series running since August, a first check-in in September (one man) does not
    show as September being the first month."""
    async with db.transaction() as connection:
        early = series_store.NewSeries("Vroeg", 3, time(19, 0), date(2026, 8, 6), 6, 12, "Buurthuis", OSDORP)
        await series_store.add(connection, early, settings.timezone, NOW)
    await store(db, [the_somali_man("2026-W37")])
    view = await shown(db, settings, LATER)
    assert months_in(view)[0] <= "2026-08"


async def test_without_series_the_month_list_starts_at_the_first_month_of_ten(db, settings):
    """One man in August, 10 in September: the list starts in September, so August's one man
    neither shows nor shows by the list starting there (nor by August reading "hidden")."""
    await store(db, [the_somali_man("2026-W32")] + ten_in_september())
    view = await shown(db, settings, LATER)
    assert months_in(view)[0] == "2026-09"


# --- 6. Random small tables ------------------------------------------------------------------------


WEEKS = ("2026-W32", "2026-W36", "2026-W41")  # August, September, October
CELL = st.sampled_from((0, 0, 0, 1, 2, 3, 5, 9, 10, 11, 14))
REPEATS = st.sampled_from((0, 0, 0, 1, 4, 12))  # answers of men counted in the month already


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(counts=st.lists(CELL, min_size=3 * 3 * 2, max_size=3 * 3 * 2),
       repeats=st.lists(REPEATS, min_size=3 * 3 * 2, max_size=3 * 3 * 2))
def test_random_small_tables_give_away_no_group_of_one_to_nine(settings, counts, repeats):
    """Three months × (Osdorp, Slotervaart, no area) × (nl, so), 0-14 men in each, and 0-12
    further answers of men counted already: no group of 1 to 9 men (nor of answers) can be
    worked out, and no shown share or mean says that everyone answered alike. (Its own
    event loop per example: hypothesis calls the test many times within one pytest test.)"""

    async def play():
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            return await audit(db)
        finally:
            await db.close()

    async def audit(db):
        async with db.transaction() as connection:
            await connection.execute(delete(checkin_responses))
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            if "published_figures" in tables:
                from bot.store.schema import published_figures

                await connection.execute(delete(published_figures))
        rows, n = [], 0
        for week in WEEKS:
            for area in (OSDORP, SLOTERVAART, None):
                for language in ("nl", "so"):
                    rows += [response(week, area, language=language, items=(NOT_LONELY, MODERATE, SEVERE)[i % 3],
                                      first_in_month=int(i < counts[n]))
                             for i in range(counts[n] + repeats[n])]
                    n += 1
        if rows:
            await store(db, rows)
        view = await shown(db, settings, LATER)
        return derivable_small_groups(view) + derivable_small_groups(view, "answers") + [
            f"{key}: {value}, everyone alike" for key, value in view.items()
            if key[3] in SCALE_ENDS and number(value) in SCALE_ENDS[key[3]]
        ]

    assert asyncio.run(play()) == []


# --- 7. Men, not answers -----------------------------------------------------------------------------


SEPTEMBER = ("2026-W36", "2026-W37", "2026-W38", "2026-W39")  # Thursdays 3, 10, 17, 24 September


async def check_in(db, settings, address: str, week: str, area: str | None = OSDORP, **answers) -> None:
    """One man's check-in the way the engine stores it: his keyed week and month markers
    decide whether it is stored, and whether it is his first of the month."""
    week_marker, month_marker = checkins.markers(settings.secret_key.encode(), "telegram", address, week)
    values = {k: v for k, v in response(week, area, **answers).items() if k not in ("id", "iso_week", "first_in_month")}
    async with db.transaction() as connection:
        assert await checkins.record(connection, week_marker, week, values, month_marker=month_marker)


async def week_over(db, week: str) -> None:
    """The scheduler's first tick of the next week."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 1) + timedelta(weeks=1)
    async with db.transaction() as connection:
        await checkins.flush(connection, datetime.combine(monday, time(0, 1), UTC))


def september(view) -> dict:
    return {key: value for key, value in view.items() if key[0] in CHECKIN_TABLES and key[1] == "2026-09"}


async def test_three_men_answering_every_week_show_nothing(db, settings):
    """12 answers in September, from 3 men who each answered all four weeks: 12 "respondents"
    under a rule that counted answers; nothing at all about September, or any total holding
    it, may show. (A series since August lists September, so every figure reads hidden.)"""
    async with db.transaction() as connection:
        early = series_store.NewSeries("Vroeg", 3, time(19, 0), date(2026, 8, 6), 6, 12, "Buurthuis", OSDORP)
        await series_store.add(connection, early, settings.timezone, NOW)
    for week in SEPTEMBER:
        for man in ("501", "502", "503"):
            await check_in(db, settings, man, week, items=MODERATE, worthwhile=int(man[-1]) + 3)
        await week_over(db, week)
    async with db.transaction() as connection:
        assert await connection.scalar(select(func.count()).select_from(checkin_responses)) == 12
    view = await shown(db, settings, LATER)
    assert september(view) and set(september(view).values()) == {"hidden"}
    assert [(k, v) for k, v in view.items() if k[0] in CHECKIN_TABLES and v != "hidden"] == []


async def test_ten_men_show_once_each_however_often_they_answered(db, settings):
    """Ten different men: shown, as 10 men, whether they answered once or every week; the
    answers column says how many answers the shares are over."""
    men = [str(600 + n) for n in range(10)]
    for week in SEPTEMBER:
        for n, man in enumerate(men):
            await check_in(db, settings, man, week, items=(NOT_LONELY, MODERATE, SEVERE)[n % 3], took_part=n % 2)
        await week_over(db, week)
    for n, man in enumerate(men):  # October: once each
        await check_in(db, settings, man, "2026-W41", items=(NOT_LONELY, MODERATE, SEVERE)[n % 3], took_part=n % 2)
    await week_over(db, "2026-W41")
    view = await shown(db, settings, LATER)
    assert view[("checkins_by_month", "2026-09", "all", "respondents")] == "10"
    assert view[("checkins_by_month", "2026-09", "all", "answers")] == "40"
    assert view[("checkins_by_month", "2026-10", "all", "respondents")] == "10"
    assert view[("checkins_by_month", "2026-10", "all", "answers")] == "10"
    assert view[("checkins_by_area", "2026-09", OSDORP, "respondents")] == "10"
    assert derivable_small_groups(view) == [] and derivable_small_groups(view, "answers") == []


async def test_few_men_with_many_answers_are_not_left_over_by_subtraction(db, settings):
    """Osdorp: 10 men once each; Slotervaart: 3 men every week (12 answers). Counting
    answers, the total (22) less Osdorp (10) left 12 and Osdorp showed: the difference was
    the 3 Slotervaart men's answers. Counting men, 13 less 10 leaves 3 men: Osdorp hides."""
    for n in range(10):
        await check_in(db, settings, str(700 + n), "2026-W36", items=(NOT_LONELY, MODERATE, SEVERE)[n % 3],
                       took_part=n % 2)
    for week in SEPTEMBER:
        for man in ("711", "712", "713"):
            await check_in(db, settings, man, week, area=SLOTERVAART, items=SEVERE, took_part=0, worthwhile=1)
        await week_over(db, week)
    view = await shown(db, settings, LATER)
    assert view[("checkins_by_month", "2026-09", "all", "respondents")] == "13"
    assert view[("checkins_by_area", "2026-09", OSDORP, "respondents")] == "hidden"
    assert view[("checkins_by_area", "2026-09", SLOTERVAART, "respondents")] == "hidden"
    assert derivable_small_groups(view) == [] and derivable_small_groups(view, "answers") == []


async def test_a_month_marker_lives_until_the_month_is_over(db, settings):
    """After the weekly flush his week's marker is gone but his month's stays, so his next
    answer in the month is not counted as another man; the first flush of a week in the next
    month erases it."""
    await check_in(db, settings, "801", "2026-W36")
    await week_over(db, "2026-W36")
    async with db.transaction() as connection:
        assert await connection.scalar(select(func.count()).select_from(checkin_month_markers)) == 1
    await check_in(db, settings, "801", "2026-W39")
    await week_over(db, "2026-W39")  # Monday 28 September: week 40, whose Thursday is 1 October
    async with db.transaction() as connection:
        firsts = sorted(await connection.scalars(select(checkin_responses.c.first_in_month)))
        left = await connection.scalar(select(func.count()).select_from(checkin_month_markers))
    assert firsts == [0, 1] and left == 0


@pytest.mark.sqlite_only("migrates answers stored before PostgreSQL was supported; no PostgreSQL database holds them")
async def test_the_migration_counts_no_man_for_older_answers_and_withdraws_published_months(empty_database_url):
    """A database at 0008: 12 answers in September (three men weekly, or twelve men: nobody
    can tell), already published as 12, and 12 in October not published yet. After 0010 the
    older answers count no man, so neither month shows anything; September stays published
    (withdrawn, not worked out again) and this week's pool row counts no man either."""
    from alembic import command

    from bot.store import database
    from bot.store.database import Database

    db = Database(empty_database_url)
    try:
        async with db.transaction() as connection:

            def to_0008(sync_connection) -> None:
                config = database._alembic_config()
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "0008")

            await connection.run_sync(to_0008)
        rows = [response(w, OSDORP, items=MODERATE) for w in SEPTEMBER for _ in range(3)]
        rows += [response("2026-W41", OSDORP, items=(NOT_LONELY, MODERATE, SEVERE)[n % 3]) for n in range(12)]
        raw = sqlite3.connect(empty_database_url.split("///", 1)[1])
        names = [k for k in rows[0] if k != "first_in_month"]
        raw.executemany(
            f"INSERT INTO checkin_responses ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [[row[k] for k in names] for row in rows],
        )
        raw.execute("INSERT INTO checkin_pool (id, iso_week, language) VALUES ('ab', '2026-W47', 'nl')")
        september = {"areas": [OSDORP], "languages": ["nl"], "members": {
            "total": {"measures": ["respondents"], "sums": {"respondents": 12}}}}
        raw.execute("INSERT INTO published_figures (month, content, published_at) VALUES ('2026-09', ?, '2026-11-02')",
                    (json.dumps(september),))
        raw.commit()
        await db.upgrade()
        assert {first for (first,) in raw.execute("SELECT first_in_month FROM checkin_responses")} == {None}
        # carried over by 0022 as plain JSON in the pool's one column, sealed at its next rewrite
        assert [json.loads(v)["first_in_month"] for (v,) in raw.execute("SELECT sealed FROM checkin_pool")] == [None]
        assert json.loads(raw.execute("SELECT content FROM published_figures").fetchone()[0])["members"] == {}
        settings = Settings(database_url=empty_database_url, secret_key="k" * 32)
        view = await shown(db, settings, LATER)
        assert [(k, v) for k, v in view.items() if k[0] in CHECKIN_TABLES and v != "hidden"] == []
    finally:
        await db.close()
