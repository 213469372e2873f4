"""The sign-up and check-in funnels as tables: counts per ISO week and language, every count
under 10 shown as "< 10". Pure: the counters come in (bot/store/funnel.py), rows go out.

Only weeks that are over are shown: within the running week two reports an hour apart would
tell that one man took one step in between. A shown week can still grow in its later steps
(a man who started that week and finishes the next counts in his starting week, see
dialogs/funnel.py), never in its "started".

No total over the languages is shown: a total beside its languages would give away a hidden
language as the difference.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialogs.funnel import CHECKIN, CHECKIN_STEPS, SIGNUP, SIGNUP_STEPS, iso_week

MIN_SHOWN = 10
HIDDEN = "< 10"

STEP_TITLES = {
    SIGNUP: ("started", "chose a language", "agreed to privacy", "chose a group", "finished"),
    CHECKIN: (*(f"question {n}" for n in range(1, len(CHECKIN_STEPS))), "finished"),
}
"""English column titles for the CLI; the console has its own, through gettext."""

STEPS = {SIGNUP: SIGNUP_STEPS, CHECKIN: CHECKIN_STEPS}


@dataclass(frozen=True)
class Row:
    week: str
    language: str
    cells: tuple[str, ...]  # one per step: a count of 10 or more, or "< 10"


class Counted(Protocol):
    """What a counter row holds, as the store gives it (``bot.store.funnel.Count``)."""

    week: str
    flow: str
    step: str
    language: str
    count: int


def shown(count: int) -> str:
    return str(count) if count >= MIN_SHOWN else HIDDEN


def rows(counts: Iterable[Counted], flow: str, now: datetime) -> list[Row]:
    """One row per week that is over and language that has any count, newest week first."""
    current = iso_week(now)
    table: dict[tuple[str, str], dict[str, int]] = {}
    for count in counts:
        if count.flow == flow and count.week < current and count.step in STEPS[flow]:
            table.setdefault((count.week, count.language), {})[count.step] = count.count
    ordered = sorted(table, key=lambda key: (_reverse(key[0]), key[1]))
    return [
        Row(week, language, tuple(shown(table[week, language].get(step, 0)) for step in STEPS[flow]))
        for week, language in ordered
    ]


def _reverse(week: str) -> tuple[int, int]:
    year, number = week.split("-W")
    return (-int(year), -int(number))


TITLES = {SIGNUP: "Sign-up funnel: men per step", CHECKIN: "Check-in funnel: check-ins per question reached"}
NOTE = (
    "Counts per ISO week in which the conversation started, and language (\"started\" in the language he was "
    "greeted in, later steps in the one he chose); fewer than 10 shows as \"< 10\"; weeks that are over only."
)


def render_text(counts: Iterable[Counted], now: datetime) -> str:
    counts = list(counts)
    lines = ["Meedoen funnel: where men give up (counts only)", NOTE, ""]
    for flow in (SIGNUP, CHECKIN):
        heads = ("week", "language", *STEP_TITLES[flow])
        table = [heads, *((row.week, row.language, *row.cells) for row in rows(counts, flow, now))]
        widths = [max(len(line[n]) for line in table) for n in range(len(heads))]
        lines.append(TITLES[flow])
        if len(table) == 1:
            lines += ["(nothing counted yet in a week that is over)", ""]
            continue
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
        lines.append("")
    return "\n".join(lines)


def render_csv(counts: Iterable[Counted], now: datetime) -> str:
    counts = list(counts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["funnel", "week", "language", "step", "count"])
    for flow in (SIGNUP, CHECKIN):
        for row in rows(counts, flow, now):
            for step, cell in zip(STEPS[flow], row.cells, strict=True):
                writer.writerow([flow, row.week, row.language, step, cell])
    return out.getvalue()
