"""Scoring of the 6-item De Jong Gierveld loneliness scale (as CBS and the GGD use it).

Answers are coded 0 = *ja* (yes), 1 = *min of meer* (more or less), 2 = *nee* (no), and
``None`` for a skipped item. Items 1–3 are the emotional subscale (negatively worded: *ja*
and *min of meer* count as lonely), items 4–6 the social subscale (positively worded: *nee*
and *min of meer* count as lonely). Each item scores 0 or 1, so the subscales run 0–3 and the
total 0–6.

Missing answers: a subscale needs all three of its items. The total is the sum of the
answered items when at most one item is missing (the usual rule for the short scale), else
it is not computed. Pure: no I/O, used by the engine before it stores a response.
"""

from __future__ import annotations

from dataclasses import dataclass

YES, MORE_OR_LESS, NO = 0, 1, 2
ANSWERS = (YES, MORE_OR_LESS, NO)
ITEM_COUNT = 6
EMOTIONAL = (0, 1, 2)  # item indexes
SOCIAL = (3, 4, 5)
CATEGORIES = ("not", "moderate", "severe")


@dataclass(frozen=True)
class Scores:
    emotional: int | None  # 0–3, None if one of its items is missing
    social: int | None  # 0–3, None if one of its items is missing
    total: int | None  # 0–6, None if more than one item is missing
    category: str | None  # "not" | "moderate" | "severe", None without a total


def item_score(index: int, answer: int | None) -> int | None:
    """The 0/1 score of item ``index`` (0-based) for ``answer``; None when skipped."""
    if answer is None:
        return None
    if answer not in ANSWERS:
        raise ValueError(f"item {index + 1}: answer {answer!r} is not 0, 1 or 2")
    if index in EMOTIONAL:
        return 1 if answer in (YES, MORE_OR_LESS) else 0
    return 1 if answer in (NO, MORE_OR_LESS) else 0


MODERATE_FROM = 2
"""The cut-offs of the 6-item scale's total (0–6), defined here only (the report's SQL uses
them too): 0–1 not lonely, 2–4 moderately lonely, 5–6 severely lonely."""
SEVERE_FROM = 5


def category_of(total: int | None) -> str | None:
    if total is None:
        return None
    if total < MODERATE_FROM:
        return "not"
    if total < SEVERE_FROM:
        return "moderate"
    return "severe"


def score(items: tuple[int | None, ...] | list[int | None]) -> Scores:
    """Scores for six answers (see the module docstring for codes and missing items)."""
    if len(items) != ITEM_COUNT:
        raise ValueError(f"expected {ITEM_COUNT} answers, got {len(items)}")
    points = [item_score(index, answer) for index, answer in enumerate(items)]

    def subscale(indexes: tuple[int, ...]) -> int | None:
        values = [value for value in (points[i] for i in indexes) if value is not None]
        return sum(values) if len(values) == len(indexes) else None

    answered = [p for p in points if p is not None]
    total = sum(answered) if len(answered) >= ITEM_COUNT - 1 else None
    return Scores(subscale(EMOTIONAL), subscale(SOCIAL), total, category_of(total))
