"""The overview page: the open help requests, the service's health, and every series as a
card, a page of ``PER_PAGE`` at a time (2,000 series stay fast: each page counts its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.app.service import Service
from bot.console.access import Visit
from bot.console.security import secured
from bot.console.templating import page
from bot.domain.console_link import PREFIX
from bot.store import audit, health, heartbeat, help_requests
from bot.store import series as series_store
from dialogs.formatting import clock, meeting_time, weekday_name

PER_PAGE = 50


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


@dataclass(frozen=True)
class HelpRequest:
    id: int
    name: str | None
    chat: str  # "telegram:123" / "whatsapp:+316…": how to reach him
    since: str


def page_number(text: str | None) -> int:
    try:
        return max(1, int(text or "1"))
    except ValueError:
        return 1


def overview_page(service: Service):
    async def overview(request: Request, visit: Visit) -> Response:
        now = service.now()
        zone = service.settings.timezone
        local_midnight = datetime.combine(now.astimezone(ZoneInfo(zone)).date(), time(), ZoneInfo(zone))
        number = page_number(request.query_params.get("page"))
        async with service.db.transaction() as connection:
            total = await series_store.count(connection)
            pages = max(1, -(-total // PER_PAGE))
            number = min(number, pages)
            rows = await series_store.overview(connection, now, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
            answers = await series_store.next_meeting_answers(connection, [row.id for row in rows], now)
            requests = await help_requests.open_requests(connection, now)
            seen = await heartbeat.last_seen(connection)
            state = Health(
                channels=sorted(service.channels),
                last_tick=meeting_time(seen, zone, now=now) if seen else None,
                running=heartbeat.is_running(seen, now),
                waiting=await health.waiting(connection),
                failures_today=await health.failures_since(connection, local_midnight),
            )
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
                coming=answers.get(row.id, {}).get("coming", 0),
                not_coming=answers.get(row.id, {}).get("not_coming", 0),
                no_answer=answers.get(row.id, {}).get(None, 0),
            )
            for row in rows
        ]
        asked = [
            HelpRequest(r.id, r.name, f"{r.channel}:{r.address}", meeting_time(r.asked_at, zone, now=now))
            for r in requests
        ]
        return page(
            request, "overview.html", visit=visit, cards=cards, health=state, requests=asked,
            page=number, pages=pages, total=total, resolved=request.query_params.get("resolved") == "1",
        )

    async def resolve(request: Request, visit: Visit) -> Response:
        """A coordinator has got in touch: the request leaves the overview (audited)."""
        now = service.now()
        request_id = request.path_params["id"]
        async with service.db.transaction() as connection:
            if await help_requests.resolve(connection, request_id, now):
                await audit.record(connection, visit.session.coordinator, "help.done", f"help request {request_id}", now)
        return secured(RedirectResponse(f"{PREFIX}/?resolved=1", status_code=303))

    return overview, resolve
