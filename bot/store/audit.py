"""The audit log: who changed what, when (the web console and the CLI's changing commands)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
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


async def newest_first(connection: AsyncConnection, limit: int, offset: int = 0) -> list[Row]:
    """One page of the log, the latest change first (the id follows the order of writing)."""
    result = await connection.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset))
    return list(result)


async def count(connection: AsyncConnection) -> int:
    return await connection.scalar(select(func.count()).select_from(audit_log))
