"""Table definitions (SQLAlchemy Core). Alembic migrations in ``bot/migrations`` create them.

Kept portable: no SQLite-only types; datetimes are stored as naive UTC and handed back aware.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

participants = Table(
    "participants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("name", String(64)),
    Column("area", String(64)),
    Column("consented_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("last_inbound_at", UtcDateTime),
    UniqueConstraint("channel", "address"),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("start_time", String(5), nullable=False),  # "19:00", organisation's wall clock
    Column("start_date", String(10), nullable=False),  # ISO date
    Column("meeting_count", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("location", String(200), nullable=False, default=""),
    Column("area", String(64), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="open"),  # open | closed
    Column("seat_version", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="scheduled"),  # scheduled | cancelled
    UniqueConstraint("series_id", "number"),
    Index("ix_meetings_starts_at", "starts_at"),
)

signups = Table(
    "signups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),  # confirmed | waitlist
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("series_id", "participant_id"),
    Index("ix_signups_participant", "participant_id"),
)

coordinators = Table(
    "coordinators",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("update_id", String(64), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index("ix_processed_updates_processed_at", "processed_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("priority", Integer, nullable=False),  # 0 = reply to someone chatting, 1 = bulk
    Column("payload", Text, nullable=False),  # JSON: text, options, question
    Column("kind", String(16), nullable=False),  # reply | reminder | broadcast | notice
    Column("dedupe_key", String(120), unique=True),
    Column("ref", String(40)),  # what it belongs to, e.g. "broadcast:5"; counted for progress
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("error", String(64)),
    Index("ix_outbox_pending", "status", "channel", "priority", "not_before"),
    Index("ix_outbox_address", "channel", "address"),
    Index("ix_outbox_ref", "ref", "status"),
)
