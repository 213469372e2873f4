"""The research note's own reading (``meedoen research-note``): attendance at meetings 1–6 of
each series that started in the period, and the themes the facilitators ticked on their forms.
Counts only, never a form's free text (its outcomes, exercises or follow-up): the note's
protection and rendering live in ``bot.analytics.research_note``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import attendance, meeting_reports, meetings, series

MEETINGS_FOLLOWED = 6
"""The cohort curve follows a series over its first six meetings."""


def _in_period(first_month: str, last_month: str):
    """Series that started in months ``first_month`` .. ``last_month`` (YYYY-MM)."""
    start = func.substr(series.c.start_date, 1, 7)
    return and_(start >= first_month, start <= last_month)


async def cohorts(connection: AsyncConnection, first_month: str, last_month: str,
                  now: datetime) -> dict[int, tuple[str, list[int]]]:
    """Series id → (its name, men marked present at its meetings 1..6 that were held), the
    meetings numbered by start among those not cancelled."""
    m, a = meetings.c, attendance.c
    held = list(await connection.execute(
        select(series.c.id, series.c.name, m.id)
        .select_from(series.join(meetings, m.series_id == series.c.id))
        .where(_in_period(first_month, last_month), m.status == "scheduled", m.starts_at <= now)
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
    out = {series_id: (name, [0] * min(seen[series_id], MEETINGS_FOLLOWED)) for series_id, name in names.items()}
    if number:
        result = await connection.execute(
            select(a.meeting_id, func.count()).where(a.meeting_id.in_(list(number)), a.present == 1).group_by(a.meeting_id)
        )
        for meeting_id, count in result:
            series_id, k = number[meeting_id]
            out[series_id][1][k - 1] = int(count)
    return out


async def themes(connection: AsyncConnection, first_month: str, last_month: str) -> Counter:
    """Theme key → the forms (meetings) that ticked it, over the meetings of series that
    started in the period. Only the ``themes`` column is read."""
    r = meeting_reports.c
    result = await connection.execute(
        select(r.themes)
        .select_from(meeting_reports.join(meetings, meetings.c.id == r.meeting_id).join(series, series.c.id == meetings.c.series_id))
        .where(_in_period(first_month, last_month))
    )
    counts: Counter = Counter()
    for (keys,) in result:
        counts.update(key for key in (keys or "").split(",") if key)
    return counts
