"""The overview page: every series as a card, and the service's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from bot.app.service import Service
from bot.console.access import Visit
from bot.console.templating import page
from bot.store import health, heartbeat, meetings
from bot.store import series as series_store
from dialogs.formatting import clock, meeting_time, weekday_name


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    when: str
    location: str
    area: str
    status: str
    taken: int
    capacity: int
    waiting: int
    next_meeting: str | None
    coming: int
    not_coming: int
    no_answer: int


@dataclass(frozen=True)
class Health:
    channels: list[str]
    last_tick: str | None
    running: bool
    waiting: int
    failures_today: int


def overview_page(service: Service):
    async def overview(request: Request, visit: Visit) -> Response:
        now = service.now()
        zone = service.settings.timezone
        local_midnight = datetime.combine(now.astimezone(ZoneInfo(zone)).date(), time(), ZoneInfo(zone))
        async with service.db.transaction() as connection:
            rows = await series_store.overview(connection, now)
            upcoming, _past = await meetings.coordinator_meetings(connection, now)
            seen = await heartbeat.last_seen(connection)
            state = Health(
                channels=sorted(service.channels),
                last_tick=meeting_time(seen, zone, now=now) if seen else None,
                running=heartbeat.is_running(seen, now),
                waiting=await health.waiting(connection),
                failures_today=await health.failures_since(connection, local_midnight),
            )
        answers = {meeting.series_id: [line.answer for line in meeting.lines] for meeting in upcoming}
        cards = [
            Card(
                id=row.id,
                name=row.name,
                when=f"{weekday_name(row.weekday)} {clock(time.fromisoformat(row.start_time))}",
                location=row.location,
                area=row.area,
                status=row.status,
                taken=row.confirmed,
                capacity=row.capacity,
                waiting=row.waitlisted,
                next_meeting=meeting_time(row.next_meeting, zone, now=now) if row.next_meeting else None,
                coming=answers.get(row.id, []).count("coming"),
                not_coming=answers.get(row.id, []).count("not_coming"),
                no_answer=answers.get(row.id, []).count(None),
            )
            for row in rows
        ]
        return page(request, "overview.html", visit=visit, cards=cards, health=state)

    return overview
