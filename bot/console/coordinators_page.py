"""Who may use the coordinator commands and the console: the list ``meedoen coordinator list``
shows, and adding or removing one with the same validation (``bot.config.parse_address``) and
store functions (``bot.store.coordinators``). Every change is audited. A coordinator cannot
remove himself when he is the last one (nobody could add another from the console then);
a removed coordinator's session ends at his next request (``bot.console.access``)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.app.service import Service
from bot.config import ConfigError, parse_address
from bot.console.access import Visit
from bot.console.security import secured
from bot.console.templating import page
from bot.domain.console_link import PREFIX
from bot.store import audit, coordinators
from dialogs.i18n import _

PAGE = f"{PREFIX}/coordinators"


def coordinator_pages(service: Service):
    async def listing(request: Request, visit: Visit, error: str | None = None, status: int = 200) -> Response:
        async with service.db.transaction() as connection:
            found = await coordinators.all_ids(connection)
        done = request.query_params.get("done")
        return page(
            request, "coordinators.html", status=status, visit=visit, coordinators=found,
            me=visit.session.coordinator, error=error,
            done={"added": _("The coordinator is added."), "removed": _("The coordinator is removed.")}.get(done or ""),
        )

    async def show(request: Request, visit: Visit) -> Response:
        return await listing(request, visit)

    def back(done: str) -> Response:
        return secured(RedirectResponse(f"{PAGE}?done={quote(done)}", status_code=303))

    async def chat_given(request: Request, visit: Visit) -> tuple[str, str] | Response:
        """The form's chat id as ``meedoen coordinator add`` takes it, or the page again with
        one sentence on how to write it."""
        try:
            return parse_address(visit.form.get("chat", ""))
        except ConfigError:
            return await listing(
                request, visit, _("That is not a chat id. Write it like telegram:123456 or whatsapp:+31612345678."), 400
            )

    async def add(request: Request, visit: Visit) -> Response:
        given = await chat_given(request, visit)
        if isinstance(given, Response):
            return given
        channel, address = given
        now = service.now()
        async with service.db.transaction() as connection:
            if await coordinators.add(connection, channel, address, now):
                await audit.record(connection, visit.session.coordinator, "coordinator.add", f"{channel}:{address}", now)
        return back("added")

    async def remove(request: Request, visit: Visit) -> Response:
        given = await chat_given(request, visit)
        if isinstance(given, Response):
            return given
        channel, address = given
        now = service.now()
        async with service.db.transaction() as connection:
            others = [c for c in await coordinators.all_ids(connection) if c != f"{channel}:{address}"]
            last = not others
            if not last and await coordinators.remove(connection, channel, address):
                await audit.record(
                    connection, visit.session.coordinator, "coordinator.remove", f"{channel}:{address}", now
                )
        if last:
            return await listing(
                request, visit, _("You are the last coordinator. Add another one first, then you can be removed."), 409
            )
        return back("removed")

    return show, add, remove
