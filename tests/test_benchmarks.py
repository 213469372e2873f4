"""The benchmarks stay runnable: each runs once at a tiny size, in its own process, and must
end with its summary line. No timing is asserted here (see docs/benchmarks.md for figures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "server_alone": ["--size", "200", "--connections", "4"],
    "broadcast": ["--size", "40"],
    "paced_broadcast": ["--size", "15"],
    "replies": ["--size", "15", "--chatters", "3"],
    "inbound": ["--size", "4"],
    "reminders": ["--size", "400", "--hours", "0.5", "--probe-ticks", "1"],
    "report": ["--size", "3000", "--runs", "1"],
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_benchmark_runs_at_a_tiny_size(name):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *TINY[name]],
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
