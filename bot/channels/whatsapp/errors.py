"""Twilio's answers mapped onto the outbox's ``DeliveryError`` kinds.

Codes (https://www.twilio.com/docs/api/errors): 21610 the recipient sent STOP; 63014 he
blocked the business; 63016 a free-form message outside the 24-hour window; 63018 and 20429
(HTTP 429) too many messages. A 5xx, a timeout or a broken connection is worth a retry; any
other 4xx refuses this one message. Authentication errors (20003, 401) are retried too: they
concern every message, and a fixed token should not leave a day's reminders marked failed.
"""

from __future__ import annotations

from bot.channels.base import DeliveryError

BLOCKED = frozenset({21610, 63014})
WINDOW = frozenset({63016})
RATE_PAUSE = {20429: 1.0, 63018: 10.0}  # seconds the whole channel waits
AUTHENTICATION = frozenset({20003})


class WindowClosed(DeliveryError):
    """WhatsApp says his window is closed (63016): the channel re-routes the message to the
    template path itself, so this never reaches the outbox (were it to, it would be refused
    like any message the platform rejects)."""

    def __init__(self) -> None:
        super().__init__("rejected", "63016")


def pause_for(code: int | None, http_status: int | None = None) -> float | None:
    """Seconds to slow the channel down for this error, or ``None``."""
    if code in RATE_PAUSE:
        return RATE_PAUSE[code]
    if http_status == 429:
        return RATE_PAUSE[20429]
    return None


def delivery_error(http_status: int | None, code: int | None) -> DeliveryError:
    """The outbox's view of a failed ``Messages.json`` request."""
    label = str(code or http_status or "?")
    if code in WINDOW:
        return WindowClosed()
    pause = pause_for(code, http_status)
    if pause is not None:
        return DeliveryError("rate_limited", label, retry_after=pause)
    if code in BLOCKED:
        return DeliveryError("blocked", label)
    if http_status is None or http_status >= 500 or http_status == 401 or code in AUTHENTICATION:
        return DeliveryError("transient", label)
    return DeliveryError("rejected", label)


def as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
