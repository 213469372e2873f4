"""The WhatsApp channel, through Twilio's Messages API.

Inbound. ``POST /whatsapp`` (Twilio's incoming-message webhook): the ``X-Twilio-Signature``
is checked with twilio's ``RequestValidator`` over ``MEEDOEN_PUBLIC_URL + "/whatsapp"`` and the
form fields; a bad or missing one gets 403 and nothing is stored. A signed message is committed
to ``bot.store.inbound`` first and only then answered with empty TwiML (Twilio does not send
again what got a 200); the work happens after, in a task (messages of one man in arrival order,
different men concurrently), which deletes the stored form in the transaction that handles it;
at start, what is still stored is handled first. The answers go out through the outbox and the
REST API. The ``MessageSid`` is the engine's update id, so a message Twilio delivers twice is
handled once.
A typed answer is matched against the numbered choices he was shown last
(``bot.channels.numbered``, stored before the request that shows them, so even a "2" typed the
instant the list appears means what he saw), so "2" after a reminder answers the reminder,
exactly as the button would on Telegram.

Outbound. ``deliver`` follows WhatsApp's 24-hour rule::

    he wrote less than 24 h ago ──▶ free-form text (numbered choices, or quick-reply buttons)
    otherwise ──▶ an approved template for this kind and language, if one is configured
              └─▶ otherwise (Somali, or no template fits): the opener template ("Show message")
                  once a day, and the message is HELD; when he answers, it is released and
                  goes out free-form in the window he just opened.

The window is counted with a margin (``WINDOW_MARGIN``) so a message never races its end. If
WhatsApp still answers 63016 (window closed), at once or in a status callback, the message goes
again by the template path.

Status callbacks. ``POST /whatsapp/status`` (signed the same way): delivered and read update the
outbox row; failed and undelivered mark it failed, except that 21610 and 63014 stop him (as
/stop does), 63016 re-routes the message, and 63018 / 429 pause the channel and retry it.

Voice (issue 19). A voice note he sends becomes a ``VoiceNote``; its ``MediaUrl0`` is fetched
(with the account's credentials, as Twilio requires) only if the engine asks, for a coordinator
who was asked for one, and is left out of what ``bot.store.inbound`` keeps. A clip goes out as
a media message whose ``MediaUrl`` is ``/whatsapp/media/<token>.ogg``: a random token, valid for
``MEDIA_KEEP``, that serves the clip from the database as ``audio/ogg``.

Logs carry outbox ids, message SIDs and error codes; never texts, numbers or tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import aiohttp
import httpx
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import DeliveryError, FetchVoice, Handler, Incoming, Limits, Outgoing
from bot.channels.numbered import NumberedChoices
from bot.channels.whatsapp import errors, render, store
from bot.channels.whatsapp import settings as whatsapp_settings
from bot.channels.whatsapp.templates import MAX_BUTTONS, load_templates
from bot.common.audio import MAX_UPLOAD_BYTES, MIME
from bot.common.clock import utcnow
from bot.config import Settings
from bot.delivery import outbox
from bot.store import inbound as inbound_store
from bot.store import voice as voice_store
from bot.store.database import Database
from dialogs.types import Event

log = logging.getLogger(__name__)

NAME = "whatsapp"
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=15)
HTTP_TIMEOUT = 15.0  # seconds for one request to Twilio
MAX_WEBHOOK_BYTES = 64 * 1024  # Twilio's webhook forms are a few kilobytes
MEDIA_KEEP = timedelta(hours=1)  # how long an image, file or voice clip stays fetchable for Twilio
COMMON_BULK_KINDS = ("reminder", "broadcast", "offer", "followup")
TEMPLATE_LANGUAGES = ("nl", "ar", "en")  # the languages Meta approves templates in, as far as we know
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class WhatsAppChannel:
    name = NAME

    def __init__(
        self,
        settings: Settings,
        db: Database,
        handle: Handler,
        *,
        now: Callable[[], datetime] = utcnow,
        on_queued: Callable[[str], None] = lambda channel: None,
    ) -> None:
        whatsapp_settings.check(settings)
        self.settings = settings
        self.db = db
        self.now = now
        self.limits = Limits(
            rate=settings.whatsapp_rate,
            chat_interval=settings.whatsapp_chat_interval,
            text=render.BODY_LIMIT,
            buttons=MAX_BUTTONS,  # only where quick replies are configured (README "WhatsApp")
            button_label=render.BUTTON_TITLE_LIMIT,
        )
        self.choices = NumberedChoices(db, NAME, now)
        self.templates = load_templates(settings.whatsapp_templates)
        self.sender = render.to_twilio(settings.twilio_whatsapp_from.removeprefix(render.PREFIX))
        self.status_url = f"{settings.public_url}/whatsapp/status"
        self._handle = handle
        self._on_queued = on_queued
        self._keeper = inbound_store.Keeper(db, NAME, now)
        self._validator = RequestValidator(settings.twilio_auth_token)
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None
        self._tasks: set[asyncio.Task] = set()
        # one man's messages in arrival order in this process (across instances: the engine's
        # lock per chat and ``_in_order``)
        self._inbound_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # address → when WhatsApp said 63016; a signed-up man's row says it too, for every
        # instance (``store.close_window``): this is for someone not signed up (yet)
        self._closed: dict[str, datetime] = {}
        self._paused_until = 0.0  # time.monotonic() before which nothing is sent

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await store.forget_old(self.db, self.now())
        await self._resume()
        missing = [
            f"{kind}/{language}"
            for kind in COMMON_BULK_KINDS
            for language in TEMPLATE_LANGUAGES
            if self.templates.for_message(kind, language) is None
        ]
        log.info(
            "whatsapp: ready; %d approved templates besides the opener%s",
            len(self.templates.by_kind),
            f"; outside the 24 hours these go by the opener: {', '.join(missing)}" if missing else "",
        )

    async def stop(self) -> None:
        await self.idle(timeout=10.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = self._client = None

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/whatsapp", self.webhook, methods=["POST"]),
            Route("/whatsapp/status", self.status_callback, methods=["POST"]),
            Route("/whatsapp/media/{token}", self.media, methods=["GET"]),
        ]

    async def sync_coordinator_menus(self, wanted: dict[str, tuple[str | None, str]]) -> None:
        """WhatsApp has no command menus."""

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until every inbound message received so far has been handled."""
        while self._tasks:
            done, _ = await asyncio.wait(set(self._tasks), timeout=timeout)
            if not done:
                return

    def _twilio(self) -> Client:
        """The REST client, made on first use (inside the running loop, as aiohttp wants)."""
        if self._client is None:
            quiet = logging.getLogger(f"{__name__}.http")
            quiet.setLevel(logging.WARNING)  # twilio logs every request at INFO
            self._http = AsyncTwilioHttpClient(timeout=HTTP_TIMEOUT, logger=quiet)
            self._client = Client(
                self.settings.twilio_account_sid, self.settings.twilio_auth_token, http_client=self._http
            )
            self._client.api.base_url = self.settings.twilio_api_base_url.rstrip("/")
        return self._client

    # --- inbound ------------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """``POST /whatsapp``: check the signature, store the message, answer, handle it after."""
        form = await self._signed_form(request, "/whatsapp")
        if form is None:
            return Response(status_code=403)
        try:
            message = render.inbound(form)
        except Exception as error:  # noqa: BLE001 - a signed but malformed form is still no message
            log.warning("whatsapp: a signed webhook with malformed fields (%s); answered 400", type(error).__name__)
            return Response(status_code=400)
        if message is None:
            log.info("whatsapp: a signed webhook without a sender or message id; ignored")
            return Response(EMPTY_TWIML, media_type="text/xml")
        payload = json.dumps(render.kept_fields(list(form.multi_items())), ensure_ascii=False)
        try:
            new = await self._keeper.keep([inbound_store.Stored(message.sid, message.address, payload)])
        except Exception as error:  # not stored: Twilio must send it again
            log.error("whatsapp: %s could not be stored (%s); answered 503", message.sid, type(error).__name__)
            return Response(status_code=503)
        if new:
            self._spawn(message)
        else:
            log.info("whatsapp: %s received before; skipped", message.sid)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def _resume(self) -> None:
        """Handle what was stored and not handled before a stop, in arrival order."""
        async with self.db.transaction() as connection:
            waiting = await inbound_store.unhandled(connection, NAME)
        for stored in waiting:
            message = render.inbound(FormData(json.loads(stored.payload)))
            if message is not None:
                self._spawn(message)
        if waiting:
            log.info("whatsapp: %d message(s) stored before a stop and not handled; handling them now", len(waiting))

    async def status_callback(self, request: Request) -> Response:
        """``POST /whatsapp/status``: a sent message was delivered, read, or failed."""
        form = await self._signed_form(request, "/whatsapp/status")
        if form is None:
            return Response(status_code=403)
        sid = form.get("MessageSid") or ""
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        code = errors.as_int(form.get("ErrorCode"))
        address = render.address_of(form.get("To", ""))
        if not sid or not status:
            return Response(status_code=200)
        failed = status in ("failed", "undelivered")
        pause = errors.pause_for(code) if failed else None
        now = self.now()
        if failed and code in errors.WINDOW and address is not None:
            self._closed[address] = now  # before the message is back in line
        outcome = await store.apply_status(
            self.db,
            sid=sid,
            status=status,
            error=str(code) if code else None,
            address=address,
            blocked=failed and code in errors.BLOCKED,
            window_closed=failed and code in errors.WINDOW,
            retry_after=timedelta(seconds=pause) if pause is not None else None,
            now=now,
        )
        if pause is not None:
            self.slow_down(pause)
        if failed or outcome.stopped:
            log.info(
                "whatsapp: %s %s %s%s%s", sid, status, code or "-",
                "; re-queued" if outcome.requeued else "", "; participant stopped" if outcome.stopped else "",
            )
        if outcome.requeued:
            self._on_queued(NAME)
        return Response(status_code=200)

    async def media(self, request: Request) -> Response:
        """``GET /whatsapp/media/{token}.ext``: an image (a coordinator's report), a file (a
        calendar) or a voice clip, for Twilio to fetch."""
        token, _dot, _extension = request.path_params["token"].partition(".")
        found = await store.media(self.db, token, self.now())  # kept in the database: any instance serves it
        if found is None:  # unknown, expired, or a voice clip replaced or removed since
            return Response(status_code=404)
        # Twilio checks the type; the name is what WhatsApp shows under the file
        return Response(
            found.content, media_type=found.media_type,
            headers={"Content-Disposition": f'inline; filename="{found.name}"'},
        )

    async def _signed_form(self, request: Request, path: str) -> FormData | None:
        """The form fields, if Twilio signed them for ``MEEDOEN_PUBLIC_URL + path`` (the URL
        configured at Twilio, whatever a proxy in between did to it); ``None`` otherwise."""
        signature = request.headers.get("X-Twilio-Signature", "")
        declared = request.headers.get("content-length", "0")
        if not signature or (declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES):
            return None
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return None
        try:
            form = FormData(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return None
        url = f"{self.settings.public_url}{path}"
        if request.url.query:
            url += f"?{request.url.query}"
        return form if self._validator.validate(url, form, signature) else None

    def _spawn(self, message: render.Inbound) -> None:
        task = asyncio.create_task(self._receive(message), name=f"whatsapp-{message.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receive(self, message: render.Inbound) -> None:
        lock = self._inbound_locks[message.address]
        try:
            async with lock:
                for each in await self._in_order(message):
                    try:
                        await self._receive_one(each)
                    except Exception:
                        log.exception("whatsapp: message %s could not be handled", each.sid)
        except Exception:
            log.exception("whatsapp: message %s could not be handled", message.sid)
        finally:
            if not lock.locked() and not lock._waiters:  # noqa: SLF001 - drop idle locks
                self._inbound_locks.pop(message.address, None)

    async def _in_order(self, message: render.Inbound) -> list[render.Inbound]:
        """What to handle for ``message``: itself, after (on a database shared with other
        instances) his messages stored before it and not handled yet, oldest first: kept by
        another instance a moment earlier, or by one that died (``bot.store.inbound.waiting``).
        Nothing when another instance has handled it already, with those before it."""
        if not self.db.shared:
            return [message]
        async with self.db.transaction() as connection:
            waiting = await inbound_store.waiting(connection, NAME, message.address)
        ids = [stored.update_id for stored in waiting]
        if message.sid not in ids:
            return []
        earlier: list[render.Inbound] = []
        for stored in waiting[: ids.index(message.sid)]:
            try:
                found = render.inbound(FormData(json.loads(stored.payload)))
            except Exception as error:  # noqa: BLE001 - whatever was stored, it is no message
                log.warning("whatsapp: stored message %s cannot be read (%s); skipped", stored.update_id, type(error).__name__)
                continue
            if found is not None:
                earlier.append(found)
        return [*earlier, message]

    async def _receive_one(self, message: render.Inbound) -> None:
        address, now = message.address, self.now()
        self._closed.pop(address, None)
        if message.template_button or message.event is None:
            # A tap on the opener (or a reaction): the window is open; what he wants is what
            # was held for him. Only if nothing was held does the dialog hear the tap.
            released = await store.inbound(
                self.db, address, now, first_sid=message.sid, stored=message.sid,
                passing_on=message.event is not None,
            )
            if released:
                log.info("whatsapp: %s opened the window; %d held message(s) released", message.sid, released)
                self._on_queued(NAME)
            if released is None or released or message.event is None:
                return
            await self._handle(self._incoming(address, message.event, None, stored=message.sid))
            return
        if await store.seen(self.db, message.sid):
            log.info("whatsapp: %s seen before; skipped", message.sid)
            async with self.db.transaction() as connection:
                await inbound_store.forget(connection, NAME, message.sid)
            return
        event = await self.choices.read(address, message.event)
        await self._handle(self._incoming(address, event, message.sid, stored=message.sid, media_url=message.media_url))
        released = await store.inbound(self.db, address, self.now())
        if released:
            log.info("whatsapp: %s opened the window; %d held message(s) released", message.sid, released)
            self._on_queued(NAME)

    def _incoming(
        self, address: str, event: Event, sid: str | None, *, stored: str | None = None, media_url: str | None = None
    ) -> Incoming:
        return Incoming(
            channel=NAME, address=address, event=event, update_id=sid,
            language_hint=render.language_hint(address), keeps_window=True, stored=stored,
            fetch_voice=self._voice_download(media_url) if media_url else None,
        )

    def _voice_download(self, url: str) -> FetchVoice:
        """His voice note's download from Twilio, for the engine to call if it needs it."""

        async def fetch() -> tuple[bytes, str | None]:
            auth = (self.settings.twilio_account_sid, self.settings.twilio_auth_token)
            async with httpx.AsyncClient(auth=auth, follow_redirects=True, timeout=HTTP_TIMEOUT) as client:
                async with client.stream("GET", url) as response:
                    response.raise_for_status()
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > MAX_UPLOAD_BYTES:
                            break  # bot.common.audio says "too big"
            return bytes(data), None

        return fetch

    # --- outbound -----------------------------------------------------------------------------

    def slow_down(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the outbox's pacer is paused by the next delivery)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def paused_for(self) -> float:
        return max(self._paused_until - time.monotonic(), 0.0)

    async def deliver(self, address: str, message: Outgoing) -> None:
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            raise DeliveryError("rate_limited", "paused", retry_after=wait)
        async with self.choices.showing(address, message):  # stored before he can see it
            await self._deliver(address, message)

    async def _deliver(self, address: str, message: Outgoing) -> None:
        now = self.now()
        who = await store.recipient(self.db, address)
        if self._window_open(address, who, now):
            try:
                await self._send_session(address, message)
                return
            except errors.WindowClosed:
                self._closed[address] = now
                await store.close_window(self.db, address)
                log.info("whatsapp: outbox %s: 63016, window closed; re-routed", message.outbox_id)
        try:
            await self._send_outside_window(address, message, who.language if who else "nl", now)
        except errors.WindowClosed:  # a template refused for the window: not ours to fix
            raise DeliveryError("rejected", "63016") from None

    def _window_open(self, address: str, who: store.Recipient | None, now: datetime) -> bool:
        closed = self._closed.get(address)
        if who is None:  # not signed up: only ever answered while he is chatting
            return closed is None
        last = who.last_inbound_at
        if last is None or (closed is not None and closed >= last):
            return False
        return now - last < WINDOW - WINDOW_MARGIN

    async def _send_session(self, address: str, message: Outgoing) -> None:
        if message.voice is not None:
            async with self.db.transaction() as connection:
                if await voice_store.about(connection, message.voice) is None:
                    raise DeliveryError("rejected", "voice erased")
            await self._create(
                address, message, path="session", payload=outbox.encode(message),
                media_url=[await self._publish(message.voice, MIME, "voice.ogg")],
            )
            return
        if message.image is not None:
            await self._create(
                address, message, path="session", payload=None,
                media_url=[await self._publish(message.image, "image/png", "report.png")],
            )
            if not message.text.strip():
                return
        if message.document is not None:  # the file, then its caption as an ordinary message
            document = message.document
            await self._create(
                address, message, path="session", payload=None,
                media_url=[await self._publish(document.content, document.mime_type, document.name)],
            )
            if not message.text.strip():
                return
        buttons = render.quick_reply(message, self.templates)
        if buttons is not None:
            sid, variables = buttons
            await self._create(
                address, message, path="session", payload=outbox.encode(_without_image(message)),
                content_sid=sid, content_variables=json.dumps(variables, ensure_ascii=False),
            )
        else:
            parts = render.bodies(message)
            for body in parts:
                payload = _without_image(message) if len(parts) == 1 else Outgoing(body)
                await self._create(address, message, path="session", payload=outbox.encode(payload), body=body)

    async def _send_outside_window(self, address: str, message: Outgoing, language: str, now: datetime) -> None:
        template = self.templates.for_message(message.kind, language)
        if template is not None and message.image is None and message.document is None and message.voice is None:
            variables = template.fill(text=render.template_text(message), organisation=self.settings.organisation)
            if variables is not None:
                await self._create(
                    address, message, path="template", payload=outbox.encode(message),
                    content_sid=template.content_sid, content_variables=json.dumps(variables, ensure_ascii=False),
                )
                return
        placeholder = await store.claim_opener(self.db, address, message.outbox_id, message.kind, now)
        if placeholder is not None:
            opener = self.templates.opener
            sid = None
            try:
                sid = await self._create(
                    address, message, path="opener", payload=None, placeholder=placeholder,
                    content_sid=opener.content_sid,
                    content_variables=json.dumps(
                        opener.fill(text="", organisation=self.settings.organisation), ensure_ascii=False
                    ),
                )
            finally:
                if sid is None:  # not sent: the next held message may ask again
                    await store.opener_sent(self.db, placeholder, None)
        raise DeliveryError("held", "window")

    async def _create(
        self, address: str, message: Outgoing, *, path: str, payload: str | None, placeholder: str | None = None,
        **fields,
    ) -> str:
        """One ``Messages.json`` request; the SID is recorded for the status callbacks (for an
        opener, on the ``placeholder`` row that claimed it, see ``store.claim_opener``)."""
        try:
            sent = await self._twilio().messages.create_async(
                to=render.to_twilio(address), from_=self.sender, status_callback=self.status_url, **fields
            )
        except TwilioException as error:
            status, code = errors.as_int(getattr(error, "status", None)), errors.as_int(getattr(error, "code", None))
            failure = errors.delivery_error(status, code)
            if not isinstance(failure, errors.WindowClosed):
                log.info("whatsapp: outbox %s (%s): HTTP %s, error %s", message.outbox_id, path, status, code)
            raise failure from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError("transient", type(error).__name__) from None
        if placeholder is not None:
            await store.opener_sent(self.db, placeholder, sent.sid, str(sent.status or "queued"))
            return sent.sid
        await store.record_sent(
            self.db, sid=sent.sid, outbox_id=message.outbox_id, path=path, kind=message.kind,
            payload=payload, status=str(sent.status or "queued"), now=self.now(),
        )
        log.debug("whatsapp: outbox %s → %s (%s)", message.outbox_id, sent.sid, path)
        return sent.sid


    async def _publish(self, content: bytes | int, mime_type: str, name: str) -> str:
        """A short-lived, unguessable URL for an image or a file (its bytes) or a voice clip
        (its id, read from the database when Twilio fetches it); WhatsApp takes media by URL
        only. The URL ends in the file's extension, which WhatsApp shows and uses. Kept in the
        database, so that the instance Twilio's request reaches serves it."""
        now = self.now()
        token = await store.publish(self.db, content, mime_type, name, now + MEDIA_KEEP, now)
        extension = name.rpartition(".")[2] if "." in name else "bin"
        return f"{self.settings.public_url}/whatsapp/media/{token}.{extension}"


def _without_image(message: Outgoing) -> Outgoing:
    return Outgoing(message.text, message.options, message.question)
