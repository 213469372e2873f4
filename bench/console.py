"""The web console's pages over ``--participants`` men (100,000) in ``--series`` series (2,000).

Seeding (straight into SQLite, after the real migrations): each series with six weekly
meetings (a third of the series begun, some over), its men signed up (40 seats, the rest on
the waiting list), half of them answering their next meeting's reminder and most of those in
a series that has begun ticked present or absent; ``--responses`` anonymous check-ins
(300,000) over 104 weeks for the report; 20,000 audit entries, 20,000 outbox rows and a few
open help requests.

Measured in this process: each page asked ``--runs`` times (50) through the real app
(``bot.app.http.build_app``, the coordinator's session cookie) with an in-process ASGI client,
so the time is the server's: routing, the session check, the queries, the template. The
overview's first page and a random one, a random series page (50 men), the report page (its
first request after emptying ``published_figures`` reported apart: the first report after a
month closes), the audit log page and the broadcast page (no target: it lists and counts two
audiences per series). p50, p95 and max per page of the wall-clock time, and
p50 and p95 of this process's CPU time per request (all threads), which a busy machine
inflates far less than the wall clock.

Targets (issue 15): p95 <= 100 ms for the overview and a series page, <= 1 s for the report.

    python -m bench.console [--participants/--size 100000] [--series 2000] [--runs 50] [--database FILE]

``--database FILE`` keeps the seeded database in FILE and reuses it when FILE exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import LANGUAGES, SECRET_KEY, ms, percentile, print_machine, summary, temp_dir

COORDINATOR = ("telegram", "9001")
SEATS = 40
WEEKS = 104
OUTBOX_STATES, OUTBOX_SHARES = ("sent", "delivered", "failed", "blocked", "pending"), (70, 25, 2, 1, 2)
"""Mostly sent and delivered, as in a running service: the health's counts read the few others by index."""


def seed(path: Path, participants: int, series_count: int, responses: int, areas: tuple[str, ...], now: datetime) -> None:
    from bench.report import iso_weeks
    from dialogs.scoring import score

    rng = random.Random(15)
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        connection.execute("INSERT INTO coordinators (channel, address, added_at) VALUES (?,?,?)", (*COORDINATOR, stamp))
        series_rows, meeting_rows = [], []
        begun_ids, next_meeting = set(), {}
        for n in range(1, series_count + 1):
            offset_weeks = rng.randint(-8, 6)  # a third or so have begun, some are over
            first = (now + timedelta(weeks=offset_weeks)).replace(hour=18, minute=0, second=0, microsecond=0)
            series_rows.append((n, f"Mannen in gesprek {n}", first.weekday(), "19:00", first.date().isoformat(), 6,
                                SEATS, f"Huis van de Wijk {n % 97}", areas[n % len(areas)], "open", 0, stamp))
            for number in range(1, 7):
                at = first + timedelta(weeks=number - 1)
                meeting_id = (n - 1) * 6 + number
                meeting_rows.append((meeting_id, n, number, at.replace(tzinfo=None).isoformat(sep=" "), "scheduled"))
                if at <= now:
                    begun_ids.add(n)
                elif n not in next_meeting:
                    next_meeting[n] = meeting_id
        connection.executemany(
            "INSERT INTO series (id, name, weekday, start_time, start_date, meeting_count, capacity, location, area,"
            " status, seat_version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", series_rows)
        connection.executemany("INSERT INTO meetings (id, series_id, number, starts_at, status) VALUES (?,?,?,?,?)", meeting_rows)
        people, signups, answers, present = [], [], [], []
        per_series: dict[int, int] = {}
        for pid in range(1, participants + 1):
            series_id = (pid - 1) % series_count + 1
            place = per_series[series_id] = per_series.get(series_id, 0) + 1
            status = "confirmed" if place <= SEATS else "waitlist"
            people.append((pid, "telegram", str(7_000_000 + pid), LANGUAGES[pid % 4], f"Man {pid}",
                           areas[pid % len(areas)], stamp, "active"))
            signups.append((series_id, pid, status, stamp))
            if status == "confirmed" and series_id in next_meeting and rng.random() < 0.5:
                answers.append((pid, next_meeting[series_id], rng.choice(("coming", "not_coming")), stamp))
            if status == "confirmed" and series_id in begun_ids:
                present.append((pid, (series_id - 1) * 6 + 1, int(rng.random() < 0.8), stamp))
        connection.executemany(
            "INSERT INTO participants (id, channel, address, language, name, area, consented_at, status)"
            " VALUES (?,?,?,?,?,?,?,?)", people)
        connection.executemany("INSERT INTO signups (series_id, participant_id, status, created_at) VALUES (?,?,?,?)", signups)
        connection.executemany("INSERT INTO rsvps (participant_id, meeting_id, answer, answered_at) VALUES (?,?,?,?)", answers)
        connection.executemany(
            "INSERT INTO attendance (participant_id, meeting_id, present, marked_at) VALUES (?,?,?,?)", present)
        connection.executemany(
            "INSERT INTO help_requests (participant_id, asked_at) VALUES (?,?)",
            [(pid, stamp) for pid in rng.sample(range(1, participants + 1), 5)])
        connection.executemany(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES (?,?,?,?)",
            [(stamp, "cli", "series.add", f"series {n}") for n in range(20_000)])
        connection.executemany(
            "INSERT INTO outbox (channel, address, priority, payload, kind, status, attempts, not_before, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [("telegram", str(7_000_000 + n), 1, '{"text": "x"}', "notice", rng.choices(OUTBOX_STATES, OUTBOX_SHARES)[0],
              1, stamp, stamp) for n in range(20_000)])
        weeks = iso_weeks(now.date(), WEEKS)
        patterns = []
        for _ in range(3000):
            items = tuple(rng.choice((0, 1, 2)) for _ in range(6))
            scores = score(items)
            patterns.append((*items, scores.emotional, scores.social, scores.total))
        area_choices = (*areas, None)
        connection.executemany(
            "INSERT INTO checkin_responses (id, iso_week, language, area, item1, item2, item3, item4, item5, item6,"
            " emotional, social, total, took_part, worthwhile, first_in_month) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(os.urandom(16).hex(), weeks[int(rng.triangular(0, WEEKS, 0))], LANGUAGES[rng.randrange(4)],
              area_choices[rng.randrange(len(area_choices))], *patterns[rng.randrange(3000)],
              rng.choice((1, 1, 0, None)), rng.randint(4, 10), int(rng.random() < 0.5)) for _ in range(responses)])
    connection.execute("ANALYZE")
    connection.close()


async def measure(
    settings, runs: int, series_count: int, path: Path, now: datetime
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    import httpx

    from bot.app.http import build_app
    from bot.app.service import Service
    from bot.console import sessions

    service = Service(settings, now=lambda: now)
    await service.db.upgrade()
    _session, cookie = sessions.issue(SECRET_KEY, *COORDINATOR, now)
    rng = random.Random(7)
    pages = max(1, -(-series_count // 50))
    timings: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}  # this process's CPU (all threads: aiosqlite's too)
    try:
        transport = httpx.ASGITransport(app=build_app(service, manage_service=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080",
                                     cookies={sessions.COOKIE: cookie}) as client:

            async def timed(name: str, url: str) -> None:
                begun, cpu = time.perf_counter(), time.process_time()
                response = await client.get(url)
                timings.setdefault(name, []).append(time.perf_counter() - begun)
                cpu_times.setdefault(name, []).append(time.process_time() - cpu)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")

            await timed("warm-up", "/console/")
            with sqlite3.connect(path) as raw:
                raw.execute("DELETE FROM published_figures")
            await timed("report, first after a month closed", "/console/report")
            for _ in range(runs):
                await timed("overview, page 1", "/console/")
                await timed("overview, a random page", f"/console/?page={rng.randint(1, pages)}")
                await timed("series page", f"/console/series/{rng.randint(1, series_count)}")
                await timed("audit log page", f"/console/audit?page={rng.randint(1, 400)}")
            for _ in range(max(5, runs // 5)):
                await timed("report page", "/console/report")
            for _ in range(max(3, runs // 10)):
                await timed("broadcast page", "/console/broadcasts")  # two audiences per series, counted
    finally:
        await service.db.close()
    timings.pop("warm-up")
    cpu_times.pop("warm-up")
    return timings, cpu_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", "--size", type=int, default=100_000, help="men (--size: the same)")
    parser.add_argument("--series", type=int, default=2_000)
    parser.add_argument("--responses", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database", type=Path)
    args = parser.parse_args()

    from bot.config import Settings
    from bot.store.database import Database

    print_machine()
    now = datetime.now(UTC)

    async def run(directory: Path) -> None:
        path = args.database or directory / "bench.db"
        settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", secret_key=SECRET_KEY)
        if not path.exists():
            db = Database(settings.database_url)
            await db.upgrade()
            await db.close()
            begun = time.monotonic()
            seed(path, args.participants, args.series, args.responses, settings.areas, now)
            print(f"seeded {args.participants:,} men in {args.series:,} series, {args.responses:,} check-ins "
                  f"in {time.monotonic() - begun:.1f} s")
        timings, cpu_times = await measure(settings, args.runs, args.series, path, now)
        for name, values in timings.items():
            cpu = cpu_times[name]
            print(f"{name:>36}: n={len(values):>3}  p50 {ms(percentile(values, 50)):>7} ms  "
                  f"p95 {ms(percentile(values, 95)):>7} ms  max {ms(max(values)):>7} ms  "
                  f"CPU p50 {ms(percentile(cpu, 50)):>7} ms  p95 {ms(percentile(cpu, 95)):>7} ms")
        p95 = {name: percentile(values, 95) for name, values in timings.items()}
        summary(
            "console",
            overview_p95_ms=ms(max(p95["overview, page 1"], p95["overview, a random page"])),
            series_p95_ms=ms(p95["series page"]),
            report_p95_ms=ms(p95["report page"]),
            report_first_ms=ms(p95["report, first after a month closed"]),
            audit_p95_ms=ms(p95["audit log page"]),
            broadcast_p95_ms=ms(p95["broadcast page"]),
            met=max(p95["overview, page 1"], p95["overview, a random page"], p95["series page"]) <= 0.1
            and p95["report page"] <= 1.0,
        )

    with temp_dir() as directory:
        asyncio.run(run(directory))


if __name__ == "__main__":
    main()
