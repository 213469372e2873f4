"""Statements before and after a series, as the report shows them (issue 17 §1): per
statement, the distribution of the answers before and after and the shift, for all series
together and per series. Pure: no I/O; the answers come from ``bot.store.statements``.

Only series whose answers are final (``bot.store.statements.closed_series``) are counted, so
that two reports never differ by one man's late answer. The rule of 10 of the check-in
report (docs/report-privacy.md) holds here too:

- a scope (all series together, or one series) shows a phase only with at least
  ``MIN_GROUP`` respondents in BOTH phases; the shift needs both anyway;
- a series is shown apart only when what the shown series leave of "all series together"
  (the rest, which anyone can subtract) is no respondent at all or at least ``MIN_GROUP`` in
  each phase; otherwise the shown series with the fewest respondents is hidden too, until it
  is. Per statement the same holds for the men asked it (series may ask different ones);
- within a statement's distribution, an answer category within one answer of either end
  (nobody or everybody chose it, or all but one) is hidden; the hidden categories together
  are none, or at least two whose total is not within one answer of an end, else the shown
  category with the fewest answers is hidden too. A category "all series together" hides, or
  that the rest would single out, is hidden in every series as well;
- the shift (after minus before, in percentage points of men who agree, completely or not)
  shows only when both "agree" categories show in both phases.

Each phase is a separate count of anonymous answers: nothing pairs a man's "before" with his
"after", and nothing here tries to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dialogs.anonymity import MIN_GROUP

PHASES = ("before", "after")
VALUES = (1, 2, 3, 4, 5, 0)  # agree completely … disagree completely, rather not say
AGREE = (1, 2)

Answers = Iterable[tuple[int, str, Mapping[int, int]]]  # (series, phase, {statement: value})


@dataclass(frozen=True)
class Distribution:
    """One statement in one phase of one scope: the men asked it, and the share of each
    answer (None: hidden)."""

    respondents: int
    shares: dict[int, float | None]

    def agree(self) -> float | None:
        parts = [self.shares.get(value) for value in AGREE]
        return None if any(part is None for part in parts) else sum(parts)


@dataclass(frozen=True)
class StatementRow:
    statement: int
    before: Distribution | None  # None: hidden whole
    after: Distribution | None

    @property
    def shift(self) -> float | None:
        """After minus before, share of men who agree (completely or not)."""
        if self.before is None or self.after is None:
            return None
        before, after = self.before.agree(), self.after.agree()
        return None if before is None or after is None else after - before


@dataclass(frozen=True)
class Scope:
    series_id: int | None  # None: all series together
    name: str
    rows: tuple[StatementRow, ...]


@dataclass(frozen=True)
class StatementReport:
    statements: tuple[int, ...]  # every statement asked in a counted series, in order
    scopes: tuple[Scope, ...]  # all series together first (when shown), then the series shown
    series_counted: int

    def has_figures(self) -> bool:
        return bool(self.scopes)


Tally = dict[str, dict[int, Counter]]  # phase → statement → Counter(value)


def _tally(answers: Iterable[Mapping[int, int]]) -> dict[int, Counter]:
    tally: dict[int, Counter] = {}
    for poll in answers:
        for statement, value in poll.items():
            tally.setdefault(statement, Counter())[value] += 1
    return tally


def _respondents(counts: Mapping[str, int], phase: str) -> int:
    return counts.get(phase, 0)


def _at_end(count: int, n: int) -> bool:
    return count <= 1 or count >= n - 1


def _hidden_categories(counter: Counter, forced: set[int]) -> set[int]:
    """The answer categories to hide in one distribution (see the module's rule)."""
    n = sum(counter.values())
    hidden = {value for value in VALUES if value in forced or _at_end(counter[value], n)}
    while hidden and hidden != set(VALUES):
        rest = sum(counter[value] for value in hidden)
        if len(hidden) >= 2 and not _at_end(rest, n):
            break
        shown = [value for value in VALUES if value not in hidden]
        hidden.add(min(shown, key=lambda value: (counter[value], value)))
    return hidden


def _distribution(counter: Counter | None, hidden: set[int]) -> Distribution | None:
    n = sum(counter.values()) if counter else 0
    if n < MIN_GROUP:
        return None
    return Distribution(n, {value: None if value in hidden else counter[value] / n for value in VALUES})


def build(series_names: Mapping[int, str], chosen: Mapping[int, list[int]], answers: Answers) -> StatementReport:
    """``series_names``: the closed series (id → name); ``chosen``: each one's statements in
    order; ``answers``: their polls."""
    polls: dict[int, dict[str, list]] = {s: {p: [] for p in PHASES} for s in series_names}
    for series_id, phase, poll in answers:
        if series_id in polls and phase in PHASES:
            polls[series_id][phase].append(poll)
    order: list[int] = []
    for series_id in series_names:
        order += [n for n in chosen.get(series_id, []) if n not in order]
    counts = {s: {p: len(polls[s][p]) for p in PHASES} for s in polls}
    totals = {p: sum(counts[s][p] for s in polls) for p in PHASES}
    if min(totals.values()) < MIN_GROUP:
        return StatementReport(tuple(order), (), len(series_names))
    tallies = {s: {p: _tally(polls[s][p]) for p in PHASES} for s in polls}
    everyone = {p: _tally(poll for s in polls for poll in polls[s][p]) for p in PHASES}

    shown = _shown_series(counts, totals, tallies, everyone, order)
    rest = {p: _tally(poll for s in polls if s not in shown for poll in polls[s][p]) for p in PHASES}

    forced: dict[tuple[int, str], set[int]] = {}
    all_rows = []
    for statement in order:
        row = {}
        for phase in PHASES:
            counter = everyone[phase].get(statement, Counter())
            from_rest = set()
            rest_counter = rest[phase].get(statement, Counter())
            if shown and sum(rest_counter.values()):
                from_rest = _hidden_categories(rest_counter, set())
            hidden = _hidden_categories(counter, from_rest)
            forced[(statement, phase)] = hidden
            row[phase] = _distribution(counter, hidden)
        all_rows.append(StatementRow(statement, row["before"], row["after"]))
    scopes = [Scope(None, "all series", tuple(all_rows))]
    for series_id in sorted(shown):
        rows = []
        for statement in chosen.get(series_id, []):
            row = {}
            for phase in PHASES:
                counter = tallies[series_id][phase].get(statement, Counter())
                row[phase] = _distribution(counter, _hidden_categories(counter, forced.get((statement, phase), set())))
            rows.append(StatementRow(statement, row["before"], row["after"]))
        scopes.append(Scope(series_id, series_names[series_id], tuple(rows)))
    return StatementReport(tuple(order), tuple(scopes), len(series_names))


def _shown_series(counts, totals, tallies, everyone, order) -> set[int]:
    """The series shown apart: both phases 10+, and what they leave of the whole 0 or 10+
    per phase, and per statement and phase."""
    shown = {s for s, phases in counts.items() if min(phases.values()) >= MIN_GROUP}

    def rest_ok() -> bool:
        for phase in PHASES:
            left = totals[phase] - sum(counts[s][phase] for s in shown)
            if 0 < left < MIN_GROUP:
                return False
            for statement in order:
                asked = sum(everyone[phase].get(statement, Counter()).values())
                left = asked - sum(sum(tallies[s][phase].get(statement, Counter()).values()) for s in shown)
                if 0 < left < MIN_GROUP:
                    return False
        return True

    while shown and not rest_ok():
        shown.remove(min(shown, key=lambda s: (min(counts[s].values()), s)))
    return shown


# --- Rendering (the report's text and CSV sections, in English like the rest of it) --------

LABELS = {1: "agree completely", 2: "agree", 3: "neither", 4: "disagree", 5: "disagree completely", 0: "rather not say"}
HIDDEN = "hidden"


def _pct(value: float | None) -> str:
    return HIDDEN if value is None else f"{value * 100:.0f}%"


def _points(value: float | None) -> str:
    return HIDDEN if value is None else f"{value * 100:+.0f} points"


def render_text(report: StatementReport, texts: Mapping[int, str]) -> list[str]:
    """The report's "Statements before and after" section; ``texts``: statement → English."""
    lines = ["Statements before and after a series (finished series only; men, each phase counted apart)"]
    if not report.has_figures():
        lines.append(
            f"Not shown yet: fewer than {MIN_GROUP} men answered before or after, over {report.series_counted} finished series."
        )
        return lines
    for scope in report.scopes:
        lines.append(f"{scope.name if scope.series_id is None else f'series {scope.series_id} {scope.name}'}:")
        for row in scope.rows:
            lines.append(f"  {row.statement}. {texts.get(row.statement, '')}")
            for phase, figures in (("before", row.before), ("after", row.after)):
                if figures is None:
                    lines.append(f"     {phase:<6} {HIDDEN}")
                    continue
                shares = ", ".join(f"{LABELS[v]} {_pct(figures.shares[v])}" for v in VALUES)
                lines.append(f"     {phase:<6} ({figures.respondents} men) {shares}")
            lines.append(f"     shift in agreement: {_points(row.shift)}")
    return lines


def csv_rows(report: StatementReport) -> list[list[object]]:
    """Rows for the report's tidy CSV: table, month, group, measure, value."""
    rows: list[list[object]] = []
    for scope in report.scopes:
        group = "all series" if scope.series_id is None else f"{scope.series_id} {scope.name}"
        for row in scope.rows:
            for phase, figures in (("before", row.before), ("after", row.after)):
                table = f"statement_{row.statement}_{phase}"
                rows.append([table, "", group, "respondents", HIDDEN if figures is None else figures.respondents])
                for value in VALUES:
                    share = None if figures is None else figures.shares[value]
                    rows.append([table, "", group, LABELS[value], HIDDEN if share is None else f"{share:.4f}"])
            shift = row.shift
            rows.append([f"statement_{row.statement}_shift", "", group, "agree after minus before",
                         HIDDEN if shift is None else f"{shift:.4f}"])
    return rows
