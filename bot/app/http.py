"""The HTTP app: one Starlette app for health, every channel's routes (its webhooks), the
console, and whatever the caller adds (the demo's page)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Sequence

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app.service import Service


def freeze_startup_objects() -> None:
    """What start-up built (modules, PTB, SQLAlchemy, catalogs) lives as long as the process:
    keep it out of the collector's full passes, which otherwise stop the event loop for
    ~100 ms now and then (docs/benchmarks.md, paced broadcast)."""
    gc.collect()
    gc.freeze()


def build_app(
    service: Service, *, manage_service: bool = True, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The app; with ``manage_service`` its lifespan starts and stops the service."""

    async def healthz(request: Request) -> Response:
        try:
            async with service.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "channels": sorted(service.channels)})

    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    for channel in service.channels.values():
        routes.extend(channel.routes())
    if service.settings.secret_key:  # it signs the console's cookies
        from bot.console.routes import console_routes

        routes.extend(console_routes(service))
    routes.extend(extra_routes)

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
