"""Logging in with the one-time link from the chat, and out.

Opening the link only shows a button: chat apps fetch links for their previews, and such a
fetch must not spend it. The button's POST spends the link, checks that its coordinator is
still one, and sets the session cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.app.service import Service
from bot.console import sessions
from bot.console.access import FALLBACK_LANGUAGE, language_of, read_form, secret_of
from bot.console.security import refused, secured
from bot.console.templating import page
from bot.domain.console_link import PREFIX
from bot.store import audit, console_links, coordinators
from dialogs.i18n import _, use_locale


def login_routes(service: Service) -> list[Route]:
    async def show(request: Request) -> Response:
        with use_locale(FALLBACK_LANGUAGE):
            return page(request, "login.html", token=request.path_params["token"])

    async def enter(request: Request) -> Response:
        token = (await read_form(request)).get("token")
        now = service.now()
        with use_locale(FALLBACK_LANGUAGE):
            unusable = _("This link does not work (any more). Send /console in your chat for a new one.")
        if not isinstance(token, str):
            return refused(unusable)
        async with service.db.transaction() as connection:
            owner = await console_links.redeem(connection, token, now)
            if owner is None:
                return refused(unusable)
            if not await coordinators.is_coordinator(connection, *owner):
                with use_locale(await language_of(connection, *owner)):
                    return refused(_("You are no longer a coordinator, so this page is closed to you."))
            await audit.record(connection, ":".join(owner), "console.login", "", now)
        _session, value = sessions.issue(secret_of(service), *owner, now)
        response = secured(RedirectResponse(f"{PREFIX}/", status_code=303))
        response.set_cookie(
            sessions.COOKIE,
            value,
            max_age=int(sessions.LIFETIME.total_seconds()),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" or bool(service.settings.public_url),
        )
        return response

    async def logged_out(request: Request) -> Response:
        with use_locale(FALLBACK_LANGUAGE):
            return refused(_("You are logged out. Send /console in your chat for a new link."), status=200)

    return [
        Route(f"{PREFIX}/login/{{token}}", show, methods=["GET"]),
        Route(f"{PREFIX}/login", enter, methods=["POST"]),
        Route(f"{PREFIX}/login", logged_out, methods=["GET"]),
    ]
