"""What every channel adapter offers the outbox, and how it reports a failed delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from dialogs.types import Option


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


class Channel(Protocol):
    name: str
    rate: float  # messages a second, overall
    chat_interval: float  # seconds between two messages to one chat

    async def deliver(self, address: str, message: Outgoing) -> None:
        """Send ``message``; raise ``DeliveryError`` when it did not go out."""
