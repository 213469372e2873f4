"""The audit log in the console: who changed what, when, the latest first, a page at a time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.app.service import Service
from bot.console.access import Visit
from bot.console.overview import page_number
from bot.console.templating import page
from bot.store import audit
from dialogs.formatting import meeting_time

PER_PAGE = 50


def audit_pages(service: Service):
    async def show(request: Request, visit: Visit) -> Response:
        now = service.now()
        number = page_number(request.query_params.get("page"))
        async with service.db.transaction() as connection:
            total = await audit.count(connection)
            pages = max(1, -(-total // PER_PAGE))
            number = min(number, pages)
            rows = await audit.newest_first(connection, PER_PAGE, (number - 1) * PER_PAGE)
        entries = [
            {"when": meeting_time(row.at, service.settings.timezone, now=now), "actor": row.actor,
             "action": row.action, "detail": row.detail}
            for row in rows
        ]
        return page(request, "audit.html", visit=visit, entries=entries, page=number, pages=pages, total=total)

    return show
