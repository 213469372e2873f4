"""Every console route, for ``bot.app.http.build_app``."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app.service import Service
from bot.console import sessions
from bot.console.access import Visit, guarded
from bot.console.attendance import attendance_pages
from bot.console.audit_page import audit_pages
from bot.console.broadcast_pages import broadcast_pages
from bot.console.coordinators_page import coordinator_pages
from bot.console.login import login_routes
from bot.console.overview import overview_page
from bot.console.report_page import report_pages
from bot.console.security import secured
from bot.console.series_pages import series_pages
from bot.domain.console_link import PREFIX


def console_routes(service: Service) -> list[BaseRoute]:
    series = series_pages(service)
    overview, resolve_help = overview_page(service)
    show_attendance, save_attendance = attendance_pages(service)
    show_report, report_chart, report_csv = report_pages(service)
    show_coordinators, add_coordinator, remove_coordinator = coordinator_pages(service)
    (
        broadcast_form, broadcast_preview, broadcast_send, broadcast_progress, broadcast_events, broadcast_cancel,
        broadcast_voice,
    ) = broadcast_pages(service)

    async def logout(request: Request, visit: Visit) -> Response:
        response = secured(RedirectResponse(f"{PREFIX}/login", status_code=303))
        response.delete_cookie(sessions.COOKIE, path=PREFIX)
        return response

    css = (resources.files("bot") / "console" / "static" / "console.css").read_text(encoding="utf-8")
    js = (resources.files("bot") / "console" / "static" / "broadcast.js").read_text(encoding="utf-8")

    async def stylesheet(request: Request) -> Response:
        return secured(Response(css, media_type="text/css"))

    async def script(request: Request) -> Response:
        return secured(Response(js, media_type="text/javascript"))

    def page(path: str, handler, methods=("GET",)) -> Route:
        return Route(f"{PREFIX}{path}", guarded(service, handler), methods=list(methods))

    return [
        *login_routes(service),
        page("/logout", logout, ("POST",)),
        page("/", overview),
        page("/help/{id:int}/done", resolve_help, ("POST",)),
        page("/audit", audit_pages(service)),
        page("/series/new", series["form"]),
        page("/series/new", series["create"], ("POST",)),
        page("/series/{id:int}", series["one"]),
        page("/series/{id:int}/print", series["printable"]),
        page("/series/{id:int}/edit", series["edit_form"]),
        page("/series/{id:int}/edit", series["edit"], ("POST",)),
        page("/series/{id:int}/close", series["close"], ("POST",)),
        page("/meetings/{id:int}", series["meeting_form"]),
        page("/meetings/{id:int}/move", series["move_meeting"], ("POST",)),
        page("/meetings/{id:int}/cancel", series["cancel_meeting"], ("POST",)),
        page("/meetings/{id:int}/attendance", show_attendance),
        page("/meetings/{id:int}/attendance", save_attendance, ("POST",)),
        page("/report", show_report),
        page("/report/chart.png", report_chart),
        page("/report.csv", report_csv),
        page("/coordinators", show_coordinators),
        page("/coordinators/add", add_coordinator, ("POST",)),
        page("/coordinators/remove", remove_coordinator, ("POST",)),
        page("/broadcasts", broadcast_form),
        page("/broadcasts/preview", broadcast_preview, ("POST",)),
        page("/broadcasts", broadcast_send, ("POST",)),
        page("/broadcasts/{id:int}", broadcast_progress),
        page("/broadcasts/{id:int}/events", broadcast_events),
        page("/broadcasts/{id:int}/cancel", broadcast_cancel, ("POST",)),
        page("/voice/{id:int}", broadcast_voice),
        Route(f"{PREFIX}/static/console.css", stylesheet),
        Route(f"{PREFIX}/static/broadcast.js", script),
    ]
