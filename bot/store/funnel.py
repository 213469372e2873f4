"""The funnel's counters (``funnel_counts``): one number per week, flow, step and language,
added to as steps happen (dialogs/funnel.py). Nothing here names or points at a man."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import insert_or_ignore
from bot.store.schema import funnel_counts


@dataclass(frozen=True)
class Count:
    week: str
    flow: str
    step: str
    language: str
    count: int


_KEY = (
    (funnel_counts.c.week == bindparam("key_week"))
    & (funnel_counts.c.flow == bindparam("key_flow"))
    & (funnel_counts.c.step == bindparam("key_step"))
    & (funnel_counts.c.language == bindparam("key_language"))
)
# Built once: every turn of a flow counts a step, and building the statement anew (its
# expressions and their cache key) cost more of the bot's CPU than executing it.
_ADD = update(funnel_counts).where(_KEY).values(count=funnel_counts.c.count + bindparam("by"))


async def add_one(connection: AsyncConnection, week: str, flow: str, step: str, language: str, *, by: int = 1) -> None:
    """One more (or ``by`` more: the demo's made-up weeks) in a counter."""
    key = {"key_week": week, "key_flow": flow, "key_step": step, "key_language": language}
    result = await connection.execute(_ADD, {**key, "by": by})
    if result.rowcount == 0 and not await insert_or_ignore(
        connection, funnel_counts, {"week": week, "flow": flow, "step": step, "language": language, "count": by}
    ):  # another writer made the row between the two statements
        await connection.execute(_ADD, {**key, "by": by})


async def all_counts(connection: AsyncConnection) -> list[Count]:
    rows = await connection.execute(
        select(funnel_counts.c.week, funnel_counts.c.flow, funnel_counts.c.step, funnel_counts.c.language,
               funnel_counts.c.count)
    )
    return [Count(*row) for row in rows]
