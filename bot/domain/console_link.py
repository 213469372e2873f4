"""Where the web console lives, and the one-time link a coordinator gets in his chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.store import console_links

PREFIX = "/console"
VALID_MINUTES = int(console_links.VALID_FOR.total_seconds() // 60)


def base_url(settings: Settings) -> str:
    """MEEDOEN_PUBLIC_URL when set, else the address the HTTP app listens on (reached over
    an SSH tunnel or the local network, see README "Web console")."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.http_host}:{settings.http_port}"


async def new_link(connection: AsyncConnection, settings: Settings, channel: str, address: str, now: datetime) -> str:
    token = await console_links.create(connection, channel, address, now)
    return f"{base_url(settings)}{PREFIX}/login/{token}"
