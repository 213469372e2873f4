"""Which figures of a report to hide, so that nothing about a group of fewer than 10 men shows.

Pure: no I/O. The report (bot/analytics/report.py) calls this once per closed month, and for the sign-up
tables; docs/report-privacy.md explains the whole design and why it is enough.

A month is a *total* (every response of the month) and *rows* that each split it into cells
(the areas; the languages). Each figure belongs to a *measure* with its own number of answers
(its denominator): the respondents themselves, the loneliness categories (answers with a total
score), the emotional and the social subscale, "took part" and "worthwhile". A man may answer
once a week, so each measure also has its number of *men*: answers that were the first of their
man in the month (and answer the measure). That is a lower bound on the distinct men behind any
set of answers, and it adds up like any count, so what is left of a total by subtraction is
bounded the same way (docs/report-privacy.md, "Men, not answers"). For each measure:

- a figure is shown only when its own men number at least ``MIN_GROUP`` and it is not
  within one answer of either end of its scale (all answers at the end, or all but one step of
  one answer: "nobody is severely lonely", "one is", "everyone took part", a mean of 0 or of the
  top): at an end it would say that every one of them answered alike, and because "all but one"
  is hidden too, a hidden figure never says that;
- in each row, what the shown cells leave of the shown total — the hidden cells together, which
  anyone can work out by subtraction — must be no answer at all, or at least ``MIN_GROUP`` men
  whose answers again do not sit at an end of the scale; otherwise the shown cell with the
  fewest men is hidden as well, until it is (with every cell hidden it is the total itself,
  which is safe);
- a measure whose month total is not safe is hidden in the whole month.

Nothing else is shown that involves a hidden cell: the cells of two rows are never crossed, and
sums over months are sums of shown figures only. Within a row, any way of sharing the remainder
among the hidden cells fits what is shown, so each hidden cell may hold nobody or all of the
remainder (10 men or more): no group of 1 to 9 men can be worked out, alone or added to others.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from dialogs.anonymity import MIN_GROUP

Key = Hashable
Values = Mapping[str, int]
"""A figure's sums by field name (``bot.analytics.report.Figures`` as a dict)."""


@dataclass(frozen=True)
class Measure:
    name: str
    count: str  # the field holding its number of answers: its own denominator
    men: str  # the field holding its number of men (a lower bound): what the rule of 10 counts
    sums: tuple[tuple[str, int], ...]  # (field, the top of its scale for one answer)

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.count, self.men, *(field for field, _top in self.sums))


RESPONDENTS = Measure("respondents", "answers", "respondents", ())
MEASURES = (
    RESPONDENTS,
    Measure("lonely", "scored", "scored_men", (("not_lonely", 1), ("moderate", 1), ("severe", 1))),
    Measure("emotional", "emotional_n", "emotional_men", (("emotional_sum", 3),)),
    Measure("social", "social_n", "social_men", (("social_sum", 3),)),
    Measure("took_part", "took_part_n", "took_part_men", (("took_part_yes", 1),)),
    Measure("worthwhile", "worthwhile_n", "worthwhile_men", (("worthwhile_sum", 10),)),
)


def safe(values: Values, measure: Measure) -> bool:
    """Enough men of its own, and not within one answer of either end of its scale."""
    if values[measure.men] < MIN_GROUP:
        return False
    n = values[measure.count]
    for field, top in measure.sums:
        total = values[field]
        if total <= 1 or total >= top * n - 1:
            return False
    return True


def protect(
    total: Values, rows: list[Mapping[Key, Values]], measures: tuple[Measure, ...] = MEASURES
) -> dict[Key, frozenset[str]]:
    """The measures shown of the total (key ``None``) and of every cell of every row; a key
    that is missing is hidden whole. Cell keys must differ between rows. ``measures``: the
    check-in's by default; another poll's start with ``RESPONDENTS`` too."""
    assert measures[0] is RESPONDENTS
    shown_total = {m.name for m in measures if safe(total, m)}
    if RESPONDENTS.name not in shown_total:
        return {}
    result: dict[Key, frozenset[str]] = {None: frozenset(shown_total)}
    for cells in rows:
        people = _repair(total, cells, RESPONDENTS, {k for k, v in cells.items() if safe(v, RESPONDENTS)})
        shown = {key: {RESPONDENTS.name} for key in people}
        for measure in measures[1:]:
            if measure.name in shown_total:
                candidates = {key for key in people if safe(cells[key], measure)}
                for key in _repair(total, cells, measure, candidates):
                    shown[key].add(measure.name)
        result.update({key: frozenset(names) for key, names in shown.items()})
    return result


def protect_counts(cells: Mapping[Key, int]) -> set[Key]:
    """For a plain count of people (sign-ups, attendance) split into cells, with the total
    shown beside them when it is 10 or more: the cells to show."""
    total = sum(cells.values())
    if total < MIN_GROUP:
        return set()
    as_values = {key: {RESPONDENTS.count: n, RESPONDENTS.men: n} for key, n in cells.items()}
    shown = {key for key, n in cells.items() if n >= MIN_GROUP}
    return _repair({RESPONDENTS.count: total, RESPONDENTS.men: total}, as_values, RESPONDENTS, shown)


def _repair(total: Values, cells: Mapping[Key, Values], measure: Measure, shown: set[Key]) -> set[Key]:
    """Hide more of ``shown`` (fewest men first) until the remainder is safe or holds no
    answer at all (no men counted is not enough: its answers may be men counted elsewhere)."""
    shown = set(shown)
    while True:
        remainder = {f: total[f] - sum(cells[key][f] for key in shown) for f in measure.fields}
        if remainder[measure.count] == 0 or safe(remainder, measure):
            return shown
        smallest = min(shown, key=lambda key: (cells[key][measure.men], cells[key][measure.count], repr(key)))
        shown.remove(smallest)
