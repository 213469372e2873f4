"""Run every benchmark at its full size, one after another, each only once the machine is
quiet (1-minute load average below ``--quiet``, waiting up to ``--wait`` seconds; the load
seen is printed with each result). Output of each goes to ``--out`` (a directory), and the
summary lines are printed at the end.

    python -m bench.run_all [--only broadcast,report] [--quiet 0.5] [--out bench-results]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, load_average

ORDER = ("server_alone", "broadcast", "broadcast_instances", "paced_broadcast", "replies", "inbound", "reminders", "report", "console", "checkin")


def wait_for_quiet(threshold: float, longest: float) -> str:
    deadline = time.monotonic() + longest
    while True:
        load = load_average()
        if float(load.split()[0]) < threshold or time.monotonic() > deadline:
            return load
        time.sleep(15)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ORDER))
    parser.add_argument("--quiet", type=float, default=0.5, help="1-minute load average to wait for")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for it at most")
    parser.add_argument("--out", default="bench-results")
    args, extra = parser.parse_known_args(argv)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    lines = []
    for name in args.only.split(","):
        load = wait_for_quiet(args.quiet, args.wait)
        print(f"== {name} (load average before: {load})", flush=True)
        log = out / f"{name}.txt"
        with open(log, "w") as handle:
            handle.write(f"load average before: {load}\n")
            handle.flush()
            done = subprocess.run(
                [sys.executable, "-m", f"bench.{name}", *extra], cwd=ROOT, env=env,
                stdout=handle, stderr=subprocess.STDOUT, timeout=3600,
            )
        text = log.read_text().strip().splitlines()
        last = text[-1] if text else ""
        print("\n".join(line for line in text[1:] if not line.startswith(("bench ", "load average"))), flush=True)
        lines.append(f"{last}  [load before: {load}; exit {done.returncode}]")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
