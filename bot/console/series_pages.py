"""The series pages: one series' sign-ups and waiting list (filterable), the facilitators'
forms after its meetings, its invite links and counts per source, its printable list (names
only), the forms that create and edit a series with the rules of ``meedoen series add``,
closing it, and moving or cancelling one meeting the way ``meedoen series move-meeting`` and
``cancel-meeting`` do (the men are told). Every change is written to the audit log."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.analytics.meeting_reports import report_lines
from bot.app.service import Service
from bot.common.calendar import local_instant
from bot.console.access import Visit
from bot.console.security import refused, secured
from bot.console.templating import page
from bot.domain import invites, meeting_changes, series_changes
from bot.domain.console_link import PREFIX
from bot.domain.series_rules import InvalidSeries, new_series
from bot.store import audit, facilitators, meetings
from bot.store import series as series_store
from dialogs.formatting import LANGUAGE_NAMES, clock, meeting_time, weekday_name
from dialogs.i18n import _, current_locale

FIELDS = series_changes.FIELDS


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


def _done_messages() -> dict[str, str]:
    """What the series page says after a change (``?done=…``)."""
    return {
        "edit": _("The group is saved."),
        "close": _("The group is closed: nobody can sign up any more."),
        "cancel": _("The meeting is cancelled. Everyone with a seat will be told."),
        "move": _("The meeting is moved. Everyone with a seat will be told."),
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
            owners = await invites.source_owners(connection, service.settings.secret_key.encode()) if service.settings.secret_key else {}
        links = (
            invites.links(service.settings, username, series_id, source, current_locale())
            if service.settings.secret_key
            else None
        )
        return {"links": links, "source": source, "source_problem": problem, "counts": counts, "owners": owners}
    zone = service.settings.timezone

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
        now = service.now()
        meeting_list = [
            {"id": m.id, "when": meeting_time(m.starts_at, zone, now=now), "status": m.status, "past": m.starts_at <= now,
             "note": m.note}
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
            done=_done_messages().get(request.query_params.get("done", "")),
        )

    async def printable(request: Request, visit: Visit) -> Response:
        row, signups, _meetings = await _loaded(request.path_params["id"])
        if row is None:
            return refused(_("There is no such group."), status=404)
        names = sorted((s.name or _("(no name)")) for s in signups if s.status == "confirmed")
        return page(request, "print.html", visit=visit, series=row, names=names)

    def _form(request: Request, visit: Visit, values: dict, error: InvalidSeries | None, series=None) -> Response:
        return page(
            request, "series_new.html", status=200 if error is None else 400, visit=visit,
            values=values, error=error, labels=_labels(), areas=service.settings.areas,
            weekdays=[(n, weekday_name(n)) for n in range(7)], series=series,
        )

    def _checked(values: dict[str, str], visit: Visit, *, allow_past: bool):
        return new_series(
            values,
            labels=_labels(),
            allow_past=allow_past or visit.form.get("allow_past") == "1",
            allow_past_hint=_("tick “the first date may be in the past”"),
            now=service.now(),
            zone=zone,
            areas=service.settings.areas,
        )

    async def form(request: Request, visit: Visit) -> Response:
        return _form(request, visit, {"capacity": "12", "meetings": "6"}, None)

    async def create(request: Request, visit: Visit) -> Response:
        values = {field: visit.form.get(field, "") for field in FIELDS}
        now = service.now()
        try:
            new = _checked(values, visit, allow_past=False)
        except InvalidSeries as error:
            return _form(request, visit, values, error)
        async with service.db.transaction() as connection:
            series_id = await series_store.add(connection, new, zone, now)
            await audit.record(
                connection, visit.session.coordinator, "series.add",
                f"series {series_id}: {new.name}, {new.start_date.isoformat()}, {new.meeting_count} meetings", now,
            )
        return secured(RedirectResponse(f"{PREFIX}/series/{series_id}", status_code=303))

    async def edit_form(request: Request, visit: Visit) -> Response:
        row, _signups, _meetings = await _loaded(request.path_params["id"])
        if row is None:
            return refused(_("There is no such group."), status=404)
        return _form(request, visit, series_changes.stored_values(row), None, series=row)

    async def edit(request: Request, visit: Visit) -> Response:
        series_id = request.path_params["id"]
        values = {field: visit.form.get(field, "") for field in FIELDS}
        now = service.now()
        async with service.db.transaction() as connection:
            row = await series_store.get(connection, series_id)
            if row is None:
                return refused(_("There is no such group."), status=404)
            # a schedule left as it was is not checked against today again (a series that began
            # last month keeps its first date); nor one that cannot change, as a meeting has
            # begun: ``edit`` says so, which is what to do about it
            keep = not series_changes.schedule_changes(row, values) or await series_changes.has_begun(
                connection, series_id, now
            )
            try:
                new = _checked(values, visit, allow_past=keep)
                edited = await series_changes.edit(connection, service.settings, series_id, new, now=now)
            except (InvalidSeries, series_changes.SeriesChangeError) as error:
                failed = error
            else:
                failed = None
                if edited.changed:
                    await audit.record(
                        connection, visit.session.coordinator, "series.edit",
                        f"series {series_id}: {', '.join(edited.changed)} changed; {edited.told} told, "
                        f"{edited.offered} seats offered", now,
                    )
        if failed is not None:
            return _form(request, visit, values, failed, series=row)
        return secured(RedirectResponse(f"{PREFIX}/series/{series_id}?done=edit", status_code=303))

    async def close(request: Request, visit: Visit) -> Response:
        series_id = request.path_params["id"]
        now = service.now()
        async with service.db.transaction() as connection:
            if await series_store.get(connection, series_id) is None:
                return refused(_("There is no such group."), status=404)
            if await series_changes.close(connection, series_id):
                await audit.record(connection, visit.session.coordinator, "series.close", f"series {series_id}", now)
        return secured(RedirectResponse(f"{PREFIX}/series/{series_id}?done=close", status_code=303))

    async def _meeting_page(request: Request, visit: Visit, meeting, row, error: str | None, values: dict) -> Response:
        local = meeting.starts_at.astimezone(ZoneInfo(zone))
        return page(
            request, "meeting.html", status=200 if error is None else 400, visit=visit, series=row, meeting=meeting,
            when=meeting_time(meeting.starts_at, zone, now=service.now()), error=error,
            values={"date": local.date().isoformat(), "time": local.strftime("%H:%M"), **values},
        )

    async def _changeable(connection, meeting_id: int):
        """The meeting and its series, when it is scheduled and still ahead."""
        meeting = await meetings.get(connection, meeting_id)
        if meeting is None or meeting.status != "scheduled" or meeting.starts_at <= service.now():
            return None, None
        return meeting, await series_store.get(connection, meeting.series_id)

    async def meeting_form(request: Request, visit: Visit) -> Response:
        async with service.db.transaction() as connection:
            meeting, row = await _changeable(connection, request.path_params["id"])
        if meeting is None:
            return refused(_("Only a scheduled meeting that is still ahead can be moved or cancelled."), status=404)
        return await _meeting_page(request, visit, meeting, row, None, {})

    async def _change_meeting(request: Request, visit: Visit, change) -> Response:
        """Run ``change(connection, meeting, day, now)`` → (action, detail) or an error sentence."""
        now = service.now()
        async with service.db.transaction() as connection:
            meeting, row = await _changeable(connection, request.path_params["id"])
            if meeting is None:
                return refused(_("Only a scheduled meeting that is still ahead can be moved or cancelled."), status=404)
            day = meeting.starts_at.astimezone(ZoneInfo(zone)).date()
            try:
                action, detail = await change(connection, meeting, day, now)
            except meeting_changes.MeetingChangeError as error:
                failed = str(error)
            else:
                failed = None
                await audit.record(connection, visit.session.coordinator, action, f"series {row.id}: {detail}", now)
        if failed is not None:
            return await _meeting_page(request, visit, meeting, row, failed, dict(visit.form))
        return secured(RedirectResponse(f"{PREFIX}/series/{row.id}?done={action.split('.')[1]}", status_code=303))

    async def cancel_meeting(request: Request, visit: Visit) -> Response:
        reason = visit.form.get("reason", "").strip()[:200] or None

        async def change(connection, meeting, day: date, now: datetime):
            told, added = await meeting_changes.cancel(
                connection, service.settings, meeting.series_id, day, reason,
                counts=visit.form.get("counts") == "1", now=now,
            )
            extra = f", one added on {added.astimezone(ZoneInfo(zone)).date().isoformat()}" if added else ""
            return "meeting.cancel", f"{day.isoformat()}{extra}; {told} told"

        return await _change_meeting(request, visit, change)

    async def move_meeting(request: Request, visit: Visit) -> Response:
        async def change(connection, meeting, day: date, now: datetime):
            try:
                to = local_instant(
                    date.fromisoformat(visit.form.get("date", "").strip()),
                    time.fromisoformat(visit.form.get("time", "").strip()).replace(second=0, microsecond=0),
                    zone,
                )
            except ValueError:
                raise meeting_changes.MeetingChangeError(
                    _("Give the new date and time, like 2026-12-11 and 19:30.")
                ) from None
            told = await meeting_changes.move(connection, service.settings, meeting.series_id, day, to, now=now)
            return "meeting.move", f"{day.isoformat()} to {to.isoformat()}; {told} told"

        return await _change_meeting(request, visit, change)

    return {
        "one": one, "printable": printable, "form": form, "create": create, "edit_form": edit_form, "edit": edit,
        "close": close, "meeting_form": meeting_form, "cancel_meeting": cancel_meeting, "move_meeting": move_meeting,
    }
