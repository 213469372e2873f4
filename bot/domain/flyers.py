"""A series' flyers: what goes on them, in each language, with its invite links
(``bot.domain.invites``); the drawing is ``bot.analytics.flyer``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.analytics import flyer as drawing
from bot.config import Settings
from bot.domain import invites
from bot.store import series as series_store
from dialogs.formatting import LANGUAGE_NAMES, clock, weekday_name
from dialogs.i18n import RTL_LANGUAGES, _, directed, fill, use_locale
from dialogs.types import LANGUAGES


@dataclass(frozen=True)
class Flyer:
    language: str
    file_name: str  # e.g. flyer-3-ar.png
    caption: str
    png: bytes = b""
    pdf: bytes = b""


async def for_series(
    connection: AsyncConnection,
    settings: Settings,
    series_id: int,
    *,
    source: str,
    now: datetime,
    languages: tuple[str, ...] = LANGUAGES,
    fmt: str = "png",
) -> list[Flyer]:
    """One flyer per language (PNG, or an A5 PDF with ``fmt="pdf"``)."""
    row = await series_store.get(connection, series_id)
    if row is None:
        return []
    meetings = [m for m in await series_store.meeting_rows(connection, series_id) if m.status == "scheduled"]
    ahead = [m for m in meetings if m.starts_at > now]
    first = (ahead or meetings)[0].starts_at if meetings else None
    username = await invites.cached_username(connection)
    made = []
    for language in languages:
        content = contents(settings, row, first, username, source, language)
        name = f"flyer-{series_id}{'-' + source if source else ''}-{language}.{fmt}"
        caption = f"{row.name} ({LANGUAGE_NAMES[language]})"
        # Drawing takes a few tenths of a second: off the event loop, which serves the chats.
        if fmt == "pdf":
            made.append(Flyer(language, name, caption, pdf=await asyncio.to_thread(drawing.pdf, content)))
        else:
            made.append(Flyer(language, name, caption, png=await asyncio.to_thread(drawing.png, content)))
    return made


def contents(settings: Settings, row, first: datetime | None, username: str | None, source: str, language: str) -> drawing.FlyerContent:
    """The texts and links of one flyer, in ``language`` (gettext and Babel)."""
    links = invites.links(settings, username, row.id, source, language)
    codes = []
    if links.telegram:
        codes.append(drawing.QrLink("Telegram", links.telegram, links.telegram.removeprefix("https://")))
    if links.whatsapp and settings.twilio_whatsapp_from:
        number = settings.twilio_whatsapp_from.removeprefix("whatsapp:").lstrip("+")
        codes.append(drawing.QrLink("WhatsApp", links.whatsapp, f"wa.me/{number}"))
    with use_locale(language):
        start = clock(time.fromisoformat(row.start_time))
        if first is not None:
            day = format_date(first.astimezone(ZoneInfo(settings.timezone)).date(), "d MMMM y", locale=language)
            day = day.replace(" ", "\u00a0")  # a date is never broken over two lines
        if first is not None and row.meeting_count == 1:  # a living-room talk: one evening
            when = fill(_("Once, on %(date)s at %(time)s"), date=day, time=start)
        elif first is not None:
            when = fill(
                _("Every %(weekday)s at %(time)s, from %(date)s"),
                weekday=weekday_name(row.weekday), time=start, date=day,
            )
        else:
            when = fill(_("Every %(weekday)s at %(time)s"), weekday=weekday_name(row.weekday), time=start)
        return drawing.FlyerContent(
            rtl=language in RTL_LANGUAGES,
            language=language,
            title=row.name,
            sentence=directed(_(
                "Men talk together about work, family, care and taking part. Come as you are: "
                "you are welcome."
            )),
            when=directed(when),
            # A living-room talk's place (someone's home) is told only to those who sign up.
            place=directed(row.location) if row.location and not row.place_private else "",
            free=directed(_("Free, with coffee and tea")) if settings.flyer_free else "",
            scan=directed(_("Scan the code with your phone's camera to sign up")),
            organisation=settings.organisation,
            codes=tuple(codes),
        )
