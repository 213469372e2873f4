"""The channel contract: what every channel (Telegram, WhatsApp, the demo, a next one) offers
the service, the HTTP app and the outbox, and what it hands the engine.

A channel is built by its entry in ``bot.channels.registry`` from the ``Settings`` and a
``Wiring`` (the database, the engine's handler, the clock), and then:

- ``start`` / ``stop``: brought up after the outbox senders, taken down after them
  (``bot.app.service``); a platform that refuses its credentials raises ``ConfigError``;
- ``routes``: its webhooks, mounted on the one HTTP app (``bot.app.http``);
- ``deliver``: sends one ``Outgoing``, or raises ``DeliveryError`` (``bot.delivery.outbox``);
- ``limits``: the pace the outbox keeps to, and what fits in one message;
- ``sync_coordinator_menus``: per-chat command menus, where the platform has them.

Inbound, it hands each man's message to the engine as an ``Incoming``.
See docs/architecture.md, "Adding a channel".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from dialogs.types import Event, Option

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.store.database import Database


FetchVoice = Callable[[], Awaitable[tuple[bytes, str | None]]]
"""Downloads a voice note from the platform: (its bytes, Telegram's file id or None)."""


@dataclass(frozen=True)
class Incoming:
    """An event from one chat, as a channel hands it to the engine."""

    channel: str
    address: str
    event: Event
    update_id: str | None = None  # the platform's id, for de-duplication
    language_hint: str | None = None  # e.g. Telegram's language_code
    # The channel counts a window from his last message (WhatsApp's 24 hours): keep its hour,
    # in the same transaction as the replies, so they go out inside the window. Other
    # channels keep no time of his messages at all (issue 11).
    keeps_window: bool = False
    stored: str | None = None  # its key in ``bot.store.inbound``, deleted once it is handled
    # On a database shared with other instances: handle it only if none of his updates stored
    # before it still waits (``bot.store.inbound.take``, in the turn's own transaction), else
    # raise ``OutOfTurn`` before anything is stored, so that the channel hands them over in
    # order (docs/scaling.md, "His oldest update first").
    check_turn: bool = False
    # A voice note's download, for the engine to call only when a coordinator's or a
    # facilitator's flow waits for one (``Engine._listen``); a man's voice note is never fetched.
    fetch_voice: FetchVoice | None = None


class OutOfTurn(Exception):
    """An ``Incoming`` with ``check_turn`` was not handled: an update of his stored before it
    waits, or it is no longer stored (another instance handled it). Nothing was stored."""


Handler = Callable[[Incoming], Awaitable[None]]
"""The engine's entry (``Service.handle``): a channel awaits it for each message."""


@dataclass(frozen=True)
class Document:
    """A file sent with a message: a document on Telegram, a media file on WhatsApp."""

    name: str  # e.g. "mannen-in-gesprek.ics"
    mime_type: str  # e.g. "text/calendar"
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """A message as the outbox stores it; each channel renders the options its own way."""

    text: str
    options: tuple[Option, ...] = ()
    question: int = 0
    image: bytes | None = None  # a PNG (reports)
    document: Document | None = None  # a file with the text as its caption (calendar files)
    voice: int | None = None  # a voice clip (bot.store.voice), sent as a voice message
    # Set by the outbox when it hands the message to a channel (not stored in the payload):
    # WhatsApp needs the kind for its 24-hour window and the row for status callbacks.
    kind: str = "reply"
    outbox_id: int | None = None


@dataclass(frozen=True)
class Limits:
    """What a channel can take. The outbox's pacer keeps to ``rate`` and ``chat_interval``;
    the channel itself splits texts longer than ``text`` and shows at most ``buttons``
    options as buttons (0: none, numbered choices instead, see ``bot.channels.numbered``)."""

    rate: float  # messages a second, overall
    chat_interval: float  # seconds between two messages to one chat
    text: int  # characters in one message
    buttons: int  # options shown as buttons, at most
    button_label: int | None = None  # characters on one button, if the platform limits it


DeliveryErrorKind = Literal["blocked", "rate_limited", "transient", "rejected", "held", "not_started"]
"""What went wrong with a delivery, as far as the outbox needs to know (see ``DeliveryError``);
``bot.delivery.outbox`` handles every kind, checked by mypy."""


class DeliveryError(Exception):
    """A delivery that did not happen. ``kind`` decides what the outbox does next:

    - ``blocked``: the person blocked the bot or is gone; stop him, never retry;
    - ``rate_limited``: pause the whole channel for ``retry_after`` seconds, then retry;
    - ``transient``: timeout or server error; retry with backoff, then give up;
    - ``rejected``: the platform refused this message (400); do not retry.
    - ``held``: not sendable yet (WhatsApp's 24-hour window); the row waits as ``held``
      until the channel releases it (``bot.delivery.outbox.release_held``).
    - ``not_started``: the outbox's own, never a channel's: its ``sending`` mark could not be
      committed, so the request never started; the row goes back in line.
    """

    def __init__(self, kind: DeliveryErrorKind, code: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{kind} ({code})")
        self.kind: DeliveryErrorKind = kind
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Wiring:
    """What the service hands a channel it builds (``bot.channels.registry``)."""

    db: Database
    handle: Handler
    now: Callable[[], datetime]
    on_queued: Callable[[str], None]  # "rows of this channel are due": wakes its outbox sender


class Channel(Protocol):
    """The contract; ``tests/test_channel_contract.py`` checks every registered channel."""

    name: str
    limits: Limits

    async def start(self) -> None:
        """Start receiving (polling, resuming stored messages); raise ``ConfigError`` when
        the platform refuses the settings."""

    async def stop(self) -> None:
        """Stop receiving and close connections; the outbox senders have stopped already."""

    async def deliver(self, address: str, message: Outgoing) -> None:
        """Send ``message``; raise ``DeliveryError`` when it did not go out."""

    def routes(self) -> list[BaseRoute]:
        """Its HTTP routes (webhooks, media), mounted on the service's app; may be empty."""

    async def sync_coordinator_menus(self, wanted: dict[str, tuple[str | None, str]]) -> None:
        """Give coordinators' and facilitators' chats (address → (language, role), role
        "coordinator", "facilitator" or "both") their command menu, where the platform has
        per-chat menus; otherwise nothing. Called at start and on every tick."""
