"""Who may see a console page: a valid session cookie of a man who is a coordinator *now*
(checked on every request, so removing him ends his session at once), and for every form a
matching CSRF token. Anything else is refused with a plain 403 page, before any change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from bot.app.service import Service
from bot.common.audio import MAX_UPLOAD_BYTES
from bot.console import sessions
from bot.console.security import refused
from bot.store import coordinators, participants
from dialogs.i18n import _, fill, use_locale
from dialogs.types import LANGUAGES

FALLBACK_LANGUAGE = "nl"


@dataclass(frozen=True)
class Visit:
    """A coordinator's request, with his session, his language and the form (for a POST)."""

    session: sessions.Session
    language: str
    csrf: str
    form: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded files, by field name (voice notes)


Handler = Callable[[Request, Visit], Awaitable[Response]]


def secret_of(service: Service) -> str:
    secret = service.settings.secret_key
    if not secret:
        raise RuntimeError("the web console needs MEEDOEN_SECRET_KEY")
    return secret


async def language_of(connection: AsyncConnection, channel: str, address: str) -> str:
    """His chat's language when he is also a participant, else Dutch."""
    language = await participants.language_of(connection, channel, address)
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


MAX_FORM = 64 * 1024
MAX_FILES = 4  # a voice note per language
MAX_UPLOAD = MAX_FILES * MAX_UPLOAD_BYTES + MAX_FORM


async def read_form(request: Request) -> dict[str, str]:
    """A POSTed form (application/x-www-form-urlencoded, the only kind the pages send);
    empty when it is anything else or too big. Read here rather than with Starlette's
    ``request.form()``, which needs python-multipart for a few short fields."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (UnicodeDecodeError, ValueError):
        return {}


async def read_upload(request: Request) -> tuple[dict[str, str], dict[str, bytes]] | None:
    """A multipart/form-data POST (the broadcast form with its voice notes): (fields, files,
    the empty file inputs left out); None when it is not multipart, too big or malformed."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip() != "multipart/form-data":
        return None
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        return None
    body = await request.body()
    if len(body) > MAX_UPLOAD:
        return None
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or len(fields) + len(files) > 200:
            continue
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            if data and len(files) < MAX_FILES:
                files[name] = data
        else:
            try:
                fields[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                return None
    return fields, files


def guarded(service: Service, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        secret = secret_of(service)
        session = sessions.read(secret, request.cookies.get(sessions.COOKIE), service.now())
        if session is None:
            with use_locale(FALLBACK_LANGUAGE):
                return refused(_("This page needs a login. Send /console in your chat for a new link."))
        async with service.db.transaction() as connection:
            still = await coordinators.is_coordinator(connection, session.channel, session.address)
            language = await language_of(connection, session.channel, session.address)
        if not still:
            with use_locale(language):
                return refused(_("You are no longer a coordinator, so this page is closed to you."))
        form: dict[str, str] = {}
        files: dict[str, bytes] = {}
        if request.method == "POST":
            upload = await read_upload(request)
            if upload is None and request.headers.get("content-type", "").startswith("multipart/"):
                with use_locale(language):
                    return refused(fill(
                        _("The sound files are too large. A voice note may be at most %(megabytes)s MB."),
                        megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
                    ))
            form, files = upload if upload is not None else (await read_form(request), {})
            if not sessions.csrf_ok(secret, session, form.get("csrf")):
                with use_locale(language):
                    return refused(_("This form has expired. Please open the page again and retry."))
        visit = Visit(session, language, sessions.csrf_token(secret, session), form, files)
        with use_locale(language):
            return await handler(request, visit)

    return endpoint
