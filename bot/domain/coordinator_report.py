"""``/report`` in the chat: the report's chart with a short summary in the coordinator's language."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.analytics.report import summary
from bot.analytics.report_chart import render_png
from bot.channels.base import Outgoing
from bot.config import Settings, read_shapes
from bot.store.database import Database
from bot.store.report_data import build_from


async def coordinator_report(
    db: Database, settings: Settings, language: str, now: datetime | None = None
) -> Outgoing:
    """``/report``: the chart as a PNG, with a short summary in the coordinator's language.
    Reads on their own connections (``build_from``), so no write waits for it longer than
    storing a newly closed month, and draws the chart in a worker thread, so the event loop
    keeps answering meanwhile."""
    report = await build_from(db, settings, now)
    shapes = read_shapes(settings.areas_geojson, settings.areas)
    image = await asyncio.to_thread(render_png, report, language, shapes)
    return Outgoing(text=summary(report, language), image=image)
