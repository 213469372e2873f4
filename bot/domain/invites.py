"""Invite links that carry a series and a source, and the counting of sources (issue 16).

A code names a series and, optionally, a source a coordinator chose ("flyer-moskee-osdorp",
"friend" for "Invite a friend"), signed with ``MEEDOEN_SECRET_KEY``:
``s<series>_<source>_<tag>`` (``s3__<tag>`` without a source). The tag is a keyed hash of the
series and source, so nobody can turn one series' or source's code into another's; a code
that does not verify (typed wrong, forged, made with another key) is ignored and the man gets
the ordinary start. Codes fit Telegram's ``start`` parameter: at most 64 characters of
``[A-Za-z0-9_-]``.

Sources are counted, never stored per man: a sign-up through a link adds one to its
(series, source) count, and leaves a keyed marker (HMAC of his chat address and the series,
with the source) until he is counted as having come to a meeting, the series ends, or he
uses /delete. Without the key, nothing in the database ties a source to a man.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.store import facilitators
from bot.store import invites as invite_store
from bot.store import meetings as meeting_store
from bot.store import participants as participant_store
from dialogs.i18n import _, directed, fill, use_locale

log = logging.getLogger(__name__)

SOURCE_MAX = 40
FRIEND = "friend"
"""The source of a sign-up through a man's "Invite a friend" link (the same link for every
man of a series: nothing says who invited whom)."""
TAG_LENGTH = 12
FACILITATOR_PREFIX = "leider-"
FACILITATOR_TAG_LENGTH = 8
"""A facilitator's own source is ``leider-`` and 8 hex digits of a keyed hash of his chat
address (see ``facilitator_source``)."""
ERASED_FACILITATOR = "leider-erased"
"""Where a facilitator's counts go when he uses /delete (``forget``): kept, no longer his."""
_SOURCE_PATTERN = rf"[a-z0-9][a-z0-9-]{{0,{SOURCE_MAX - 1}}}"
_SOURCE = re.compile(_SOURCE_PATTERN)
_CODE = re.compile(
    rf"(?<![A-Za-z0-9_-])s(\d{{1,9}})_((?:{_SOURCE_PATTERN})?)_([0-9a-f]{{{TAG_LENGTH}}})(?![A-Za-z0-9_-])"
)
USERNAME_FACT = "telegram_username"


class InvalidSource(ValueError):
    """A source name a link cannot carry; the message is one sentence for the coordinator."""


@dataclass(frozen=True)
class Invite:
    series_id: int
    source: str  # "" when the link carries none


@dataclass(frozen=True)
class InviteLinks:
    """A series' links for one source and language; None for a channel that is not set up."""

    code: str
    telegram: str | None
    whatsapp: str | None


def check_source(name: str | None) -> str:
    """The source as a link carries it: lower case letters, digits and hyphens."""
    source = (name or "").strip().lower()
    if source and not _SOURCE.fullmatch(source):
        raise InvalidSource(
            f"the source {name!r} may only hold letters, digits and hyphens (at most {SOURCE_MAX}), "
            "like flyer-moskee-osdorp."
        )
    return source


def facilitator_source(secret: bytes, channel: str, address: str) -> str:
    """A facilitator's own source label, e.g. ``leider-3f9a0c12``: the same every time (so
    his links and flyers keep counting for him, also after a remove and add), and a keyed
    hash of his chat address, so a public link shows neither his phone number nor his chat
    id, and without ``MEEDOEN_SECRET_KEY`` nobody can tell whose it is. 32 bits keep two
    facilitators of one organisation apart; ``source_owners`` tells coordinators whose a
    label is."""
    digest = hmac.new(secret, f"facilitator|{channel}:{address}".encode(), hashlib.sha256).hexdigest()
    return FACILITATOR_PREFIX + digest[:FACILITATOR_TAG_LENGTH]


def _tag(secret: bytes, series_id: int, source: str) -> str:
    digest = hmac.new(secret, f"invite|{series_id}|{source}".encode(), hashlib.sha256).hexdigest()
    return digest[:TAG_LENGTH]


def code(secret: bytes, series_id: int, source: str = "") -> str:
    return f"s{series_id}_{source}_{_tag(secret, series_id, source)}"


def read(secret: bytes, text: str) -> Invite | None:
    """The invite in ``text`` (a ``/start`` argument, or a first WhatsApp message with the
    code in it), if it verifies; None otherwise."""
    found = _CODE.search(text or "")
    if found is None:
        return None
    series_id, source, tag = int(found[1]), found[2], found[3]
    if not hmac.compare_digest(tag, _tag(secret, series_id, source)):
        return None
    return Invite(series_id, source)


def telegram_link(username: str, invite_code: str) -> str:
    return f"https://t.me/{username}?start={invite_code}"


def prefilled_text(invite_code: str, language: str) -> str:
    """The message a WhatsApp link writes for him, in his language, with the code in it."""
    with use_locale(language):
        return directed(fill(_("Hello! I would like to join the conversation group. Code: %(code)s"), code=invite_code))


def whatsapp_link(number: str, invite_code: str, language: str) -> str:
    digits = number.removeprefix("whatsapp:").lstrip("+")
    return f"https://wa.me/{digits}?text={quote(prefilled_text(invite_code, language), safe='')}"


def share_link(channel: str, invitation: str, link: str) -> str:
    """A link that opens the man's app ready to pass ``invitation`` on to a friend he picks:
    WhatsApp's ``wa.me/?text=``, or Telegram's share URL."""
    if channel == "whatsapp":
        return f"https://wa.me/?text={quote(invitation, safe='')}"
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(invitation, safe='')}"


def links(settings: Settings, username: str | None, series_id: int, source: str, language: str) -> InviteLinks:
    """A series' invite links for ``source``, in ``language`` (the WhatsApp text)."""
    invite_code = code(settings.secret_key.encode(), series_id, source)
    return InviteLinks(
        code=invite_code,
        telegram=telegram_link(username, invite_code) if username else None,
        whatsapp=whatsapp_link(settings.twilio_whatsapp_from, invite_code, language)
        if settings.twilio_whatsapp_from
        else None,
    )


# --- The bot's Telegram username (getMe), cached in the database --------------------------


async def cached_username(connection: AsyncConnection) -> str | None:
    return await invite_store.cached(connection, USERNAME_FACT)


async def remember_username(connection: AsyncConnection, username: str, now: datetime) -> None:
    """Called by the Telegram channel's start (its getMe), and by the CLI after its own."""
    await invite_store.cache(connection, USERNAME_FACT, username, now)


async def fetch_username(settings: Settings) -> str | None:
    """Ask Telegram's getMe (for the CLI when the service has not cached it yet)."""
    import httpx

    if not settings.telegram_bot_token:
        return None
    url = f"{settings.telegram_api_base_url}{settings.telegram_bot_token}/getMe"
    async with httpx.AsyncClient(timeout=10) as client:
        answer = (await client.get(url)).json()
    return (answer.get("result") or {}).get("username") if answer.get("ok") else None


# --- Counting ---------------------------------------------------------------------------


def marker(secret: bytes, channel: str, address: str, series_id: int) -> str:
    """His keyed marker for one series (never equal to a check-in marker: another message)."""
    message = f"invite|{channel}:{address}|{series_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


async def count_signup(
    connection: AsyncConnection, secret: bytes, channel: str, address: str, invite: Invite
) -> None:
    """A man signed up for ``invite.series_id`` through a link with ``invite.source``."""
    await invite_store.count_signup(
        connection, invite.series_id, invite.source, marker(secret, channel, address, invite.series_id)
    )


async def mark_attendance(
    connection: AsyncConnection, secret: bytes, participant_id: int, meeting_id: int, present: bool, now: datetime
) -> None:
    """Tick attendance (``bot.store.meetings``); a man ticked present who came through a
    link is counted for his source once, and his marker goes."""
    await meeting_store.mark_attendance(connection, participant_id, meeting_id, present, now)
    if not present:
        return
    meeting = await meeting_store.get(connection, meeting_id)
    address = await participant_store.address_of(connection, participant_id)
    if meeting is None or address is None:
        return
    await invite_store.count_attended(connection, marker(secret, *address, meeting.series_id))


async def forget(connection: AsyncConnection, secret: bytes, channel: str, address: str) -> None:
    """On /delete: his markers, derived again for every series that has markers; and, had he
    his own source as a facilitator, its counts go under ``ERASED_FACILITATOR``, so no count
    stays that his address (with the key) leads to."""
    mine = [marker(secret, channel, address, series_id) for series_id in await invite_store.marked_series(connection)]
    await invite_store.forget_markers(connection, mine)
    await invite_store.merge_source(connection, facilitator_source(secret, channel, address), ERASED_FACILITATOR)


async def forget_ended(connection: AsyncConnection, now: datetime) -> int:
    """Markers of finished series go (a scheduler job)."""
    return await invite_store.forget_ended(connection, now)


async def counts(connection: AsyncConnection, series_id: int) -> list[tuple[str, int, int]]:
    return await invite_store.counts(connection, series_id)


async def source_owners(connection: AsyncConnection, secret: bytes) -> dict[str, str]:
    """Each current facilitator's source label → his chat address ("telegram:123"), and his
    name after it when he gave one: so coordinators read a ``leider-`` row of the counts as his."""
    owners = {}
    for channel, address in {(row.channel, row.address) for row in await facilitators.listing(connection)}:
        person = await participant_store.find(connection, channel, address)
        who = f"{channel}:{address}" + (f" ({person.name})" if person is not None and person.name else "")
        owners[facilitator_source(secret, channel, address)] = who
    return owners
