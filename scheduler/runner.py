"""The in-memory scheduler (APScheduler 3.11): what runs when.

The database is the source of truth; nothing is kept only here. At start every job is
registered afresh, and each job asks the database what is due. Jobs:

- ``tick`` every ``TICK`` seconds: reminders, the "we missed you" follow-ups, waiting-list
  offers that lapsed, conversations that asked to be woken, check-in offers, the
  facilitators' forms and their reminders, broadcast progress;
- ``next-reminder``: a one-shot timer at the exact instant the next reminder falls due,
  re-armed after every tick, so reminders go out on time rather than up to a tick late.

``now`` is injectable: tests run ``tick()`` directly at chosen instants.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

TICK = 15.0  # seconds

Job = Callable[[datetime], Awaitable[object]]
Clock = Callable[[], datetime]


class Scheduler:
    def __init__(self, jobs: list[tuple[str, Job]], now: Clock, next_due: Callable[[datetime], Awaitable[datetime | None]]) -> None:
        self.jobs = jobs
        self.now = now
        self.next_due = next_due
        self._aps: AsyncIOScheduler | None = None
        self._running = asyncio.Lock()  # the interval and the exact timer never overlap

    async def tick(self) -> None:
        """Run every job once, in order, at ``now()``; one failing job does not stop the rest."""
        async with self._running:  # also arms the timer, so that stop() never races it
            await self._run_jobs()
            await self._arm_next_reminder()

    async def _run_jobs(self) -> None:
        for name, job in self.jobs:
            try:
                await job(self.now())
            except Exception:
                log.exception("scheduler: job %s failed; it runs again next tick", name)

    async def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self.tick,
            IntervalTrigger(seconds=TICK),
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._aps.start()

    async def stop(self) -> None:
        if self._aps is None:
            return
        self._aps.pause()  # no new ticks; one under way finishes before the database closes
        async with self._running:
            self._aps.shutdown(wait=False)
            self._aps = None

    async def _arm_next_reminder(self) -> None:
        if self._aps is None:
            return
        due = await self.next_due(self.now())
        if due is None:
            return
        self._aps.add_job(
            self.tick,
            DateTrigger(run_date=due),
            id="next-reminder",
            replace_existing=True,
            max_instances=1,
            misfire_grace_time=None,
        )
