"""Ticking who was there for a meeting that has begun: the store function the chat's
/attendance uses (``bot.domain.invites.mark_attendance``, which also counts invite sources), one row per man with a seat."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.app.service import Service
from bot.console.access import Visit
from bot.console.security import refused, secured
from bot.console.templating import page
from bot.domain import invites
from bot.domain.console_link import PREFIX
from bot.store import audit, meetings
from bot.store import series as series_store
from dialogs.formatting import meeting_time
from dialogs.i18n import _


def attendance_pages(service: Service):
    async def _meeting(connection, meeting_id: int):
        meeting = await meetings.get(connection, meeting_id)
        if meeting is None or meeting.status != "scheduled" or meeting.starts_at > service.now():
            return None
        return meeting

    async def show(request: Request, visit: Visit) -> Response:
        async with service.db.transaction() as connection:
            meeting = await _meeting(connection, request.path_params["id"])
            if meeting is None:
                return refused(_("Attendance can only be taken for a meeting that has begun."), status=404)
            row = await series_store.get(connection, meeting.series_id)
            lines = await meetings.lines(connection, meeting)
        return page(
            request, "attendance.html", visit=visit, series=row, meeting=meeting, lines=lines,
            when=meeting_time(meeting.starts_at, service.settings.timezone, now=service.now()),
            saved=request.query_params.get("saved") == "1",
        )

    async def save(request: Request, visit: Visit) -> Response:
        now = service.now()
        present = {key[2:] for key in visit.form if key.startswith("p:")}
        async with service.db.transaction() as connection:
            meeting = await _meeting(connection, request.path_params["id"])
            if meeting is None:
                return refused(_("Attendance can only be taken for a meeting that has begun."), status=404)
            lines = await meetings.lines(connection, meeting)
            for line in lines:
                await invites.mark_attendance(
                    connection, service.settings.secret_key.encode(), line.participant_id, meeting.id,
                    str(line.participant_id) in present, now,
                )
            await audit.record(
                connection, visit.session.coordinator, "attendance",
                f"meeting {meeting.id}: {len([line for line in lines if str(line.participant_id) in present])} "
                f"of {len(lines)} present", now,
            )
        return secured(RedirectResponse(f"{PREFIX}/meetings/{meeting.id}/attendance?saved=1", status_code=303))

    return show, save
