"""The statements poll before and after a series: a man's answers, stored with nothing that
ties them to him, and a coordinator's "offer it now" (``bot.domain.statements``)."""

from __future__ import annotations

from bot.domain import statements
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from dialogs.types import OfferStatements, RecordStatements


async def record_statements(effect: RecordStatements, turn: Turn) -> None:
    await statements.record(turn.connection, turn.engine.settings, turn.channel, turn.address, effect, turn.now)
    turn.after_commit(turn.engine.db.truncate_log)  # as for a check-in: no pages kept together


async def offer_statements(effect: OfferStatements, turn: Turn) -> None:
    """Only a coordinator's: ``offer_on_demand`` checks it again."""
    await statements.offer_on_demand(turn.connection, turn.engine.settings, turn.channel, turn.address, effect, turn.now)


RECORD_STATEMENTS = Handler(RecordStatements, Phase.STORE, record_statements)
OFFER_STATEMENTS = Handler(OfferStatements, Phase.STORE, offer_statements)
