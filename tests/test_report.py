"""The aggregated report: suppression (small cells and the cells that would give them away),
aggregation from a real SQLite file, and the ``meedoen report`` command in each format."""

from __future__ import annotations

import csv
import io
import random
import secrets
from datetime import date, time
from fractions import Fraction

import pytest
from babel.dates import format_date
from sqlalchemy import insert

from bot import cli, report
from bot.config import DEFAULT_AREAS
from bot.report_chart import render_png
from bot.schema import attendance, checkin_responses, meetings, participants, signups
from bot.store import series as series_store
from bot.suppression import MIN_RESPONDENTS, Relation, grid_relations, suppress
from tests.conftest import NOW

OSDORP, SLOTERVAART, GEUZENVELD = "Osdorp", "Slotervaart", "Geuzenveld-Slotermeer"


# --- An independent check: exact arithmetic, no numpy -----------------------------------------


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank by Gaussian elimination over the rationals."""
    rows = [row[:] for row in rows]
    rank, columns = 0, len(rows[0]) if rows else 0
    for column in range(columns):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][column] != 0:
                factor = rows[i][column] / rows[rank][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank])]
        rank += 1
    return rank


def exposed(relations: list[Relation], counts: dict, hidden: frozenset) -> list[str]:
    """Everything an attacker who sees the shown figures can work out that he must not:
    a hidden member exactly, or (from one relation) a group of fewer than 10 people."""
    order = sorted(hidden, key=repr)
    index = {key: i for i, key in enumerate(order)}
    matrix = []
    problems = []
    for relation in relations:
        row = [Fraction(0)] * len(order)
        for key, sign in [(relation.total, -1), *((c, 1) for c in relation.cells)]:
            if key in index:
                row[index[key]] += sign
        if any(row):
            matrix.append(row)
        if relation.total not in hidden:
            group = [c for c in relation.cells if c in hidden]
            people = sum(counts[c] for c in group)
            if group and (len(group) == 1 or people < MIN_RESPONDENTS):
                problems.append(f"{relation.total}: total minus the shown cells gives {group}")
    base = _rank(matrix) if matrix else 0
    for key in order:
        unit = [Fraction(int(i == index[key])) for i in range(len(order))]
        if _rank(matrix + [unit]) == base:
            problems.append(f"{key} follows exactly from the shown figures")
    return problems


def grid(values: list[list[int]]) -> tuple[dict, list[Relation]]:
    rows, columns = range(len(values)), range(len(values[0]))
    counts = {("c", r, c): values[r][c] for r in rows for c in columns}
    counts.update({("r", r): sum(values[r]) for r in rows})
    counts.update({("k", c): sum(values[r][c] for r in rows) for c in columns})
    counts[("all",)] = sum(map(sum, values))
    relations = grid_relations(
        rows, columns, cell=lambda r, c: ("c", r, c), row_total=lambda r: ("r", r),
        column_total=lambda c: ("k", c), grand_total=("all",),
    )
    return counts, relations


# --- Suppression ---------------------------------------------------------------------------------


def test_a_small_cell_is_hidden_and_so_are_the_cells_that_would_give_it_away():
    counts, relations = grid([
        [40, 25, 3],   # month 1: the 3 is hidden ...
        [30, 22, 18],  # month 2
        [35, 12, 20],  # month 3
    ])
    hidden = suppress(counts, relations)
    assert ("c", 0, 2) in hidden
    # ... and a second cell in its row and in its column, else row total - shown = 3.
    assert len([k for k in hidden if k[0] == "c" and k[1] == 0]) >= 2
    assert len([k for k in hidden if k[0] == "c" and k[2] == 2]) >= 2
    assert all(counts[k] >= MIN_RESPONDENTS for k in hidden if k != ("c", 0, 2)), "only complements"
    assert ("all",) not in hidden and ("r", 0) not in hidden, "totals of 10 or more stay shown"
    assert exposed(relations, counts, hidden) == []


def test_a_total_below_ten_is_hidden_and_cannot_be_rebuilt_from_the_other_totals():
    counts, relations = grid([
        [4, 3, 0],     # month total 7: hidden, and its cells too
        [30, 22, 18],
        [35, 12, 20],
    ])
    hidden = suppress(counts, relations)
    assert {("c", 0, 0), ("c", 0, 1), ("r", 0)} <= hidden
    assert ("c", 0, 2) not in hidden, "an empty cell holds nobody's answers"
    assert exposed(relations, counts, hidden) == []


def test_a_bridge_between_two_hidden_blocks_is_caught():
    """Each row and column has two hidden cells, yet one cell can be solved; rule-of-two
    alone would show it. The linear algebra check hides more."""
    counts, relations = grid([
        [5, 6, 3, 50],  # the 3 links the top-left block to the bottom-right one
        [7, 8, 50, 50],
        [50, 50, 5, 6],
        [50, 50, 7, 8],
    ])
    hidden = suppress(counts, relations)
    assert ("c", 0, 2) in hidden
    assert exposed(relations, counts, hidden) == []


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_expose_a_hidden_cell(seed):
    rng = random.Random(seed)
    rows, columns = rng.randint(1, 6), rng.randint(1, 6)
    values = [[rng.choice([0, 1, 2, 5, 9, 10, 11, 14, 30, 80]) for _c in range(columns)] for _r in range(rows)]
    counts, relations = grid(values)
    hidden = suppress(counts, relations)
    small = {k for k, v in counts.items() if 0 < v < MIN_RESPONDENTS}
    assert small <= hidden
    assert exposed(relations, counts, hidden) == []


def test_two_tables_sharing_their_month_totals_are_protected_together():
    """Areas × months and languages × months share the month totals: a total hidden for one
    must be hidden in the other, and neither table may give away the other's hidden cells."""
    counts, relations = {}, []
    areas = {"m1": {"a": 12, "b": 11, "c": 13}, "m2": {"a": 20, "b": 30, "c": 25}}
    languages = {"m1": {"nl": 30, "so": 6}, "m2": {"nl": 60, "so": 15}}
    for month in areas:
        counts[("month", month)] = sum(areas[month].values())
        assert counts[("month", month)] == sum(languages[month].values())
        for a, n in areas[month].items():
            counts[("area", month, a)] = n
        for l, n in languages[month].items():
            counts[("lang", month, l)] = n
    for a in "abc":
        counts[("area_total", a)] = sum(areas[m][a] for m in areas)
    for l in ("nl", "so"):
        counts[("lang_total", l)] = sum(languages[m][l] for m in languages)
    counts[("all",)] = sum(counts[("month", m)] for m in areas)
    relations = grid_relations(areas, "abc", cell=lambda m, a: ("area", m, a),
                               row_total=lambda m: ("month", m), column_total=lambda a: ("area_total", a),
                               grand_total=("all",))
    relations += grid_relations(languages, ("nl", "so"), cell=lambda m, l: ("lang", m, l),
                                row_total=lambda m: ("month", m), column_total=lambda l: ("lang_total", l),
                                grand_total=("all",))
    hidden = suppress(counts, relations)
    assert ("lang", "m1", "so") in hidden
    assert exposed(relations, counts, hidden) == []


# --- The report from a real database ----------------------------------------------------------------


def response(week: str, area: str | None, language: str = "nl", items=(0, 0, 0, 2, 2, 2), took_part=1, worthwhile=5) -> dict:
    from dialogs.scoring import score

    scores = score(items)
    return {
        "id": secrets.token_hex(16), "iso_week": week, "language": language, "area": area,
        **{f"item{n}": v for n, v in enumerate(items, start=1)},
        "emotional": scores.emotional, "social": scores.social, "total": scores.total,
        "took_part": took_part, "worthwhile": worthwhile,
    }


async def store(db, rows: list[dict]) -> None:
    async with db.transaction() as connection:
        await connection.execute(insert(checkin_responses), rows)


def test_the_month_of_an_iso_week_is_the_month_of_its_thursday():
    assert report.month_of("2026-W01") == "2026-01"  # Thu 1 Jan 2026
    assert report.month_of("2025-W01") == "2025-01"  # Mon 30 Dec 2024, Thu 2 Jan 2025
    assert report.month_of("2026-W53") == "2026-12"  # Thu 31 Dec 2026
    assert report.month_of("2026-W44") == "2026-10"  # Mon 26 Oct, Thu 29 Oct
    assert report.month_of("2026-W45") == "2026-11"  # Thu 5 Nov


async def test_report_hides_small_cells_and_their_complements(db, settings):
    rows = []
    # October (weeks 41-44): Osdorp 25, Slotervaart 12, Geuzenveld 3 (severely lonely, all of them).
    rows += [response("2026-W41", OSDORP) for _ in range(25)]
    rows += [response("2026-W42", SLOTERVAART, items=(2, 2, 2, 0, 0, 0)) for _ in range(12)]
    rows += [response("2026-W43", GEUZENVELD, language="so", items=(0, 0, 0, 2, 2, 2)) for _ in range(3)]
    # November: Osdorp 30, Slotervaart 15, Geuzenveld 20.
    rows += [response("2026-W46", OSDORP, items=(1, 2, 2, 0, 0, 1)) for _ in range(30)]
    rows += [response("2026-W47", SLOTERVAART) for _ in range(15)]
    rows += [response("2026-W47", GEUZENVELD, language="ar") for _ in range(20)]
    await store(db, rows)
    async with db.transaction() as connection:
        built = await report.build(connection, settings, NOW)
    assert built.months == ("2026-10", "2026-11")
    small = report.area_cell("2026-10", GEUZENVELD)
    assert built.figures[small].respondents == 3
    assert built.shown(small) is None
    hidden_october = [a for a in built.areas if built.shown(report.area_cell("2026-10", a)) is None
                      and built.figures[report.area_cell("2026-10", a)].respondents]
    assert len(hidden_october) >= 2, "a complement in the same month"
    hidden_geuzenveld = [m for m in built.months if built.shown(report.area_cell(m, GEUZENVELD)) is None]
    assert len(hidden_geuzenveld) >= 2, "a complement in the same area"
    assert built.shown(report.month_key("2026-10")).respondents == 40
    # The languages: 3 Somali answers in October are hidden in that table too.
    assert built.shown(report.language_cell("2026-10", "so")) is None
    # Nothing an attacker sees lets him rebuild a hidden figure.
    relations = report_relations(built)
    counts = {key: f.respondents for key, f in built.figures.items()}
    assert exposed(relations, counts, built.hidden) == []

    text = report.render_text(built)
    assert "hidden" in text and "Arabic and Somali" in text and "validation" in text
    october_line = next(l for l in text.splitlines() if l.startswith("2026-10 "))
    assert " 40 " in october_line
    map_section = text.split("Participation map")[1].split("Sign-ups")[0]
    map_line = next(l for l in map_section.splitlines() if l.startswith(GEUZENVELD))
    assert map_line.split()[1] == "hidden"  # October
    assert "(3)" not in text

    table = list(csv.DictReader(io.StringIO(report.render_csv(built))))
    cell = [r for r in table if r["table"] == "checkins_by_area" and r["month"] == "2026-10" and r["group"] == GEUZENVELD]
    assert cell and all(r["value"] == "hidden" for r in cell)
    assert not any(r["group"] in report.LANGUAGES and r["table"] == "checkins_by_area" for r in table)
    assert not any(r["group"] in DEFAULT_AREAS and r["table"] == "checkins_by_language" for r in table)

    png = render_png(built, "nl")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def report_relations(built: report.Report) -> list[Relation]:
    return grid_relations(
        built.months, built.areas, cell=report.area_cell, row_total=report.month_key,
        column_total=report.area_key, grand_total=report.ALL,
    ) + grid_relations(
        built.months, built.languages, cell=report.language_cell, row_total=report.month_key,
        column_total=report.language_key, grand_total=report.ALL,
    )


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
        whole = await report.build(connection, settings, NOW)
    halves = await report.build_from(db, settings, NOW)
    assert halves.figures == whole.figures and halves.hidden == whole.hidden
    assert halves.figures[report.ALL].respondents == 3000


async def test_the_command_line_report_of_no_check_ins(db, settings):
    built = await report.build_from(db, settings, NOW)
    assert not built.has_checkins() and built.months == ()


async def test_figures_are_worked_out_right(db, settings):
    rows = [response("2026-W45", OSDORP, items=(0, 0, 0, 2, 2, 2), took_part=1, worthwhile=2) for _ in range(5)]
    rows += [response("2026-W46", OSDORP, items=(2, 2, 2, 0, 0, 0), took_part=0, worthwhile=8) for _ in range(5)]
    rows += [response("2026-W46", OSDORP, items=(0, 2, 2, 1, 0, 0), took_part=None, worthwhile=None) for _ in range(10)]
    await store(db, rows)
    async with db.transaction() as connection:
        built = await report.build(connection, settings, NOW)
    november = built.shown(report.month_key("2026-11"))
    assert november.respondents == 20
    assert (november.share_not, november.share_moderate, november.share_severe) == (0.25, 0.5, 0.25)
    assert november.emotional == (5 * 3 + 10 * 1) / 20
    assert november.social == (5 * 3 + 10 * 1) / 20
    assert november.took_part == 0.5
    assert november.worthwhile == 5.0


async def test_sign_ups_and_attendance_per_area_and_series(db, settings):
    new = series_store.NewSeries("Mannen in gesprek", 3, time(19, 0), date(2026, 10, 1), 6, 12, "Huis van de Wijk", OSDORP)
    async with db.transaction() as connection:
        series_id = await series_store.add(connection, new, settings.timezone, NOW)
        ids = []
        for n, area in enumerate([OSDORP, OSDORP, None]):
            result = await connection.execute(insert(participants).values(
                channel="telegram", address=str(900 + n), language="nl", area=area,
                consented_at=NOW, status="active"))
            ids.append(result.inserted_primary_key[0])
        for pid, status in zip(ids, ["confirmed", "confirmed", "waitlist"]):
            await connection.execute(insert(signups).values(series_id=series_id, participant_id=pid, status=status, created_at=NOW))
        first = (await connection.execute(meetings.select().where(meetings.c.series_id == series_id, meetings.c.number == 1))).first()
        await connection.execute(insert(attendance), [
            {"participant_id": ids[0], "meeting_id": first.id, "present": 1, "marked_at": NOW},
            {"participant_id": ids[1], "meeting_id": first.id, "present": 0, "marked_at": NOW},
        ])
        built = await report.build(connection, settings, NOW)
    osdorp = next(row for row in built.by_area if row.area == OSDORP)
    assert (osdorp.signed_up, osdorp.waitlisted, osdorp.attended) == (2, 0, 1)
    assert next(row for row in built.by_area if row.area == "").waitlisted == 1
    [row] = built.by_series
    assert (row.signed_up, row.waitlisted, row.meetings_held, row.attendances) == (2, 1, 6, 1)
    assert built.attendances == {("2026-10", OSDORP): 1}
    assert not built.has_checkins()
    assert "No check-ins yet." in report.render_text(built)


async def test_the_coordinator_gets_a_summary_in_his_language_and_a_chart(db, settings):
    await store(db, [response("2026-W46", OSDORP) for _ in range(12)])
    message = await report.coordinator_report(db, settings, "so", NOW)
    assert message.image.startswith(b"\x89PNG")
    assert format_date(date(2026, 11, 1), "MMMM y", locale="so") in message.text  # Babel's Somali
    assert "12 nin" in message.text
    assert "Soomaaliga" in message.text  # the validation note, in Somali


# --- The command line ----------------------------------------------------------------------------


async def test_meedoen_report_in_every_format(db, database_url, tmp_path, monkeypatch, capsys):
    rows = [response(f"2026-W{w}", area) for w in (40, 45) for area in (OSDORP, SLOTERVAART) for _ in range(11)]
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
    """``bot.cli.main`` runs its own event loop; run it in a thread from this async test."""
    import asyncio

    return await asyncio.to_thread(cli.main, argv)
