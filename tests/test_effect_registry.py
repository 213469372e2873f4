"""The effects' registry (bot/engine/registry.py): every effect a dialog may return has exactly
one handler, of its own type; and the work a handler leaves for after the commit runs only
when the update's transaction committed."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import func, select

from bot.channels.base import Incoming
from bot.engine import Engine
from bot.engine.handlers.base import Handler
from bot.engine.registry import handler_for
from bot.store import coordinators
from bot.store.schema import broadcasts
from dialogs import types
from dialogs.types import Effect, Event, QueueBroadcast, SignUp, Step, Text

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

# The dataclasses of dialogs/types.py that are neither an event nor an effect: what a dialog
# reads (views, context) and the pieces of a step.
NOT_EFFECTS = {
    "SeriesView", "MeetingView", "OfferView", "SignupView", "ParticipantView", "Context",
    "RsvpLine", "CoordinatorMeeting", "CoordinatorView", "Option", "Step",
    "FacilitatorView", "ReportDue", "Invited", "StatementPoll",
}


def test_every_effect_has_the_handler_of_its_own_type():
    effects = get_args(Effect)
    assert len(effects) == len(set(effects)) > 0
    for effect_type in effects:
        blank = object.__new__(effect_type)  # the registry matches on the type alone
        handler = handler_for(blank)
        assert isinstance(handler, Handler), effect_type.__name__
        assert handler.effect is effect_type, f"{effect_type.__name__} is handled as {handler.effect.__name__}"
    handlers = [handler_for(object.__new__(effect_type)) for effect_type in effects]
    assert len({id(handler) for handler in handlers}) == len(effects), "one handler serves two effects"


def test_every_dataclass_of_the_dialogs_vocabulary_is_an_event_an_effect_or_a_view():
    """A new effect class left out of the ``Effect`` union would escape the registry's match
    (and mypy's proof); this names it. A new view belongs in NOT_EFFECTS above."""
    declared = {
        name for name, value in vars(types).items()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == types.__name__
    }
    in_unions = {cls.__name__ for cls in get_args(Effect) + get_args(Event)}
    assert declared - in_unions - NOT_EFFECTS == set(), "add it to the Effect union and the registry"


async def _broadcasts(db) -> int:
    async with db.transaction() as connection:
        return await connection.scalar(select(func.count()).select_from(broadcasts))


async def test_post_commit_hooks_run_after_the_commit_and_never_after_a_rollback(db, settings):
    """A coordinator's broadcast wakes the senders only once it is committed; when a later
    effect of the same step fails, nothing is stored and nobody is woken."""
    async with db.transaction() as connection:
        await coordinators.add(connection, "telegram", "77", NOW)
    effects: list[tuple[Effect, ...]] = [
        (QueueBroadcast(("all",), {"nl": "Hallo"}), SignUp(999, waitlist=False)),  # fails: no consent
        (QueueBroadcast(("all",), {"nl": "Hallo"}),),
    ]
    woken: list[int] = []

    def dialog(state, event, context):
        return Step(state, effects.pop(0))

    async def on_queued_all() -> None:
        woken.append(await _broadcasts(db))  # what the woken senders would find

    engine = Engine(db, settings, dialog=dialog, now=lambda: NOW,
                    on_queued_all=lambda: asyncio.ensure_future(on_queued_all()))
    await engine.handle(Incoming("telegram", "77", Text("first")))
    for _ in range(20):
        await asyncio.sleep(0)
    assert await _broadcasts(db) == 0 and woken == []

    await engine.handle(Incoming("telegram", "77", Text("second")))
    for _ in range(20):
        if woken:
            break
        await asyncio.sleep(0.01)
    assert woken == [1]
