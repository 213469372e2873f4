"""Reading and publishing the report: the SQL behind ``bot.analytics.report``.

``build`` sums the check-ins of the closed months not yet published (``GROUP BY`` ISO week,
area, language and first-of-month, from the covering index), protects and freezes them in
``published_figures``, and assembles a ``Report`` with the sign-up and attendance counts. The
rules of what may be shown live in ``bot.analytics``; this module only reads and stores.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.analytics.listening import protect_listening
from bot.analytics.report import (
    ALL,
    MEN_OF,
    NO_AREA,
    AreaParticipation,
    Figures,
    Report,
    SeriesParticipation,
    Shown,
    Tallies,
    add_tally,
    area_cell,
    area_key,
    columns_of,
    figures_of,
    language_cell,
    language_key,
    last_closed_month,
    merge_tallies,
    month_key,
    month_range,
    protect_month,
    protected_column,
    sum_shown,
    weeks_of,
)
from bot.common.calendar import month_of
from bot.common.clock import utcnow
from bot.config import Settings
from bot.store import listening as listening_store
from bot.store.database import Database
from bot.store.schema import (
    attendance,
    checkin_responses,
    meetings,
    participants,
    published_figures,
    series,
    signups,
)
from dialogs.listening import QUESTIONS as LISTENING_QUESTIONS
from dialogs.scoring import MODERATE_FROM, SEVERE_FROM


def _tally_columns() -> list:
    """One SQL sum per field of ``Figures`` that is not a count of men, in the order of its
    fields. The counts of men are the same counts over the groups of first answers
    (``figures_of``), so no row costs more to sum than before men were counted."""
    r = checkin_responses.c
    sums = {
        "answers": func.count(),
        "scored": func.count(r.total),
        # FILTER skips the row before the aggregate is called: 10 % less CPU for the grouped
        # read than summing CASE expressions (SQLite 3.30+, PostgreSQL 9.4+).
        "not_lonely": func.count().filter(r.total < MODERATE_FROM),
        "moderate": func.count().filter(r.total.between(MODERATE_FROM, SEVERE_FROM - 1)),
        "severe": func.count().filter(r.total >= SEVERE_FROM),
        "emotional_sum": func.coalesce(func.sum(r.emotional), 0),
        "emotional_n": func.count(r.emotional),
        "social_sum": func.coalesce(func.sum(r.social), 0),
        "social_n": func.count(r.social),
        "took_part_yes": func.coalesce(func.sum(r.took_part), 0),
        "took_part_n": func.count(r.took_part),
        "worthwhile_sum": func.coalesce(func.sum(r.worthwhile), 0),
        "worthwhile_n": func.count(r.worthwhile),
    }
    return [sums[field.name].label(field.name) for field in fields(Figures) if field.name not in MEN_OF]


async def _tallies(connection: AsyncConnection, where) -> tuple[Tallies, Tallies]:
    """Check-in sums by month and area, and by month and language, in one pass.

    SQL groups by week, area, language and ``first_in_month`` together, reading the responses
    in that order from their covering index (``ix_checkin_responses_report``) rather than
    sorting them; the rows that come back are folded into the two margins at once and the
    crossed counts go no further: they are never suppressed, shown, stored or returned."""
    r = checkin_responses.c
    query = select(r.iso_week, r.area, r.language, r.first_in_month, *_tally_columns()).where(*where).group_by(
        r.iso_week, r.area, r.language, r.first_in_month
    )
    by_area: Tallies = {}
    by_language: Tallies = {}
    months: dict[str, str] = {}
    for week, area, language, first_in_month, *counts in await connection.execute(query):
        month = months.get(week) or months.setdefault(week, month_of(week))
        counts = figures_of(first_in_month, counts)
        add_tally(by_area, (month, area or NO_AREA), counts)
        add_tally(by_language, (month, language), counts)
    return by_area, by_language


@dataclass(frozen=True)
class _Plan:
    months: tuple[str, ...]  # the closed months that hold responses or follow the first series
    missing: tuple[str, ...]  # those not published yet
    first_series: str | None  # the month the first series started, if it is closed

    def where(self) -> list:
        first, last = weeks_of(self.missing[0], self.missing[-1])
        return [checkin_responses.c.iso_week.between(first, last)]

    def shown_months(self, published: dict[str, dict]) -> tuple[str, ...]:
        """The months a report lists: from the first series' month or the first month with a
        shown total, whichever is earlier. Not from the first check-in: a list starting at a
        month where only a few answered would say that someone did."""
        starts = [m for m in self.months if published.get(m, {}).get("members", {}).get("total")]
        if self.first_series is not None:
            starts.append(self.first_series)
        return tuple(m for m in self.months if starts and m >= min(starts))


async def _plan(connection: AsyncConnection, settings: Settings, now: datetime) -> _Plan:
    """Which months to publish and read: from the first month of any series, check-in or
    published month to the last closed month."""
    last = last_closed_month(now, ZoneInfo(settings.timezone))
    first_week = (await connection.execute(select(func.min(checkin_responses.c.iso_week)))).scalar()
    first_series = (await connection.execute(select(func.min(series.c.start_date)))).scalar()
    first_series = None if first_series is None or str(first_series)[:7] > last else str(first_series)[:7]
    published = set((await connection.execute(select(published_figures.c.month))).scalars())
    starts = [month for month in published if month <= last]
    if first_week is not None:
        starts.append(month_of(first_week))
    if first_series is not None:
        starts.append(first_series)
    if not starts or min(starts) > last:
        return _Plan((), (), None)
    months = month_range(min(starts), last)
    return _Plan(months, tuple(m for m in months if m not in published), first_series)


async def _publish(connection: AsyncConnection, settings: Settings, now: datetime, plan: _Plan,
                   tallies: tuple[Tallies, Tallies] | None) -> dict[str, dict]:
    """Store the months not yet published (unless another report just did), then read what
    is published of ``plan.months``."""
    if plan.missing and tallies is not None:
        stored = set((await connection.execute(
            select(published_figures.c.month).where(published_figures.c.month.in_(plan.missing))
        )).scalars())
        areas, languages = columns_of(settings)
        rows = [
            {"month": month, "published_at": now,
             "content": json.dumps(protect_month(month, areas, languages, *tallies), sort_keys=True)}
            for month in plan.missing if month not in stored
        ]
        if rows:
            await connection.execute(published_figures.insert(), rows)
    if not plan.months:
        return {}
    result = await connection.execute(
        select(published_figures.c.month, published_figures.c.content).where(
            published_figures.c.month.between(plan.months[0], plan.months[-1])
        )
    )
    return {month: json.loads(content) for month, content in result}


async def build(connection: AsyncConnection, settings: Settings, now: datetime | None = None) -> Report:
    """Read, protect, publish and assemble, on one connection (inside the caller's
    transaction, which must be able to write)."""
    now = now or utcnow()
    plan = await _plan(connection, settings, now)
    tallies = await _tallies(connection, plan.where()) if plan.missing else None
    published = await _publish(connection, settings, now, plan, tallies)
    return await _assemble(connection, settings, now, plan.shown_months(published), published)


async def build_from(db: Database, settings: Settings, now: datetime | None = None) -> Report:
    """Like ``build``, for the command line and ``/report``: the responses of the months to
    publish are summed on two read-only connections, one per core, before and from their
    middle week (each response falls in exactly one half); then one short write transaction
    stores the new months. Usually every closed month is published already, and no response
    is read at all."""
    now = now or utcnow()
    reader = create_async_engine(db.url)  # plain deferred reads: no BEGIN IMMEDIATE, no lock
    try:
        async with reader.connect() as connection:
            plan = await _plan(connection, settings, now)
            tallies = None
            if plan.missing:
                where = plan.where()
                middle = await _middle_week(connection, where)

        if plan.missing:

            async def part(*extra):
                async with reader.connect() as connection:
                    return await _tallies(connection, [*where, *extra])

            week = checkin_responses.c.iso_week
            halves = [part()] if middle is None else [part(week < middle), part(week >= middle)]
            tallies = merge_tallies(await asyncio.gather(*halves))
        async with reader.connect() as connection:
            if plan.missing:
                async with db.transaction() as writing:
                    published = await _publish(writing, settings, now, plan, tallies)
            else:  # nothing to store: no write transaction, no wait for SQLite's writer
                published = await _publish(connection, settings, now, plan, None)
            return await _assemble(connection, settings, now, plan.shown_months(published), published)
    finally:
        await reader.dispose()


async def _middle_week(connection: AsyncConnection, where) -> str | None:
    """The week of the middle response in week order among ``where``, None when there are
    none. Read from the report's index, so the two halves each read half of it."""
    r = checkin_responses.c
    count = (await connection.execute(select(func.count()).where(*where))).scalar_one()
    query = select(r.iso_week).where(*where).order_by(r.iso_week).offset(count // 2).limit(1)
    return (await connection.execute(query)).scalar()


async def _assemble(connection: AsyncConnection, settings: Settings, now: datetime,
                    months: tuple[str, ...], published: dict[str, dict]) -> Report:
    areas, languages = columns_of(settings)
    seen_areas = {a for content in published.values() for a in content["areas"]}
    areas = tuple(settings.areas) + tuple(sorted(seen_areas - set(areas))) + (NO_AREA,)
    cells: dict = {}
    for month in months:
        members = published.get(month, {}).get("members", {})
        for name, data in members.items():
            kind, _sep, group = name.partition(":")
            key = {"total": month_key(month), "area": area_cell(month, group),
                   "language": language_cell(month, group)}[kind]
            cells[key] = Shown.from_json(data)
    totals = {
        ALL: [cells[month_key(m)] for m in months if month_key(m) in cells],
        **{area_key(a): [cells[area_cell(m, a)] for m in months if area_cell(m, a) in cells] for a in areas},
        **{language_key(lang): [cells[language_cell(m, lang)] for m in months if language_cell(m, lang) in cells]
           for lang in languages},
    }
    for key, parts in totals.items():
        total = sum_shown(parts)
        if total is not None:
            cells[key] = total
    by_area, by_series, visits = await _participation(connection, settings, now)
    heard = await listening_store.tallies(connection, {name: len(options) for name, options in LISTENING_QUESTIONS})
    return Report(
        generated_at=now,
        months=months,
        areas=areas,
        languages=languages,
        cells=cells,
        by_area=by_area,
        by_series=by_series,
        attendances=visits,
        listening=protect_listening(heard, tuple(settings.areas)),
        statements=await statement_figures(connection, now),
        statement_texts=await statement_texts(connection),
    )


async def statement_figures(connection: AsyncConnection, now: datetime):
    """The statements before and after, over the finished series (bot/analytics/statements.py)."""
    from bot.analytics import statements as figures
    from bot.store import statements as store

    closed = await store.closed_series(connection, now)
    chosen = await store.of_each_series(connection, list(closed))
    return figures.build(closed, chosen, await store.answers(connection, list(closed)))


async def statement_texts(connection: AsyncConnection) -> dict[int, str]:
    """Every statement's English text, for the report."""
    from bot.store import statements as store
    from dialogs.statements import SHIPPED

    return {**SHIPPED, **{number: texts["en"] for number, texts in (await store.added(connection)).items()}}


async def _participation(connection: AsyncConnection, settings: Settings, now: datetime):
    """Sign-ups and attendance: counts of men, shown under the same rule of 10 as the
    check-ins (they name the men's areas and series, which the check-ins carry too)."""
    p, s, a, m = participants.c, signups.c, attendance.c, meetings.c
    area_names = tuple(settings.areas) + (NO_AREA,)

    def column_of(area):
        return area if area in settings.areas else NO_AREA

    people: dict[str, dict[str, int]] = {
        "confirmed": defaultdict(int), "waitlist": defaultdict(int), "attended": defaultdict(int)
    }
    result = await connection.execute(
        select(p.area, s.status, func.count(func.distinct(p.id)))
        .select_from(signups.join(participants, s.participant_id == p.id))
        .group_by(p.area, s.status)
    )
    for row_area, status, count in result:
        if status in ("confirmed", "waitlist"):
            people[status][column_of(row_area)] += count
    result = await connection.execute(
        select(p.area, func.count(func.distinct(p.id)))
        .select_from(attendance.join(participants, a.participant_id == p.id))
        .where(a.present == 1)
        .group_by(p.area)
    )
    for row_area, count in result:
        people["attended"][column_of(row_area)] += count
    columns = {status: protected_column(counts, area_names) for status, counts in people.items()}
    by_area = tuple(
        AreaParticipation(area, columns["confirmed"][key], columns["waitlist"][key], columns["attended"][key])
        for area, key in [*((name, name) for name in area_names), ("all", None)]
    )

    confirmed = select(func.count()).where(s.series_id == series.c.id, s.status == "confirmed").scalar_subquery()
    waiting = select(func.count()).where(s.series_id == series.c.id, s.status == "waitlist").scalar_subquery()
    held = (
        select(func.count())
        .where(m.series_id == series.c.id, m.status == "scheduled", m.starts_at <= now)
        .scalar_subquery()
    )
    marks = (
        select(func.count())
        .select_from(attendance.join(meetings, a.meeting_id == m.id))
        .where(m.series_id == series.c.id, a.present == 1)
        .scalar_subquery()
    )
    rows = list(await connection.execute(
        select(series.c.id, series.c.name, series.c.area, confirmed, waiting, held, marks).order_by(series.c.id)
    ))
    ids = [row.id for row in rows]
    signed = protected_column({row.id: row[3] for row in rows}, ids)
    waits = protected_column({row.id: row[4] for row in rows}, ids)
    present = protected_column({row.id: row[6] for row in rows}, ids)
    by_series = tuple(
        SeriesParticipation(row.id, row.name, row.area or "", signed[row.id], waits[row.id], row[5], present[row.id])
        for row in rows
    )
    if rows:
        by_series += (SeriesParticipation(0, "all series", "", signed[None], waits[None],
                                          sum(row[5] for row in rows), present[None]),)

    zone = ZoneInfo(settings.timezone)
    result = await connection.execute(
        select(m.starts_at, p.area, func.count())
        .select_from(
            attendance.join(meetings, a.meeting_id == m.id).join(participants, a.participant_id == p.id)
        )
        .where(a.present == 1)
        .group_by(m.id, m.starts_at, p.area)
    )
    visits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for starts_at, row_area, count in result:
        if starts_at.tzinfo is None:  # a plain column in a grouped select: naive UTC
            starts_at = starts_at.replace(tzinfo=ZoneInfo("UTC"))
        visits[starts_at.astimezone(zone).strftime("%Y-%m")][column_of(row_area)] += count
    protected = {}
    for month, counts in visits.items():
        column = protected_column(counts, area_names)
        protected.update({(month, key if key is not None else "all"): value for key, value in column.items()})
    return by_area, by_series, protected
