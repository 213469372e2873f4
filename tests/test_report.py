"""The aggregated report: suppression (small cells and the cells that would give them away),
aggregation from a real SQLite file, and the ``meedoen report`` command in each format."""

from __future__ import annotations

import csv
import io
import random
import secrets
from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_date
from sqlalchemy import insert

from bot.analytics import report
from bot.analytics.report_chart import render_png
from bot.analytics.suppression import MEASURES, protect, protect_counts, safe
from bot.app import cli
from bot.common import calendar
from bot.config import DEFAULT_AREAS
from bot.domain import coordinator_report
from bot.store import report_data
from bot.store import series as series_store
from bot.store.schema import attendance, checkin_responses, meetings, participants, signups
from tests.conftest import NOW

OSDORP, SLOTERVAART, GEUZENVELD = "Osdorp", "Slotervaart", "Geuzenveld-Slotermeer"


# --- Suppression ---------------------------------------------------------------------------------


def values(respondents: int, **sums) -> dict:
    """Sums of a cell whose answers are all given and sit mid-scale unless told otherwise;
    each answer another man's unless the men are given (``answers``, ``*_men``)."""
    base = {
        "respondents": respondents, "scored": respondents, "not_lonely": respondents // 2,
        "moderate": respondents - respondents // 2, "severe": 0, "emotional_sum": respondents,
        "emotional_n": respondents, "social_sum": respondents, "social_n": respondents,
        "took_part_yes": respondents // 2, "took_part_n": respondents,
        "worthwhile_sum": 5 * respondents, "worthwhile_n": respondents,
    }
    figures = base | sums
    for count, men in (("respondents", "answers"), ("scored", "scored_men"), ("emotional_n", "emotional_men"),
                       ("social_n", "social_men"), ("took_part_n", "took_part_men"), ("worthwhile_n", "worthwhile_men")):
        figures.setdefault(men, figures[count])
    return figures


def test_a_small_count_is_hidden_with_enough_others_that_the_rest_is_ten_or_more():
    shown = protect_counts({"a": 40, "b": 25, "c": 3, "d": 0})
    assert "c" not in shown and "d" not in shown, "a few and nobody look the same"
    assert shown == {"a"}, "b (25) hidden too: 40 + 25 + 3 minus 40 leaves 28, not 3"
    assert protect_counts({"a": 12, "b": 0}) == {"a"}, "what is left is nobody: nothing to protect"
    assert protect_counts({"a": 5, "b": 4}) == set(), "a total under 10 shows nothing"


def test_every_measure_needs_its_own_ten_answers_and_the_rest_too():
    total = values(30, worthwhile_n=24, worthwhile_sum=120)
    cells = {"a": values(15, worthwhile_n=15, worthwhile_sum=75), "b": values(15, worthwhile_n=9, worthwhile_sum=45)}
    shown = protect(total, [cells])
    assert "worthwhile" in shown[None]
    assert "worthwhile" not in shown["b"], "9 answers"
    assert "worthwhile" not in shown["a"], "else 24 - 15 = b's 9 answers"
    assert "respondents" in shown["a"] and "respondents" in shown["b"]


def test_a_share_or_mean_near_the_end_of_its_scale_is_hidden():
    lonely = [m for m in MEASURES if m.name == "lonely"][0]
    assert not safe(values(12, not_lonely=12, moderate=0), lonely), "everyone not lonely"
    assert not safe(values(12, not_lonely=11, moderate=1), lonely), "all but one: hidden too, so hidden never means all alike"
    assert not safe(values(12, not_lonely=10, moderate=2), lonely), "nobody severely lonely"
    assert safe(values(12, not_lonely=8, moderate=2, severe=2), lonely)
    worthwhile = [m for m in MEASURES if m.name == "worthwhile"][0]
    assert not safe(values(10, worthwhile_sum=99), worthwhile), "mean 9.9: all but one step of one answer at the top"
    assert safe(values(10, worthwhile_sum=98), worthwhile)


def test_a_month_under_ten_shows_nothing():
    assert protect(values(9), [{"a": values(9)}]) == {}


# --- The report from a real database ----------------------------------------------------------------


def response(week: str, area: str | None, language: str = "nl", items=(0, 0, 0, 2, 2, 2), took_part=1, worthwhile=5,
             first_in_month=1) -> dict:
    """One stored answer; by default its man's first of the month, so each is another man."""
    from dialogs.scoring import score

    scores = score(items)
    return {
        "id": secrets.token_hex(16), "iso_week": week, "language": language, "area": area,
        **{f"item{n}": v for n, v in enumerate(items, start=1)},
        "emotional": scores.emotional, "social": scores.social, "total": scores.total,
        "took_part": took_part, "worthwhile": worthwhile, "first_in_month": first_in_month,
    }


async def store(db, rows: list[dict]) -> None:
    async with db.transaction() as connection:
        await connection.execute(insert(checkin_responses), rows)


def test_the_month_of_an_iso_week_is_the_month_of_its_thursday():
    assert calendar.month_of("2026-W01") == "2026-01"  # Thu 1 Jan 2026
    assert calendar.month_of("2025-W01") == "2025-01"  # Mon 30 Dec 2024, Thu 2 Jan 2025
    assert calendar.month_of("2026-W53") == "2026-12"  # Thu 31 Dec 2026
    assert calendar.month_of("2026-W44") == "2026-10"  # Mon 26 Oct, Thu 29 Oct
    assert calendar.month_of("2026-W45") == "2026-11"  # Thu 5 Nov


LATER = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
"""When every month of 2026 is closed (a month is shown from the first day of the month after next)."""


def test_a_month_is_closed_from_the_first_day_of_the_month_after_next():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Amsterdam")
    assert report.last_closed_month(datetime(2026, 11, 21, 12, tzinfo=UTC), zone) == "2026-09"
    # 31 Oct 23:30 UTC is already 1 Nov in Amsterdam: September is closed there.
    assert report.last_closed_month(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), zone) == "2026-09"
    assert report.last_closed_month(datetime(2027, 1, 5, tzinfo=UTC), zone) == "2026-11"
    # The weeks whose Thursday is in October 2026: W40 (Thu 1 Oct) to W44 (Thu 29 Oct).
    assert report.weeks_of("2026-10", "2026-10") == ("2026-W40", "2026-W44")


async def test_report_hides_small_cells_and_what_would_give_them_away(db, settings):
    rows = []
    # October (weeks 41-44): Osdorp 25, Slotervaart 12, Geuzenveld 3 (severely lonely, all of them).
    rows += [response("2026-W41", OSDORP, items=(1, 2, 2, 0, 0, 1), worthwhile=6) for _ in range(20)]
    rows += [response("2026-W41", OSDORP, items=(0, 0, 0, 2, 2, 2), took_part=0) for _ in range(5)]
    rows += [response("2026-W42", SLOTERVAART, items=(2, 2, 2, 0, 0, 0), took_part=0) for _ in range(6)]
    rows += [response("2026-W42", SLOTERVAART, items=(0, 0, 2, 0, 0, 2)) for _ in range(6)]
    rows += [response("2026-W43", GEUZENVELD, language="so", items=(0, 0, 0, 2, 2, 2)) for _ in range(3)]
    # November: Osdorp 30, Slotervaart 15, Geuzenveld 20.
    rows += [response("2026-W46", OSDORP, items=(1, 2, 2, 0, 0, 1)) for _ in range(30)]
    rows += [response("2026-W47", SLOTERVAART) for _ in range(15)]
    rows += [response("2026-W47", GEUZENVELD, language="ar") for _ in range(20)]
    await store(db, rows)
    async with db.transaction() as connection:
        built = await report_data.build(connection, settings, LATER)
    assert built.months == ("2026-10", "2026-11", "2026-12", "2027-01")
    october = built.shown(report.month_key("2026-10"))
    assert october.respondents == 40
    assert built.shown(report.area_cell("2026-10", GEUZENVELD)) is None
    assert built.shown(report.area_cell("2026-10", SLOTERVAART)) is None, "else 40 - 25 - 12 = 3"
    assert built.shown(report.area_cell("2026-10", OSDORP)).respondents == 25
    assert built.shown(report.language_cell("2026-10", "so")) is None
    assert built.shown(report.language_cell("2026-10", "nl")) is None, "else 40 - 37 = 3"
    assert built.shown(report.month_key("2026-12")) is None, "nobody: hidden, like a few"
    # Over the months: only the shown months' figures added up.
    assert built.shown(report.area_key(GEUZENVELD)).respondents == 20
    assert built.shown(report.ALL).respondents == 105

    text = report.render_text(built)
    assert "hidden" in text and "Arabic and Somali" in text and "validation" in text
    october_line = next(line for line in text.splitlines() if line.startswith("2026-10 "))
    assert " 40 " in october_line
    map_section = text.split("Participation map")[1].split("Sign-ups")[0]
    map_line = next(line for line in map_section.splitlines() if line.startswith(GEUZENVELD))
    assert map_line.split()[1] == "hidden"  # October
    assert "(3)" not in text and "(12)" not in text

    table = list(csv.DictReader(io.StringIO(report.render_csv(built))))
    cell = [r for r in table if r["table"] == "checkins_by_area" and r["month"] == "2026-10" and r["group"] == GEUZENVELD]
    assert cell and all(r["value"] == "hidden" for r in cell)
    assert not any(r["group"] in report.LANGUAGES and r["table"] == "checkins_by_area" for r in table)
    assert not any(r["group"] in DEFAULT_AREAS and r["table"] == "checkins_by_language" for r in table)

    png = render_png(built, "nl")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_closed_month_is_published_once_and_shown_the_same_ever_after(db, settings):
    await store(db, [response("2026-W41", OSDORP, items=(1, 2, 2, 0, 0, 1)) for _ in range(12)])
    first = await report_data.build_from(db, settings, datetime(2026, 11, 21, tzinfo=UTC))
    assert first.months == ()  # October is not closed yet
    second = await report_data.build_from(db, settings, datetime(2026, 12, 2, tzinfo=UTC))
    assert second.shown(report.month_key("2026-10")).respondents == 12
    await store(db, [response("2026-W42", OSDORP, items=(0, 0, 0, 2, 2, 2)) for _ in range(15)])  # too late
    third = await report_data.build_from(db, settings, LATER)
    assert third.shown(report.month_key("2026-10")) == second.shown(report.month_key("2026-10"))
    async with db.transaction() as connection:
        from bot.store.schema import published_figures

        stored = {row.month: row.content for row in await connection.execute(published_figures.select())}
    assert set(stored) == {"2026-10", "2026-11", "2026-12", "2027-01"}
    assert '"language:so"' not in stored["2026-10"] and '"area:Slotervaart"' not in stored["2026-10"], \
        "nothing hidden is stored"


async def test_the_command_line_halves_add_up_to_the_whole(db, settings):
    """``build_from`` sums the responses before and from their middle week on two
    connections; nothing is counted twice or lost, also when weeks cross a month."""
    rng = random.Random(7)
    weeks = [f"2026-W{w:02d}" for w in range(1, 53)]
    rows = [
        response(rng.choice(weeks), rng.choice((OSDORP, SLOTERVAART, GEUZENVELD, None)),
                 language=rng.choice(report.LANGUAGES), items=tuple(rng.choice((0, 1, 2, None)) for _ in range(6)),
                 took_part=rng.choice((0, 1, None)), worthwhile=rng.choice((None, *range(11))))
        for _ in range(3000)
    ]
    await store(db, rows)
    async with db.transaction() as connection:
        whole = report.protect_month("2026-01", *report.columns_of(settings), *await report_data._tallies(connection, []))
    # build_from: the two halves on their own connections, then published and read back.
    halves = await report_data.build_from(db, settings, datetime(2026, 3, 1, tzinfo=UTC))
    assert halves.months == ("2026-01",)
    assert halves.shown(report.month_key("2026-01")).to_json() == whole["members"]["total"]
    for area in halves.areas:
        shown = halves.shown(report.area_cell("2026-01", area))
        assert (shown and shown.to_json()) == whole["members"].get(f"area:{area}")
    assert whole["members"]["total"]["sums"]["respondents"] == sum(
        1 for row in rows if calendar.month_of(row["iso_week"]) == "2026-01")


async def test_the_command_line_report_of_no_check_ins(db, settings):
    built = await report_data.build_from(db, settings, NOW)
    assert not built.has_checkins() and built.months == ()


async def test_figures_are_worked_out_right(db, settings):
    rows = [response("2026-W45", OSDORP, items=(0, 0, 0, 2, 2, 2), took_part=1, worthwhile=2) for _ in range(5)]
    rows += [response("2026-W46", OSDORP, items=(2, 2, 2, 0, 0, 0), took_part=0, worthwhile=8) for _ in range(5)]
    rows += [response("2026-W46", OSDORP, items=(0, 2, 2, 1, 0, 0), took_part=None, worthwhile=None) for _ in range(10)]
    await store(db, rows)
    async with db.transaction() as connection:
        built = await report_data.build(connection, settings, LATER)
    november = built.shown(report.month_key("2026-11"))
    assert november.respondents == 20
    assert (november.share_not, november.share_moderate, november.share_severe) == (0.25, 0.5, 0.25)
    assert november.emotional == (5 * 3 + 10 * 1) / 20
    assert november.social == (5 * 3 + 10 * 1) / 20
    assert november.took_part == 0.5
    assert november.worthwhile == 5.0


async def test_sign_ups_and_attendance_per_area_and_series(db, settings):
    """12 men from Osdorp with a seat (11 came to the first meeting), one without an area
    waiting: the counts of 10 or more show, the single man waiting does not."""
    new = series_store.NewSeries("Mannen in gesprek", 3, time(19, 0), date(2026, 10, 1), 6, 14, "Huis van de Wijk", OSDORP)
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, settings.timezone, NOW)
        ids = []
        for n, area in enumerate([OSDORP] * 12 + [None]):
            result = await connection.execute(insert(participants).values(
                channel="telegram", address=str(900 + n), language="nl", area=area,
                consented_at=NOW, status="active"))
            ids.append(result.inserted_primary_key[0])
        for pid, status in zip(ids, ["confirmed"] * 12 + ["waitlist"], strict=True):
            await connection.execute(insert(signups).values(series_id=series_id, participant_id=pid, status=status, created_at=NOW))
        first = (await connection.execute(meetings.select().where(meetings.c.series_id == series_id, meetings.c.number == 1))).first()
        await connection.execute(insert(attendance), [
            {"participant_id": pid, "meeting_id": first.id, "present": int(n < 11), "marked_at": NOW}
            for n, pid in enumerate(ids[:12])
        ])
        built = await report_data.build(connection, settings, NOW)
    osdorp = next(row for row in built.by_area if row.area == OSDORP)
    assert (osdorp.signed_up, osdorp.waitlisted, osdorp.attended) == (12, None, 11)
    assert next(row for row in built.by_area if row.area == "").waitlisted is None, "one man"
    assert next(row for row in built.by_area if row.area == "all").signed_up == 12
    row, everyone = built.by_series
    assert (row.signed_up, row.waitlisted, row.meetings_held, row.attendances) == (12, None, 6, 11)
    assert everyone.id == 0 and everyone.signed_up == 12
    assert built.attendances[("2026-10", OSDORP)] == 11
    assert built.attendances[("2026-10", SLOTERVAART)] is None, "nobody reads as hidden too"
    assert not built.has_checkins()
    text = report.render_text(built)
    assert "No check-ins yet" in text and "12 signed up, hidden waiting" in text


async def test_the_coordinator_gets_a_summary_in_his_language_and_a_chart(db, settings):
    await store(db, [response("2026-W46", OSDORP, items=(1, 2, 2, 0, 0, 1)) for _ in range(12)])
    message = await coordinator_report.coordinator_report(db, settings, "so", LATER)
    assert message.image.startswith(b"\x89PNG")
    assert format_date(date(2026, 11, 1), "MMMM y", locale="so") in message.text  # Babel's Somali
    assert "12 nin" in message.text
    assert "Soomaaliga" in message.text  # the validation note, in Somali


# --- The command line ----------------------------------------------------------------------------


async def test_meedoen_report_in_every_format(db, database_url, tmp_path, monkeypatch, capsys):
    # The command reads the real clock: two weeks of months that are closed by now.
    weeks = ["{}-W{:02d}".format(*(date.today() - timedelta(days=d)).isocalendar()[:2]) for d in (100, 130)]
    rows = [response(w, area, items=(1, 2, 2, 0, 0, 1)) for w in weeks for area in (OSDORP, SLOTERVAART) for _ in range(11)]
    await store(db, rows)
    monkeypatch.setenv("MEEDOEN_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)

    assert await run_cli(["report"]) == 0
    out = capsys.readouterr().out
    assert "Check-ins by month" in out and "44" in out and "validation by native speakers" in out

    assert await run_cli(["report", "--format", "csv", "--out", str(tmp_path / "r.csv")]) == 0
    table = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert {"table", "month", "group", "measure", "value"} == set(table[0])

    assert await run_cli(["report", "--format", "png", "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")

    assert await run_cli(["report", "--format", "png"]) == 2
    assert "--out" in capsys.readouterr().err


async def run_cli(argv: list[str]) -> int:
    """``bot.app.cli.main`` runs its own event loop; run it in a thread from this async test."""
    import asyncio

    return await asyncio.to_thread(cli.main, argv)
