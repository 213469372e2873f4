"""The numbered choices a man was shown last, per chat (``bot.channels.numbered``), so that
a typed "2" means what he saw as 2: a reminder's answers as well as the conversation's own
question.

The table is ``whatsapp_choices`` (named when WhatsApp was the only channel without buttons;
it is keyed by channel and address and serves any such channel). Its row hangs off his
conversation and goes with it (ON DELETE CASCADE), so /delete takes it along.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.portable import insert_or_ignore
from bot.store.schema import conversations, whatsapp_choices
from dialogs.types import Option


async def remember(
    connection: AsyncConnection, channel: str, address: str, question: int,
    options: tuple[Option, ...], now: datetime,
) -> None:
    """Only while a conversation exists (the row hangs off it, and goes with it). The time
    is kept to the day only (issue 11: no hour of his chats)."""
    has_conversation = await connection.scalar(
        select(exists().where(conversations.c.channel == channel, conversations.c.address == address))
    )
    if not has_conversation:
        return
    values = {
        "question": question,
        "options": json.dumps([[o.label, o.key] for o in options], ensure_ascii=False),
        "shown_at": now.replace(hour=0, minute=0, second=0, microsecond=0),
    }
    if not await insert_or_ignore(
        connection, whatsapp_choices, {"channel": channel, "address": address, **values}
    ):
        await connection.execute(
            update(whatsapp_choices)
            .where(whatsapp_choices.c.channel == channel, whatsapp_choices.c.address == address)
            .values(**values)
        )


async def last(connection: AsyncConnection, channel: str, address: str) -> tuple[int, tuple[Option, ...]] | None:
    """The question number and options he saw last, if any."""
    row = (
        await connection.execute(
            select(whatsapp_choices.c.question, whatsapp_choices.c.options).where(
                whatsapp_choices.c.channel == channel, whatsapp_choices.c.address == address
            )
        )
    ).first()
    if row is None:
        return None
    return row.question, tuple(Option(label, key) for label, key in json.loads(row.options))


async def put_back(
    connection: AsyncConnection, channel: str, address: str,
    before: tuple[int, tuple[Option, ...]] | None, now: datetime,
) -> None:
    """What he saw before (``last`` as it was), again: the list remembered for a message that
    then did not go out."""
    if before is None:
        await connection.execute(
            delete(whatsapp_choices).where(whatsapp_choices.c.channel == channel, whatsapp_choices.c.address == address)
        )
    else:
        await remember(connection, channel, address, *before, now)
