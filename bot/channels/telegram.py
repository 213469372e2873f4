"""The Telegram channel, on python-telegram-bot v22.

Inbound: long polling by default; with ``MEEDOEN_PUBLIC_URL`` set, a webhook served by our own
Starlette app (``POST /telegram``), whose ``X-Telegram-Bot-Api-Secret-Token`` must match
``TELEGRAM_WEBHOOK_SECRET``. Nothing is acknowledged before it is stored: a webhook is
answered 200, and a polled batch acknowledged by the next ``offset``, only once its updates
are committed to ``bot.store.inbound``; the engine deletes each in the transaction that
handles it, and at start whatever is still kept is handled first. Every update becomes an
``Incoming`` for the engine; updates of one chat are handled in arrival order, different
chats concurrently; with several instances on one PostgreSQL, his older stored updates first,
whichever instance kept them (``_in_order``, docs/scaling.md).

Outbound: ``deliver`` renders an ``Outgoing`` (text, and buttons as an inline keyboard whose
callback data is signed, see ``bot.channels.callback_data``) and maps Telegram's errors onto the
outbox's ``DeliveryError`` kinds.

Voice (issue 19). A voice note or audio file becomes a ``VoiceNote`` whose download (``getFile``)
the engine calls only for a coordinator who was asked for one; what is kept in
``bot.store.inbound`` has its file ids blanked, so a man's voice note is never reachable from
our database. A clip goes out by ``sendVoice``: uploaded once, then by the file id Telegram
gave it, stored with the clip.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.channels import callback_data
from bot.channels.base import DeliveryError, FetchVoice, Handler, Incoming, Limits, Outgoing, OutOfTurn
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.text import split_text
from bot.common.clock import utcnow
from bot.config import ConfigError, Settings
from bot.store import inbound
from bot.store import voice as voice_store
from bot.store.database import Database
from dialogs.menu import command_menu
from dialogs.types import LANGUAGES, Event, Text, Unsupported, VoiceNote

log = logging.getLogger(__name__)

NAME = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_BUTTONS = 100  # the Bot API's limit for one inline keyboard
CLEARED_MEMORY = 10_000  # messages whose buttons we took off, remembered against double taps
VOICE_KINDS = ("voice", "audio")
UNSUPPORTED_KINDS = (
    "sticker", "photo", "voice", "audio", "video", "video_note", "document",
    "animation", "location", "contact", "poll", "dice",
)
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds a long poll waits for updates
POLL_RETRY = (1.0, 30.0)  # seconds between failed polls: first, at most


TURNS_AT_ONCE = 8  # updates handled at once (see ``ChatOrderedProcessor``)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, strictly in order within one chat (a FIFO lock per chat), and
    at most ``turns`` at once. A turn holds a database connection from its first statement to
    its commit (on PostgreSQL one of ``POSTGRES_POOL``, leaving room for storing webhooks and
    for the outbox; SQLite has one writer anyway): more turns at once only time-slice the
    event loop and the database between them, and each takes longer (docs/benchmarks.md,
    inbound sign-ups). The others wait here, before their turn begins, in arrival order."""

    def __init__(self, max_concurrent_updates: int, turns: int = TURNS_AT_ONCE) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._turns = asyncio.Semaphore(turns)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else 0
        lock = self._locks[chat]
        try:
            async with lock, self._turns:  # his lock first: his next update holds no turn's place
                await coroutine
        finally:
            if not lock.locked() and not lock._waiters:  # noqa: SLF001 - drop idle locks
                self._locks.pop(chat, None)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class TelegramChannel:
    name = NAME

    def __init__(self, settings: Settings, db: Database, handle: Handler) -> None:
        self.settings = settings
        self.db = db
        self._keeper = inbound.Keeper(db, NAME, utcnow)
        self._poller: asyncio.Task | None = None
        self._poll_request: asyncio.Future | None = None
        self._closing = False
        self.limits = Limits(
            rate=settings.telegram_rate,
            chat_interval=settings.telegram_chat_interval,
            text=TEXT_LIMIT,
            buttons=MAX_BUTTONS,
        )
        self._handle = handle
        self._secret = settings.secret_key.encode()
        self._cleared: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._started = False
        # coordinator's or facilitator's chat → (the language his menu was set in, None: per
        # app language; his role)
        self._coordinator_menus: dict[str, tuple[str | None, str]] = {}
        self._menu_failures: set[str] = set()  # chats whose menu failed, logged once
        self._voice_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)  # clip → its first upload
        # Texts go out, and buttons are taken off, through ``do_api_request`` on purpose (see
        # ``_send_text``, ``_settle_button``); PTB would warn on each that its method exists.
        warnings.filterwarnings(
            "ignore", message=r"Please use 'Bot\.(sendMessage|editMessageReplyMarkup)'", category=PTBUserWarning
        )
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(_file_url(settings.telegram_api_base_url))
            .concurrent_updates(ChatOrderedProcessor(256))
            .request(AiohttpRequest(connection_pool_size=256))
            # a long poll waits up to its own timeout for updates; PTB adds that to the read
            .get_updates_request(AiohttpRequest(connection_pool_size=2))
            .updater(None)  # we poll ourselves (``_poll``): a batch is stored before it is acknowledged
        )
        self.application: Application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def username(self) -> str | None:
        """The bot's @username, from the getMe that ``start`` makes (for invite links)."""
        try:
            return self.application.bot.username
        except RuntimeError:  # not initialised yet
            return None

    async def start(self) -> None:
        """Start; a token Telegram refuses, or a Bot API out of reach, is one sentence."""
        try:
            await self._start()
        except InvalidToken:
            raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN; check the token with @BotFather.") from None
        except NetworkError as error:
            raise ConfigError(
                f"Could not reach the Telegram Bot API at {self.settings.telegram_api_base_url} "
                f"({type(error).__name__}); check TELEGRAM_API_BASE_URL and the network."
            ) from None

    async def _start(self) -> None:
        await self.application.initialize()
        await self._register_commands()
        await self._resume()
        if self.settings.webhooks:
            await self.application.bot.set_webhook(
                url=f"{self.settings.public_url}/telegram",
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.application.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        await self.application.start()
        self._started = True

    async def stop(self) -> None:
        self._started = False
        self._closing = True
        if self._poller is not None:
            if self._poll_request is not None:
                self._poll_request.cancel()  # the long poll; a batch being stored is finished
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def routes(self) -> list[BaseRoute]:
        """The webhook, when ``MEEDOEN_PUBLIC_URL`` turns webhooks on (else it polls)."""
        return [Route("/telegram", self.webhook, methods=["POST"])] if self.settings.webhooks else []

    async def _register_commands(self) -> None:
        for language in (None, *LANGUAGES):
            menu = command_menu(language or "en")
            await self.application.bot.set_my_commands(
                [BotCommand(name, description) for name, description in menu],
                language_code=language,
            )

    async def sync_coordinator_menus(self, wanted: dict[str, tuple[str | None, str]]) -> None:
        """Give each coordinator's or facilitator's chat (``wanted``: address → (his language,
        None when he has none yet; his role, see ``dialogs.menu.ROLES``)) a command menu with
        his own commands, and take it away from a chat that no longer has a role. Called at
        start and on every tick; only a change costs requests. (Someone removed while no
        service ran keeps the longer menu: Telegram cannot list the chats that have one.
        Those commands then answer him as anyone else.)"""
        if not self._started:
            return
        for address, (language, role) in wanted.items():
            if self._coordinator_menus.get(address) == (language, role):
                continue
            if await self._chat_menu(address, language, role):
                self._coordinator_menus[address] = (language, role)
        for address in [a for a in self._coordinator_menus if a not in wanted]:
            if await self._chat_menu(address, None, None):
                del self._coordinator_menus[address]

    async def _chat_menu(self, address: str, language: str | None, role: str | None) -> bool:
        """Set (or, for ``role=None``, delete) the menus of one chat: one per app language,
        all in his language when it is known. True when Telegram took them all."""
        bot = self.application.bot
        try:
            scope = BotCommandScopeChat(int(address))
            for code in (None, *LANGUAGES):
                if role is not None:
                    menu = command_menu(language or code or "en", role=role)
                    commands = [BotCommand(name, description) for name, description in menu]
                    await bot.set_my_commands(commands, scope=scope, language_code=code)
                else:
                    await bot.delete_my_commands(scope=scope, language_code=code)
        except (TelegramError, ValueError) as error:
            if address not in self._menu_failures:
                self._menu_failures.add(address)
                log.warning("telegram: could not set a chat's own command menu (%s); retrying each tick", type(error).__name__)
            return False
        self._menu_failures.discard(address)
        return True

    # --- inbound --------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """``POST /telegram``: check the secret, store the update, then answer 200. Any body
        that is not an update gets a 400 and a log line (never a 500, which Telegram would
        send again and again)."""
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        expected = self.settings.telegram_webhook_secret or ""
        if not expected or not _same(secret, expected):
            return JSONResponse({"ok": False}, status_code=403)
        try:
            raw = (await request.body()).decode("utf-8")
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise TypeError(f"a JSON {type(body).__name__}, not an object")
            update = Update.de_json(body, self.application.bot)
            if not isinstance(update.update_id, int):
                raise TypeError("update_id is not a number")
        except Exception as error:  # noqa: BLE001 - whatever the body, it is not an update
            log.warning("telegram: webhook body is not an update (%s); answered 400", type(error).__name__)
            return JSONResponse({"ok": False}, status_code=400)
        try:
            await self._take([update], raw=raw)
        except Exception as error:  # not stored: Telegram must send it again
            log.error("telegram: update %s could not be stored (%s); answered 503", update.update_id, type(error).__name__)
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True})

    async def _poll(self) -> None:
        """Long polling: each batch is committed to the store before the next ``getUpdates``
        acknowledges it (Telegram forgets what an ``offset`` passed)."""
        offset: int | None = None
        failures = 0
        while not self._closing:
            try:
                self._poll_request = asyncio.ensure_future(
                    self.application.bot.get_updates(
                        offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                    )
                )
                batch = await self._poll_request
                if batch:
                    await self._take(list(batch))
                    offset = batch[-1].update_id + 1
                failures = 0
            except asyncio.CancelledError:
                if self._closing:
                    return
                raise
            except TimedOut:
                continue
            except Exception as error:  # the network, Telegram, or the database: try again
                failures += 1
                pause = min(POLL_RETRY[0] * 2 ** (failures - 1), POLL_RETRY[1])
                log.warning("telegram: polling failed (%s); again in %.0f s", type(error).__name__, pause)
                self._poll_request = asyncio.ensure_future(asyncio.sleep(pause))  # stop() may cut it short
                try:
                    await self._poll_request
                except asyncio.CancelledError:
                    if self._closing:
                        return
                    raise
            finally:
                self._poll_request = None

    async def _take(self, updates: list[Update], raw: str | None = None) -> None:
        """Store the updates we handle, then queue them for handling (``_on_update``).
        ``raw``: the one update's JSON as received, stored as it is."""
        kept = [
            inbound.Stored(str(update.update_id), str(update.effective_chat.id), _unreachable_voice(raw or update.to_json()))
            for update in updates
            if _private(update)
        ]
        if not kept:
            return
        new = {stored.update_id for stored in await self._keeper.keep(kept)}
        for update in updates:
            if str(update.update_id) in new:
                await self.application.update_queue.put(update)

    async def _resume(self) -> None:
        """Queue what was stored and not handled before a crash, in arrival order."""
        async with self.db.transaction() as connection:
            waiting = await inbound.unhandled(connection, NAME)
        for stored in waiting:
            await self.application.update_queue.put(Update.de_json(json.loads(stored.payload), self.application.bot))
        if waiting:
            log.info("telegram: %d update(s) stored before a stop and not handled; handling them now", len(waiting))

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            # Beside the engine, not before it: the two Bot API calls would otherwise hold
            # up his answer. PTB awaits the task when the application stops.
            self.application.create_task(self._settle_button(update.callback_query), update=update)
        if not self.db.shared:
            await self._handle_update(update)
            return
        try:
            # The usual case: no earlier update of his waits, checked inside the turn itself.
            await self._handle_update(update, check_turn=True)
        except OutOfTurn:
            for each in await self._in_order(update):
                await self._handle_update(each)

    async def _in_order(self, update: Update) -> list[Update]:
        """On a database shared with other instances, when the turn found an update of his
        stored before ``update`` waiting (``OutOfTurn``): what to handle, his updates stored
        and not handled yet, oldest first, up to ``update`` itself: kept by another instance a
        moment earlier, or by one that died (``bot.store.inbound.waiting``). Nothing when
        another instance has handled it already, with those before it."""
        async with self.db.transaction() as connection:
            waiting = await inbound.waiting(connection, NAME, str(update.effective_chat.id))
        ids = [stored.update_id for stored in waiting]
        own = str(update.update_id)
        if own not in ids:
            return []
        earlier: list[Update] = []
        for stored in waiting[: ids.index(own)]:
            try:
                earlier.append(Update.de_json(json.loads(stored.payload), self.application.bot))
            except Exception as error:  # noqa: BLE001 - whatever was stored, it is no update
                log.warning("telegram: stored update %s cannot be read (%s); forgotten", stored.update_id, type(error).__name__)
                async with self.db.transaction() as connection:  # never handled: what he wrote goes
                    await inbound.forget(connection, NAME, stored.update_id)
        return [*earlier, update]

    async def _handle_update(self, update: Update, *, check_turn: bool = False) -> None:
        address = str(update.effective_chat.id)
        event = await self._event_of(update, address)
        if event is None:  # e.g. a service message: nothing to answer, nothing to keep
            async with self.db.transaction() as connection:
                await inbound.forget(connection, NAME, str(update.update_id))
            return
        if check_turn and isinstance(event, VoiceNote):
            # The engine may fetch and keep a voice note before its turn (``Engine._listen``):
            # its order is checked first, by reading his stored updates (``_in_order``).
            raise OutOfTurn(str(update.update_id))
        await self._handle(
            Incoming(
                channel=NAME,
                address=address,
                event=event,
                update_id=str(update.update_id),
                language_hint=update.effective_user.language_code,
                stored=str(update.update_id),
                fetch_voice=self._voice_download(update) if isinstance(event, VoiceNote) else None,
                check_turn=check_turn,
            )
        )

    async def _event_of(self, update: Update, address: str) -> Event | None:
        query = update.callback_query
        if query is not None:
            return callback_data.decode(self._secret, address, query.data)
        message = update.message
        if message is None:
            return None
        if message.text is not None:
            return Text(message.text)
        if message.voice is not None or message.audio is not None:
            return VoiceNote()
        kind = next((k for k in UNSUPPORTED_KINDS if getattr(message, k, None)), "other")
        return Unsupported(kind)

    def _voice_download(self, update: Update) -> FetchVoice | None:
        """The download of his voice note, for the engine to call if it needs it; None when
        the update came back from the store after a restart, without its file id."""
        message = update.message
        media = (message.voice or message.audio) if message is not None else None
        if media is None or not media.file_id:
            return None
        file_id = media.file_id
        is_voice = message is not None and message.voice is not None

        async def fetch() -> tuple[bytes, str | None]:
            found = await self.application.bot.get_file(file_id)
            data = bytes(await found.download_as_bytearray())
            return data, file_id if is_voice else None  # an audio file's id is no voice's id

        return fetch

    async def _settle_button(self, query) -> None:
        """Stop the spinner and take the buttons off the answered message, so they cannot be
        pressed twice. Failures here only cost looks, never the answer itself."""
        bot = self.application.bot
        try:
            await query.answer()
            message = query.message
            if message is not None and getattr(message, "reply_markup", None):
                key = (message.chat.id, message.message_id)
                if key in self._cleared:  # a double tap: the first press took them off
                    return
                self._cleared[key] = None
                if len(self._cleared) > CLEARED_MEMORY:
                    self._cleared.popitem(last=False)
                # As ``edit_message_reply_markup(reply_markup=None)``, without turning
                # Telegram's answer (the whole edited message) into a ``Message`` that nothing
                # reads: that was a third of settling a button (docs/benchmarks.md).
                await bot.do_api_request(
                    "editMessageReplyMarkup", api_kwargs={"chat_id": message.chat.id, "message_id": message.message_id}
                )
        except TelegramError as error:
            log.info("telegram: could not settle a button press: %s", type(error).__name__)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: error while handling an update: %s", type(context.error).__name__)

    # --- outbound -------------------------------------------------------------------------

    async def deliver(self, address: str, message: Outgoing) -> None:
        try:
            await self._send(int(address), message)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise DeliveryError("rate_limited", "429", retry_after=seconds) from None
        except Forbidden:
            raise DeliveryError("blocked", "403") from None
        except BadRequest as error:
            raise DeliveryError("rejected", f"400 {_short(error)}") from None
        except (TimedOut, NetworkError) as error:
            raise DeliveryError("transient", type(error).__name__) from None

    async def _send(self, chat_id: int, message: Outgoing) -> None:
        keyboard = self._keyboard(str(chat_id), message)
        bot = self.application.bot
        if message.voice is not None:
            await self._send_voice(chat_id, message.voice, message.text[:CAPTION_LIMIT] or None, keyboard)
            return
        if message.image is not None:
            caption, rest = message.text[:CAPTION_LIMIT], message.text[CAPTION_LIMIT:]
            await bot.send_photo(chat_id, photo=message.image, caption=caption or None,
                                 reply_markup=None if rest else keyboard)
            parts = split_text(rest, self.limits.text) if rest else []
        elif message.document is not None:
            caption, rest = message.text[:CAPTION_LIMIT], message.text[CAPTION_LIMIT:]
            document = InputFile(message.document.content, filename=message.document.name)
            await bot.send_document(chat_id, document=document, caption=caption or None,
                                    reply_markup=None if rest else keyboard)
            parts = split_text(rest, self.limits.text) if rest else []
        else:
            parts = split_text(message.text, self.limits.text)
        for number, part in enumerate(parts, start=1):
            await self._send_text(chat_id, part, keyboard if number == len(parts) else None)

    async def _send_voice(
        self, chat_id: int, clip_id: int, caption: str | None, keyboard: InlineKeyboardMarkup | None
    ) -> None:
        """``sendVoice``: by Telegram's file id once it has one, else by uploading the clip and
        keeping the id it answers with. Only the first upload of a clip waits for a lock (so a
        broadcast uploads its sound once, not once per man); sends by file id never do."""
        bot = self.application.bot
        file_id = await self._voice_file_id(clip_id)
        if file_id is None:
            async with self._voice_locks[clip_id]:
                file_id = await self._voice_file_id(clip_id)  # another copy may have uploaded it meanwhile
                if file_id is None:
                    async with self.db.transaction() as connection:
                        audio = await voice_store.audio(connection, clip_id)
                        about = await voice_store.about(connection, clip_id)
                    if audio is None or about is None:
                        raise DeliveryError("rejected", "voice erased")
                    sent = await bot.send_voice(
                        chat_id, voice=audio, filename="voice.ogg", duration=about[0], caption=caption, reply_markup=keyboard
                    )
                    if sent.voice is not None:
                        async with self.db.transaction() as connection:
                            await voice_store.remember_telegram_file_id(connection, clip_id, sent.voice.file_id)
                    self._voice_locks.pop(clip_id, None)
                    return
        await bot.send_voice(chat_id, voice=file_id, caption=caption, reply_markup=keyboard)

    async def _voice_file_id(self, clip_id: int) -> str | None:
        """Telegram's id of the clip, if it was uploaded; ``DeliveryError`` once it is erased."""
        async with self.db.transaction() as connection:
            about = await voice_store.about(connection, clip_id)
        if about is None:
            raise DeliveryError("rejected", "voice erased")
        return about[1]

    async def _send_text(self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
        """``sendMessage`` without turning Telegram's answer into a ``Message``: nothing here
        uses it, and building one was a fifth of the sender's CPU at broadcast speed
        (docs/benchmarks.md). Errors are raised exactly as by ``send_message``."""
        arguments: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if keyboard is not None:
            arguments["reply_markup"] = keyboard
        await self.application.bot.do_api_request("sendMessage", api_kwargs=arguments)

    def _keyboard(self, address: str, message: Outgoing) -> InlineKeyboardMarkup | None:
        if not message.options:
            return None
        buttons = [
            InlineKeyboardButton(
                option.label,
                callback_data=callback_data.encode(self._secret, address, message.question, option.key),
            )
            for option in message.options
        ]
        return InlineKeyboardMarkup(_rows(buttons))


SCALE_PER_ROW = 6


def _rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """One button per row, except runs of number buttons (a 0–10 scale), which share rows of
    six so that the whole scale fits on a phone screen."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        last = rows[-1] if rows else None
        if (
            button.text.isdecimal()
            and last
            and len(last) < SCALE_PER_ROW
            and all(b.text.isdecimal() for b in last)
        ):
            last.append(button)
        else:
            rows.append([button])
    return rows


def _file_url(api_base: str) -> str:
    """Where files are downloaded: ``https://api.telegram.org/file/bot`` beside
    ``https://api.telegram.org/bot`` (and the same beside a local stand-in)."""
    base = api_base.rstrip("/")
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"


def _unreachable_voice(raw: str) -> str:
    """The update as kept in ``bot.store.inbound``: a voice note's or audio file's ids blanked,
    so that nothing in our database leads to the sound (it comes back from the store without
    them, and a coordinator is asked to record again)."""
    if '"voice"' not in raw and '"audio"' not in raw:
        return raw
    update = json.loads(raw)
    message = update.get("message")
    if not isinstance(message, dict):
        return raw
    for kind in VOICE_KINDS:
        media = message.get(kind)
        if isinstance(media, dict):
            message[kind] = {**media, "file_id": "", "file_unique_id": ""}
    return json.dumps(update, ensure_ascii=False)


def _private(update: Update) -> bool:
    """Only a man's own chat with the bot is handled (no groups, no channels)."""
    chat = update.effective_chat
    return chat is not None and update.effective_user is not None and chat.type == "private"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _short(error: TelegramError) -> str:
    """An error code for the logs: Telegram's description, never the message text."""
    return str(error.message)[:40]
