"""The research note over ``--size`` check-in responses (1,000,000) and ``--poll`` listening
answers (200,000): the target of issue 17 §5 is <= 10 s.

Seeding: the check-ins, series, sign-ups and attendance of ``bench.report`` (straight into
SQLite after the real migrations), then the listening answers over the configured areas and
40 facilitators' forms with their themes. Measured in this process, ``--runs`` times:
``bot.store.report_data.build_from`` (the first run starts with ``published_figures`` emptied:
every closed month published, the most work a note ever does), the note's own reading
(``bot.store.research_note``: cohorts and themes), the map (``report_chart.render_png``), the
HTML and the PDF. The summary gives the first and the best run.

    python -m bench.research_note [--size 1000000] [--poll 200000] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import time
from datetime import UTC, datetime

from bench.common import SECRET_KEY, peak_rss_mb, print_machine, sqlite_url, summary, temp_dir
from bench.report import forget_published, iso_weeks, seed

THEMES = ("work", "care", "roles", "father", "faith", "health", "lonely")  # keys of dialogs.meeting_report


def seed_poll_and_forms(path: str, size: int, areas: tuple[str, ...], now: datetime) -> None:
    rng = random.Random(7)
    weeks = iso_weeks(now.date(), 52)
    choices = (*areas, None)
    with sqlite3.connect(path) as connection:
        for start in range(0, size, 50_000):
            rows = [(os.urandom(16).hex(), weeks[rng.randrange(len(weeks))], choices[rng.randrange(len(choices))],
                     rng.randrange(1, 512), rng.randrange(1, 256), rng.randrange(1, 8))
                    for _ in range(min(50_000, size - start))]
            connection.executemany("INSERT INTO listening_responses (id, iso_week, area, barriers, interests, day_parts)"
                                   " VALUES (?,?,?,?,?,?)", rows)
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")
        forms = [(meeting, 12, ",".join(rng.sample(THEMES, 3)), 4, 0, "nl", stamp) for meeting in range(1, 241, 6)]
        connection.executemany("INSERT INTO meeting_reports (meeting_id, men_present, themes, atmosphere, follow_up,"
                               " language, filled_at) VALUES (?,?,?,?,?,?,?)", forms)


async def note_once(settings, now: datetime, first: str, last: str) -> dict:
    from bot.analytics import research_note
    from bot.analytics.report_chart import render_png
    from bot.analytics.research_note_pdf import render_pdf
    from bot.store import report_data
    from bot.store import research_note as note_store
    from bot.store.database import Database

    db = Database(settings.database_url)
    try:
        begun = time.monotonic()
        built = await report_data.build_from(db, settings, now)
        async with db.transaction() as connection:
            cohorts = await note_store.cohorts(connection, now)
            starts = await note_store.starts(connection)
            themes = await note_store.themes(connection)
        read_at = time.monotonic()
        note = research_note.build(built, first, last, cohorts, starts, themes)
        png = render_png(note.report, "nl")
        map_at = time.monotonic()
        page = research_note.render_html(note, "nl", png, now)
        html_at = time.monotonic()
        pdf = render_pdf(note, "nl", png, now)
        pdf_at = time.monotonic()
    finally:
        await db.close()
    return {"read_s": read_at - begun, "map_s": map_at - read_at, "html_s": html_at - map_at,
            "pdf_s": pdf_at - html_at, "total_s": pdf_at - begun, "html_chars": len(page), "pdf_bytes": len(pdf),
            "months": len(note.report.months), "series": len(note.cohorts.rows)}


async def measure(size: int, poll: int, runs: int) -> dict:
    from bot.config import Settings
    from bot.store.database import Database

    now = datetime.now(UTC)
    with temp_dir() as directory:
        path = directory / "bench.db"
        settings = Settings(database_url=sqlite_url(path.parent, path.name), secret_key=SECRET_KEY)
        db = Database(settings.database_url)
        await db.upgrade()
        await db.close()
        begun = time.monotonic()
        seed(str(path), size, settings.areas, now)
        seed_poll_and_forms(str(path), poll, settings.areas, now)
        print(f"seeded {size} check-ins and {poll} poll answers in {time.monotonic() - begun:.1f} s")
        forget_published(path, "every month")
        first, last = f"{now.year - 2}-01", now.strftime("%Y-%m")
        results = [await note_once(settings, now, first, last) for _ in range(runs)]
        for number, r in enumerate(results, start=1):
            print(f"  run {number}: read {r['read_s']:.2f} s, map {r['map_s']:.2f} s, HTML {r['html_s']:.2f} s, "
                  f"PDF {r['pdf_s']:.2f} s = {r['total_s']:.2f} s ({r['months']} months, {r['series']} series, "
                  f"{r['html_chars']} characters of HTML, {r['pdf_bytes']} bytes of PDF)")
    best = min(results, key=lambda r: r["total_s"])
    return {"responses": size, "poll_answers": poll, "first_s": round(results[0]["total_s"], 2),
            "best_s": round(best["total_s"], 2), "pdf_s": round(best["pdf_s"], 2), "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.research_note", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="check-in responses (default 1000000)")
    parser.add_argument("--poll", type=int, default=200_000, help="listening answers (default 200000)")
    parser.add_argument("--runs", type=int, default=2, help="in-process runs (default 2)")
    args = parser.parse_args(argv)
    print_machine()
    figures = asyncio.run(measure(args.size, args.poll, args.runs))
    summary("research_note", **figures, target_met=figures["first_s"] <= 10)
    return figures


if __name__ == "__main__":
    main()
