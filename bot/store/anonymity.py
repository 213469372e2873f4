"""k-anonymity for what is stored next to an anonymous answer (check-ins now, any other
anonymous table later): the language and area kept with an answer must be shared by at least
``K`` signed-up men at the moment it is stored, or they are coarsened.

Someone who holds the participants' table and knows this rule can work out, for every man,
which (language, area) his answer would be stored under. So the rule is applied to everyone at
once (``Generalisation``), and every value it can store is the outcome for at least ``K`` men
or for none:

1. the language and area as they are, when at least K men have that language and that area;
2. otherwise the language with area "not given" (``None``), when at least K men of that
   language end up here (no area, or a language-and-area group below K);
3. otherwise language "other" (``OTHER``) and area "not given". Should fewer than K men end
   up there, the smallest groups of steps 2, then 1, join them until there are K.

With fewer than K men signed up in all, no answer may be stored (``Generalisation.of``
returns None).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import participants

K = 5
OTHER = "other"
"""The language stored when a man's own would single him out; the report shows it as is."""

Cell = tuple[str, "str | None"]  # (language, area or None)


async def population(connection: AsyncConnection) -> Counter:
    """Signed-up men (every participant row, stopped or not) per (language, area)."""
    query = select(participants.c.language, participants.c.area, func.count()).group_by(
        participants.c.language, participants.c.area
    )
    counts: Counter = Counter()
    for language, area, n in await connection.execute(query):
        counts[(language, area or None)] += n
    return counts


def population_of_rows(rows) -> Counter:
    """The same count from (language, area) rows, for a migration."""
    return Counter((language, area or None) for language, area in rows)


@dataclass(frozen=True)
class Generalisation:
    """Where each (language, area) is stored, decided for the whole population at once."""

    kept_cells: frozenset
    folded_cells: frozenset
    kept_languages: frozenset

    @classmethod
    def of(cls, counts: Mapping[Cell, int], k: int = K) -> Generalisation | None:
        if sum(counts.values()) < k:
            return None
        kept_cells = {cell for cell, n in counts.items() if cell[1] is not None and n >= k}
        rest = Counter()  # per language: the men not in a kept cell
        for (language, area), n in counts.items():
            if (language, area) not in kept_cells:
                rest[language] += n
        kept_languages = {language for language, n in rest.items() if n >= k}
        folded_cells: set = set()
        other = sum(n for language, n in rest.items() if language not in kept_languages)
        while 0 < other < k:  # too few for "other": the smallest groups join it
            if kept_languages:
                language = min(kept_languages, key=lambda name: (rest[name], name))
                kept_languages.remove(language)
                other += rest[language]
            else:
                cell = min(kept_cells, key=lambda c: (counts[c], c))
                kept_cells.remove(cell)
                folded_cells.add(cell)
                other += counts[cell]
        return cls(frozenset(kept_cells), frozenset(folded_cells), frozenset(kept_languages))

    def stored_as(self, language: str, area: str | None) -> Cell:
        """The (language, area) to store for a man with these."""
        cell = (language, area or None)
        if cell in self.kept_cells:
            return cell
        if cell not in self.folded_cells and language in self.kept_languages:
            return (language, None)
        return (OTHER, None)
