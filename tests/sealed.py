"""The tests' MEEDOEN_SECRET_KEY, and the polls' pools read by someone who holds it.

A pool keeps each answer as one sealed column (bot/store/sealing.py): the tests that check
what a pool holds open it here, with the key, as the weekly move does."""

from __future__ import annotations

import json

from bot.store.sealing import Seal
from tests import raw_database

SECRET_KEY = "test-secret-key-0123456789"
SEAL = Seal(SECRET_KEY)


def pool(database_url: str, table: str) -> list[dict]:
    """Every row of ``table`` (``checkin_pool``, ``statement_pool``, ``listening_pool``) opened:
    ``{"id": ..., "iso_week": ..., **answer}``, in the order the database gives them."""
    rows = raw_database.query(database_url, f"SELECT id, iso_week, sealed FROM {table}")
    return [
        {"id": row_id, "iso_week": week, **json.loads(SEAL.open_text(value, f"{table}.sealed"))}
        for row_id, week, value in rows
    ]


def pool_rows(database_url: str, table: str, columns: str) -> list[tuple]:
    """What ``SELECT <columns> FROM <table>`` gave before the pools were sealed."""
    names = [name.strip() for name in columns.split(",")]
    return [tuple(row.get(name) for name in names) for row in pool(database_url, table)]
