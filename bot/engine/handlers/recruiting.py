"""Recruiting: "Invite a friend" sends him an invitation to forward, with the series' link for
the source "friend" (the same for every man: nobody's name is in it)."""

from __future__ import annotations

from datetime import time

from bot.channels.base import Outgoing
from bot.delivery import outbox
from bot.domain import invites
from bot.engine.handlers.base import Handler, Phase
from bot.engine.turn import Turn
from bot.store import series as series_store
from dialogs import notices
from dialogs.types import ShareInvite


async def share_invite(effect: ShareInvite, turn: Turn) -> None:
    """How to pass it on, then the invitation itself."""
    series = await series_store.get(turn.connection, effect.series_id)
    if series is None or turn.row is None:
        return
    language = turn.row.language
    username = await invites.cached_username(turn.connection)
    links = invites.links(turn.engine.settings, username, effect.series_id, invites.FRIEND, language)
    link = links.whatsapp if turn.channel == "whatsapp" else links.telegram
    link = link or links.telegram or links.whatsapp or links.code
    invitation = notices.friend_invitation(
        language, series.name, series.weekday, time.fromisoformat(series.start_time), link
    )
    share = invites.share_link(turn.channel, invitation, link)
    for text in (notices.friend_instructions(language, turn.channel, share), invitation):
        await outbox.enqueue(
            turn.connection,
            channel=turn.channel,
            address=turn.address,
            message=Outgoing(text),
            kind="reply",
            priority=outbox.REPLY,
            now=turn.now,
        )


SHARE_INVITE = Handler(ShareInvite, Phase.STORE, share_invite)
