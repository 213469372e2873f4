"""The one clock: the current instant in UTC, aware.

Everything that needs "now" takes it as a parameter (``now: Now = utcnow``) so tests and
benchmarks inject their own clock; only the edges (the service, the CLI) call ``utcnow``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
