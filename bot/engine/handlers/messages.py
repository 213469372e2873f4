"""Messages to him in this conversation."""

from __future__ import annotations

from bot.channels.base import Outgoing
from bot.delivery import outbox
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from dialogs.types import Reply


async def queue_reply(effect: Reply, turn: Turn) -> None:
    await outbox.enqueue(
        turn.connection,
        channel=turn.channel,
        address=turn.address,
        message=Outgoing(effect.text, effect.options, effect.question),
        kind="reply",
        priority=outbox.REPLY,
        now=turn.now,
    )


REPLY = Handler(Reply, Phase.MESSAGES, queue_reply)
