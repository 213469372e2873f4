"""What a new series must satisfy, for ``meedoen series add`` and the web console alike.

Each rule fails with one sentence naming the field as the caller calls it ("--time" on the
command line, "Time" in the console), in the current gettext locale."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.common.calendar import first_meeting_date, local_instant, parse_weekday
from bot.store.series import NewSeries
from dialogs.i18n import _, fill


class InvalidSeries(ValueError):
    """One field is wrong; ``field`` is its key, the message says what to write instead."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def new_series(
    values: dict[str, str],
    *,
    labels: dict[str, str],
    allow_past: bool,
    allow_past_hint: str,
    now: datetime,
    zone: str,
    areas: tuple[str, ...],
) -> NewSeries:
    """``values`` (name, weekday, time, start, meetings, capacity, location, area, as typed)
    checked and converted; ``labels`` names each field in the messages. A start in the past,
    or a first meeting that has already begun, needs ``allow_past``."""

    def wrong(field: str, message: str, **more: object) -> InvalidSeries:
        return InvalidSeries(field, fill(message, field=labels[field], **more))

    try:
        weekday = parse_weekday(values["weekday"])
    except ValueError:
        raise wrong(
            "weekday", _("%(field)s: unknown weekday %(value)s; use mon, tue, wed, thu, fri, sat or sun."),
            value=repr(values["weekday"]),
        ) from None
    try:
        at = time.fromisoformat(values["time"].strip())
    except ValueError:
        raise wrong("time", _("%(field)s %(value)s is not a time; write it like 19:00."), value=repr(values["time"])) from None
    try:
        start = date.fromisoformat(values["start"].strip())
    except ValueError:
        raise wrong(
            "start", _("%(field)s %(value)s is not a date; write it like 2026-12-03."), value=repr(values["start"])
        ) from None
    if start < now.astimezone(ZoneInfo(zone)).date() and not allow_past:
        raise wrong(
            "start", _("%(field)s %(value)s is in the past; give a date from today on, or %(hint)s if you mean it."),
            value=start.isoformat(), hint=allow_past_hint,
        )
    first = first_meeting_date(start, weekday)
    if local_instant(first, at, zone) <= now and not allow_past:
        raise wrong(
            "start",
            _("the first meeting, %(date)s at %(time)s, has already begun; give a later %(field)s, "
              "or %(hint)s if you mean it."),
            date=first.isoformat(), time=at.strftime("%H:%M"), hint=allow_past_hint,
        )
    meetings = _whole(values["meetings"])
    if meetings is None or not 1 <= meetings <= 52:
        raise wrong("meetings", _("%(field)s must be between 1 and 52."))
    capacity = _whole(values["capacity"])
    if capacity is None or not 1 <= capacity <= 1000:
        raise wrong("capacity", _("%(field)s must be between 1 and 1000."))
    name = values["name"].strip()
    if not name:
        raise wrong("name", _("%(field)s must not be empty."))
    return NewSeries(
        name, weekday, at.replace(second=0, microsecond=0), start, meetings, capacity,
        values.get("location", "").strip(), _area(values.get("area", ""), areas, wrong),
    )


def _whole(text: str | int) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _area(given: str, areas: tuple[str, ...], wrong) -> str:
    """``given`` as spelled in MEEDOEN_AREAS (case does not matter), or "" for none."""
    if not given.strip():
        return ""
    for area in areas:
        if area.casefold() == given.strip().casefold():
            return area
    raise wrong(
        "area", _("%(field)s %(value)s is not one of MEEDOEN_AREAS: %(areas)s."),
        value=repr(given.strip()), areas=", ".join(areas),
    )
