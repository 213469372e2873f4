"""Pacing: when the next message to a channel, and to one chat, may go out.

Platforms limit both the overall rate (Telegram: 30 messages a second) and the rate per chat
(Telegram: one a second). ``Pacer`` hands out send slots evenly spaced just under ``1 / rate``, with
no burst allowance, and never two slots for one chat closer than ``chat_interval``. A 429 pauses
the whole channel. Time is ``time.monotonic`` by default and injectable for tests.
"""

from __future__ import annotations

import time
from typing import Callable


SAFETY = 0.985
CHAT_MARGIN = 0.02


class Pacer:
    def __init__(
        self,
        rate: float,
        chat_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # A little under the limit, so that timer jitter never pushes 31 sends into a second.
        self.spacing = 1.0 / (rate * SAFETY)
        self.chat_interval = chat_interval + CHAT_MARGIN
        self._monotonic = monotonic
        self._next_slot = 0.0
        self._chat_free: dict[str, float] = {}

    def now(self) -> float:
        return self._monotonic()

    def take(self, address: str) -> bool:
        """Book the current slot for ``address`` if the channel and that chat are both free
        now; False (nothing booked) otherwise."""
        now = self.now()
        if self._next_slot > now or self._chat_free.get(address, 0.0) > now:
            return False
        self._next_slot = now + self.spacing
        self._chat_free[address] = now + self.chat_interval
        if len(self._chat_free) > 50_000:
            self._forget_idle_chats(now)
        return True

    def chat_ready_in(self, address: str) -> float:
        return max(self._chat_free.get(address, 0.0) - self.now(), 0.0)

    def channel_ready_in(self) -> float:
        return max(self._next_slot - self.now(), 0.0)

    def pause(self, seconds: float) -> None:
        """Hold the whole channel back, as a 429's ``retry_after`` asks."""
        self._next_slot = max(self._next_slot, self.now() + seconds)

    def _forget_idle_chats(self, now: float) -> None:
        self._chat_free = {a: t for a, t in self._chat_free.items() if t > now}
