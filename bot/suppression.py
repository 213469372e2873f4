"""Which figures of a report to hide, so that no group of fewer than 10 people shows.

A report is a set of *members* (cells and totals), each with a number of respondents, tied by
*relations*: a total equals the sum of its cells (a row, a column, the grand total). Hiding
only the small cells is not enough: a hidden cell is the total minus the cells that are shown.
So, starting from the cells of 1 to 9 people (primary suppression; an empty cell holds nobody's
answers and is shown as empty), more members are
hidden (complementary suppression) until, in every relation,

- when the total is shown, the hidden cells are none, or at least two that together hold at
  least ``MIN_RESPONDENTS`` people (what one can work out — their sum — is again a group of
  10 or more);
- when the total is hidden, at least one cell is hidden too (else the total is the sum);

and finally no hidden member can be worked out exactly from all relations together (a linear
algebra check: a hidden member is determined when every solution of the relations, restricted
to the hidden members, gives it the same value — when the null space of the relation matrix
has a zero at it). Rule-of-two alone is not enough: a hidden cell that links two separate
groups of hidden cells can still be solved.

All figures of one member (shares, means) are hidden together, and a relation's figures are
all additive over its cells, so one pattern protects every measure.

Pure: no I/O. Members are any hashable keys; ``counts`` gives each member's respondents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable

import numpy as np

MIN_RESPONDENTS = 10

Key = Hashable


@dataclass(frozen=True)
class Relation:
    """``total`` equals the sum of ``cells``."""

    total: Key
    cells: tuple[Key, ...]


def suppress(counts: dict[Key, int], relations: Iterable[Relation]) -> frozenset[Key]:
    """The members to hide (see the module docstring)."""
    relations = tuple(relations)
    hidden = {key for key, count in counts.items() if 0 < count < MIN_RESPONDENTS}
    while True:
        changed = False
        for relation in relations:
            extra = _repair(relation, counts, hidden)
            if extra is not None:
                hidden.add(extra)
                changed = True
        if changed:
            continue
        exposed = _determined(relations, hidden)
        if not exposed:
            return frozenset(hidden)
        extra = _break(exposed[0], relations, counts, hidden)
        if extra is None:  # every member of its relations is hidden already: cannot happen
            raise RuntimeError("suppression cannot protect this table")
        hidden.add(extra)


def _repair(relation: Relation, counts: dict[Key, int], hidden: set[Key]) -> Key | None:
    """A member to hide so that this relation gives nothing away, or None if it is safe."""
    hidden_cells = [cell for cell in relation.cells if cell in hidden]
    if relation.total in hidden:
        if hidden_cells or not relation.cells:
            return None
        return _pick(relation, counts, hidden, needed=0)
    if not hidden_cells:
        return None
    group = sum(counts[cell] for cell in hidden_cells)
    if len(hidden_cells) >= 2 and group >= MIN_RESPONDENTS:
        return None
    return _pick(relation, counts, hidden, needed=MIN_RESPONDENTS - group)


def _pick(relation: Relation, counts: dict[Key, int], hidden: set[Key], needed: int) -> Key:
    """The cell whose hiding costs least: the smallest one that brings the hidden group to
    ``needed`` more people, else the largest visible cell; the total if no cell is left."""
    visible = [cell for cell in relation.cells if cell not in hidden]
    if not visible:
        return relation.total
    enough = [cell for cell in visible if counts[cell] >= needed and counts[cell] > 0]
    if enough:
        return min(enough, key=lambda cell: (counts[cell], repr(cell)))
    return max(visible, key=lambda cell: (counts[cell], repr(cell)))


def _determined(relations: tuple[Relation, ...], hidden: set[Key]) -> list[Key]:
    """Hidden members whose value follows exactly from the shown ones."""
    order = sorted(hidden, key=repr)
    if not order:
        return []
    index = {key: i for i, key in enumerate(order)}
    rows = []
    for relation in relations:
        members = [(relation.total, -1.0), *((cell, 1.0) for cell in relation.cells)]
        if not any(key in index for key, _sign in members):
            continue
        row = np.zeros(len(order))
        for key, sign in members:
            if key in index:
                row[index[key]] += sign
        rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _u, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]  # rows spanning {x : matrix @ x = 0}
    if null_space.size == 0:
        return order
    free = np.abs(null_space).max(axis=0) > 1e-9
    return [key for key, moves in zip(order, free) if not moves]


def _break(key: Key, relations: tuple[Relation, ...], counts: dict[Key, int], hidden: set[Key]) -> Key | None:
    """Hide one more member of a relation that involves ``key``."""
    involved = [r for r in relations if key == r.total or key in r.cells]
    for relation in sorted(involved, key=lambda r: sum(c not in hidden for c in r.cells)):
        candidates = [c for c in relation.cells if c not in hidden]
        if candidates:
            return min(candidates, key=lambda c: (counts[c] == 0, counts[c], repr(c)))
        if relation.total not in hidden:
            return relation.total
    return None


def grid_relations(
    rows: Iterable[Hashable],
    columns: Iterable[Hashable],
    *,
    cell,
    row_total,
    column_total,
    grand_total,
) -> list[Relation]:
    """The relations of a rows × columns table with its margins; ``cell(r, c)``,
    ``row_total(r)``, ``column_total(c)`` and ``grand_total`` name the members, so two tables
    can share a margin (the same month totals) and be protected together."""
    rows, columns = tuple(rows), tuple(columns)
    relations = [Relation(row_total(r), tuple(cell(r, c) for c in columns)) for r in rows]
    relations += [Relation(column_total(c), tuple(cell(r, c) for r in rows)) for c in columns]
    relations.append(Relation(grand_total, tuple(row_total(r) for r in rows)))
    relations.append(Relation(grand_total, tuple(column_total(c) for c in columns)))
    return relations
