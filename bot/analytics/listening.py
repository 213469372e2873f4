"""The listening poll in the report: per area, the share of the men who answered a question
that named each option (barriers, interests, day parts). Pure: no I/O.

Every share is a measure of ``bot.analytics.suppression`` with the men who answered its
question as denominator and as the count the rule of 10 applies to (a man answers the poll
once: one answer is one man). A share is shown only for 10 men or more and not at either end
of its scale; in the row of areas, what the shown areas leave of the total is again 10 men or
more, or an area more is hidden (complementary suppression). The total itself is shown by the
same rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bot.analytics.suppression import RESPONDENTS, Measure, protect
from dialogs.listening import QUESTIONS

NO_AREA = ""
TITLES = {"barriers": "What makes taking part hard", "interests": "What would interest him", "day_parts": "Day parts that suit him"}
OPTIONS = {name: options for name, options in QUESTIONS}
"""Question → its option labels (the English msgids of ``dialogs.listening``), bit order."""

MEASURES = (
    RESPONDENTS,
    *(
        Measure(f"{name}{n}", f"{name}_n", f"{name}_n", ((f"{name}{n}", 1),))
        for name, options in QUESTIONS
        for n in range(len(options))
    ),
)


@dataclass(frozen=True)
class Listening:
    """What the report shows of the poll. ``shares[key][measure]``: a share (0..1) of a shown
    figure; ``respondents[key]``: how many men answered, for a shown group. ``key``: None for
    all areas, else the area (``NO_AREA``: not given). A missing entry is hidden."""

    areas: tuple[str, ...]
    respondents: Mapping[str | None, int]
    shares: Mapping[str | None, Mapping[str, float]]

    def share(self, key: str | None, question: str, option: int) -> float | None:
        return self.shares.get(key, {}).get(f"{question}{option}")

    def main_barrier(self, key: str | None) -> int | None:
        """The barrier with the largest shown share in ``key``'s group, None if none shows."""
        shown = [(share, -n) for n in range(len(OPTIONS["barriers"])) if (share := self.share(key, "barriers", n)) is not None]
        return -max(shown)[1] if shown else None


def _values(counts: Mapping[str, int]) -> dict[str, int]:
    values = {field: counts.get(field, 0) for measure in MEASURES for field in measure.fields if field != "respondents"}
    values["respondents"] = counts.get("answers", 0)  # one answer per man
    return values


def protect_listening(tallies: Mapping[str | None, Counter], areas: tuple[str, ...]) -> Listening:
    """``tallies``: ``bot.store.listening.tallies`` (area None: not given)."""
    cells = {(NO_AREA if area is None else area): _values(counts) for area, counts in tallies.items()}
    total = _values(sum(tallies.values(), Counter()))
    shown = protect(total, [cells], MEASURES) if total["answers"] else {}
    everything = {**cells, None: total}
    respondents, shares = {}, {}
    for key, names in shown.items():
        values = everything[key]
        respondents[key] = values["respondents"]
        shares[key] = {
            m.name: values[m.sums[0][0]] / values[m.count] for m in MEASURES[1:] if m.name in names
        }
    seen = tuple(areas) + tuple(sorted(set(cells) - set(areas) - {NO_AREA})) + (NO_AREA,)
    return Listening(seen, respondents, shares)


def _area_name(area: str) -> str:
    return area or "area not given"


def _pct(value: float | None) -> str:
    return "hidden" if value is None else f"{100 * value:.0f}%"


def render_text(listening: Listening) -> list[str]:
    """The report's text section: one table per question, options down, areas across."""
    lines = ["Listening poll: what keeps men away and what would draw them in (share of the men who "
             "answered the question; asked once per man, anonymous)"]
    if not listening.respondents:
        return [*lines, "Not shown: fewer than 10 men answered, or every figure would single some out.", ""]
    groups = [key for key in (None, *listening.areas)]
    names = ["all areas" if key is None else _area_name(key) for key in groups]
    width = max(len(label) for options in OPTIONS.values() for label in options) + 2
    column = max(len(name) for name in names) + 2
    lines.append(f"{'men who answered':<{width}}" + "".join(f"{name:>{column}}" for name in names))
    lines.append(f"{'':<{width}}" + "".join(f"{listening.respondents.get(k, 'hidden'):>{column}}" for k in groups))
    for question, options in OPTIONS.items():
        lines.append(TITLES[question])
        for n, label in enumerate(options):
            shares = "".join(f"{_pct(listening.share(k, question, n)):>{column}}" for k in groups)
            lines.append(f"  {label:<{width - 2}}" + shares)
    return [*lines, ""]


def csv_rows(listening: Listening) -> list[list[str]]:
    """Rows of the report's tidy CSV: table, month, group, measure, value."""
    rows = []
    for key in (None, *listening.areas):
        group = "all areas" if key is None else _area_name(key)
        count = listening.respondents.get(key)
        rows.append(["listening", "all", group, "men who answered", "hidden" if count is None else str(count)])
        for question, options in OPTIONS.items():
            for n, label in enumerate(options):
                share = listening.share(key, question, n)
                rows.append(["listening", "all", group, f"{question}: {label}", "hidden" if share is None else f"{share:.4f}"])
    return rows
