"""One turn of the engine as an effect's handler sees it: the open transaction, his row, and
the hooks that run once the transaction has committed.

A handler's own work runs inside the update's transaction (it commits or rolls back with the
processed-update mark and his new state). What must happen only after the commit (waking the
senders, building a report on its own connections, emptying the write-ahead log) a handler
registers with ``Turn.after_commit``; the engine starts those jobs once the commit is done,
and never when the transaction failed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import participants
from dialogs.types import WakeAt

if TYPE_CHECKING:
    from bot.engine.engine import Engine

Job = Callable[[], Coroutine[Any, Any, None]]


class HisRowChanges:
    """Changes to his own row over one turn (the time of this message, a name, an area...),
    written as one UPDATE before anything else is stored and at the end of the turn."""

    def __init__(self, participant_id: int | None) -> None:
        self.participant_id = participant_id
        self._values: dict[str, Any] = {}

    def add(self, **values: Any) -> None:
        if self.participant_id is not None:  # nobody to change until he has consented
            self._values.update(values)

    async def write(self, connection: AsyncConnection) -> None:
        if self._values and self.participant_id is not None:
            await participants.change(connection, self.participant_id, **self._values)
            self._values = {}


@dataclass
class Turn:
    """What the handlers of one step share. ``row`` is his participant row as the turn began
    (``None`` before consent); ``his_row`` collects the changes to it."""

    engine: Engine
    connection: AsyncConnection
    channel: str
    address: str
    row: Row[Any] | None
    his_row: HisRowChanges
    now: datetime
    apologise: Job  # a kind word to him after an internal error, in a transaction of its own
    keep_state: bool = True  # False once his conversation is gone (erased, forgotten)
    wake: WakeAt | None = None
    _after_commit: list[Job] = field(default_factory=list)

    @property
    def language(self) -> str:
        """His language as the turn began (Dutch before consent)."""
        return self.row.language if self.row is not None else "nl"

    def after_commit(self, job: Job) -> None:
        """Run ``job`` once this turn's transaction has committed (a post-commit hook)."""
        self._after_commit.append(job)

    @property
    def post_commit_jobs(self) -> list[Job]:
        return self._after_commit
