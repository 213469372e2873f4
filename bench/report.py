"""The report over ``--size`` anonymous check-in responses (1,000,000).

Seeding (straight into SQLite, after the real migrations): responses spread over 104 ISO
weeks, the four languages and the configured areas (and "rather not say"), with item answers
scored by ``dialogs.scoring`` as the engine does, about half of them the first of their man in
the month (``first_in_month``: the rule of 10 counts those, migration 0010); plus 2,000 participants in 40 series with
their sign-ups and attendance, for the participation part of the report.

Measured in this process, ``--runs`` times: ``bot.store.report_data.build_from``
(aggregation in SQL on two reading connections, then suppression), ``render_text`` and
``bot.analytics.report_chart.render_png``; the first (cold: matplotlib's first figure) and the
best run. Then the command itself, ``meedoen report --format text`` followed by ``--format png
--out FILE``, each in a fresh process (interpreter start and imports included), ``--cli-runs``
times each, with the project's bytecode written beforehand as an installed ``meedoen`` has it
(``compile_sources``).

A closed month's figures are worked out once, by the first report after the month closed, and
stored in ``published_figures``; later reports read them back and no responses at all. So
runs differ in what they find to publish (``CASES``): the first run (in process, and the
first text command) publishes every closed month (``published_figures`` emptied: the first
report after the upgrade, the most work a report ever does); the second only the latest (the
first report after a month closes); the runs after them nothing (every other report). Each PNG
command follows its text command and so finds everything published.

Target (issue 18): ``meedoen report`` in a fresh process, text <= 1 s (after a month closes,
and every other time) and PNG <= 2 s.

    python -m bench.report [--size 1000000] [--runs 3] [--database FILE] [--cli-runs 3]

``--database FILE`` keeps the seeded database in FILE and reuses it when FILE exists (seeding
takes about 20 s), so repeated runs measure the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import (
    LANGUAGES,
    ROOT,
    SECRET_KEY,
    load_average,
    peak_rss_mb,
    print_machine,
    sqlite_url,
    summary,
    temp_dir,
)

WEEKS = 104
TEXT_TARGET_S = 1.0
PNG_TARGET_S = 2.0
"""Issue 18: ``meedoen report`` in a fresh process, the first report after a month closes
and every other one."""


def iso_weeks(today: date, count: int) -> list[str]:
    weeks = []
    for n in range(count):
        year, week, _ = (today - timedelta(weeks=n)).isocalendar()
        weeks.append(f"{year}-W{week:02d}")
    return weeks


def seed(path: str, size: int, areas: tuple[str, ...], now: datetime) -> None:
    """Responses and participation data, with sqlite3 directly (fast bulk inserts)."""
    from dialogs.scoring import score

    rng = random.Random(1)
    weeks = iso_weeks(now.date(), WEEKS)
    # A pool of answer patterns, scored once each; most men answer all six items.
    patterns = []
    for _ in range(3000):
        items = tuple(rng.choice((0, 1, 2)) if rng.random() > 0.03 else None for _ in range(6))
        scores = score(items)
        patterns.append((*items, scores.emotional, scores.social, scores.total))
    area_choices = (*areas, None)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    batch = 50_000
    with connection:
        for start in range(0, size, batch):
            rows = []
            for _ in range(min(batch, size - start)):
                pattern = patterns[rng.randrange(len(patterns))]
                took_part = rng.choice((1, 1, 1, 0, None))
                worthwhile = rng.randint(4, 10) if rng.random() > 0.1 else None
                first_in_month = int(rng.random() < 0.5)  # about two answers a month per man
                rows.append(
                    (os.urandom(16).hex(), weeks[int(rng.triangular(0, WEEKS, 0))], LANGUAGES[rng.randrange(4)],
                     area_choices[rng.randrange(len(area_choices))], *pattern, took_part, worthwhile, first_in_month)
                )
            connection.executemany(
                "INSERT INTO checkin_responses (id, iso_week, language, area, item1, item2, item3, item4, item5,"
                " item6, emotional, social, total, took_part, worthwhile, first_in_month)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")
        for n in range(1, 41):
            start_day = (now - timedelta(weeks=rng.randint(0, 40))).date()
            connection.execute(
                "INSERT INTO series (id, name, weekday, start_time, start_date, meeting_count, capacity, location,"
                " area, status, seat_version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (n, f"Mannen in gesprek {n}", start_day.weekday(), "19:00", start_day.isoformat(), 6, 60,
                 f"Huis van de Wijk {n}", areas[n % len(areas)], "open", 0, stamp),
            )
            for number in range(1, 7):
                at = datetime.combine(start_day + timedelta(weeks=number - 1), datetime.min.time()) + timedelta(hours=18)
                connection.execute(
                    "INSERT INTO meetings (id, series_id, number, starts_at, status) VALUES (?,?,?,?,?)",
                    ((n - 1) * 6 + number, n, number, at.isoformat(sep=" "), "scheduled"),
                )
        for pid in range(1, 2001):
            series_id = (pid - 1) % 40 + 1
            connection.execute(
                "INSERT INTO participants (id, channel, address, language, area, consented_at, status)"
                " VALUES (?,?,?,?,?,?,?)",
                (pid, "telegram", str(7_000_000 + pid), LANGUAGES[pid % 4], area_choices[pid % len(area_choices)],
                 stamp, "active"),
            )
            connection.execute(
                "INSERT INTO signups (series_id, participant_id, status, created_at) VALUES (?,?,?,?)",
                (series_id, pid, "confirmed", stamp),
            )
            for number in range(1, 7):
                if rng.random() < 0.7:
                    connection.execute(
                        "INSERT INTO attendance (participant_id, meeting_id, present, marked_at) VALUES (?,?,?,?)",
                        (pid, (series_id - 1) * 6 + number, 1 if rng.random() < 0.8 else 0, stamp),
                    )
    connection.execute("ANALYZE")
    connection.close()


async def build_once(settings, now: datetime) -> dict:
    from bot.analytics import report
    from bot.analytics.report_chart import render_png
    from bot.store import report_data
    from bot.store.database import Database

    db = Database(settings.database_url)
    try:
        begun = time.monotonic()
        built = await report_data.build_from(db, settings, now)
        built_at = time.monotonic()
        text = report.render_text(built)
        text_at = time.monotonic()
        png = render_png(built, "en")
        png_at = time.monotonic()
    finally:
        await db.close()
    return {
        "build_s": built_at - begun,
        "text_s": text_at - built_at,
        "png_s": png_at - text_at,
        "total_s": png_at - begun,
        "text_chars": len(text),
        "png_bytes": len(png),
        "months": len(built.months),
    }


CASES = ("every month", "one month", "nothing")
"""What the report has to publish: every closed month (``published_figures`` emptied: the
first report after the upgrade that brought it, the most a report ever does), the latest
closed month only (the first report after a month closes, once a month), or nothing (every
other report)."""


def forget_published(path: Path, case: str) -> None:
    """Make ``published_figures`` hold what ``case`` says the next report finds."""
    with sqlite3.connect(path) as connection:
        if case == "every month":
            connection.execute("DELETE FROM published_figures")
        elif case == "one month":
            connection.execute("DELETE FROM published_figures WHERE month = (SELECT max(month) FROM published_figures)")


def case_of(run: int) -> str:
    """Run 1 publishes every month, run 2 the latest one, the runs after it nothing."""
    return CASES[min(run, len(CASES)) - 1]


def compile_sources() -> None:
    """Write the project's bytecode, as ``pip install`` does for an installed ``meedoen`` (the
    Docker image): under PYTHONDONTWRITEBYTECODE (set here and in the Dockerfile) a checkout
    would otherwise compile its sixty-odd modules from source in every fresh process."""
    import compileall

    for package in ("bot", "dialogs", "scheduler"):
        compileall.compile_dir(ROOT / package, quiet=1)


def run_cli(database_url: str, *args: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user and system) of one ``meedoen report`` in a fresh
    process. On a shared machine the wall clock also counts the waits for a core; the CPU
    time is what the command itself costs."""
    env = dict(os.environ, MEEDOEN_DATABASE_URL=database_url, MEEDOEN_SECRET_KEY=SECRET_KEY)
    meedoen = os.path.join(os.path.dirname(sys.executable), "meedoen")
    command = [meedoen] if os.path.exists(meedoen) else [sys.executable, "-m", "bot.app.cli"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.monotonic()
    subprocess.run([*command, "report", *args], env=env, cwd=str(ROOT), check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    wall = time.monotonic() - begun
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def prepare(path: Path, size: int, settings, now: datetime) -> int:
    """Migrate and seed ``path``, or reuse it as it is if it holds responses already;
    returns the number of responses."""
    from bot.store.database import Database

    reuse = path.exists()
    db = Database(settings.database_url)
    await db.upgrade()
    await db.close()
    if reuse:
        with sqlite3.connect(path) as connection:
            (count,) = connection.execute("SELECT count(*) FROM checkin_responses").fetchone()
        if count:
            print(f"reusing {path}: {count} check-in responses, database {path.stat().st_size / 1e6:.0f} MB")
            return count
    begun = time.monotonic()
    seed(str(path), size, settings.areas, now)
    print(f"seeded {size} check-in responses over {WEEKS} weeks in {time.monotonic() - begun:.1f} s; "
          f"database {path.stat().st_size / 1e6:.0f} MB")
    return size


async def measure(size: int, runs: int = 3, database: Path | None = None, cli_runs: int = 3) -> dict:
    from bot.config import Settings

    now = datetime.now(UTC)
    with temp_dir() as directory:
        path = database.resolve() if database else directory / "bench.db"
        settings = Settings(database_url=sqlite_url(path.parent, path.name), secret_key=SECRET_KEY)
        size = await prepare(path, size, settings, now)
        results = []
        for number in range(1, runs + 1):
            forget_published(path, case_of(number))
            results.append(await build_once(settings, now))
            result = results[-1]
            print(f"  run {number} ({case_of(number)} to publish): build {result['build_s']:.2f} s, "
                  f"text {result['text_s']:.3f} s, PNG {result['png_s']:.2f} s = {result['total_s']:.2f} s "
                  f"({result['months']} months, {result['text_chars']} characters, {result['png_bytes']} bytes PNG)")
        memory = peak_rss_mb()
        compile_sources()
        cli_text: dict[str, list[tuple[float, float]]] = {case: [] for case in CASES}
        cli_png = []
        for number in range(1, cli_runs + 1):
            case = case_of(number)
            forget_published(path, case)
            cli_text[case].append(run_cli(settings.database_url, "--format", "text"))
            cli_png.append(run_cli(settings.database_url, "--format", "png", "--out", str(directory / "report.png")))
            (text_wall, text_cpu), (png_wall, png_cpu) = cli_text[case][-1], cli_png[-1]
            print(f"  meedoen report --format text ({case} to publish): {text_wall:.2f} s ({text_cpu:.2f} s CPU); "
                  f"then --format png --out F: {png_wall:.2f} s ({png_cpu:.2f} s CPU) "
                  f"(fresh processes, run {number}, load average {load_average()})")
    first, best = results[0], min(results, key=lambda r: r["total_s"])

    def first_of(case: str, cpu: bool = False) -> float | None:
        return round(cli_text[case][0][cpu], 2) if cli_text[case] else None

    return {
        "responses": size,
        "first_s": round(first["total_s"], 2),
        "best_s": round(best["total_s"], 2),
        "build_s": round(best["build_s"], 2),
        "text_s": round(best["text_s"], 3),
        "png_s": round(best["png_s"], 2),
        "cli_text_every_month_s": first_of("every month"),
        "cli_text_one_month_s": first_of("one month"),
        "cli_text_s": first_of("nothing"),
        "cli_text_best_s": round(min(wall for wall, _cpu in cli_text["nothing"]), 2) if cli_text["nothing"] else None,
        "cli_text_cpu_s": first_of("nothing", cpu=True),
        "cli_png_s": round(cli_png[0][0], 2),
        "cli_png_best_s": round(min(wall for wall, _cpu in cli_png), 2),
        "cli_png_cpu_s": round(cli_png[0][1], 2),
        "peak_rss_mb": memory,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="check-in responses (default 1000000)")
    parser.add_argument("--runs", type=int, default=3, help="in-process runs (default 3)")
    parser.add_argument("--database", type=Path, default=None, metavar="FILE",
                        help="keep the seeded SQLite database in FILE; reuse it if it exists")
    parser.add_argument("--cli-runs", type=int, default=3, metavar="N",
                        help="fresh-process runs of each meedoen report command (default 3: the text "
                        "command publishing every month, then the latest month, then nothing)")
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, args.runs, args.database, args.cli_runs))
    texts = [figures[key] for key in ("cli_text_one_month_s", "cli_text_s") if figures[key] is not None]
    met = bool(texts) and max(texts) <= TEXT_TARGET_S and figures["cli_png_s"] <= PNG_TARGET_S
    summary("report", **figures, target_met=met)
    return figures


if __name__ == "__main__":
    main()
