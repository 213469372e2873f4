"""What a handler is: the effect type it handles, its phase, and its work inside the update's
transaction (which may register post-commit hooks with ``Turn.after_commit``)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.engine.turn import Turn
from bot.store import coordinators

log = logging.getLogger("bot.engine")

E = TypeVar("E")


class Phase(enum.Enum):
    """When, within the turn, a handler runs; effects run in the dialog's order within a phase.

    ``HIS_ROW``: changes only his own row or conversation; collected and written as one UPDATE.
    ``STORE``: reads or writes more than his row; his row is written first.
    ``MESSAGES``: replies to him, queued after his new conversation state is saved (and after
    an erasure, which removes what was queued for him before)."""

    HIS_ROW = "his row"
    STORE = "store"
    MESSAGES = "messages"


@dataclass(frozen=True)
class Handler(Generic[E]):
    effect: type[E]
    phase: Phase
    pre_commit: Callable[[E, Turn], Awaitable[None]]


def coordinators_only(work: Callable[[E, Turn], Awaitable[None]]) -> Callable[[E, Turn], Awaitable[None]]:
    """Coordinator effects, checked again here: only a coordinator's chat may cause them."""

    async def checked(effect: E, turn: Turn) -> None:
        if not await coordinators.is_coordinator(turn.connection, turn.channel, turn.address):
            log.warning("engine: %s from a non-coordinator %s chat refused", type(effect).__name__, turn.channel)
            return
        await work(effect, turn)

    return checked
