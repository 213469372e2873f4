"""The broadcast pages: audiences with counts, the texts, a preview per language exactly as a
man sees it (with its voice note, if one was uploaded: ``bot.common.audio`` checks or converts
it, and it is played back here), send now or later, live progress (server-sent events, with a page that refreshes
itself where there is no JavaScript), the history and cancelling. The same functions as
``meedoen broadcast`` and the chat's /broadcast: ``bot.domain.broadcasts`` and ``bot.store.audiences``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from bot.app.service import Service
from bot.common import audio as voice
from bot.console.access import Visit
from bot.console.security import refused, secured
from bot.console.templating import page
from bot.domain import broadcasts
from bot.domain.console_link import PREFIX
from bot.store import audiences, audit
from bot.store import series as series_store
from bot.store import voice as voice_store
from dialogs import notices
from dialogs.coordinator import voice_problem
from dialogs.formatting import LANGUAGE_NAMES
from dialogs.i18n import RTL_LANGUAGES, _, fill
from dialogs.types import LANGUAGES

EVERY = 0.5  # seconds between looks at the tally in the event stream


async def _audiences(service: Service, connection) -> list[dict[str, object]]:
    """Every audience a coordinator can choose, with how many active men are in it now."""
    now, areas = service.now(), service.settings.areas
    choices: list[tuple[str, str]] = [("all", _("Everyone"))]
    choices += [(f"language:{code}", fill(_("Language: %(language)s"), language=LANGUAGE_NAMES[code])) for code in LANGUAGES]
    choices += [(f"area:{n}", fill(_("Area: %(area)s"), area=area)) for n, area in enumerate(areas)]
    for row in await series_store.overview(connection, now):
        choices.append((f"series:{row.id}", fill(_("Signed up for %(series)s"), series=row.name)))
        choices.append((f"waitlist:{row.id}", fill(_("Waiting list of %(series)s"), series=row.name)))
    choices.append(("noshow", _("Signed up but never came")))
    sizes = await audiences.sizes(connection, [key for key, _label in choices], areas, now)
    return [{"key": key, "label": label, "count": sizes[key]} for key, label in choices]


def _chosen(form: dict[str, str]) -> tuple[str, ...]:
    return tuple(key[2:] for key in form if key.startswith("a:"))


def _texts(form: dict[str, str]) -> dict[str, str]:
    return {code: form.get(f"text_{code}", "").strip() for code in LANGUAGES}


def _voice_ids(form: dict[str, str]) -> dict[str, int]:
    """Language → the voice clip uploaded for it (carried from the preview to the send)."""
    return {code: int(form[f"voice_{code}"]) for code in LANGUAGES if form.get(f"voice_{code}", "").isdecimal()}


def _previews(texts: dict[str, str], invite: int | None, voices: dict[str, tuple[int, int]]) -> list[dict[str, object]]:
    """Each language's copy as ``broadcasts.create`` renders it for the men, with its voice
    note ((clip id, seconds)) when its text was written too."""
    result = []
    for code in LANGUAGES:
        reply = notices.broadcast(code, {k: v for k, v in texts.items() if v}, invite)
        result.append({
            "code": code, "name": LANGUAGE_NAMES[code], "text": reply.text,
            "buttons": [option.label for option in reply.options],
            "dir": "rtl" if code in RTL_LANGUAGES else "ltr",
            "voice": voices.get(code) if texts.get(code) else None,
        })
    return result


def _status(stored: str, tally: dict[str, int]) -> str:
    """queued | done | cancelled: a queued broadcast with nothing left waiting is done, even
    before the service's next tick writes that down (``broadcasts.ProgressReporter``)."""
    return "done" if stored == "queued" and tally["waiting"] == 0 else stored


def broadcast_pages(service: Service):
    zone = ZoneInfo(service.settings.timezone)

    def _local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    async def _history(connection) -> list[dict[str, object]]:
        lines = await broadcasts.overview(connection)
        result = []
        for line in reversed(lines):
            tally = broadcasts.tally(line.counts)
            result.append({
                "id": line.id, "when": _local(line.created_at), "audience": ", ".join(line.audience),
                "status": _status(line.status, tally), "tally": tally, "cancelled": line.counts.get("cancelled", 0),
            })
        return result

    async def _form(request: Request, visit: Visit, values: dict[str, str], error: str | None,
                    previews: list[dict[str, object]] | None = None, total: int | None = None) -> Response:
        async with service.db.transaction() as connection:
            choices = await _audiences(service, connection)
            groups = await series_store.overview(connection, service.now())
            history = await _history(connection)
        return page(
            request, "broadcast.html", status=400 if error else 200, visit=visit, choices=choices,
            groups=groups, history=history, values=values, chosen=set(_chosen(values)), error=error,
            previews=previews, total=total, languages=LANGUAGE_NAMES,
        )

    def _send_at(values: dict[str, str]) -> tuple[datetime | None, str | None]:
        raw = values.get("send_at", "").strip()
        if not raw:
            return None, None
        try:
            moment = datetime.fromisoformat(raw).replace(tzinfo=zone)
        except ValueError:
            return None, _("Write the time as on the form, for example 2026-12-01 19:00.")
        if moment <= service.now():
            return None, _("That time has passed. Choose a later time, or leave it empty to send now.")
        return moment, None

    def _invite(values: dict[str, str]) -> int | None:
        raw = values.get("invite", "")
        return int(raw) if raw.isdecimal() else None

    async def show(request: Request, visit: Visit) -> Response:
        return await _form(request, visit, {}, None)

    async def _take_voices(visit: Visit, values: dict[str, str]) -> str | None:
        """Store each uploaded voice note (checked, converted if need be) and put its clip id
        in the form; one sentence when one cannot be used."""
        for code in LANGUAGES:
            data = visit.files.get(f"voice_{code}")
            if not data:
                continue
            try:
                clip = await asyncio.to_thread(voice.prepare, data)
            except voice.VoiceProblem as problem:
                return f"{LANGUAGE_NAMES[code]}: {voice_problem(problem.kind)}"
            async with service.db.transaction() as connection:
                values[f"voice_{code}"] = str(await voice_store.add(connection, clip, service.now()))
        return None

    async def _voices(values: dict[str, str]) -> dict[str, tuple[int, int]]:
        """The form's voice notes that may still be sent: language → (clip id, seconds)."""
        wanted = _voice_ids(values)
        async with service.db.transaction() as connection:
            free = await voice_store.unused(connection, list(wanted.values()))
        return {code: (clip, free[clip]) for code, clip in wanted.items() if clip in free}

    async def listen(request: Request, visit: Visit) -> Response:
        """A voice note of a broadcast being written, played back in the preview."""
        async with service.db.transaction() as connection:
            audio = await voice_store.audio(connection, request.path_params["id"])
        if audio is None:
            return refused(_("That voice note is no longer there."), status=404)
        return secured(Response(audio, media_type=voice.MIME))

    async def check(request: Request, visit: Visit, values: dict[str, str]) -> str | None:
        """One sentence when the form cannot be sent as it is."""
        if not _chosen(values):
            return _("Choose at least one group of people.")
        if not _texts(values)["nl"]:
            return _("Write the Dutch text; the other languages are optional.")
        _moment, error = _send_at(values)
        if error:
            return error
        async with service.db.transaction() as connection:
            try:
                total = await audiences.count(connection, _chosen(values), service.settings.areas, service.now())
            except audiences.UnknownAudience:
                return _("Choose at least one group of people.")
            if _invite(values) is not None and await series_store.get(connection, _invite(values)) is None:
                return _("There is no such group.")
        if total == 0:
            return _("Nobody is in the chosen groups, so nothing would be sent.")
        return None

    async def preview(request: Request, visit: Visit) -> Response:
        values = dict(visit.form)
        error = await _take_voices(visit, values) or await check(request, visit, values)
        if error:
            return await _form(request, visit, values, error)
        async with service.db.transaction() as connection:
            total = await audiences.count(connection, _chosen(values), service.settings.areas, service.now())
        previews = _previews(_texts(values), _invite(values), await _voices(values))
        return await _form(request, visit, values, None, previews, total)

    async def send(request: Request, visit: Visit) -> Response:
        values = dict(visit.form)
        error = await check(request, visit, values)
        if error:
            return await _form(request, visit, values, error)
        send_at, _error = _send_at(values)
        now = service.now()
        voices = {code: clip for code, (clip, _seconds) in (await _voices(values)).items()}
        async with service.db.transaction() as connection:
            try:
                broadcast_id, recipients = await broadcasts.create(
                    connection, created_by=visit.session.coordinator, audience_keys=_chosen(values),
                    texts=_texts(values), invite_series_id=_invite(values), areas=service.settings.areas,
                    now=now, send_at=send_at, voices=voices,
                )
            except broadcasts.BroadcastError:
                return await _form(request, visit, values, _("Choose at least one group of people."))
            await audit.record(
                connection, visit.session.coordinator, "broadcast",
                f"broadcast {broadcast_id} to {','.join(_chosen(values))}: {recipients} recipient(s)"
                + (f", from {send_at.isoformat()}" if send_at else ""), now,
            )
        service.wake_all()
        return secured(RedirectResponse(f"{PREFIX}/broadcasts/{broadcast_id}", status_code=303))

    async def _state(broadcast_id: int) -> dict[str, object] | None:
        async with service.db.transaction() as connection:
            lines = await broadcasts.overview(connection, broadcast_id)
            if not lines:
                return None
            recipients, tally = await broadcasts.status(connection, broadcast_id)
        cancelled = lines[0].counts.get("cancelled", 0)
        return {
            "id": broadcast_id, "recipients": recipients, "tally": tally, "cancelled": cancelled,
            "percent": 100 if not recipients else round(100 * (recipients - tally["waiting"]) / recipients),
            "finished": tally["waiting"] == 0, "status": _status(lines[0].status, tally),
            "audience": ", ".join(lines[0].audience), "when": _local(lines[0].created_at),
        }

    async def progress(request: Request, visit: Visit) -> Response:
        state = await _state(request.path_params["id"])
        if state is None:
            return refused(_("There is no such broadcast."), status=404)
        return page(request, "broadcast_progress.html", visit=visit, state=state,
                    cancelled_now=request.query_params.get("cancelled") == "1")

    async def events(request: Request, visit: Visit) -> Response:
        broadcast_id = request.path_params["id"]
        if await _state(broadcast_id) is None:
            return refused(_("There is no such broadcast."), status=404)

        async def stream() -> AsyncIterator[str]:
            last = None
            while True:
                state = await _state(broadcast_id)
                if state is None:
                    return
                if state != last:
                    yield f"event: progress\ndata: {json.dumps(state)}\n\n"
                    last = state
                if state["finished"]:
                    yield f"event: done\ndata: {json.dumps(state)}\n\n"
                    return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(EVERY)

        return secured(StreamingResponse(stream(), media_type="text/event-stream"))

    async def cancel(request: Request, visit: Visit) -> Response:
        broadcast_id = request.path_params["id"]
        now = service.now()
        async with service.db.transaction() as connection:
            outcome = await broadcasts.cancel(connection, broadcast_id, now)
            if outcome is None:
                return refused(_("There is no such broadcast."), status=404)
            await audit.record(
                connection, visit.session.coordinator, "broadcast cancel",
                f"broadcast {broadcast_id}: {outcome[0]} not yet sent cancelled, {outcome[1]} on their way", now,
            )
        return secured(RedirectResponse(f"{PREFIX}/broadcasts/{broadcast_id}?cancelled=1", status_code=303))

    return show, preview, send, progress, events, cancel, listen
