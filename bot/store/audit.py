"""The audit log: who changed what, when (the web console and the CLI's changing commands)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import audit_log

CLI = "cli"
"""The actor of a change made on the command line."""


async def record(connection: AsyncConnection, actor: str, action: str, detail: str, now: datetime) -> None:
    """Write one entry, in the transaction of the change it describes."""
    await connection.execute(
        audit_log.insert().values(at=now, actor=actor, action=action, detail=detail)
    )


async def latest(connection: AsyncConnection, limit: int = 50) -> list[Row]:
    result = await connection.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
    return list(result)
