"""Pacing: when the next message to a channel, and to one chat, may go out.

Platforms limit both the overall rate (Telegram: 30 messages a second) and the rate per chat
(Telegram: one a second). ``Pacer`` hands out send slots evenly spaced ``1 / rate`` apart, with
no burst allowance beyond catching up a short lag, never more than ``rate`` sends in any
sliding second, and never two slots for one chat closer than ``chat_interval``. A 429 pauses
the whole channel. Time is ``time.monotonic`` by default and injectable for tests.

Slots lie on a fixed grid: a slot booked or started late (timer jitter, a slow commit, a busy
event loop) does not push the later ones back, and the sends behind it catch up, so a long
broadcast keeps the rate (docs/benchmarks.md: 93.8% of the limit when each slot was counted from
the moment it was taken, 97.3% when each late start pushed the grid back). Catching up is
bounded (``CATCH_UP``: a send later than that moves the grid) and spread (``MIN_GAP``). ``reserve`` books a slot up to a
few milliseconds ahead, so that the outbox can commit its claim first and send at the slot itself.

What keeps the platform's count under the limit is not the grid but the sliding second, counted
from answers: the pacer counts the sends that are booked or under way plus those that finished
(``finished``) less than ``WINDOW`` ago, and books nothing while that makes ``rate``. A platform
counts a request after it was started and before it answered it, so a send booked ``WINDOW``
after the answer to the send thirty places back reaches the platform more than a second after
that one, whatever the delays on the way (a busy event loop, the network: the 429s seen under
load in docs/benchmarks.md). This holds exactly, so ``WINDOW`` needs no room for jitter, only
for rounding (``ANSWER_MARGIN``); against a distant platform the round trip itself adds to it.
The grid therefore runs at the limit itself (``1 / rate``): it spreads the sends evenly and the
answers hold back the one in thirty that would come too early (by the round trip). The same
goes per chat: the next message to a chat waits for a second after the previous one's answer,
and is not even booked before that answer has come (``reserve`` refuses a chat with a send
under way). With a short chat interval (tests, WhatsApp's) a second message could otherwise be
booked while the first was still in flight, and when the first came back refused (a 429, put
back in line) the second went ahead of it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

CHAT_MARGIN = 0.02
CLOCK_MARGIN = 0.01  # per chat, after the previous message's answer
ANSWER_MARGIN = 0.001  # rounding only: the window below is exact (see above)
WINDOW = 1.0 + ANSWER_MARGIN  # the platform's second, counted from answers
ROUND_TRIP_GUESS = 0.005  # how long to wait for an answer before looking again
CATCH_UP = 0.07  # seconds the grid may lag behind and be caught up (two slots at 30/s); later, it moves
MIN_GAP = 0.5  # of the spacing: sends catching up still come no closer than this


class Pacer:
    def __init__(
        self,
        rate: float,
        chat_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # At the limit: the sliding second counted from answers keeps 31 sends out of any second.
        self.spacing = 1.0 / rate
        self.chat_interval = chat_interval + CHAT_MARGIN
        self._chat_gap = chat_interval + CLOCK_MARGIN  # from the previous message's answer
        self._monotonic = monotonic
        self._next_slot = 0.0
        self._last_slot = -math.inf
        self.paused_until = 0.0  # a slot booked before a 429 still waits for this
        self._chat_free: dict[str, float] = {}
        self._chat_under_way: set[str] = set()  # chats with a send booked and not yet answered
        self._per_second = max(1, math.floor(rate))
        self._under_way = 0  # booked and not yet finished
        self._finished: deque[float] = deque()  # when recent sends were answered, oldest first

    def now(self) -> float:
        return self._monotonic()

    def reserve(self, address: str, within: float = 0.0) -> float | None:
        """Book the channel's next slot for ``address`` if it comes within ``within`` seconds
        and the chat is free by then; returns the slot's time (``now()`` clock), or None
        (nothing booked)."""
        now = self.now()
        grid = self._next_slot if self._next_slot >= now - CATCH_UP else now  # idle or far behind: a new grid
        room = self._room_at(now)
        if room is None:
            return None
        slot = max(grid, room, self._last_slot + MIN_GAP * self.spacing)
        if slot - now > within or self._chat_free.get(address, 0.0) > slot or address in self._chat_under_way:
            return None
        self._under_way += 1
        self._chat_under_way.add(address)
        self._last_slot = slot
        # The grid goes on from its own slot, not from one the sliding second held back: a send
        # held back by the round trip delays the one thirty places on, not every one behind it.
        self._next_slot = max(grid, slot - CATCH_UP) + self.spacing
        self._chat_free[address] = slot + self.chat_interval
        if len(self._chat_free) > 50_000:
            self._forget_idle_chats(now)
        return slot

    def starting(self, address: str, slot: float) -> None:
        """The send booked for ``slot`` starts now. A little late, the sends behind it catch up
        (the sliding second still holds them to the limit); later than ``CATCH_UP`` (a stall),
        the next slot, and the chat's, keep their full distance from it."""
        now = self.now()
        self._last_slot = max(self._last_slot, now)  # catching up counts from the real start
        if now - slot > CATCH_UP:
            self._next_slot = max(self._next_slot, now + self.spacing)
            self._chat_free[address] = max(self._chat_free.get(address, 0.0), now + self.chat_interval)

    def finished(self, address: str) -> None:
        """The send booked for ``address`` has had its answer (whatever it was)."""
        now = self.now()
        self._under_way = max(self._under_way - 1, 0)
        self._chat_under_way.discard(address)
        self._finished.append(now)
        self._chat_free[address] = max(self._chat_free.get(address, 0.0), now + self._chat_gap)

    def _room_at(self, now: float) -> float | None:
        """When the sliding second has room for one more send: now, a later instant, or None
        while sends still under way fill it (their answers will tell)."""
        while self._finished and self._finished[0] + WINDOW <= now:
            self._finished.popleft()
        excess = self._under_way + len(self._finished) - self._per_second
        if excess < 0:
            return now
        if excess < len(self._finished):
            return self._finished[excess] + WINDOW
        return None

    def chat_ready_in(self, address: str) -> float:
        ready_in = max(self._chat_free.get(address, 0.0) - self.now(), 0.0)
        if address in self._chat_under_way:  # its answer will tell
            ready_in = max(ready_in, ROUND_TRIP_GUESS)
        return ready_in

    def channel_ready_in(self) -> float:
        now = self.now()
        room = self._room_at(now)
        if room is None:  # an answer will come within a round trip
            room = now + ROUND_TRIP_GUESS
        return max(self._next_slot - now, room - now, self._last_slot + MIN_GAP * self.spacing - now, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold the whole channel back, as a 429's ``retry_after`` asks."""
        self.paused_until = max(self.paused_until, self.now() + seconds)
        # A slot booked before the 429 goes at the pause's end; new ones come after it.
        self._next_slot = max(self._next_slot, self.paused_until + self.spacing)

    def _forget_idle_chats(self, now: float) -> None:
        self._chat_free = {a: t for a, t in self._chat_free.items() if t > now}
