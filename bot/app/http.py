"""The HTTP app: one Starlette app for the Telegram and WhatsApp webhooks, health, and the
demo page."""

from __future__ import annotations

import contextlib
import gc

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app.service import Service


def freeze_startup_objects() -> None:
    """What start-up built (modules, PTB, SQLAlchemy, catalogs) lives as long as the process:
    keep it out of the collector's full passes, which otherwise stop the event loop for
    ~100 ms now and then (docs/benchmarks.md, paced broadcast)."""
    gc.collect()
    gc.freeze()


def build_app(service: Service, *, manage_service: bool = True) -> Starlette:
    """The app; with ``manage_service`` its lifespan starts and stops the service."""

    async def healthz(request: Request) -> Response:
        try:
            async with service.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "channels": sorted(service.channels)})

    routes = [Route("/healthz", healthz)]
    telegram = service.channels.get("telegram")
    if telegram is not None and service.settings.webhooks:
        routes.append(Route("/telegram", telegram.webhook, methods=["POST"]))
    whatsapp = service.channels.get("whatsapp")
    if whatsapp is not None:
        routes.append(Route("/whatsapp", whatsapp.webhook, methods=["POST"]))
        routes.append(Route("/whatsapp/status", whatsapp.status_callback, methods=["POST"]))
        routes.append(Route("/whatsapp/media/{token}", whatsapp.media, methods=["GET"]))
    if service.settings.secret_key:  # it signs the console's cookies
        from bot.console.routes import console_routes

        routes.extend(console_routes(service))
    demo = service.channels.get("demo")
    if demo is not None:
        from bot.app.demo import demo_routes

        routes.extend(demo_routes(service, demo))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if manage_service:
            await service.start()
            freeze_startup_objects()
        try:
            yield
        finally:
            if manage_service:
                await service.stop()

    return Starlette(routes=routes, lifespan=lifespan)
