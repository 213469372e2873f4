"""The research note's own reading (``meedoen research-note``): attendance at meetings 1–6 of
every series, and the themes the facilitators ticked on their forms. Counts only, never a
form's free text (its outcomes, exercises or follow-up): the note's protection and rendering
live in ``bot.analytics.research_note``.

Both are read over the whole programme, not over the note's period: protected over one fixed
set, as the report's sign-ups are, two notes over different periods cannot be subtracted from
each other to reveal a hidden count. The period only picks which series' rows a note lists.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import attendance, meeting_reports, meetings, series

MEETINGS_FOLLOWED = 6
"""The cohort curve follows a series over its first six meetings."""


async def starts(connection: AsyncConnection) -> dict[int, str]:
    """Series id → the month it started (YYYY-MM)."""
    return {sid: str(start)[:7] for sid, start in await connection.execute(select(series.c.id, series.c.start_date))}


async def cohorts(connection: AsyncConnection, now: datetime) -> dict[int, tuple[str, list[int | None]]]:
    """Series id → (its name, men marked present at its meetings 1..6 that were held), the
    meetings numbered by start among those not cancelled. A meeting held whose attendance
    nobody ticked (no man marked present or absent) is None, not 0: nobody recorded who came,
    which is not the same as nobody coming."""
    m, a = meetings.c, attendance.c
    held = list(await connection.execute(
        select(series.c.id, series.c.name, m.id)
        .select_from(series.join(meetings, m.series_id == series.c.id))
        .where(m.status == "scheduled", m.starts_at <= now)
        .order_by(series.c.id, m.starts_at, m.id)
    ))
    number: dict[int, tuple[int, int]] = {}
    names: dict[int, str] = {}
    seen: dict[int, int] = defaultdict(int)
    for series_id, name, meeting_id in held:
        names[series_id] = name
        seen[series_id] += 1
        if seen[series_id] <= MEETINGS_FOLLOWED:
            number[meeting_id] = (series_id, seen[series_id])
    out: dict[int, tuple[str, list[int | None]]] = {
        series_id: (name, [None] * min(seen[series_id], MEETINGS_FOLLOWED)) for series_id, name in names.items()
    }
    if number:
        result = await connection.execute(
            select(a.meeting_id, func.sum(a.present)).where(a.meeting_id.in_(list(number))).group_by(a.meeting_id)
        )
        for meeting_id, present in result:
            series_id, k = number[meeting_id]
            out[series_id][1][k - 1] = int(present)
    return out


async def themes(connection: AsyncConnection) -> Counter:
    """Theme key → the forms (meetings) that ticked it. Only the ``themes`` column is read."""
    result = await connection.execute(select(meeting_reports.c.themes))
    counts: Counter = Counter()
    for (keys,) in result:
        counts.update(key for key in (keys or "").split(",") if key)
    return counts
