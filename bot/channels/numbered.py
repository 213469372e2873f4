"""Numbered choices, for a channel without buttons (WhatsApp without quick replies, and an
SMS or Signal channel): options are shown as a numbered list under the text, and a typed
answer is read back against the list he saw last::

    Which language would you like me to use?

    1 Nederlands
    2 العربية

A typed "2" (or "٢", "2.", the label, ... see ``dialogs.typed.match_option``) then arrives
at the engine as the same ``ChoiceMade`` a Telegram button would. What he saw last is kept in
the database (``bot.store.shown_choices``), so a reminder's answers still work after a restart.

A channel uses it in three places: ``text(message)`` when it renders, ``showing(...)`` around
the request that sends the message, and ``read(...)`` on every message he sends, before handing
it on.

What he is shown is stored *before* the request, not after it: the platform may put the list
on his screen before its answer reaches us, and a man who types "2" the moment it appears, on
whichever instance his message lands, must get what he saw, not the list before (stored
after, that "2" was read as a stale answer while the list's own record waited for the
request's answer and a commit). If the message then does not go out (an error, or WhatsApp
holds it for his window), what he saw before is put back. A crash between the two leaves the
new list, for a message the outbox counts ``uncertain`` (most likely sent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from bot.channels.base import Outgoing
from bot.store import shown_choices
from bot.store.database import Database
from dialogs import keywords
from dialogs.i18n import RLM
from dialogs.typed import match_option
from dialogs.types import ChoiceMade, Command, Event, Text


def text(message: Outgoing) -> str:
    """The text with its options as a numbered list below it (the list keeps the text's
    direction: each line of an Arabic message starts with RLM); a numeric scale is shown as
    its values on one line instead."""
    if not message.options:
        return message.text
    rtl = message.text.startswith(RLM)
    if all(option.label.isdecimal() for option in message.options):
        # A scale (0 to 10): numbering it would put "8 7" on a line; he types the value.
        return message.text + "\n\n" + (RLM if rtl else "") + " · ".join(o.label for o in message.options)
    lines = [f"{RLM if rtl else ''}{n} {option.label}" for n, option in enumerate(message.options, 1)]
    return message.text + "\n\n" + "\n".join(lines)


class NumberedChoices:
    """What one channel's men saw last, and their typed answers read back against it."""

    def __init__(self, db: Database, channel: str, now: Callable[[], datetime]) -> None:
        self.db = db
        self.channel = channel
        self.now = now

    @asynccontextmanager
    async def showing(self, address: str, message: Outgoing) -> AsyncIterator[None]:
        """Around the request that sends ``message``: its options, if any, are what he saw
        last from before the request starts; put back as they were if the request raises."""
        if not message.options:
            yield
            return
        async with self.db.transaction() as connection:
            before = await shown_choices.last(connection, self.channel, address)
            await shown_choices.remember(
                connection, self.channel, address, message.question, message.options, self.now()
            )
        try:
            yield
        except Exception:
            async with self.db.transaction() as connection:
                await shown_choices.put_back(connection, self.channel, address, before, self.now())
            raise

    async def read(self, address: str, event: Event) -> Event:
        """A typed answer to the choices he saw last becomes that choice; anything else (a
        command, a text that matches none) stays as it is."""
        if not isinstance(event, Text) or isinstance(keywords.as_command(event), Command):
            return event
        async with self.db.transaction() as connection:
            seen = await shown_choices.last(connection, self.channel, address)
        if seen is None:
            return event
        question, options = seen
        key = match_option(event.text, options)
        return ChoiceMade(key, question) if key is not None else event
