"""De Jong Gierveld scoring against answer sets worked out by hand.

Codes: 0 = ja (yes), 1 = min of meer (more or less), 2 = nee (no), None = skipped.
Items 1-3 (emotional) score 1 for ja or min of meer; items 4-6 (social) score 1 for nee or
min of meer. Total 0-1 not, 2-4 moderately, 5-6 severely lonely.
"""

from __future__ import annotations

import pytest

from dialogs.scoring import Scores, score

Y, M, N, S = 0, 1, 2, None  # yes, more or less, no, skipped

CASES = [
    # items (emotional 1-3, social 4-6)   emotional social total category
    # Nobody lonely: no to the emotional items, yes to the social ones.
    ((N, N, N, Y, Y, Y), Scores(0, 0, 0, "not")),
    # Everything lonely: yes to emptiness/missing/rejected, no to the support items.
    ((Y, Y, Y, N, N, N), Scores(3, 3, 6, "severe")),
    # "More or less" counts as lonely on both subscales.
    ((M, M, M, M, M, M), Scores(3, 3, 6, "severe")),
    # One emotional item only: 1 → still "not lonely" (0-1).
    ((Y, N, N, Y, Y, Y), Scores(1, 0, 1, "not")),
    # 1 + 1 = 2: the lower edge of "moderate".
    ((N, M, N, Y, Y, M), Scores(1, 1, 2, "moderate")),
    # 2 + 2 = 4: the upper edge of "moderate".
    ((Y, M, N, N, Y, M), Scores(2, 2, 4, "moderate")),
    # 3 + 2 = 5: the lower edge of "severe".
    ((Y, Y, M, M, N, Y), Scores(3, 2, 5, "severe")),
    # Social items are reversed: "yes" to a social item is NOT lonely.
    ((N, N, N, Y, M, N), Scores(0, 2, 2, "moderate")),
    # One emotional item skipped: no emotional subscale; total over five items (allowed).
    ((S, Y, Y, N, N, Y), Scores(None, 2, 4, "moderate")),
    # One social item skipped, five answered all lonely: 5 → severe.
    ((Y, Y, Y, N, N, S), Scores(3, None, 5, "severe")),
    # One skipped, four of five... 1 point → not lonely.
    ((N, N, Y, Y, Y, S), Scores(1, None, 1, "not")),
    # Two skipped (one per subscale): neither subscale, and no total.
    ((S, Y, Y, N, S, N), Scores(None, None, None, None)),
    # Two skipped in one subscale: the other subscale still counts; no total.
    ((Y, Y, Y, S, S, N), Scores(3, None, None, None)),
    # All skipped.
    ((S, S, S, S, S, S), Scores(None, None, None, None)),
]


@pytest.mark.parametrize("items, expected", CASES)
def test_hand_worked_answer_sets(items, expected):
    assert score(items) == expected


def test_a_wrong_number_of_items_or_a_wrong_code_is_refused():
    with pytest.raises(ValueError):
        score((0, 0, 0, 0, 0))
    with pytest.raises(ValueError):
        score((0, 0, 0, 0, 0, 3))
