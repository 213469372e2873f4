"""The series pages: one series' sign-ups and waiting list (filterable), the facilitators'
forms after its meetings, its printable list (names only), and the form that creates a series with the rules of ``meedoen series add``."""

from __future__ import annotations

from datetime import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.analytics.meeting_reports import report_lines
from bot.app.service import Service
from bot.console.access import Visit
from bot.console.security import refused, secured
from bot.console.templating import page
from bot.domain import invites
from bot.domain.console_link import PREFIX
from bot.domain.series_rules import InvalidSeries, new_series
from bot.store import audit, facilitators
from bot.store import series as series_store
from dialogs.formatting import LANGUAGE_NAMES, clock, meeting_time, weekday_name
from dialogs.i18n import _, current_locale

FIELDS = ("name", "weekday", "time", "start", "meetings", "capacity", "location", "area")


def _labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "weekday": _("Weekday"),
        "time": _("Time"),
        "start": _("First date"),
        "meetings": _("Number of meetings"),
        "capacity": _("Seats"),
        "location": _("Location"),
        "area": _("Area"),
    }


def _matches(row, needle: str) -> bool:
    if not needle:
        return True
    haystack = " ".join(str(v or "") for v in (row.name, row.language, row.area, row.channel))
    return needle.casefold() in haystack.casefold()


def series_pages(service: Service):
    async def _recruiting(series_id: int, wanted: str) -> dict:
        """The invite links for the source asked for (the form on the page) and the counts per
        source (``bot.domain.invites``)."""
        try:
            source, problem = invites.check_source(wanted), ""
        except invites.InvalidSource:
            source, problem = "", _("A source may only hold letters, digits and hyphens, like flyer-moskee-osdorp.")
        async with service.db.transaction() as connection:
            username = await invites.cached_username(connection)
            counts = await invites.counts(connection, series_id)
        links = (
            invites.links(service.settings, username, series_id, source, current_locale())
            if service.settings.secret_key
            else None
        )
        return {"links": links, "source": source, "source_problem": problem, "counts": counts}

    async def _loaded(series_id: int):
        async with service.db.transaction() as connection:
            row = await series_store.get(connection, series_id)
            if row is None:
                return None, [], []
            return row, await series_store.signup_rows(connection, series_id), await series_store.meeting_rows(connection, series_id)

    async def _reports(series_id: int) -> list[dict]:
        async with service.db.transaction() as connection:
            forms = await facilitators.reports_of_series(connection, series_id)
        zone, now = service.settings.timezone, service.now()
        return [{"when": meeting_time(f.starts_at, zone, now=now), "lines": report_lines(f)} for f in forms]

    async def one(request: Request, visit: Visit) -> Response:
        row, signups, meeting_rows = await _loaded(request.path_params["id"])
        if row is None:
            return refused(_("There is no such group."), status=404)
        needle = request.query_params.get("q", "").strip()[:64]
        shown = [s for s in signups if _matches(s, needle)]
        now, zone = service.now(), service.settings.timezone
        meeting_list = [
            {"id": m.id, "when": meeting_time(m.starts_at, zone, now=now), "status": m.status, "past": m.starts_at <= now}
            for m in meeting_rows
        ]
        return page(
            request, "series.html", visit=visit, series=row,
            when=f"{weekday_name(row.weekday)} {clock(time.fromisoformat(row.start_time))}",
            confirmed=[s for s in shown if s.status == "confirmed"],
            waitlist=[s for s in shown if s.status == "waitlist"],
            total=len(signups), needle=needle, meetings=meeting_list, languages=LANGUAGE_NAMES,
            reports=await _reports(row.id),
            **await _recruiting(row.id, request.query_params.get("source", "")[:64]),
        )

    async def printable(request: Request, visit: Visit) -> Response:
        row, signups, _meetings = await _loaded(request.path_params["id"])
        if row is None:
            return refused(_("There is no such group."), status=404)
        names = sorted((s.name or _("(no name)")) for s in signups if s.status == "confirmed")
        return page(request, "print.html", visit=visit, series=row, names=names)

    async def form(request: Request, visit: Visit) -> Response:
        return _form(request, visit, {"capacity": "12", "meetings": "6"}, None)

    def _form(request: Request, visit: Visit, values: dict, error: InvalidSeries | None) -> Response:
        return page(
            request, "series_new.html", status=200 if error is None else 400, visit=visit,
            values=values, error=error, labels=_labels(), areas=service.settings.areas,
            weekdays=[(n, weekday_name(n)) for n in range(7)],
        )

    async def create(request: Request, visit: Visit) -> Response:
        values = {field: visit.form.get(field, "") for field in FIELDS}
        now = service.now()
        try:
            new = new_series(
                values,
                labels=_labels(),
                allow_past=visit.form.get("allow_past") == "1",
                allow_past_hint=_("tick “the first date may be in the past”"),
                now=now,
                zone=service.settings.timezone,
                areas=service.settings.areas,
            )
        except InvalidSeries as error:
            return _form(request, visit, values, error)
        async with service.db.transaction() as connection:
            series_id = await series_store.add(connection, new, service.settings.timezone, now)
            await audit.record(
                connection, visit.session.coordinator, "series.add",
                f"series {series_id}: {new.name}, {new.start_date.isoformat()}, {new.meeting_count} meetings", now,
            )
        return secured(RedirectResponse(f"{PREFIX}/series/{series_id}", status_code=303))

    return one, printable, form, create
