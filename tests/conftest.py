"""Shared fixtures: a real SQLite file per test, migrated; settings for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.store.database import Database

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'meedoen.db'}"


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-0123456789")


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.close()
