"""Changing a whole series: its details (everything ``meedoen series add`` takes) and closing it.

The checks of a new series (``bot.domain.series_rules``) come first, by the caller. Then:

- name, place, area and seats can change at any time; the seats never below those already
  taken, and seats added are offered to the waiting list at once (``bot.domain.waitlist``);
- the day, time, first date and number of meetings only while no meeting has begun: the
  meetings are planned anew and every man with a seat is told the new first date. Once one has
  begun, single meetings are moved or cancelled instead (``bot.domain.meeting_changes``), so what was
  recorded of a past meeting (answers, attendance) is never rewritten;
- closing stops new sign-ups and waiting-list offers; the men with a seat keep it and their
  meetings (cancel those one by one if they should not take place).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import Outgoing
from bot.common.calendar import weekly_meetings
from bot.config import Settings
from bot.delivery import outbox
from bot.domain import waitlist
from bot.store import series as series_store
from bot.store.schema import meetings, participants, series, signups
from bot.store.schema import outbox as outbox_table
from bot.store.series import NewSeries
from dialogs import notices
from dialogs.i18n import _, fill


class SeriesChangeError(ValueError):
    """The change cannot be made; ``field`` is the form field at fault, the message one
    sentence for the coordinator in the current locale."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Edited:
    changed: tuple[str, ...]  # the fields that changed, in the order of ``FIELDS``
    told: int  # men told about new meeting dates
    offered: int  # seats offered to the waiting list


FIELDS = ("name", "weekday", "time", "start", "meetings", "capacity", "location", "area")
SCHEDULE = ("weekday", "time", "start", "meetings")


def stored_values(row) -> dict[str, str]:
    """A series row as the form's values (the strings ``bot.domain.series_rules.new_series`` reads)."""
    return {
        "name": row.name, "weekday": str(row.weekday), "time": row.start_time, "start": row.start_date,
        "meetings": str(row.meeting_count), "capacity": str(row.capacity), "location": row.location, "area": row.area,
    }


def _as_values(new: NewSeries) -> dict[str, str]:
    return {
        "name": new.name, "weekday": str(new.weekday), "time": new.start_time.strftime("%H:%M"),
        "start": new.start_date.isoformat(), "meetings": str(new.meeting_count), "capacity": str(new.capacity),
        "location": new.location, "area": new.area,
    }


def schedule_changes(row, values: dict[str, str]) -> bool:
    """Whether the typed ``values`` change the day, time, start or length (as typed: "19:00"
    and " 19:00 " are the same)."""
    stored = stored_values(row)
    return any(values.get(field, "").strip() != stored[field] for field in SCHEDULE)


async def edit(
    connection: AsyncConnection, settings: Settings, series_id: int, new: NewSeries, *, now: datetime
) -> Edited:
    row = await series_store.get(connection, series_id)
    if row is None:
        raise SeriesChangeError("name", _("There is no such group."))
    before, after = stored_values(row), _as_values(new)
    changed = tuple(field for field in FIELDS if before[field] != after[field])
    taken = await series_store.seats_taken(connection, series_id)
    if new.capacity < taken:
        raise SeriesChangeError(
            "capacity", fill(_("%(taken)s men already have a seat: give at least %(taken)s seats."), taken=taken)
        )
    rescheduled = any(field in changed for field in SCHEDULE)
    if rescheduled and await has_begun(connection, series_id, now):
        raise SeriesChangeError(
            "start",
            _("A meeting of this group has already begun, so its day, time, first date and number of meetings "
              "stay as they are. Move or cancel single meetings below instead."),
        )
    await connection.execute(
        update(series).where(series.c.id == series_id).values(
            name=new.name, weekday=new.weekday, start_time=new.start_time.strftime("%H:%M"),
            start_date=new.start_date.isoformat(), meeting_count=new.meeting_count, capacity=new.capacity,
            location=new.location, area=new.area,
        )
    )
    told = await _plan_anew(connection, settings, series_id, new, now) if rescheduled else 0
    offered = await waitlist.offer_next(connection, series_id, now, settings.timezone) if new.capacity > row.capacity else 0
    return Edited(changed, told, offered)


async def has_begun(connection: AsyncConnection, series_id: int, now: datetime) -> bool:
    return (
        await connection.scalar(
            select(func.count()).where(meetings.c.series_id == series_id, meetings.c.starts_at <= now)
        )
    ) > 0


async def _plan_anew(connection: AsyncConnection, settings: Settings, series_id: int, new: NewSeries, now: datetime) -> int:
    """Replace the meetings (none has begun: nothing recorded of them is lost but answers to
    reminders of dates that no longer hold), withdraw their reminders still waiting in the
    outbox (they name the old dates), and tell every man with a seat the new first date."""
    old = list(await connection.scalars(select(meetings.c.id).where(meetings.c.series_id == series_id)))
    for meeting_id in old:
        await connection.execute(
            update(outbox_table)
            .where(outbox_table.c.dedupe_key.like(f"reminder:{meeting_id}:%"), outbox_table.c.status == "pending")
            .values(status="cancelled")
        )
    await connection.execute(delete(meetings).where(meetings.c.series_id == series_id))
    instants = weekly_meetings(new.start_date, new.weekday, new.start_time, new.meeting_count, settings.timezone)
    await connection.execute(
        meetings.insert(),
        [{"series_id": series_id, "number": n, "starts_at": at, "status": "scheduled"} for n, at in enumerate(instants, 1)],
    )
    men = await connection.execute(
        select(participants.c.id, participants.c.channel, participants.c.address, participants.c.language)
        .join(signups, and_(signups.c.participant_id == participants.c.id, signups.c.series_id == series_id))
        .where(signups.c.status == "confirmed", participants.c.status == "active")
    )
    told = 0
    for man in men:
        reply = notices.series_rescheduled(man.language, new.name, instants[0], new.location, settings.timezone)
        told += await outbox.enqueue(
            connection,
            channel=man.channel,
            address=man.address,
            message=Outgoing(reply.text),
            kind="notice",
            priority=outbox.BULK,
            now=now,
            dedupe_key=f"reschedule:{series_id}:{int(instants[0].timestamp())}:{new.meeting_count}:{man.id}",
        )
    return told


async def close(connection: AsyncConnection, series_id: int) -> bool:
    """Close an open series; False when it does not exist or is closed already."""
    result = await connection.execute(
        update(series).where(series.c.id == series_id, series.c.status == "open").values(status="closed")
    )
    return result.rowcount > 0
