"""The ``meedoen`` command: run the service or the demo, and manage series and coordinators.

Command and option names are part of the operator interface (docs/architecture.md): keep them.
Every error is one sentence on stderr and exit status 2; no tracebacks for operator mistakes.

Each command imports what it needs when it runs, so that a short one (``meedoen report``)
does not pay for the modules of the others (the outbox, the stores, the dialogs: about
0.3 s of start-up together).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import gc
import logging
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from bot.common.clock import utcnow
from bot.config import (
    ConfigError,
    Settings,
    check_database_url,
    load_settings,
    parse_address,
    require_for_run,
)
from bot.store import sealing
from bot.store.database import Database
from dialogs.types import LANGUAGES

if TYPE_CHECKING:
    from bot.store.series import NewSeries

log = logging.getLogger("meedoen")

# A command's process ends when the command is done. At exit, Python would walk every object
# left (SQLAlchemy's, and matplotlib's for a chart) to collect cycles, which is 0.2-0.4 s of a
# short command such as ``meedoen report`` (docs/benchmarks.md, "Report"); frozen, they are
# left to the operating system. (Python never promised finalizers of objects alive at exit;
# files and the database are closed by the commands themselves.)
atexit.register(gc.freeze)


class UsageError(Exception):
    """A wrong argument; the message is one sentence for the operator."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meedoen",
        description="Meedoen: a chat assistant that signs men up for dialogue series, "
        "reminds them and asks short anonymous check-ins, on Telegram and WhatsApp.",
        epilog="Settings come from the environment and a .env file (see README.md).",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full details (a traceback) of an unexpected error"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run", help="run the service: channels, scheduler and HTTP app",
        description="Run the service: channels, scheduler and HTTP app, until SIGTERM or Ctrl+C. "
        "It needs MEEDOEN_SECRET_KEY (from `meedoen secret`) and at least one channel: "
        "TELEGRAM_BOT_TOKEN, or TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM "
        "(with MEEDOEN_PUBLIC_URL) for WhatsApp.",
    )

    demo = commands.add_parser(
        "demo", help="run everything locally with a web chat page (no network, no accounts)"
    )
    demo.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    demo.add_argument(
        "--database", default=None, help="SQLAlchemy URL (default: meedoen-demo.db here)"
    )

    commands.add_parser(
        "secret",
        help="print a new random key for MEEDOEN_SECRET_KEY (keep a copy safe, not with the database backups)",
    )

    db = commands.add_parser("db", help="database maintenance: migrations, backup, restore")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply database migrations")
    backup = db_commands.add_parser(
        "backup", help="copy the SQLite database to FILE; safe while `meedoen run` is running"
    )
    backup.add_argument("file", metavar="FILE", help="the backup file to write, e.g. meedoen-2026-12-01.db")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    restore = db_commands.add_parser(
        "restore",
        help="replace the database with a backup (stop `meedoen run` first); "
        "men who used /delete since the backup are erased again",
    )
    restore.add_argument("file", metavar="FILE", help="a file written by `meedoen db backup`")
    restore.add_argument(
        "--force", action="store_true",
        help="restore although `meedoen run` was seen in the last minute (after a crash); "
        "never while it really runs: it would keep writing to the replaced database",
    )

    series = commands.add_parser("series", help="create and inspect dialogue series")
    series_commands = series.add_subparsers(dest="series_command", required=True, metavar="ACTION")
    add = series_commands.add_parser("add", help="create a weekly series; prints its id")
    add.add_argument("--name", required=True)
    add.add_argument("--weekday", required=True, help="mon, tue, wed, thu, fri, sat or sun")
    add.add_argument("--time", required=True, help="wall-clock start time, e.g. 19:00")
    add.add_argument("--start", required=True, help="first possible date, e.g. 2026-12-03 (not in the past)")
    add.add_argument("--meetings", required=True, type=int, help="number of meetings, e.g. 6")
    add.add_argument("--capacity", type=int, default=12, help="seats (default 12)")
    add.add_argument("--location", default="", help="place, e.g. 'Huis van de Wijk, ...'")
    add.add_argument("--area", default="", help="one of MEEDOEN_AREAS, e.g. Osdorp")
    add.add_argument("--allow-past", action="store_true", help="accept a --start date in the past")
    series_commands.add_parser("list", help="list all series")
    show = series_commands.add_parser("show", help="show a series' meetings, sign-ups and answers")
    show.add_argument("id", type=int)
    cancel = series_commands.add_parser(
        "cancel-meeting", help="cancel one meeting and tell everyone signed up"
    )
    cancel.add_argument("id", type=int)
    cancel.add_argument("date", help="the meeting's date, e.g. 2026-12-10")
    cancel.add_argument("--reason", default=None, help="told to the participants")
    cancel.add_argument(
        "--counts",
        action="store_true",
        help="the cancelled meeting still counts toward the series' length "
        "(by default a meeting is added at the end)",
    )
    reports = series_commands.add_parser(
        "reports", help="the facilitators' forms after each meeting of a series",
        description="Every form a facilitator filled in after a meeting of this series: men there, "
        "themes, statements or exercises, atmosphere, outcomes and follow-up.",
    )
    reports.add_argument("id", type=int)
    chosen = series_commands.add_parser(
        "statements", help="pick the statements a series' men are asked before and after (see `meedoen statement list`)"
    )
    chosen.add_argument("id", type=int)
    chosen.add_argument("--use", required=True, help="statement numbers in order, e.g. 1,3,5")

    statement = commands.add_parser("statement", help="the statements asked before and after a series")
    statement_commands = statement.add_subparsers(dest="statement_command", required=True, metavar="ACTION")
    statement_add = statement_commands.add_parser("add", help="add a statement in the four languages; prints its number")
    for code, language in (("nl", "Dutch"), ("ar", "Arabic"), ("so", "Somali"), ("en", "English")):
        statement_add.add_argument(f"--{code}", required=True, help=f"the statement in {language}")
    statement_commands.add_parser("list", help="every statement: number and its English text (1-4 are shipped)")
    move = series_commands.add_parser("move-meeting", help="move one meeting and tell everyone signed up")
    move.add_argument("id", type=int)
    move.add_argument("date", help="the meeting's current date, e.g. 2026-12-10")
    move.add_argument("--to", required=True, help="new local date and time, e.g. '2026-12-11 19:30'")

    broadcast = commands.add_parser(
        "broadcast",
        help="send a message to many participants, each in his own language; list or cancel broadcasts",
        usage="meedoen broadcast --to AUDIENCE --text-nl TEXT [--text-ar T] [--text-so T] [--text-en T] "
        "[--invite SERIES_ID] [--yes]\n       meedoen broadcast list\n       meedoen broadcast cancel ID",
    )
    broadcast_commands = broadcast.add_subparsers(
        dest="broadcast_command", required=False, metavar="ACTION",
        title="actions (without one, a new broadcast is sent)",
    )
    # Their own prog: by default argparse builds it from the parent's usage, all three lines of it.
    broadcast_commands.add_parser(
        "list", prog="meedoen broadcast list", help="every broadcast: id, when, audience, copies sent/pending/failed, status"
    )
    broadcast_cancel = broadcast_commands.add_parser(
        "cancel", prog="meedoen broadcast cancel", help="cancel the copies of a broadcast that have not been sent yet"
    )
    broadcast_cancel.add_argument("id", type=int, metavar="ID", help="the broadcast's id (see `meedoen broadcast list`)")
    broadcast.add_argument(
        "--to",
        help="audience (required): all, series:ID, waitlist:ID, language:so, area:N or noshow "
        "(several separated by commas; someone in two gets one copy)",
    )
    for code, name in (("nl", "Dutch (required)"), ("ar", "Arabic"), ("so", "Somali"), ("en", "English")):
        broadcast.add_argument(f"--text-{code}", help=f"the text in {name}")
    broadcast.add_argument("--invite", type=int, default=None, metavar="SERIES_ID",
                           help="add a 'Sign me up' button for this series")
    broadcast.add_argument("--yes", action="store_true", help="send without asking for confirmation")

    invite = commands.add_parser(
        "invite", help="a series' invite links (Telegram and WhatsApp), or how many came through each source",
        description="Print a series' invite links: Telegram (https://t.me/BOT?start=CODE) and WhatsApp "
        "(https://wa.me/NUMBER?text=..., the text in each language). A man who opens one is offered that "
        "series first; his sign-up is counted for the link's source, never stored with him. With --counts: "
        "per source, how many signed up and how many of them came to a meeting.",
    )
    invite.add_argument("--series", required=True, type=int, metavar="ID", help="the series (see `meedoen series list`)")
    invite.add_argument("--source", default="", metavar="NAME",
                        help="where the link is handed out, e.g. flyer-moskee-osdorp (letters, digits, hyphens)")
    invite.add_argument("--lang", default="nl,ar,so,en", help="languages of the WhatsApp text (default nl,ar,so,en)")
    invite.add_argument("--counts", action="store_true",
                        help="instead of links: sign-ups and men who came to a meeting, per source")

    listen = commands.add_parser(
        "listen-link", help="links to the anonymous listening poll, for outreach (no sign-up needed)",
        description="Print links that open the anonymous listening poll (what keeps men away, what would "
        "draw them in) for anyone, signed up or not: Telegram (https://t.me/BOT?start=CODE) and WhatsApp "
        "(https://wa.me/NUMBER?text=..., the text in each language). With --area, the answers count for "
        "that area (when at least five signed-up men live there); the code is signed, so it cannot be "
        "changed into another area's.",
    )
    listen.add_argument("--area", default=None, metavar="NAME", help="one of MEEDOEN_AREAS, e.g. Osdorp")
    listen.add_argument("--lang", default="nl,ar,so,en", help="languages of the WhatsApp text (default nl,ar,so,en)")

    flyer = commands.add_parser(
        "flyer", help="a series' flyers with QR codes, one per language (PNG for WhatsApp, A5 PDF for print)",
        description="Write one flyer per language into DIR: the series' name, one warm sentence, weekday, time "
        "and first date, the place, QR codes for the Telegram and WhatsApp invite links with the short link "
        "under each. PNG is 1080x1350 (WhatsApp status and groups), PDF is A5 for print.",
    )
    flyer.add_argument("--series", required=True, type=int, metavar="ID", help="the series")
    flyer.add_argument("--lang", default="nl,ar,so,en", help="languages, comma-separated (default nl,ar,so,en)")
    flyer.add_argument("--source", default="", metavar="NAME", help="the links' source, e.g. flyer-moskee-osdorp")
    flyer.add_argument("--format", choices=("png", "pdf"), default="png", help="png (default) or pdf")
    flyer.add_argument("--out", required=True, metavar="DIR", help="folder to write the flyers to (made if missing)")

    coordinator = commands.add_parser("coordinator", help="who may use coordinator commands")
    coordinator_commands = coordinator.add_subparsers(
        dest="coordinator_command", required=True, metavar="ACTION"
    )
    for action, text in (("add", "allow"), ("remove", "no longer allow")):
        sub = coordinator_commands.add_parser(
            action, help=f"{text} a chat id",
            description=f"{text.capitalize()} a chat address to use the coordinator commands. A "
            "coordinator finds his own address by sending /whoami to the assistant.",
        )
        sub.add_argument("chat", metavar="CHANNEL:ID",
                         help="telegram:123456 or whatsapp:+31612345678 (what /whoami answers)")
    coordinator_commands.add_parser("list", help="list coordinators")

    facilitator = commands.add_parser(
        "facilitator", help="peer facilitators (gespreksleiders) of series",
        description="A facilitator sees his series' next meeting and who is coming, takes attendance "
        "for his series, fills in a form after each meeting and may propose a living-room talk, all in "
        "his own chat.",
    )
    facilitator_commands = facilitator.add_subparsers(dest="facilitator_command", required=True, metavar="ACTION")
    facilitator_add = facilitator_commands.add_parser(
        "add", help="make a chat address the facilitator of a series",
        description="Make a chat address the facilitator of one or more series. He finds his own "
        "address by sending /whoami to the assistant.",
    )
    facilitator_remove = facilitator_commands.add_parser(
        "remove", help="a chat address no longer facilitates a series (without --series: any series)"
    )
    for sub, needed in ((facilitator_add, True), (facilitator_remove, False)):
        sub.add_argument("chat", metavar="CHANNEL:ID",
                         help="telegram:123456 or whatsapp:+31612345678 (what /whoami answers)")
        sub.add_argument("--series", type=int, action="append", required=needed, metavar="ID",
                         help="the series' id (see `meedoen series list`); repeat for several")
    facilitator_commands.add_parser(
        "list", help="list facilitators, their series and their own source (leider-...) in the invite counts"
    )

    report = commands.add_parser(
        "report", help="the aggregated, anonymous check-in and participation report",
        description="The aggregated, anonymous report. Check-in figures show for closed months "
        "only (a month from the first day of the month after next) and never change once shown; "
        "the first report after a month closes stores them (docs/report-privacy.md). With --funnel: "
        "the sign-up and check-in funnels instead (where men give up; counts per ISO week and "
        "language, fewer than 10 shown as \"< 10\"), as text or csv.",
    )
    report.add_argument("--funnel", action="store_true",
                        help="show the sign-up and check-in funnels (counts only) instead of the report")
    report.add_argument("--format", choices=tuple(REPORT_FORMATS.values()), default=None,
                        help="text, csv or png (default: from the --out file's extension, else text)")
    report.add_argument("--out", default=None, metavar="FILE",
                        help="write to FILE, e.g. report.png, report.csv or report.txt "
                        "(required for png; text and csv go to stdout without it)")

    note = commands.add_parser(
        "research-note", help="a short anonymous research note for policy makers (HTML or PDF)",
        description="A document a policy maker reads in ten minutes: method, the participation map, "
        "loneliness and taking part over time, barriers and interests per area, statement shifts, "
        "retention over meetings 1-6 and the facilitators' themes. Only figures the report shows "
        "(docs/report-privacy.md); no free text. The format follows --out: .html or .pdf.",
    )
    note.add_argument("--from", dest="first", required=True, type=_month_argument, metavar="YYYY-MM",
                      help="the first month of the period")
    note.add_argument("--to", dest="last", required=True, type=_month_argument, metavar="YYYY-MM",
                      help="the last month of the period")
    note.add_argument("--out", required=True, metavar="FILE", help="note.html or note.pdf")
    note.add_argument("--lang", choices=LANGUAGES, default="nl", help="the note's language (default nl)")

    from bot.operations.translations import add_parser as add_translations_parser

    add_translations_parser(commands)
    return parser


def run_loop(coroutine: Awaitable[int | None], *, fast: bool = False) -> int | None:
    """``asyncio.run``; with ``fast`` (the service, ``meedoen run``) on uvloop's event loop
    where it is installed (not on Windows): the same asyncio API, written in C, with a
    fifth less CPU per incoming update (docs/benchmarks.md, inbound sign-ups)."""
    if fast:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "secret":
        return print_secret()
    try:
        settings = load_settings()
        if args.command not in ("demo", "translations"):  # the demo has its own --database
            check_database_url(settings.database_url)
        handler = _handler(args)
        status = run_loop(handler(args, settings), fast=args.command == "run") or 0
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except (ConfigError, UsageError) as error:
        print(f"meedoen: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug or a broken environment, not the operator's mistake
        if args.debug:
            raise
        print(
            f"meedoen: `{args.command}` stopped on an unexpected {type(error).__name__} and did not finish; "
            f"run it again as `meedoen --debug {args.command} ...` to see the details.",
            file=sys.stderr,
        )
        return 1


def _stdout_closed() -> int:
    """The reader of our output went away (``meedoen series show 3 | head -2``): stop quietly,
    as other command-line tools do. What is still buffered goes nowhere, so that Python's own
    flush at exit does not complain about the pipe again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, the status of a tool the closed pipe ended


def print_secret() -> int:
    """``meedoen secret``: a new key on stdout, what it is for on stderr (so that
    ``meedoen secret >> key.txt`` stores the key alone)."""
    print(secrets.token_urlsafe(32))
    print(
        "Put this in MEEDOEN_SECRET_KEY and keep a copy safe, but not in the same place as the database "
        "backups: signed buttons, check-in markers, the erasure ledger and the sealed answers and "
        "conversations depend on it, and another key makes them all void.",
        file=sys.stderr,
    )
    return 0


def _handler(args) -> Callable[[argparse.Namespace, Settings], Awaitable[int | None]]:
    if args.command == "series":
        return {
            "add": series_add,
            "list": series_list,
            "show": series_show,
            "cancel-meeting": series_cancel_meeting,
            "move-meeting": series_move_meeting,
            "reports": series_reports,
            "statements": series_statements,
        }[args.series_command]
    if args.command == "statement":
        return {"add": statement_add, "list": statement_list}[args.statement_command]
    if args.command == "coordinator":
        return coordinator_change if args.coordinator_command != "list" else coordinator_list
    if args.command == "facilitator":
        return {"add": facilitator_add, "remove": facilitator_remove, "list": facilitator_list}[
            args.facilitator_command
        ]
    if args.command == "db":
        return {"upgrade": db_upgrade, "backup": db_backup, "restore": db_restore}[args.db_command]
    if args.command == "broadcast":
        return {None: broadcast_send, "list": broadcast_list, "cancel": broadcast_cancel}[args.broadcast_command]
    if args.command == "translations":
        from bot.operations.translations import command

        return command
    return {"run": run, "demo": demo, "report": report_write, "invite": invite_links, "flyer": flyer_write,
            "listen-link": listen_links, "research-note": research_note_write}[args.command]


# --- run and demo ---------------------------------------------------------------------------


async def _serve(
    app,
    host: str,
    port: int,
    *,
    on_stop: tuple[Callable[[], None], ...] = (),
    grace: float | None = None,
    noted: _StopSignals | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (``systemctl stop``, ``docker stop``, Ctrl+C), then return,
    so that the caller stops the service cleanly. ``on_stop`` runs (in the event loop) as soon
    as the signal comes, to end requests that would otherwise hold the stop (the demo page's
    long polls); after ``grace`` seconds uvicorn cancels whatever requests are still open.
    ``noted``: a signal that came before uvicorn's handlers were in place (while the app was
    being built) stops the serving as soon as they are, instead of being forgotten, which
    left the process serving for ever."""
    import uvicorn

    loop = asyncio.get_running_loop()

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:  # a signal handler: hand over to the loop
            super().handle_exit(sig, frame)
            for callback in on_stop:
                loop.call_soon_threadsafe(callback)

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                if noted is not None and noted.came:
                    self.handle_exit(signal.SIGTERM, None)
                yield

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=grace
    )
    await Server(config).serve()


class _StopSignals:
    """Whether SIGTERM or SIGINT came while ``_stop_signals_held`` was in force."""

    came = False


@contextmanager
def _stop_signals_held() -> Iterator[_StopSignals]:
    """From before the service starts until serving ends, a stop signal is noted, not obeyed
    at once: with the default handlers, a ``systemctl stop`` while the service was starting,
    or the signal uvicorn raises again after it stops serving, would end the process before
    the outbox senders have finished, leaving the messages in flight ``uncertain``, never
    sent. A signal during the start lets the start finish and skips serving; the default
    handlers are back for the stop itself, so a second signal still ends the process at once."""
    noted = _StopSignals()

    def note(signum, frame) -> None:
        noted.came = True

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield noted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def run(args, settings: Settings) -> None:
    from bot.app import logs
    from bot.channels import registry

    require_for_run(settings)
    registry.require_channels(settings)
    _require_free_port(settings.http_host, settings.http_port, "set another one with MEEDOEN_HTTP_PORT")
    logs.configure(settings)
    from bot.app.http import build_app
    from bot.app.service import Service

    await _require_database_key(settings)
    service = Service(settings)
    started = False  # a failed start has stopped what it started (``_start``)
    try:
        with _stop_signals_held() as stop:
            await _start(service)
            started = True
            if not stop.came:
                await _serve(build_app(service, manage_service=False), settings.http_host, settings.http_port, noted=stop)
    finally:
        if started:
            await service.stop()


async def _require_database_key(settings: Settings) -> None:
    """Refuse to start with another MEEDOEN_SECRET_KEY than the database was made with: signed
    buttons, check-in markers and the erasure ledger would silently stop working. The first
    start remembers the key's fingerprint (bot/store/key_fingerprint.py)."""
    from bot.store import key_fingerprint

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            same = await key_fingerprint.matches_or_remember(connection, settings.secret_key)
    finally:
        await db.close()
    if not same:
        raise ConfigError(
            "MEEDOEN_SECRET_KEY is not the key this database was made with (buttons, check-in "
            "markers and the erasure ledger would silently break); put back the key from your "
            "backup of .env (docs/going-live.md, \"The secret key\")."
        )


def _require_free_port(host: str, port: int, remedy: str) -> None:
    """One sentence now rather than a server error after everything has started."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError:
            raise UsageError(f"port {port} is already in use (another Meedoen, perhaps); {remedy}.") from None


async def _start(service) -> None:
    """Start the service; a platform that refuses or cannot be reached is one sentence (each
    channel's ``start`` says it as a ``ConfigError``, see ``bot.channels.base``)."""
    from bot.app.http import freeze_startup_objects

    try:
        await service.start()
        freeze_startup_objects()
    except ConfigError:
        await _quietly_stop(service)
        raise


async def _quietly_stop(service) -> None:
    try:
        await service.stop()
    except Exception:  # already failing: the first error is the one to report
        log.debug("stop after a failed start also failed", exc_info=True)


async def demo(args, settings: Settings) -> None:
    from bot.app import logs
    from bot.app.demo import DATABASE_URL, NOTE_PDF, areas_geojson, demo_routes, seed
    from bot.app.http import build_app
    from bot.app.service import Service
    from bot.channels.demo import DemoChannel
    from bot.config import DEFAULT_AREAS

    settings = dataclasses.replace(
        settings,
        demo=True,
        database_url=args.database or DATABASE_URL,
        secret_key=settings.secret_key or secrets.token_urlsafe(32),
        public_url=None,
        http_host="127.0.0.1",  # where /console's links point
        http_port=args.port,
        telegram_bot_token=None,
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_whatsapp_from=None,
        areas_geojson=settings.areas_geojson or (areas_geojson() if settings.areas == DEFAULT_AREAS else None),
    )
    check_database_url(settings.database_url, "--database")
    _require_free_port("127.0.0.1", args.port, "pick another with --port, e.g. `meedoen demo --port 8090` (with make: `make demo PORT=8090`)")
    logs.configure(settings, logging.WARNING)
    service = Service(settings)
    started = False
    try:
        with _stop_signals_held() as stop:
            await _start(service)
            started = True
            await seed(service)
            if not stop.came:
                print(f"Meedoen demo: open http://127.0.0.1:{args.port}/demo  (Ctrl+C stops it)\n"
                      f"The research note from the demo's made-up figures: http://127.0.0.1:{args.port}{NOTE_PDF}  "
                      "(add ?lang=en for English)", flush=True)
                await _serve(
                    build_app(service, manage_service=False, extra_routes=demo_routes(service)), "127.0.0.1", args.port,
                    on_stop=(service.channels[DemoChannel.name].end_waits,), grace=2, noted=stop,
                )
    finally:
        if started:
            await service.stop()


async def db_upgrade(args, settings: Settings) -> None:
    db = await _database(settings)
    await db.close()
    print("database is up to date")


async def db_backup(args, settings: Settings) -> None:
    from pathlib import Path

    from bot.operations import backups
    target = Path(args.file)
    try:
        backups.backup(settings.database_url, target, force=args.force)
    except backups.BackupError as error:
        raise UsageError(str(error)) from None
    print(f"backup written to {target}; keep it as safe as the database itself (it holds personal data)")


async def db_restore(args, settings: Settings) -> None:
    from pathlib import Path

    from bot.operations import backups
    try:
        restored = await backups.restore(settings, Path(args.file), utcnow(), force=args.force)
    except backups.BackupError as error:
        raise UsageError(str(error)) from None
    print(
        f"{restored.database} restored from {args.file}; {restored.erased_again} chat address(es) "
        "erased again because they used /delete after the backup was taken"
    )


async def _database(settings: Settings) -> Database:
    db = Database(settings.database_url, seal=sealing.of_key(settings.secret_key))
    await db.upgrade()
    return db


# --- recruiting: invite links and flyers -------------------------------------------------------


def _languages(text: str) -> tuple[str, ...]:
    from dialogs.types import LANGUAGES

    chosen = tuple(dict.fromkeys(code.strip() for code in text.split(",") if code.strip()))
    wrong = [code for code in chosen if code not in LANGUAGES]
    if wrong or not chosen:
        raise UsageError(f"--lang takes languages from {','.join(LANGUAGES)}, separated by commas, not {text!r}.")
    return chosen


def _source(name: str) -> str:
    from bot.domain.invites import InvalidSource, check_source

    try:
        return check_source(name)
    except InvalidSource as error:
        raise UsageError(str(error)) from None


def _require_secret(settings: Settings) -> bytes:
    if not settings.secret_key:
        raise ConfigError("invite links are signed with MEEDOEN_SECRET_KEY; set it (the one `meedoen run` uses).")
    return settings.secret_key.encode()


async def _recruiting_series(connection, series_id: int):
    from bot.store import series as series_store

    row = await series_store.get(connection, series_id)
    if row is None:
        raise UsageError(f"there is no series {series_id}; see `meedoen series list`.")
    return row


async def _bot_username(db: Database, settings: Settings) -> str | None:
    """The Telegram username as the running service cached it, else from getMe (cached)."""
    from bot.domain import invites

    async with db.transaction() as connection:
        username = await invites.cached_username(connection)
    if username or not settings.telegram_enabled:
        return username
    try:
        username = await invites.fetch_username(settings)
    except Exception:  # no network, or Telegram refused: links without Telegram, said below
        log.debug("getMe failed", exc_info=True)
        return None
    if username:
        async with db.transaction() as connection:
            await invites.remember_username(connection, username, utcnow())
    return username


async def invite_links(args, settings: Settings) -> None:
    from bot.domain import invites

    source = _source(args.source)
    languages = _languages(args.lang)
    _require_secret(settings)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            row = await _recruiting_series(connection, args.series)
            counts = await invites.counts(connection, args.series) if args.counts else []
            owners = await invites.source_owners(connection, settings.secret_key.encode()) if args.counts else {}
        username = None if args.counts else await _bot_username(db, settings)
    finally:
        await db.close()
    if args.counts:
        print(f"Series {row.id}: {row.name} - sign-ups per source (came: to at least one meeting)")
        if not counts:
            print("  nobody has signed up through an invite link yet")
        for name, signed_up, came in counts:
            owner = f"  (facilitator {owners[name]})" if name in owners else ""
            print(f"  {name or '(link without source)':<32} {signed_up:>4} signed up, {came:>4} came{owner}")
        return
    print(f"Series {row.id}: {row.name}" + (f", source {source}" if source else ""))
    links = invites.links(settings, username, row.id, source, languages[0])
    if links.telegram:
        print(f"  Telegram: {links.telegram}")
    elif settings.telegram_enabled:
        print("  Telegram: the bot's username is not known yet; start `meedoen run` once (it asks Telegram)")
    if settings.twilio_whatsapp_from:
        for language in languages:
            print(f"  WhatsApp ({language}): {invites.links(settings, username, row.id, source, language).whatsapp}")
    if not settings.telegram_enabled and not settings.twilio_whatsapp_from:
        print(f"  no channel is set up; the code is {links.code} (a man sends /start {links.code})")


async def listen_links(args, settings: Settings) -> None:
    """``meedoen listen-link``: the listening poll's links (``bot.domain.listening``)."""
    from bot.domain import invites, listening

    languages = _languages(args.lang)
    secret = _require_secret(settings)
    if args.area is not None and args.area not in settings.areas:
        raise UsageError(f"--area {args.area!r} is not one of MEEDOEN_AREAS ({', '.join(settings.areas)}).")
    code = listening.code(secret, tuple(settings.areas), args.area)
    db = await _database(settings)
    try:
        username = await _bot_username(db, settings)
    finally:
        await db.close()
    print("Listening poll" + (f", area {args.area}" if args.area else ", no area"))
    if username:
        print(f"  Telegram: {invites.telegram_link(username, code)}")
    elif settings.telegram_enabled:
        print("  Telegram: the bot's username is not known yet; start `meedoen run` once (it asks Telegram)")
    if settings.twilio_whatsapp_from:
        for language in languages:
            print(f"  WhatsApp ({language}): {listening.whatsapp_link(settings.twilio_whatsapp_from, code, language)}")
    if not settings.telegram_enabled and not settings.twilio_whatsapp_from:
        print(f"  no channel is set up; the code is {code} (a man sends /start {code})")


async def flyer_write(args, settings: Settings) -> None:
    from pathlib import Path

    from bot.domain import flyers

    source = _source(args.source)
    languages = _languages(args.lang)
    _require_secret(settings)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the folder {out} ({error.strerror}); choose another --out.") from None
    db = await _database(settings)
    try:
        username = await _bot_username(db, settings)
        if not username and not settings.whatsapp_enabled:
            raise UsageError(
                "there is no invite link to put on the flyer yet: start `meedoen run` once with "
                "TELEGRAM_BOT_TOKEN set (Meedoen then learns the bot's Telegram name), or set up WhatsApp."
            )
        async with db.transaction() as connection:
            await _recruiting_series(connection, args.series)
            made = await flyers.for_series(
                connection, settings, args.series, source=source, now=utcnow(), languages=languages, fmt=args.format
            )
    finally:
        await db.close()
    for flyer in made:
        target = out / flyer.file_name
        target.write_bytes(flyer.pdf if args.format == "pdf" else flyer.png)
        print(target)


# --- series ---------------------------------------------------------------------------------


def _new_series(args, settings: Settings) -> NewSeries:
    from bot.domain.series_rules import InvalidSeries, new_series
    from dialogs.i18n import use_locale

    fields = ("name", "weekday", "time", "start", "meetings", "capacity", "location", "area")
    with use_locale("en"):
        try:
            return new_series(
                {field: str(getattr(args, field)) for field in fields},
                labels={field: f"--{field}" for field in fields},
                allow_past=args.allow_past,
                allow_past_hint="add --allow-past",
                now=utcnow(),
                zone=settings.timezone,
                areas=settings.areas,
            )
        except InvalidSeries as error:
            raise UsageError(str(error)) from None


def _local_now(settings: Settings) -> datetime:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(settings.timezone))


def _when(instant: datetime, settings: Settings) -> str:
    """A meeting's local day and time, with the year when it is not this year's."""
    from dialogs.formatting import meeting_time

    return meeting_time(instant, settings.timezone, now=utcnow())


async def series_add(args, settings: Settings) -> None:
    from bot.store import audit
    from bot.store import series as series_store

    new = _new_series(args, settings)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            series_id = await series_store.add(connection, new, settings.timezone, utcnow())
            await audit.record(
                connection, audit.CLI, "series.add",
                f"series {series_id}: {new.name}, {new.start_date.isoformat()}, {new.meeting_count} meetings", utcnow(),
            )
    finally:
        await db.close()
    print(series_id)


async def series_list(args, settings: Settings) -> None:
    from bot.store import series as series_store
    from dialogs.formatting import clock, weekday_name
    from dialogs.i18n import use_locale

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
            upcoming = _when(row.next_meeting, settings) if row.next_meeting else "no meetings ahead"
            print(
                f"{row.id:>4}  {row.name}  |  {weekday_name(row.weekday)} "
                f"{clock(time.fromisoformat(row.start_time))}  |  {row.confirmed}/{row.capacity} seats, "
                f"{row.waitlisted} waiting  |  next: {upcoming}  |  {_series_state(row.status, row.next_meeting)}"
            )


def _series_state(status: str, next_meeting: datetime | None) -> str:
    """"open" only while a meeting is still ahead: men can no longer join a series whose
    meetings are all past (``_open_series`` in dialogs/conversation.py)."""
    return "finished" if status == "open" and next_meeting is None else status


async def series_show(args, settings: Settings) -> int | None:
    from bot.store import meetings as meeting_store
    from bot.store import series as series_store
    from dialogs.formatting import weekday_name
    from dialogs.i18n import use_locale

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            row = await series_store.get(connection, args.id)
            if row is None:
                raise UsageError(f"there is no series {args.id}; see `meedoen series list`.")
            meetings = await series_store.meeting_rows(connection, args.id)
            signups = await series_store.signup_rows(connection, args.id)
            upcoming, _past = await meeting_store.coordinator_meetings(connection, utcnow())
    finally:
        await db.close()
    now = utcnow()
    ahead = next((m.starts_at for m in meetings if m.status == "scheduled" and m.starts_at > now), None)
    with use_locale("en"):
        print(f"Series {row.id}: {row.name}")
        print(f"  every {weekday_name(row.weekday)} at {row.start_time}, {row.location or '-'}"
              f" ({row.area or 'no area'}), {row.capacity} seats, {_series_state(row.status, ahead)}")
        print("Meetings:")
        for meeting in meetings:
            print(f"  {meeting.number:>2}. {_when(meeting.starts_at, settings)}  {meeting.status}")
        confirmed = [s for s in signups if s.status == "confirmed"]
        waiting = [s for s in signups if s.status == "waitlist"]
        print(f"Signed up ({len(confirmed)}/{row.capacity}):")
        for signup in confirmed:
            print(f"  - {signup.name or '(no name)'}  [{signup.language}, {signup.channel}, {signup.participant_status}]")
        print(f"Waiting list ({len(waiting)}):")
        for place, signup in enumerate(waiting, start=1):
            print(f"  {place}. {signup.name or '(no name)'}  [{signup.language}, {signup.channel}]")
        for meeting in (m for m in upcoming if m.series_id == row.id):
            print(f"Next meeting, {_when(meeting.starts_at, settings)}:")
            for answer, title in (("coming", "coming"), ("not_coming", "can't come"), (None, "no answer yet")):
                names = [line.name or "(no name)" for line in meeting.lines if line.answer == answer]
                print(f"  {title} ({len(names)}): {', '.join(names) or '-'}")
    return None


def _english():
    """The CLI speaks English: messages of shared code (e.g. ``MeetingChangeError``) too."""
    from dialogs.i18n import use_locale

    return use_locale("en")


def _local_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date; write it like 2026-12-10.") from None


async def statement_add(args, settings: Settings) -> None:
    from bot.store import audit
    from bot.store import statements as store

    texts = {code: " ".join(getattr(args, code).split()) for code in store.LANGUAGES}
    empty = [code for code, text in texts.items() if not text]
    if empty:
        raise UsageError(f"The statement needs a text in every language; give --{empty[0]} a text.")
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            number = await store.add(connection, texts, utcnow())
            await audit.record(connection, audit.CLI, "statement.add", f"statement {number}", utcnow())
    finally:
        await db.close()
    print(number)


async def statement_list(args, settings: Settings) -> None:
    from bot.store import statements as store
    from dialogs.statements import SHIPPED

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            added = await store.added(connection)
    finally:
        await db.close()
    for number, text in SHIPPED.items():
        print(f"{number}\t{text}  (shipped)")
    for number, texts in added.items():
        print(f"{number}\t{texts['en']}")


async def series_statements(args, settings: Settings) -> None:
    from bot.store import audit
    from bot.store import series as series_store
    from bot.store import statements as store

    try:
        numbers = [int(part) for part in args.use.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{args.use!r} is not a list of statement numbers; write it like 1,3,5.") from None
    if not numbers or len(set(numbers)) != len(numbers):
        raise UsageError("Give each statement once, e.g. --use 1,3,5.")
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            if await series_store.get(connection, args.id) is None:
                raise UsageError(f"There is no series {args.id}; `meedoen series list` shows them.")
            for number in numbers:
                if not await store.exists(connection, number):
                    raise UsageError(f"There is no statement {number}; `meedoen statement list` shows them.")
            await store.choose(connection, args.id, numbers)
            await audit.record(
                connection, audit.CLI, "series.statements", f"series {args.id}: {','.join(map(str, numbers))}", utcnow()
            )
    finally:
        await db.close()
    print(f"series {args.id} asks statements {','.join(map(str, numbers))}")


async def series_cancel_meeting(args, settings: Settings) -> None:
    from bot.domain import meeting_changes
    from bot.store import audit
    from dialogs.i18n import use_locale

    day = _local_date(args.date)
    db = await _database(settings)
    try:
        with _english():
            async with db.transaction() as connection:
                told, added = await meeting_changes.cancel(
                    connection, settings, args.id, day, args.reason, counts=args.counts, now=utcnow()
                )
                await audit.record(connection, audit.CLI, "meeting.cancel", f"series {args.id}: {day.isoformat()}", utcnow())
    except meeting_changes.MeetingChangeError as error:
        raise UsageError(str(error)) from None
    finally:
        await db.close()
    print(f"meeting of {day.isoformat()} cancelled; {told} participant(s) will be told")
    if added is not None:
        with use_locale("en"):
            print(f"a meeting was added at the end: {_when(added, settings)}")


async def series_move_meeting(args, settings: Settings) -> None:
    from bot.common.calendar import local_instant
    from bot.domain import meeting_changes
    from bot.store import audit
    from dialogs.i18n import use_locale

    day = _local_date(args.date)
    try:
        local = datetime.fromisoformat(args.to.replace(" ", "T"))
    except ValueError:
        raise UsageError(f"--to {args.to!r} is not a date and time; write it like '2026-12-11 19:30'.") from None
    to = local_instant(local.date(), local.time().replace(second=0, microsecond=0), settings.timezone)
    db = await _database(settings)
    try:
        with _english():
            async with db.transaction() as connection:
                told = await meeting_changes.move(connection, settings, args.id, day, to, now=utcnow())
                await audit.record(
                    connection, audit.CLI, "meeting.move", f"series {args.id}: {day.isoformat()} to {to.isoformat()}",
                    utcnow(),
                )
    except meeting_changes.MeetingChangeError as error:
        raise UsageError(str(error)) from None
    finally:
        await db.close()
    with use_locale("en"):
        print(f"meeting moved to {_when(to, settings)}; {told} participant(s) will be told")


# --- broadcast ------------------------------------------------------------------------------


async def broadcast_send(args, settings: Settings) -> int:
    from bot.domain import broadcasts
    if not args.to or not args.text_nl:
        raise UsageError(
            "a broadcast needs --to and --text-nl (see `meedoen broadcast --help`; "
            "`meedoen broadcast list` shows the earlier ones)."
        )
    keys = tuple(key.strip() for key in args.to.split(",") if key.strip())
    texts = {code: getattr(args, f"text_{code}") for code in ("nl", "ar", "so", "en")}
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            count = await _checked_audience(connection, keys, args.invite, settings)
        if not args.yes:
            print(f"This message goes to {count} participant(s):")
            for code, text in texts.items():
                print(f"  [{code}] {text if text else '(Dutch text with a note)'}")
            if not sys.stdin.isatty():
                raise UsageError("add --yes to send without a question (standard input is not a terminal).")
            if input("Send it? [y/N] ").strip().lower() not in ("y", "yes", "j", "ja"):
                print("nothing sent")
                return 1
        async with db.transaction() as connection:
            try:
                broadcast_id, recipients = await broadcasts.create(
                    connection,
                    created_by="cli",
                    audience_keys=keys,
                    texts=texts,
                    invite_series_id=args.invite,
                    areas=settings.areas,
                    now=utcnow(),
                )
            except broadcasts.BroadcastError as error:
                raise UsageError(str(error)) from None
        if not await _service_running(db):
            print(
                f"broadcast {broadcast_id} is queued for {recipients} participant(s); no running service "
                "was seen in the last minute, so it goes out when `meedoen run` starts."
            )
            return 0
        print(f"broadcast {broadcast_id} queued for {recipients} participant(s); "
              "the running service (meedoen run) delivers it")
        await _watch(db, broadcast_id)
    finally:
        await db.close()
    return 0


async def _checked_audience(connection, keys: tuple[str, ...], invite: int | None, settings: Settings) -> int:
    """How many a broadcast reaches; one sentence for an audience or series that does not
    exist, and for an audience with nobody in it."""
    from bot.store import audiences
    from bot.store import series as series_store

    for key in keys:
        kind, _sep, value = key.partition(":")
        if kind in ("series", "waitlist") and value.isdecimal() and await series_store.get(connection, int(value)) is None:
            raise UsageError(f"--to {key}: there is no series {value}; see `meedoen series list`.")
        if kind == "area" and not (value.isdecimal() and int(value) < len(settings.areas)):
            numbered = ", ".join(f"area:{n} = {area}" for n, area in enumerate(settings.areas))
            raise UsageError(f"--to {key}: areas are counted from 0 in MEEDOEN_AREAS ({numbered}).")
    if invite is not None and await series_store.get(connection, invite) is None:
        raise UsageError(f"--invite {invite}: there is no series {invite}; see `meedoen series list`.")
    try:
        count = await audiences.count(connection, keys, settings.areas, utcnow())
    except audiences.UnknownAudience as error:
        raise UsageError(
            f"unknown audience {error.args[0]!r}; use all, series:ID, waitlist:ID, "
            "language:nl|ar|so|en, area:N or noshow."
        ) from None
    if count == 0:
        raise UsageError(f"nobody is in --to {','.join(keys)} (0 participants), so nothing was queued.")
    return count


async def _service_running(db: Database) -> bool:
    from bot.store import heartbeat

    async with db.transaction() as connection:
        return heartbeat.is_running(await heartbeat.last_seen(connection), utcnow())


async def _watch(db: Database, broadcast_id: int) -> None:
    """A progress bar until nothing of the broadcast is left to send, or the service is gone."""
    from bot.domain import broadcasts
    quiet_since = None
    last_done = -1
    while True:
        async with db.transaction() as connection:
            recipients, tally = await broadcasts.status(connection, broadcast_id)
        done = recipients - tally["waiting"]
        width = 30
        filled = width * done // recipients if recipients else width
        sys.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{recipients}  "
            f"delivered {tally['delivered']}, failed {tally['failed']}, "
            f"blocked {tally['blocked']}, skipped {tally['skipped']}   "
        )
        sys.stdout.flush()
        if tally["waiting"] == 0:
            print()
            print(f"broadcast {broadcast_id} finished: {_final_tally(tally)}")
            return
        if done != last_done:
            last_done, quiet_since = done, asyncio.get_running_loop().time()
        elif asyncio.get_running_loop().time() - quiet_since > 15:
            if not await _service_running(db):
                print()
                print(f"the service has stopped; the rest of broadcast {broadcast_id} goes out when `meedoen run` starts again")
                return
            sys.stdout.write("\n(no progress for 15 s; Ctrl+C leaves the broadcast queued)\n")
            quiet_since = asyncio.get_running_loop().time()
        await asyncio.sleep(0.5)


def _final_tally(tally: dict[str, int]) -> str:
    """"3 delivered, 1 skipped (paused their messages)": the parts that are not zero."""
    parts = [f"{tally['delivered']} delivered"] + [
        f"{tally[key]} {words}"
        for key, words in (("failed", "failed"), ("blocked", "blocked the assistant"),
                           ("skipped", "skipped (paused their messages)"))
        if tally[key]
    ]
    return ", ".join(parts)


def _no_send_options(args) -> None:
    """``broadcast list`` / ``cancel`` after --to or --text-*: a mix-up, not a broadcast."""
    if args.to or args.invite is not None or any(getattr(args, f"text_{code}") for code in ("nl", "ar", "so", "en")):
        raise UsageError(f"`broadcast {args.broadcast_command}` sends nothing; leave out --to, --text-* and --invite.")


async def broadcast_list(args, settings: Settings) -> None:
    from bot.domain import broadcasts
    _no_send_options(args)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            lines = await broadcasts.overview(connection)
    finally:
        await db.close()
    if not lines:
        print("no broadcasts yet")
        return
    for line in lines:
        counts = broadcasts.tally(line.counts)
        extra = "".join(
            f", {name} {number}"
            for name, number in (("blocked", counts["blocked"]), ("skipped", counts["skipped"]),
                                 ("cancelled", line.counts.get("cancelled", 0)))
            if number
        )
        when = line.created_at.astimezone(_local_now(settings).tzinfo).strftime("%Y-%m-%d %H:%M")
        print(
            f"{line.id:>4}  {when}  {','.join(line.audience)}  |  sent {counts['delivered']}, "
            f"pending {counts['waiting']}, failed {counts['failed']}{extra}  |  {line.status}"
        )


async def broadcast_cancel(args, settings: Settings) -> None:
    from bot.domain import broadcasts
    _no_send_options(args)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            outcome = await broadcasts.cancel(connection, args.id, utcnow())
    finally:
        await db.close()
    if outcome is None:
        raise UsageError(f"there is no broadcast {args.id}; see `meedoen broadcast list`.")
    cancelled, on_their_way = outcome
    done = (
        f"{cancelled} cop{'y' if cancelled == 1 else 'ies'} not yet sent cancelled" if cancelled
        else "nothing was left to cancel"
    )
    print(f"broadcast {args.id}: {done}" + (f"; {on_their_way} already on their way" if on_their_way else ""))


# --- coordinators ---------------------------------------------------------------------------


async def coordinator_change(args, settings: Settings) -> None:
    from bot.store import audit, coordinators

    channel, address = parse_address(args.chat)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            if args.coordinator_command == "add":
                changed = await coordinators.add(connection, channel, address, utcnow())
            else:
                changed = await coordinators.remove(connection, channel, address)
            if changed:
                await audit.record(
                    connection, audit.CLI, f"coordinator.{args.coordinator_command}", f"{channel}:{address}", utcnow()
                )
    finally:
        await db.close()
    if args.coordinator_command == "add":
        print(f"{channel}:{address} added" if changed else f"{channel}:{address} is already a coordinator")
    else:
        print(f"{channel}:{address} removed" if changed else f"{channel}:{address} was not a coordinator; nothing changed")


async def coordinator_list(args, settings: Settings) -> None:
    from bot.store import coordinators

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            found = await coordinators.all_ids(connection)
    finally:
        await db.close()
    print("\n".join(found) if found else "no coordinators yet; add one with `meedoen coordinator add`")


# --- facilitators ---------------------------------------------------------------------------


async def facilitator_add(args, settings: Settings) -> None:
    from bot.store import audit, facilitators
    from bot.store import series as series_store

    channel, address = parse_address(args.chat)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            for series_id in args.series:
                if await series_store.get(connection, series_id) is None:
                    raise UsageError(f"there is no series {series_id}; see `meedoen series list`.")
            added = []
            for series_id in args.series:
                if await facilitators.add(connection, channel, address, series_id, utcnow()):
                    added.append(series_id)
                    await audit.record(
                        connection, audit.CLI, "facilitator.add", f"{channel}:{address} series {series_id}", utcnow()
                    )
    finally:
        await db.close()
    for series_id in args.series:
        print(f"{channel}:{address} facilitates series {series_id}" + ("" if series_id in added else " already"))


async def facilitator_remove(args, settings: Settings) -> None:
    from bot.store import audit, facilitators

    channel, address = parse_address(args.chat)
    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            removed = 0
            for series_id in args.series or [None]:
                gone = await facilitators.remove(connection, channel, address, series_id)
                if gone:
                    removed += gone
                    where = "every series" if series_id is None else f"series {series_id}"
                    await audit.record(connection, audit.CLI, "facilitator.remove", f"{channel}:{address} {where}", utcnow())
    finally:
        await db.close()
    if not removed:
        print(f"{channel}:{address} was not a facilitator of {'that series' if args.series else 'any series'}; nothing changed")
    else:
        print(f"{channel}:{address} removed from {removed} series")


async def facilitator_list(args, settings: Settings) -> None:
    from bot.domain.invites import facilitator_source
    from bot.store import facilitators

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            rows = await facilitators.listing(connection)
    finally:
        await db.close()
    if not rows:
        print("no facilitators yet; add one with `meedoen facilitator add CHANNEL:ID --series ID`")
        return
    for row in rows:
        # His links and flyers count under this source (`meedoen invite --series ID --counts`).
        source = facilitator_source(settings.secret_key.encode(), row.channel, row.address) if settings.secret_key else "-"
        print(f"{row.channel}:{row.address}  source {source}  series {row.series_id}: {row.name}")


async def series_reports(args, settings: Settings) -> None:
    from bot.analytics.meeting_reports import report_lines
    from bot.store import facilitators
    from bot.store import series as series_store
    from dialogs.i18n import use_locale

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            row = await series_store.get(connection, args.id)
            if row is None:
                raise UsageError(f"there is no series {args.id}; see `meedoen series list`.")
            forms = await facilitators.reports_of_series(connection, args.id)
    finally:
        await db.close()
    print(f"Series {row.id}: {row.name}")
    if not forms:
        print("no forms yet: a facilitator gets the form the morning after each meeting")
        return
    with use_locale("en"):
        for form in forms:
            print(f"Meeting {form.number}, {_when(form.starts_at, settings)}:")
            for label, value in report_lines(form):
                print(f"  {label}: {value}")


# --- research note --------------------------------------------------------------------------


def _month_argument(value: str) -> str:
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month; write it as YYYY-MM, e.g. 2026-03.") from None
    return value


async def research_note_write(args, settings: Settings) -> None:
    """``meedoen research-note``: the report's shown figures (it may publish a newly closed
    month, as ``meedoen report`` does), the cohort curve and the facilitators' themes."""
    from bot.operations import research_note

    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in research_note.FORMATS:
        raise UsageError("--out must end in .html or .pdf, e.g. --out note.pdf.")
    if args.first > args.last:
        raise UsageError("--from is after --to; give the earlier month first.")
    now = utcnow()
    db = await _database(settings)
    try:
        with _collector_paused():
            figures = await research_note.read(db, settings, now)
    finally:
        await db.close()
    content = research_note.render(figures.note(args.first, args.last), settings, args.lang, suffix, now)
    try:
        if isinstance(content, bytes):
            with open(args.out, "wb") as handle:
                handle.write(content)
        else:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(content)
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror}.") from None
    print(f"research note written to {args.out}")


# --- report ---------------------------------------------------------------------------------


REPORT_FORMATS = {".txt": "text", ".csv": "csv", ".png": "png"}
"""A report file's extension → its format."""


def _report_format(format: str | None, out: str | None) -> str:
    """The format asked for, or the one the --out file's extension names; one sentence for
    an extension that names none or another."""
    if out is None:
        return format or "text"
    from pathlib import PurePath

    named = REPORT_FORMATS.get(PurePath(out).suffix.lower())
    if format is None and named is None:
        raise UsageError(f"cannot tell the format from {out!r}; end the name in .txt, .csv or .png, or add --format.")
    if format is not None and named is not None and named != format:
        extension = "txt" if format == "text" else format
        raise UsageError(f"--format {format} does not match the extension of {out!r}; give the file a .{extension} name.")
    return format or named


async def report_write(args, settings: Settings) -> None:
    """``meedoen report``: anonymous figures only (see bot/analytics/report.py and
    docs/report-privacy.md). It may store a newly closed month's figures in
    ``published_figures``: the one write a report makes."""
    format = _report_format(args.format, args.out)
    if args.funnel and format == "png":
        raise UsageError("the funnel has no chart; use --format text or csv.")
    if format == "png" and not args.out:
        raise UsageError("--format png needs --out FILE, e.g. --out report.png.")
    with _collector_paused():
        content = await (_funnel_content(format, settings) if args.funnel else _report_content(format, settings))
    if args.out is None:
        sys.stdout.write(content)
        return
    try:
        if isinstance(content, bytes):
            with open(args.out, "wb") as handle:
                handle.write(content)
        else:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror}.") from None
    print(f"report written to {args.out}")


async def _report_content(format: str, settings: Settings) -> bytes | str:
    from bot.analytics import report
    from bot.store import report_data
    db = await _database(settings)
    try:
        built = await report_data.build_from(db, settings, utcnow())
    finally:
        await db.close()
    if format == "png":
        from bot.analytics.report_chart import render_png
        from bot.config import read_shapes

        return render_png(built, "en", read_shapes(settings.areas_geojson, settings.areas))
    return report.render_csv(built) if format == "csv" else report.render_text(built)


async def _funnel_content(format: str, settings: Settings) -> str:
    from bot.analytics import funnel_table
    from bot.store import funnel

    db = await _database(settings)
    try:
        async with db.transaction() as connection:
            counts = await funnel.all_counts(connection)
    finally:
        await db.close()
    render = funnel_table.render_csv if format == "csv" else funnel_table.render_text
    return render(counts, utcnow())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the report is read and drawn. Its modules
    (numpy, matplotlib) and the chart's artists are tens of thousands of new objects, which
    the collector would walk again and again (0.1-0.3 s of the command) to find the few
    megabytes of cycles that the next collection, or the process's end, frees anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
