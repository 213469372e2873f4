"""Table definitions (SQLAlchemy Core). Alembic migrations in ``bot/migrations`` create them.

Kept portable: no SQLite-only types; datetimes are stored as naive UTC and handed back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from bot.store.sealing import SealedText


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


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
    # WhatsApp only, to the hour: its 24-hour window (bot.store.participants.window_hour)
    Column("last_inbound_at", UtcDateTime),
    # The listening poll has been offered to him (once, scheduler.listening_offers; 0019)
    Column("listening_offered", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("channel", "address"),
    # k-anonymity counts men per language and area at every check-in (0008)
    Index("ix_participants_language_area", "language", "area"),
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
    # the .ics file's SEQUENCE: one more for every cancelled or moved meeting (0017), so a
    # man's calendar takes a newer file over an older one
    Column("calendar_sequence", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    # 1: the place is told only to those who signed up (a living-room talk at home, 0015)
    Column("place_private", Integer, nullable=False, default=0, server_default="0"),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="scheduled"),  # scheduled | cancelled
    Column("note", String(200)),  # why it was cancelled or moved, as the coordinator wrote it
    UniqueConstraint("series_id", "number"),
    Index("ix_meetings_starts_at", "starts_at"),
    Index("ix_meetings_series_starts_at", "series_id", "starts_at"),  # a page of the console's overview (0013)
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
    Index("ix_signups_series_status", "series_id", "status"),  # seats and waiting list per series (0013)
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
    Column("state", SealedText("conversations.state"), nullable=False),  # bot.store.sealing
    Column("updated_at", UtcDateTime, nullable=False),
    # When a dialog asked to hear back (a check-in left half-way is wiped after 30 minutes):
    # the scheduler sends a Timer event to conversations whose moment has come.
    Column("wake_at", UtcDateTime),
    Index("ix_conversations_wake_at", "wake_at"),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("update_id", String(64), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index("ix_processed_updates_processed_at", "processed_at"),
)

inbound_updates = Table(
    "inbound_updates",
    metadata,
    # An update as the platform sent it, stored before the platform is told "received" and
    # deleted in the transaction that handles it (it holds his text); see bot.store.inbound.
    Column("id", Integer, primary_key=True),  # arrival order
    Column("channel", String(16), nullable=False),
    Column("update_id", String(64), nullable=False),
    Column("address", String(64), nullable=False),  # the chat, for order and for /delete
    Column("payload", SealedText("inbound_updates.payload"), nullable=False),  # the raw update (JSON), sealed
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "update_id", name="uq_inbound_updates_channel"),
    Index("ix_inbound_updates_address", "channel", "address"),
)

OutboxStatus = Literal[
    "pending",  # waiting for its send slot (or for a retry)
    "claimed",  # its slot is booked, its request not started; a crash puts it back to pending
    "sending",  # its request has started; left so by a crash it becomes "uncertain"
    "sent",  # handed to the platform (bulk; a delivered reply row is deleted instead)
    "delivered",  # WhatsApp's status callbacks move a sent row on
    "read",
    "held",  # waiting for WhatsApp's 24-hour window (bot.delivery.outbox.release_held)
    "uncertain",  # a crash came while it was "sending": never resent
    "failed",
    "blocked",  # he blocked the bot
    "skipped",  # bulk for a man who stopped
    "expired",  # held too long
    "cancelled",  # a broadcast cancelled before it went out
]
"""Every value of ``outbox.status``, stored as these strings. ``bot.delivery.outbox.progress`` says
what each means for a broadcast's tally; mypy checks that it names every one."""
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = get_args(OutboxStatus)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("priority", Integer, nullable=False),  # 0 = reply to someone chatting, 1 = bulk
    Column("payload", SealedText("outbox.payload"), nullable=False),  # JSON: text, options, question; sealed
    Column("kind", String(16), nullable=False),  # reply | reminder | broadcast | notice
    Column("dedupe_key", String(120), unique=True),
    Column("ref", String(40)),  # what it belongs to, e.g. "broadcast:5"; counted for progress
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("error", String(64)),
    # The instance that claimed it (``outbox_owners``), while it is ``claimed`` or ``sending``:
    # rows in hand of an instance whose lease expired are recovered, never a live one's.
    Column("owner", String(32)),
    Index("ix_outbox_pending", "status", "channel", "priority", "not_before"),
    Index("ix_outbox_address", "channel", "address"),
    Index("ix_outbox_ref", "ref", "status"),
)

schedule_runs = Table(
    "schedule_runs",
    metadata,
    # One row per scheduled fan-out that has happened (or was dropped): e.g. the 24-hour
    # reminder of meeting 12, the "we missed you" follow-up of meeting 12. Its presence is
    # what makes a restart skip it.
    Column("kind", String(16), primary_key=True),  # reminder | missed | checkin | statements
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("offset_minutes", Integer, primary_key=True),
    Column("outcome", String(16), nullable=False),  # queued | dropped
    Column("done_at", UtcDateTime, nullable=False),
)

reminders = Table(
    "reminders",
    metadata,
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("offset_minutes", Integer, primary_key=True),
    Column("state", String(16), nullable=False),  # queued | dropped (delivery: see the outbox)
    Column("due_at", UtcDateTime, nullable=False),
    Index("ix_reminders_due_at", "due_at"),
)

rsvps = Table(
    "rsvps",
    metadata,
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("answer", String(16), nullable=False),  # coming | not_coming
    Column("answered_at", UtcDateTime, nullable=False),
)

attendance = Table(
    "attendance",
    metadata,
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("present", Integer, nullable=False),  # 1 | 0
    Column("marked_at", UtcDateTime, nullable=False),
)

waitlist_offers = Table(
    "waitlist_offers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column(
        "participant_id",
        Integer,
        ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),  # open | accepted | declined | expired
    Column("offered_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_waitlist_offers_open", "status", "expires_at"),
)

# One row whose version triggers bump on every change to series, meetings, signups and
# waitlist_offers (migration 0004), so that the cached series overview
# (``bot.store.series.Catalog``) knows in one read whether it is still exact. On SQLite, a
# batch migration that rebuilds one of those four tables drops its triggers: create them again.
series_catalog = Table(
    "series_catalog",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_by", String(80), nullable=False),  # channel:address of the coordinator
    Column("created_at", UtcDateTime, nullable=False),
    Column("audience", Text, nullable=False),  # JSON: the audience definition(s)
    Column("texts", Text, nullable=False),  # JSON: {"nl": ..., "ar": ...}
    Column("invite_series_id", Integer, ForeignKey("series.id", ondelete="SET NULL")),
    Column("recipients", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # queued | done | cancelled
    Column("tally", Text),  # JSON counts when done: delivered, failed, blocked, skipped
    Column("finished_at", UtcDateTime),
    # When the coordinator was last told how it goes (bot.domain.broadcasts.ProgressReporter),
    # kept here so that several instances tell him once (0021).
    Column("progress_at", UtcDateTime),
)

# --- Anonymous check-ins (see bot.store.checkins and the README) ---------------------------
# No participant id, address, message id or time finer than the ISO week; no free text;
# language and area coarsened until at least 5 signed-up men share them (bot.store.anonymity).
# A finished check-in waits in ``checkin_pool`` (rewritten in key order on every insert) until
# its week is over, then moves to ``checkin_responses`` in a random order: the place of a row
# in the file never follows the order of check-ins.


def _answer_columns() -> list[Column]:
    return [
        Column("id", String(32), primary_key=True),  # random, e.g. secrets.token_hex(16)
        Column("iso_week", String(8), nullable=False),  # "2026-W47"
        Column("language", String(8), nullable=False),  # of the questions, or "other"
        Column("area", String(64)),  # the area he chose at sign-up; NULL: not given or too few
        Column("item1", Integer), Column("item2", Integer), Column("item3", Integer),
        Column("item4", Integer), Column("item5", Integer), Column("item6", Integer),
        # each item: 0 = ja, 1 = min of meer, 2 = nee; NULL = skipped
        Column("emotional", Integer),  # 0-3, NULL when an emotional item is missing
        Column("social", Integer),  # 0-3
        Column("total", Integer),  # 0-6, NULL when more than one item is missing
        Column("took_part", Integer),  # 1 yes, 0 no, NULL skipped
        Column("worthwhile", Integer),  # 0-10, NULL skipped
        # 1: the first answer of its man in its report month (the month of the ISO week's
        # Thursday), so it counts one man; 0: a later answer of a man counted already; NULL:
        # stored before 0010, counts no man (the report's rule of 10 counts men, bot.analytics.report).
        Column("first_in_month", Integer),
    ]


checkin_responses = Table(
    "checkin_responses",
    metadata,
    *_answer_columns(),
    # The report's GROUP BY reads this in order instead of sorting every response (0005;
    # first_in_month, grouped on as well, since 0010).
    Index(
        "ix_checkin_responses_report",
        "iso_week", "area", "language", "first_in_month",
        "total", "emotional", "social", "took_part", "worthwhile",
    ),
    sqlite_with_rowid=False,
)

def _pool_columns(table: str) -> list[Column]:
    """A poll's pool (0022): the week in plain, for the weekly move, and everything else of
    the answer as one sealed JSON object (bot.store.sealing), opened only by that move."""
    return [
        Column("id", String(32), primary_key=True),  # random, e.g. secrets.token_hex(16)
        Column("iso_week", String(8), nullable=False),  # "2026-W47"
        Column("sealed", SealedText(f"{table}.sealed"), nullable=False),
    ]


checkin_pool = Table(
    # This ISO week's finished check-ins: the columns of checkin_responses but id and iso_week,
    # sealed as one JSON object (0008, 0022).
    "checkin_pool",
    metadata,
    *_pool_columns("checkin_pool"),
    sqlite_with_rowid=False,
)

checkin_markers = Table(
    "checkin_markers",
    metadata,
    # "He has checked in this ISO week": HMAC(secret, participant key + week), unreadable
    # without MEEDOEN_SECRET_KEY, which is never stored in the database. Erased when the
    # week is over (the week is kept for that, 0008).
    Column("marker", String(64), primary_key=True),
    Column("iso_week", String(8), nullable=False),
    sqlite_with_rowid=False,
)

checkin_month_markers = Table(
    "checkin_month_markers",
    metadata,
    # "He has checked in this report month" (the month of the ISO week's Thursday): the same
    # keyed hash as a week's marker, of his chat address and the month. It decides whether
    # an answer is the first of its man in the month (``first_in_month``), and is erased when
    # the month is over (0010). Rewritten in key order on every insert, like the above.
    Column("marker", String(64), primary_key=True),
    Column("month", String(7), nullable=False),  # "2026-11"
    sqlite_with_rowid=False,
)

# --- WhatsApp (bot/channels/whatsapp) --------------------------------------------------------
# Both tables hang off rows that erasure deletes (ON DELETE CASCADE), so /delete and a refused
# consent take them along without the store having to know about WhatsApp.

whatsapp_messages = Table(
    "whatsapp_messages",
    metadata,
    # One row per message handed to Twilio, so that its status callbacks can update the outbox.
    Column("sid", String(34), primary_key=True),  # Twilio's MessageSid, "SM" + 32 hex
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE")),
    Column("path", String(16), nullable=False),  # session | template | opener
    Column("kind", String(16), nullable=False),  # the outbox kind: reply, reminder, ...
    # The part as sent (outbox JSON), kept only until it is delivered, so that a message
    # WhatsApp refuses for the 24-hour window (63016) can go again as a template.
    Column("payload", SealedText("whatsapp_messages.payload")),  # sealed
    Column("status", String(16), nullable=False),  # queued | sent | delivered | read | failed | undelivered
    Column("error", String(16)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_whatsapp_messages_outbox_id", "outbox_id"),
    Index("ix_whatsapp_messages_created_at", "created_at"),
)

whatsapp_media = Table(
    "whatsapp_media",
    metadata,
    # What ``/whatsapp/media/<token>`` serves Twilio for an hour: an image or a file (its bytes)
    # or a voice clip (by id), kept here rather than in one process's memory so that whichever
    # instance Twilio's request reaches can answer it (0021). Nothing in it names a man.
    Column("token", String(64), primary_key=True),
    Column("content", LargeBinary),
    Column("clip_id", Integer, ForeignKey("voice_clips.id", ondelete="CASCADE")),
    Column("media_type", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_whatsapp_media_expires_at", "expires_at"),
)

whatsapp_choices = Table(
    "whatsapp_choices",
    metadata,
    # The numbered choices he was shown last, so that a typed "2" means what he saw as 2
    # (a reminder's answers as well as the conversation's own question).
    Column("channel", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("question", Integer, nullable=False),
    # JSON: [[label, key], ...], sealed: which question follows can tell the answer before it
    Column("options", SealedText("whatsapp_choices.options"), nullable=False),
    Column("shown_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(
        ["channel", "address"],
        ["conversations.channel", "conversations.address"],
        ondelete="CASCADE",
    ),
)

# --- Operating the service (bot/domain/erasure.py, bot/store/heartbeat.py) --------------------------

erasures = Table(
    "erasures",
    metadata,
    # The erasure ledger: "the man at this chat address used /delete". A keyed hash
    # (HMAC-SHA256 with MEEDOEN_SECRET_KEY) of the address and the day, nothing else, so that
    # ``meedoen db restore`` can erase him again from an older backup. The day tells a
    # backup's row from before the erasure from one of a later new sign-up. WITHOUT ROWID
    # with the hash as key: the rows' order in the file is not the order of the erasures.
    Column("address_hash", String(64), primary_key=True),
    Column("erased_on", String(10), nullable=False),  # ISO date (UTC) of the latest erasure
    sqlite_with_rowid=False,
)

outbox_owners = Table(
    "outbox_owners",
    metadata,
    # One row per running instance (``meedoen run``), its lease renewed every few seconds
    # while it lives and removed at a clean stop (bot.delivery.instance). Names no one.
    Column("owner", String(32), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
)

service_heartbeat = Table(
    "service_heartbeat",
    metadata,
    # One row while ``meedoen run`` is up, its time renewed on every scheduler tick and the
    # row removed at a clean stop: the CLI reads it to tell whether a service is running.
    Column("id", Integer, primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
)

key_fingerprint = Table(
    "key_fingerprint",
    metadata,
    # One row: HMAC-SHA256 of a fixed label with the MEEDOEN_SECRET_KEY this database was
    # made with (never the key), so that another key is noticed before it silently voids the
    # signed buttons, the check-in markers and the erasure ledger (0010).
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)

published_figures = Table(
    "published_figures",
    metadata,
    # What the report has shown of one closed month, frozen at its first report (bot/analytics/report.py):
    # JSON of the figures that were shown, and nothing that was hidden. Later reports show
    # these again instead of recounting, so no two reports differ by a late response.
    Column("month", String(7), primary_key=True),  # "2026-09"
    Column("content", Text, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)

console_links = Table(
    "console_links",
    metadata,
    # One-time links to the web console (bot/console): only the SHA-256 of the token is kept,
    # so a copy of the database opens nothing. Bound to one coordinator, valid until
    # ``expires_at``, spent at ``used_at``.
    Column("token_hash", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Who changed what, when: every change made in the web console and by the CLI's changing
    # commands. ``actor`` is "telegram:123" for a coordinator, "cli" for the command line.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(96), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
)

facilitators = Table(
    "facilitators",
    metadata,
    # Peer facilitators (gespreksleiders), each of one or more series (issue 16). Names a
    # chat address: erased by /delete (bot.store.participants.erase).
    Column("channel", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    Index("ix_facilitators_series", "series_id"),
)

meeting_reports = Table(
    "meeting_reports",
    metadata,
    # The facilitator's form after a meeting: one per meeting, the first filled in wins. It
    # keeps nothing that names the facilitator or a participant (the form asks for no names).
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("men_present", Integer),
    Column("themes", String(200), nullable=False, default=""),  # comma-separated keys
    Column("exercises", String(300)),
    Column("atmosphere", Integer),  # 1..5
    Column("outcomes", Text),
    Column("follow_up", Integer, nullable=False, default=0),  # 1 | 0
    Column("follow_up_text", String(500)),
    Column("language", String(8), nullable=False),
    Column("filled_at", UtcDateTime, nullable=False),
)

report_requests = Table(
    "report_requests",
    metadata,
    # The form (kind "form") and its one reminder (kind "reminder") sent to a facilitator for
    # a meeting: the row is the claim, so a restart or a second process never sends twice.
    Column("meeting_id", Integer, ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # form | reminder
    Column("sent_at", UtcDateTime, nullable=False),
)

living_room_proposals = Table(
    "living_room_proposals",
    metadata,
    # A one-off meeting a facilitator proposed; a coordinator's "Approve" turns it into a
    # series of one meeting (series_id). Names the facilitator: erased by /delete.
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("location", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("area", String(64), nullable=False, default=""),
    Column("status", String(16), nullable=False),  # proposed | approved
    Column("series_id", Integer, ForeignKey("series.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
)


# --- Recruiting: where sign-ups came from, counted, never stored per man (bot.domain.invites)

invite_counts = Table(
    "invite_counts",
    metadata,
    # Per series and source (the name a coordinator gave an invite link, "" for none, "friend"
    # for "Invite a friend"): how many signed up through it, and how many of those came to a
    # meeting. Counts only: no row says who.
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(40), primary_key=True),
    Column("signups", Integer, nullable=False, default=0),
    Column("attended", Integer, nullable=False, default=0),
)

invite_markers = Table(
    "invite_markers",
    metadata,
    # A man who signed up through a link, until he is counted as having come, the series
    # ends, or he uses /delete: a keyed hash (HMAC with MEEDOEN_SECRET_KEY) of his chat
    # address and the series, and the source. Without the key no row can be tied to a man;
    # the table is rewritten in key order on every insert, so its bytes do not follow the
    # order of sign-ups (as bot.store.checkins does).
    Column("marker", String(64), primary_key=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(40), nullable=False),
)

cached_facts = Table(
    "cached_facts",
    metadata,
    # What the service learnt from a platform and the CLI needs without asking it again,
    # e.g. "telegram_username" from getMe (for invite links).
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
)


help_requests = Table(
    "help_requests",
    metadata,
    # "He would like a coordinator to get in touch" (the check-in's button), open until a
    # coordinator marks it done in the console. Nothing of the check-in it came from: only
    # who asked and when it became visible, which is when the coordinators' notice goes out
    # (a random 10 to 60 minutes later, so its time does not point at the check-in). Erased
    # with him (ON DELETE CASCADE, /delete).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant_id", Integer, ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Index("ix_help_requests_open", "resolved_at", "asked_at"),
    Index("ix_help_requests_participant", "participant_id"),
)


funnel_counts = Table(
    "funnel_counts",
    metadata,
    # Where men give up (bot/store/funnel.py): how many conversations reached each step of
    # the sign-up or the check-in, per ISO week (the week the conversation began) and
    # language. Counters only, incremented as the steps happen: no row names or points at a
    # man, and no time finer than the week is kept.
    Column("week", String(8), primary_key=True),  # "2026-W48"
    Column("flow", String(16), primary_key=True),  # "signup" | "checkin"
    Column("step", String(16), primary_key=True),  # see dialogs/funnel.py
    Column("language", String(8), primary_key=True),
    Column("count", Integer, nullable=False),
)



# --- Voice notes (issue 19) ------------------------------------------------------------------
# A coordinator's recorded voice, in OGG/Opus as both platforms take it: for one language of a
# broadcast, or a series' reminder in one language. Nothing here names a man: a man's own voice
# notes are never fetched, let alone stored (bot/common/audio.py).

voice_clips = Table(
    "voice_clips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audio", LargeBinary, nullable=False),  # OGG/Opus, at most MAX_BYTES
    Column("seconds", Integer, nullable=False),
    Column("telegram_file_id", String(200)),  # Telegram's id after the first upload: re-used
    Column("created_at", UtcDateTime, nullable=False),
)

series_voices = Table(
    "series_voices",
    metadata,
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(2), primary_key=True),
    Column("clip_id", Integer, ForeignKey("voice_clips.id", ondelete="CASCADE"), nullable=False),
)
"""A series' recorded reminder per language (``/voice``); replacing or removing one erases
its clip."""

broadcast_voices = Table(
    "broadcast_voices",
    metadata,
    Column("broadcast_id", Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(2), primary_key=True),
    Column("clip_id", Integer, ForeignKey("voice_clips.id", ondelete="CASCADE"), nullable=False),
)
"""The voice notes of a broadcast, erased when the broadcast is finished or cancelled."""


# The listening poll (issue 17 §2): what keeps men away and what would draw them in. Stored
# like the check-in (bot/store/listening.py): a pool rewritten in key order until the ISO
# week is over, then moved in a random order under new ids; a keyed marker per man.


def _listening_columns() -> list[Column]:
    return [
        Column("id", String(32), primary_key=True),  # random, e.g. secrets.token_hex(16)
        Column("iso_week", String(8), nullable=False),  # "2026-W47"
        Column("area", String(64)),  # NULL: not given, or fewer than K signed-up men there
        # Each a bit set over the options of dialogs.listening (bit n: option n named);
        # NULL: the question was skipped.
        Column("barriers", Integer),
        Column("interests", Integer),
        Column("day_parts", Integer),
    ]


listening_responses = Table("listening_responses", metadata, *_listening_columns(), sqlite_with_rowid=False)

listening_pool = Table(
    # This ISO week's answers: listening_responses' columns but id and iso_week, sealed (0019, 0022).
    "listening_pool", metadata, *_pool_columns("listening_pool"), sqlite_with_rowid=False
)

listening_markers = Table(
    "listening_markers",
    metadata,
    # "He has answered the listening poll": HMAC(secret, "listening|" + chat address), kept
    # (so the poll is offered once) until he uses /delete; no time, no answer.
    Column("marker", String(64), primary_key=True),
    sqlite_with_rowid=False,
)


# --- Statements before and after a series (issue 17 §1, bot/store/statements.py) -------------

statements = Table(
    "statements",
    metadata,
    # Statements a coordinator added, each in the four languages (``meedoen statement add``).
    # Numbers 1-4 are the shipped ones (gettext msgids in dialogs/statements.py); these go on
    # from 5.
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("nl", Text, nullable=False),
    Column("ar", Text, nullable=False),
    Column("so", Text, nullable=False),
    Column("en", Text, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

series_statements = Table(
    "series_statements",
    metadata,
    # The statements a series uses, in order (``meedoen series statements ID --use 1,3,5``);
    # a series without rows here uses the four shipped ones.
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("number", Integer, nullable=False),
)


def _statement_answer_columns() -> list[Column]:
    return [
        Column("id", String(32), primary_key=True),  # random, never an order
        Column("series_id", Integer, nullable=False),
        Column("phase", String(8), nullable=False),  # "before" | "after"
        Column("iso_week", String(8), nullable=False),
        # {"<statement number>": 1..5 (agree completely .. disagree completely) or 0 (rather
        # not say)}; a statement he did not reach is absent.
        Column("answers", Text, nullable=False),
    ]


statement_responses = Table(
    # One finished poll: nothing that names him, no time finer than the ISO week, rows in a
    # random order (moved here from the pool, shuffled, once the week is over).
    "statement_responses",
    metadata,
    *_statement_answer_columns(),
    sqlite_with_rowid=False,
)

statement_pool = Table(
    # This ISO week's finished polls, rewritten in key order on every insert (as checkin_pool):
    # statement_responses' columns but id and iso_week, sealed (0022).
    "statement_pool",
    metadata,
    *_pool_columns("statement_pool"),
    sqlite_with_rowid=False,
)

statement_markers = Table(
    "statement_markers",
    metadata,
    # "He has answered this series' phase": HMAC(secret, his chat address + series + phase),
    # unreadable without MEEDOEN_SECRET_KEY; erased by /delete (derived again with the key).
    Column("marker", String(64), primary_key=True),
    Column("series_id", Integer, nullable=False),
    Column("phase", String(8), nullable=False),
    sqlite_with_rowid=False,
)
