"""``meedoen demo``: everything on this computer, no network, no accounts.

A SQLite file of its own, demo series seeded on first start, and a web chat page where one
can chat as one or more participants and as a coordinator, through the same engine,
dialogs and storage as Telegram and WhatsApp.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.channels.demo import DemoChannel
from bot.service import Service
from bot.store import coordinators, participants
from bot.store import series as series_store
from dialogs.formatting import clock, meeting_time, weekday_name
from dialogs.i18n import use_locale

COORDINATOR = "coordinator"
DATABASE_URL = "sqlite+aiosqlite:///meedoen-demo.db"


def demo_series(today: date) -> list[series_store.NewSeries]:
    """Three series starting next week: one roomy, one small, one already full."""
    return [
        series_store.NewSeries(
            "Mannen in gesprek", 3, time(19, 0), today + timedelta(days=1), 6, 12,
            "Huis van de Wijk Geuzenveld, Albardakade 3", "Geuzenveld-Slotermeer",
        ),
        series_store.NewSeries(
            "Vaders en zonen", 1, time(14, 0), today + timedelta(days=1), 5, 8,
            "Buurtkamer Osdorp, Tussen Meer 8", "Osdorp",
        ),
        series_store.NewSeries(
            "Werk en zorg", 5, time(10, 30), today + timedelta(days=1), 6, 1,
            "Huis van de Wijk Slotervaart, Pieter Calandlaan 1", "Slotervaart",
        ),
    ]


async def seed(service: Service) -> None:
    """On first start: the demo series, one seat of the small one taken, and the
    coordinator chat registered as a coordinator."""
    now = service.now()
    async with service.db.transaction() as connection:
        await coordinators.add(connection, "demo", COORDINATOR, now)
        if await series_store.overview(connection, now):
            return
        ids = [
            await series_store.add(connection, new, service.settings.timezone, now)
            for new in demo_series(now.astimezone().date())
        ]
        neighbour = await participants.create(connection, "demo", "neighbour", "nl", now)
        await series_store.sign_up(connection, neighbour, ids[2], waitlist=False, now=now)


def demo_routes(service: Service, channel: DemoChannel) -> list[Route]:
    async def index(request: Request) -> Response:
        return RedirectResponse("/demo")

    async def page(request: Request) -> Response:
        html = (resources.files("bot") / "static" / "demo.html").read_text(encoding="utf-8")
        return HTMLResponse(html)

    async def send(request: Request) -> Response:
        try:
            body = await request.json()
            await channel.receive(
                str(body.get("user", "")),
                text=body.get("text"),
                choice=body.get("choice"),
                question=int(body.get("question") or 0),
            )
        except (ValueError, TypeError, AttributeError) as error:
            return JSONResponse({"error": str(error) or "bad request"}, status_code=400)
        return JSONResponse({"ok": True}, status_code=202)

    async def messages(request: Request) -> Response:
        user = request.query_params.get("user", "")
        after = request.query_params.get("after", "0")
        if not after.isdigit():
            return JSONResponse({"error": "after must be a number"}, status_code=400)
        found = await channel.messages_after(user, int(after), wait=25.0)
        return JSONResponse(
            {"messages": found, "next": found[-1]["id"] if found else int(after)}
        )

    async def image(request: Request) -> Response:
        data = channel.image(int(request.path_params["number"]))
        if data is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(data, media_type="image/png")

    async def series(request: Request) -> Response:
        now = service.now()
        zone = service.settings.timezone
        cards = []
        async with service.db.transaction() as connection:
            for row in await series_store.overview(connection, now):
                signups = await series_store.signup_rows(connection, row.id)
                with use_locale("en"):
                    cards.append(
                        {
                            "id": row.id,
                            "name": row.name,
                            "weekday": weekday_name(row.weekday),
                            "time": clock(time.fromisoformat(row.start_time)),
                            "location": row.location,
                            "area": row.area,
                            "capacity": row.capacity,
                            "confirmed": row.confirmed,
                            "waitlist": row.waitlisted,
                            "next_meeting": meeting_time(row.next_meeting, zone)
                            if row.next_meeting
                            else None,
                            "signups": [
                                {"name": s.name, "language": s.language, "status": s.status}
                                for s in signups
                            ],
                        }
                    )
        return JSONResponse(cards)

    return [
        Route("/", index),
        Route("/demo", page),
        Route("/demo/api/send", send, methods=["POST"]),
        Route("/demo/api/messages", messages),
        Route("/demo/api/series", series),
        Route("/demo/api/image/{number:int}", image),
    ]
