"""The benchmarks stay runnable: each runs once at a tiny size, in its own process, and must
end with its summary line. No timing is asserted here (see docs/benchmarks.md for figures).
Those with a PostgreSQL variant run it too, on a private server they start themselves; without
PostgreSQL's programs that variant skips (fails in CI), as tests/conftest.py's fixtures do."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from bench.postgres_server import HOW_TO_ENABLE, find_bin_dir

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "server_alone": ["--size", "200", "--connections", "4"],
    "broadcast": ["--size", "40"],
    "paced_broadcast": ["--size", "15"],
    "replies": ["--size", "15", "--chatters", "3"],
    "inbound": ["--size", "4"],
    "engine_alone": ["--size", "3"],
    "reminders": ["--size", "400", "--hours", "0.5", "--probe-ticks", "1"],
    "report": ["--size", "3000", "--runs", "1"],
    "research_note": ["--size", "3000", "--poll", "500", "--runs", "1"],
    "checkin": ["--size", "30", "--participants", "300", "--responses", "300"],
    "console": ["--size", "600", "--series", "30", "--responses", "500", "--runs", "2"],
}


ON_POSTGRESQL = {
    "inbound": ["--size", "4", "--database", "postgresql", "--instances", "1,2"],
    "engine_alone": ["--size", "3", "--database", "postgresql"],
    "reminders": ["--size", "400", "--hours", "0.5", "--probe-ticks", "1", "--database", "postgresql"],
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(name):
    run_tiny(name, TINY[name])


@pytest.mark.parametrize("name", sorted(ON_POSTGRESQL))
def test_benchmark_runs_on_postgresql_at_a_tiny_size(name):
    if find_bin_dir() is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_ENABLE)
        pytest.skip(HOW_TO_ENABLE)
    figures = run_tiny(name, ON_POSTGRESQL[name])
    if name == "inbound":  # both numbers of instances measured, every man signed up
        assert figures["completed_1"] == figures["completed_2"] == "4", figures


def run_tiny(name: str, arguments: list[str]) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"bench {name}: "), done.stdout[-2000:]
    figures = dict(part.split("=", 1) for part in last.split(": ", 1)[1].split())
    assert figures, last
    return figures


# --- the pacing fix the paced-broadcast benchmark led to (docs/benchmarks.md) ----------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacing_keeps_its_grid_when_slots_are_taken_a_little_late():
    from bot.delivery.pacing import Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    slots = []
    for n in range(60):
        slot = pacer.reserve(str(n), within=0.03)
        while slot is None:
            clock.now += 0.001  # the sender's timer wakes it a millisecond at a time
            slot = pacer.reserve(str(n), within=0.03)
        slots.append(slot)
        clock.now = slot + 0.002  # and it sends a little late
        pacer.starting(str(n), slot)
        pacer.finished(str(n))  # answered at once
    gaps = [b - a for a, b in pairwise(slots)]
    assert min(gaps) >= pacer.spacing - 1e-9  # never closer than the spacing
    assert slots[-1] - slots[0] <= 59 * pacer.spacing + 1e-9  # and the lateness does not add up
    assert 30 * pacer.spacing > 1.0  # so 31 sends never fit in one second


def test_a_late_send_pushes_the_next_slot_and_a_pause_holds_a_booked_one():
    from bot.delivery.pacing import Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    first = pacer.reserve("a", within=0.03)
    clock.now = first + 0.02  # a slow claim
    pacer.starting("a", first)
    second = pacer.reserve("b", within=0.1)
    assert second - clock.now >= pacer.spacing - 1e-9
    assert pacer.chat_ready_in("a") >= 1.0
    pacer.pause(1.0)
    assert pacer.paused_until == clock.now + 1.0
    assert pacer.reserve("c", within=0.5) is None  # nothing new until after the pause


def test_sends_answered_late_hold_the_next_ones_back():
    """A request delayed after it started (a busy loop, the network) reaches the platform
    late; the sends behind it must not catch up and make 31 in its second."""
    from bot.delivery.pacing import Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    slots = []
    for n in range(30):
        slot = pacer.reserve(str(n), within=2.0)
        clock.now = slot
        pacer.starting(str(n), slot)
        slots.append(slot)
    assert pacer.reserve("late", within=5.0) is None  # thirty under way: wait for answers
    clock.now = slots[-1] + 0.3  # all thirty answered 0.3 s after the last went out
    answered = clock.now
    for n in range(30):
        pacer.finished(str(n))
    slot = pacer.reserve("next", within=5.0)
    assert slot >= answered + 1.0  # a full second after the answers, not after the starts
    assert pacer.chat_ready_in("0") >= 1.0  # and each chat a second after its answer
