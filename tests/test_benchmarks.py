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
ON_POSTGRES = {"broadcast_instances"}  # start a private PostgreSQL server (bench/postgres_server.py)

TINY = {
    "server_alone": ["--size", "200", "--connections", "4"],
    "broadcast": ["--size", "40"],
    "broadcast_instances": ["--size", "40", "--instances", "2"],
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
    if name in ON_POSTGRES and find_bin_dir() is None and not os.environ.get("CI"):
        pytest.skip(HOW_TO_ENABLE)
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


def book(pacer, clock, address: str, within: float = 0.03) -> float:
    """Book a slot as the sender does: its timer wakes it a millisecond at a time."""
    slot = pacer.reserve(address, within=within)
    while slot is None:
        clock.now += 0.001
        slot = pacer.reserve(address, within=within)
    return slot


def test_pacing_keeps_the_limit_counted_from_answers_and_lateness_does_not_add_up():
    """The grid runs at the limit itself; what keeps 31 sends out of any second at the
    platform is the sliding second counted from answers: a send starts at least a second
    after the answer to the send thirty places before it."""
    from bot.delivery.pacing import Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    starts, answers = [], []
    for n in range(120):
        slot = book(pacer, clock, str(n))
        clock.now = max(clock.now, slot) + 0.002  # it starts a little late
        pacer.starting(str(n), slot)
        starts.append(clock.now)
        clock.now += 0.003  # and is answered after a round trip
        pacer.finished(str(n))
        answers.append(clock.now)
    assert all(starts[n + 30] >= answers[n] + 1.0 for n in range(90))  # never 31 in a second
    assert min(b - a for a, b in pairwise(starts)) > 0.5 / 30  # catching up stays spread out
    # Each second costs the round trip and the lateness once (thirty sends), not thirty times:
    # 120 sends at 30/s take 119/30 s plus three times (1 ms + 2 ms + 3 ms), plus the timer's
    # millisecond steps.
    assert starts[-1] - starts[0] <= 119 / 30 + 3 * (0.006 + 0.002) + 1e-9


def test_a_little_late_send_is_caught_up_a_stall_moves_the_grid_and_a_pause_holds_a_booked_one():
    from bot.delivery.pacing import CATCH_UP, Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    first = pacer.reserve("a", within=0.03)
    clock.now = first + 0.02  # a slow commit: 20 ms late
    pacer.starting("a", first)
    second = pacer.reserve("b", within=0.1)
    # The grid is kept: "b" catches up on "a"'s lateness, though it comes no closer than half
    # the spacing after it.
    assert second - clock.now < pacer.spacing
    assert second - clock.now >= 0.5 * pacer.spacing - 1e-9
    clock.now = second + CATCH_UP + 0.01  # a stall, longer than can be caught up
    pacer.starting("b", second)
    third = pacer.reserve("c", within=0.1)
    assert third - clock.now >= pacer.spacing - 1e-9  # the grid moved: no burst after a stall
    assert pacer.chat_ready_in("b") >= 1.0
    pacer.pause(1.0)
    assert pacer.paused_until == clock.now + 1.0
    assert pacer.reserve("d", within=0.5) is None  # nothing new until after the pause


def test_a_send_held_back_by_a_slow_answer_does_not_hold_back_the_ones_behind_it():
    """One slow answer holds back a few sends a second later (the sliding second), not every
    send after them: the grid goes on from its own slots."""
    from bot.delivery.pacing import Pacer

    clock = Clock()
    pacer = Pacer(30, 1.0, clock)
    starts, answers = [], {}
    for n in range(60):
        slot = book(pacer, clock, str(n), within=0.0)
        clock.now = max(clock.now, slot)
        pacer.starting(str(n), slot)
        starts.append(clock.now)
        if n != 0:
            pacer.finished(str(n))  # answered at once ...
            answers[n] = clock.now
        if n == 3:
            pacer.finished("0")  # ... but the first only now, 0.1 s after it went out
            answers[0] = clock.now
    for k, start in enumerate(starts):  # never 30 sends that may still count in the second before one
        assert sum(1 for j in range(k) if answers[j] > start - 1.0) < 30
    assert starts[30] > starts[0] + 1.0 + 0.03  # the slow answer held the next second back ...
    assert starts[59] - starts[0] < 59 / 30 + 0.01  # ... but not the pace of the sends behind


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
