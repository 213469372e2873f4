"""The ``meedoen`` command: run the service or the demo, and manage series and coordinators.

Command and option names are part of the operator interface (ARCHITECTURE.md): keep them.
Every error is one sentence on stderr and exit status 2; no tracebacks for operator mistakes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import secrets
import sys
from datetime import date, time
from typing import Awaitable, Callable

from bot import logs
from bot.config import ConfigError, Settings, load_settings, parse_address, require_for_run
from bot.database import Database
from bot.outbox import utcnow
from bot.store import coordinators
from bot.store import series as series_store
from dialogs.formatting import clock, meeting_time, weekday_name
from dialogs.i18n import use_locale
from scheduler.calendar import parse_weekday

log = logging.getLogger("meedoen")


class UsageError(Exception):
    """A wrong argument; the message is one sentence for the operator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meedoen",
        description="Meedoen: a chat assistant that signs men up for dialogue series, "
        "reminds them and asks short anonymous check-ins, on Telegram and WhatsApp.",
        epilog="Settings come from the environment and a .env file (see README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="run the service: channels, scheduler and HTTP app")

    demo = commands.add_parser(
        "demo", help="run everything locally with a web chat page (no network, no accounts)"
    )
    demo.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    demo.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: meedoen-demo.db here)"
    )

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply database migrations")

    series = commands.add_parser("series", help="create and inspect dialogue series")
    series_commands = series.add_subparsers(dest="series_command", required=True, metavar="ACTION")
    add = series_commands.add_parser("add", help="create a weekly series; prints its id")
    add.add_argument("--name", required=True)
    add.add_argument("--weekday", required=True, help="mon, tue, wed, thu, fri, sat or sun")
    add.add_argument("--time", required=True, help="wall-clock start time, e.g. 19:00")
    add.add_argument("--start", required=True, help="first possible date, e.g. 2026-12-03")
    add.add_argument("--meetings", required=True, type=int, help="number of meetings, e.g. 6")
    add.add_argument("--capacity", type=int, default=12, help="seats (default 12)")
    add.add_argument("--location", default="", help="place, e.g. 'Huis van de Wijk, ...'")
    add.add_argument("--area", default="", help="area, e.g. Osdorp")
    series_commands.add_parser("list", help="list all series")
    show = series_commands.add_parser("show", help="show a series' meetings and sign-ups")
    show.add_argument("id", type=int)

    coordinator = commands.add_parser("coordinator", help="who may use coordinator commands")
    coordinator_commands = coordinator.add_subparsers(
        dest="coordinator_command", required=True, metavar="ACTION"
    )
    for action, text in (("add", "allow"), ("remove", "no longer allow")):
        sub = coordinator_commands.add_parser(action, help=f"{text} a chat id")
        sub.add_argument("chat", metavar="CHANNEL:ID", help="telegram:123456 or whatsapp:+31612345678")
    coordinator_commands.add_parser("list", help="list coordinators")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        handler = _handler(args)
        return asyncio.run(handler(args, settings)) or 0
    except (ConfigError, UsageError) as error:
        print(f"meedoen: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _handler(args) -> Callable[[argparse.Namespace, Settings], Awaitable[int | None]]:
    if args.command == "series":
        return {"add": series_add, "list": series_list, "show": series_show}[args.series_command]
    if args.command == "coordinator":
        return coordinator_change if args.coordinator_command != "list" else coordinator_list
    return {"run": run, "demo": demo, "db": db_upgrade}[args.command]


# --- run and demo ---------------------------------------------------------------------------


async def _serve(app, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()


async def run(args, settings: Settings) -> None:
    require_for_run(settings)
    logs.configure(settings)
    from bot.http import build_app
    from bot.service import Service

    service = Service(settings)
    await _serve(build_app(service), settings.http_host, settings.http_port)


async def demo(args, settings: Settings) -> None:
    from bot.channels.demo import DemoChannel
    from bot.demo import DATABASE_URL, seed
    from bot.http import build_app
    from bot.service import Service

    settings = dataclasses.replace(
        settings,
        database_url=args.database or DATABASE_URL,
        secret_key=settings.secret_key or secrets.token_urlsafe(32),
        public_url=None,
        telegram_bot_token=None,
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_whatsapp_from=None,
    )
    logs.configure(settings, logging.WARNING)
    service = Service(settings, extra_channels=(DemoChannel,))
    await service.start()
    try:
        await seed(service)
        print(f"Meedoen demo: open http://127.0.0.1:{args.port}/demo  (Ctrl+C stops it)", flush=True)
        await _serve(build_app(service, manage_service=False), "127.0.0.1", args.port)
    finally:
        await service.stop()


async def db_upgrade(args, settings: Settings) -> None:
    db = await _database(settings)
    await db.close()
    print("database is up to date")


async def _database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    await db.upgrade()
    return db


# --- series ---------------------------------------------------------------------------------


def _new_series(args) -> series_store.NewSeries:
    try:
        weekday = parse_weekday(args.weekday)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        at = time.fromisoformat(args.time)
    except ValueError:
        raise UsageError(f"--time {args.time!r} is not a time; write it like 19:00.") from None
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not a date; write it like 2026-12-03.") from None
    if not 1 <= args.meetings <= 52:
        raise UsageError("--meetings must be between 1 and 52.")
    if not 1 <= args.capacity <= 1000:
        raise UsageError("--capacity must be between 1 and 1000.")
    if not args.name.strip():
        raise UsageError("--name must not be empty.")
    return series_store.NewSeries(
        args.name.strip(), weekday, at.replace(second=0, microsecond=0), start,
        args.meetings, args.capacity, args.location.strip(), args.area.strip(),
    )


async def series_add(args, settings: Settings) -> None:
    new = _new_series(args)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            series_id = await series_store.add(connection, new, settings.timezone, utcnow())
    finally:
        await db.close()
    print(series_id)


async def series_list(args, settings: Settings) -> None:
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            rows = await series_store.overview(connection, utcnow())
    finally:
        await db.close()
    if not rows:
        print("no series yet; create one with `meedoen series add`")
        return
    with use_locale("en"):
        for row in rows:
            upcoming = meeting_time(row.next_meeting, settings.timezone) if row.next_meeting else "no meetings ahead"
            print(
                f"{row.id:>4}  {row.name}  |  {weekday_name(row.weekday)} "
                f"{clock(time.fromisoformat(row.start_time))}  |  {row.confirmed}/{row.capacity} seats, "
                f"{row.waitlisted} waiting  |  next: {upcoming}  |  {row.status}"
            )


async def series_show(args, settings: Settings) -> int | None:
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            row = await series_store.get(connection, args.id)
            if row is None:
                raise UsageError(f"there is no series {args.id}; see `meedoen series list`.")
            meetings = await series_store.meeting_rows(connection, args.id)
            signups = await series_store.signup_rows(connection, args.id)
    finally:
        await db.close()
    with use_locale("en"):
        print(f"Series {row.id}: {row.name}")
        print(f"  every {weekday_name(row.weekday)} at {row.start_time}, {row.location or '-'}"
              f" ({row.area or 'no area'}), {row.capacity} seats, {row.status}")
        print("Meetings:")
        for meeting in meetings:
            print(f"  {meeting.number:>2}. {meeting_time(meeting.starts_at, settings.timezone)}  {meeting.status}")
        confirmed = [s for s in signups if s.status == "confirmed"]
        waiting = [s for s in signups if s.status == "waitlist"]
        print(f"Signed up ({len(confirmed)}/{row.capacity}):")
        for signup in confirmed:
            print(f"  - {signup.name or '(no name)'}  [{signup.language}, {signup.channel}, {signup.participant_status}]")
        print(f"Waiting list ({len(waiting)}):")
        for place, signup in enumerate(waiting, start=1):
            print(f"  {place}. {signup.name or '(no name)'}  [{signup.language}, {signup.channel}]")
    return None


# --- coordinators ---------------------------------------------------------------------------


async def coordinator_change(args, settings: Settings) -> None:
    channel, address = parse_address(args.chat)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            if args.coordinator_command == "add":
                changed = await coordinators.add(connection, channel, address, utcnow())
            else:
                changed = await coordinators.remove(connection, channel, address)
    finally:
        await db.close()
    verb = "added" if args.coordinator_command == "add" else "removed"
    print(f"{channel}:{address} {verb}" if changed else f"{channel}:{address} was already {verb}")


async def coordinator_list(args, settings: Settings) -> None:
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            found = await coordinators.all_ids(connection)
    finally:
        await db.close()
    print("\n".join(found) if found else "no coordinators yet; add one with `meedoen coordinator add`")


if __name__ == "__main__":
    sys.exit(main())
