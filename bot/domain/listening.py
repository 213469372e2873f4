"""The listening poll's links and storage (issue 17 §2; the dialog is ``dialogs.listening``).

A listening link opens the poll for anyone, signed up or not: ``/start listen`` or ``listen_<tag>`` (no area), or
a signed code that carries an area, ``listen<n>_<tag>`` (``n``: the area's place in
MEEDOEN_AREAS; the tag a keyed hash of the area's *name*, signed like the series invite codes
of ``bot.domain.invites``), so nobody can make a link for another area, and a link made before
the areas were reordered stops working rather than counting answers in the wrong area.

An answer is stored with the area of the link or, without one, his own area if he signed up,
kept only when at least ``bot.store.anonymity.K`` signed-up men have it (else "not given"),
and no language: nothing else describes him (``bot.store.listening``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.domain.invites import TAG_LENGTH
from bot.store import anonymity, participants
from bot.store import listening as store
from dialogs import buttons, keywords
from dialogs.i18n import _, directed, fill, use_locale
from dialogs.types import ChoiceMade, Command, RecordListening, Text

PLAIN = "listen"
"""``/start listen``: the poll without an area."""
_CODE = re.compile(rf"(?<![A-Za-z0-9_-])listen(\d{{1,3}})?_([0-9a-f]{{{TAG_LENGTH}}})(?![A-Za-z0-9_-])")


def _tag(secret: bytes, area: str) -> str:
    return hmac.new(secret, f"listen|{area}".encode(), hashlib.sha256).hexdigest()[:TAG_LENGTH]


def code(secret: bytes, areas: tuple[str, ...], area: str | None) -> str:
    """The start code of a listening link for ``area`` (None: no area, ``listen_<tag>``, which
    a WhatsApp link's prefilled message can carry where a bare word could be read by chance)."""
    if not area:
        return f"listen_{_tag(secret, '')}"
    return f"listen{areas.index(area)}_{_tag(secret, area)}"


def read(secret: bytes, areas: tuple[str, ...], text: str) -> str | None:
    """The area of the listening code in ``text`` ("" for ``/start listen``), None when it
    holds none or one that does not verify."""
    words = (text or "").split()
    if words[:2] == ["/start", PLAIN] or words == [PLAIN]:
        return ""
    found = _CODE.search(text or "")
    if found is None or (found[1] is not None and int(found[1]) >= len(areas)):
        return None
    area = "" if found[1] is None else areas[int(found[1])]
    return area if hmac.compare_digest(found[2], _tag(secret, area)) else None


def whatsapp_link(number: str, listen_code: str, language: str) -> str:
    """A wa.me link whose prefilled message, in ``language``, carries the code."""
    with use_locale(language):
        text = directed(fill(_("Hello! I would like to answer the anonymous questions. Code: %(code)s"), code=listen_code))
    digits = number.removeprefix("whatsapp:").lstrip("+")
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.encode()


async def context(connection: AsyncConnection, settings: Settings, channel: str, address: str, event) -> dict:
    """The ``Context`` fields of the poll: whether he has answered, and the link he came by.
    Whether he has answered is looked up only for an event that can begin the poll (a
    command, a listening link, the offer's "Yes"): the dialog reads it nowhere else, and the
    other messages of a conversation then cost no query for it."""
    if not settings.secret_key:
        return {}
    link = read(_secret(settings), tuple(settings.areas), event.text) if isinstance(event, Text) else None
    may_begin = link is not None or isinstance(keywords.as_command(event), Command) or (
        isinstance(event, ChoiceMade) and event.key == buttons.LISTENING.key("go")
    )
    if not may_begin:
        return {"listen_link": link}
    listened = await store.has_answered(connection, store.marker(_secret(settings), channel, address))
    return {"listened": listened, "listen_link": link}


async def record(connection: AsyncConnection, settings: Settings, channel: str, address: str,
                 effect: RecordListening, now: datetime) -> None:
    """Store a finished poll with nothing that names him (once per man)."""
    area = effect.area
    if area is None:
        row = await participants.find(connection, channel, address)
        area = row.area if row is not None else None
    men_there = sum(n for (_language, where), n in (await anonymity.population(connection)).items() if where == area)
    values = {
        "area": area if area and men_there >= anonymity.K else None,
        "barriers": effect.barriers,
        "interests": effect.interests,
        "day_parts": effect.day_parts,
    }
    await store.record(connection, store.marker(_secret(settings), channel, address), now, values)


async def forget(connection: AsyncConnection, settings: Settings, channel: str, address: str) -> None:
    await store.forget(connection, _secret(settings), channel, address)
