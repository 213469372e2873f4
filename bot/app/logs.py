"""Logging set-up: ids and error codes only; secrets are redacted wherever they appear.

Message texts are never passed to the logger in the first place; the redaction filter is a
second line of defence for secrets (a token inside a URL in a library's log line, say).
"""

from __future__ import annotations

import logging

from bot.config import Settings


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            redacted = message
            for secret in self.secrets:
                redacted = redacted.replace(secret, "***")
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def configure(settings: Settings, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        RedactSecrets(
            [
                settings.telegram_bot_token,
                settings.twilio_auth_token,
                settings.secret_key,
                settings.telegram_webhook_secret,
            ]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token. aiosqlite
    # and SQLAlchemy's engine log SQL with its parameters at DEBUG/INFO: conversation states
    # (a check-in under way) and message texts; keep them quiet even when DEBUG is asked for.
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "aiosqlite", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
