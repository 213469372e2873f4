"""The ``meedoen`` command as an operator uses it: real subprocesses on a real SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bot.store import participants
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_chat import running, telegram_settings


@pytest.fixture
async def tg():
    async with FakeTelegram() as server:
        yield server
    assert server.violations == []


# `meedoen db backup` and `db restore` copy SQLite files; on PostgreSQL they point to pg_dump
# (test_backups_of_a_database_server_are_its_own_business).
SQLITE_BACKUPS = pytest.mark.sqlite_only("db backup and db restore are SQLite's")


def meedoen(database_url: str, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env["MEEDOEN_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args], env=env, capture_output=True, text=True,
        input=input_text, timeout=120,
    )


def test_help_lists_the_operator_commands(database_url):
    result = meedoen(database_url, "--help")
    assert result.returncode == 0
    for command in ("run", "demo", "secret", "db", "series", "coordinator", "broadcast", "report"):
        assert command in result.stdout


def test_the_text_report_loads_only_what_it_needs(database_url):
    """``meedoen report`` is timed from a fresh process (docs/benchmarks.md, "Report"): it
    loads no Alembic once the database is at head, no chart library for text, and none of
    the service's modules."""
    assert meedoen(database_url, "db", "upgrade").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env["MEEDOEN_DATABASE_URL"] = database_url
    code = (
        "import sys\n"
        "from bot.app.cli import main\n"
        "assert main(['report']) == 0\n"
        "heavy = ('alembic', 'matplotlib', 'bot.delivery.outbox', 'bot.engine', 'bot.store.series')\n"
        "print('loaded:', *[name for name in heavy if name in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Meedoen check-in and participation report" in result.stdout
    assert result.stderr.strip() == "loaded:"


def test_series_add_list_show_cancel_and_move(database_url):
    added = meedoen(
        database_url, "series", "add", "--name", "Mannen in gesprek", "--weekday", "thu", "--time", "19:00",
        "--start", "2030-12-05", "--meetings", "6", "--capacity", "12", "--location", "Huis van de Wijk", "--area", "Osdorp",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "1"
    listed = meedoen(database_url, "series", "list")
    assert "Mannen in gesprek" in listed.stdout and "0/12 seats" in listed.stdout
    shown = meedoen(database_url, "series", "show", "1")
    assert "Thursday 5 December 2030 19:00" in shown.stdout and shown.stdout.count("scheduled") == 6  # not this year
    cancelled = meedoen(database_url, "series", "cancel-meeting", "1", "2030-12-12", "--reason", "Sinterklaas")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "added at the end: Thursday 16 January 2031 19:00" in cancelled.stdout
    moved = meedoen(database_url, "series", "move-meeting", "1", "2030-12-19", "--to", "2030-12-20 20:00")
    assert moved.returncode == 0, moved.stderr
    assert "Friday 20 December 2030 20:00" in moved.stdout
    shown = meedoen(database_url, "series", "show", "1")
    assert "cancelled" in shown.stdout and "Friday 20 December 2030 20:00" in shown.stdout


@pytest.mark.parametrize(
    "args, sentence",
    [
        (["series", "show", "42"], "there is no series 42"),
        (["series", "add", "--name", "x", "--weekday", "zondag", "--time", "19:00", "--start", "2030-01-01", "--meetings", "6"], "unknown weekday"),
        (["series", "add", "--name", "x", "--weekday", "sun", "--time", "7pm", "--start", "2030-01-01", "--meetings", "6"], "is not a time"),
        (["series", "add", "--name", "x", "--weekday", "sun", "--time", "19:00", "--start", "1-1-2030", "--meetings", "6"], "is not a date"),
        (["series", "add", "--name", "x", "--weekday", "sun", "--time", "19:00", "--start", "2030-01-01", "--meetings", "0"], "between 1 and 52"),
        (["series", "cancel-meeting", "1", "2030-01-02"], "There is no series 1"),
        (["coordinator", "add", "telegram:abc"], "not a valid chat id"),
        (["broadcast", "--to", "everyone", "--text-nl", "Hoi", "--yes"], "unknown audience"),
        # issue 10, section 4: each of these was accepted, or a traceback
        (["series", "add", "--name", "x", "--weekday", "sun", "--time", "19:00", "--start", "2020-01-05", "--meetings", "6"],
         "--start 2020-01-05 is in the past; give a date from today on, or add --allow-past"),
        (["series", "add", "--name", "x", "--weekday", "sun", "--time", "19:00", "--start", "2030-01-06", "--meetings", "6", "--area", "Mars"],
         "--area 'Mars' is not one of MEEDOEN_AREAS: Geuzenveld-Slotermeer, Osdorp, De Aker/Sloten/Nieuw-Sloten, Slotervaart."),
        (["broadcast", "--to", "all", "--text-nl", "Hoi", "--invite", "9", "--yes"], "--invite 9: there is no series 9"),
        (["broadcast", "--to", "series:9", "--text-nl", "Hoi", "--yes"], "--to series:9: there is no series 9"),
        (["broadcast", "--to", "waitlist:9,all", "--text-nl", "Hoi", "--yes"], "--to waitlist:9: there is no series 9"),
        (["broadcast", "--to", "area:4", "--text-nl", "Hoi", "--yes"], "areas are counted from 0 in MEEDOEN_AREAS (area:0 = Geuzenveld-Slotermeer"),
        (["broadcast", "--to", "language:so", "--text-nl", "Hoi", "--yes"], "nobody is in --to language:so (0 participants), so nothing was queued."),
        (["broadcast", "--text-nl", "Hoi"], "a broadcast needs --to and --text-nl"),
        (["broadcast", "cancel", "7"], "there is no broadcast 7"),
        (["broadcast", "--to", "all", "--text-nl", "Hoi", "list"], "`broadcast list` sends nothing; leave out --to"),
        (["report", "--out", "report.pdf"], "cannot tell the format from 'report.pdf'; end the name in .txt, .csv or .png"),
        (["report", "--format", "text", "--out", "report.png"], "--format text does not match the extension of 'report.png'"),
        *(pytest.param(*case, marks=SQLITE_BACKUPS) for case in (
            (["db", "restore", "TMP/notes.txt"], "notes.txt is not a Meedoen database backup."),
            (["db", "restore", "TMP/no-such-backup.db"], "no-such-backup.db."),
            (["db", "backup", "TMP/notes.txt"], "notes.txt already exists; choose another name, or add --force"),
            (["db", "backup", "TMP/no-such-folder/backup.db"], "no-such-folder does not exist."),
        )),
    ],
)
def test_mistakes_get_one_sentence_and_no_traceback(database_url, tmp_path, args, sentence):
    assert meedoen(database_url, "db", "upgrade").returncode == 0  # a database to refuse things in
    (tmp_path / "notes.txt").write_text("not a database\n")
    result = meedoen(database_url, *(arg.replace("TMP", str(tmp_path)) for arg in args))
    assert result.returncode == 2
    assert sentence in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    if args[0] in ("series", "broadcast"):  # nothing written or queued
        assert meedoen(database_url, "series", "list").stdout.startswith("no series yet")
        assert meedoen(database_url, "broadcast", "list").stdout.strip() == "no broadcasts yet"


def test_backups_of_a_database_server_are_its_own_business(tmp_path):
    for command in (["db", "backup", str(tmp_path / "x.db")], ["db", "restore", str(tmp_path / "x.db")]):
        result = meedoen("postgresql+asyncpg://meedoen@localhost/meedoen", *command)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip() == (
            "meedoen: MEEDOEN_DATABASE_URL is a PostgreSQL database: make its backups with pg_dump and "
            'restore them with pg_restore (docs/going-live.md, "Backups on PostgreSQL").'
        )


def test_an_unexpected_error_is_one_sentence_and_debug_shows_the_details(tmp_path):
    (tmp_path / "meedoen.db").write_text("not a database\n" * 200)  # a broken file, not a setting
    broken = f"sqlite+aiosqlite:///{tmp_path / 'meedoen.db'}"
    result = meedoen(broken, "series", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "meedoen: `series` stopped on an unexpected DatabaseError and did not finish; "
        "run it again as `meedoen --debug series ...` to see the details."
    )
    assert "Traceback" in meedoen(broken, "--debug", "series", "list").stderr


def test_the_demo_names_port_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = meedoen(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "demo", "--port", str(port),
                         "--database", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"meedoen: port {port} is already in use (another Meedoen, perhaps); "
        "pick another with --port, e.g. `meedoen demo --port 8090` (with make: `make demo PORT=8090`)."
    )


def test_make_demo_passes_port_on():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dry = subprocess.run(["make", "-n", "-C", root, "demo", "PORT=9000"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "meedoen demo --port 9000" in dry.stdout


def test_secret_prints_a_fresh_key_and_says_to_keep_it(database_url):
    first, second = meedoen(database_url, "secret"), meedoen(database_url, "secret")
    assert first.returncode == 0
    key = first.stdout.strip()
    assert len(key) >= 40 and key != second.stdout.strip() and "\n" not in key
    assert "MEEDOEN_SECRET_KEY" in first.stderr and "back" in first.stderr
    assert "signed buttons" in first.stderr and "check-in markers" in first.stderr


async def test_series_show_gives_the_year_only_when_it_is_not_this_one(database_url):
    this_year = datetime.now(UTC).year
    start = f"{this_year + 1}-01-07"
    assert meedoen(database_url, "series", "add", "--name", "x", "--weekday", "thu", "--time", "19:00",
                   "--start", start, "--meetings", "1", "--area", "osdorp").returncode == 0
    shown = meedoen(database_url, "series", "show", "1").stdout
    assert f"7 January {this_year + 1} 19:00" in shown and "(Osdorp)" in shown  # the configured spelling
    past = meedoen(database_url, "series", "add", "--name", "y", "--weekday", "thu", "--time", "19:00",
                   "--start", f"{this_year}-01-01", "--meetings", "1", "--allow-past")
    assert past.returncode == 0, past.stderr
    assert f" {this_year} " not in meedoen(database_url, "series", "show", "2").stdout


def test_report_takes_its_format_from_the_file_name(database_url, tmp_path):
    assert meedoen(database_url, "report", "--out", str(tmp_path / "report.png")).returncode == 0
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG\r\n")
    assert meedoen(database_url, "report", "--out", str(tmp_path / "report.csv")).returncode == 0
    assert (tmp_path / "report.csv").read_text().count(",") > 3


def test_a_wrong_setting_stops_every_command_with_one_sentence(database_url):
    env = {**os.environ, "MEEDOEN_DATABASE_URL": database_url, "MEEDOEN_TIMEZONE": "Amsterdam"}
    result = subprocess.run([sys.executable, "-m", "bot.app.cli", "series", "list"], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "not a known time zone" in result.stderr and "Traceback" not in result.stderr


def test_coordinators(database_url):
    assert meedoen(database_url, "coordinator", "add", "telegram:123456").stdout.strip() == "telegram:123456 added"
    assert "whatsapp:+31612345678 added" in meedoen(database_url, "coordinator", "add", "whatsapp:+31612345678").stdout
    assert meedoen(database_url, "coordinator", "list").stdout.split() == ["telegram:123456", "whatsapp:+31612345678"]
    assert "removed" in meedoen(database_url, "coordinator", "remove", "telegram:123456").stdout
    assert meedoen(database_url, "coordinator", "list").stdout.split() == ["whatsapp:+31612345678"]


async def test_broadcast_needs_yes_without_a_terminal(database_url, db):
    async with db.transaction() as connection:
        await participants.create(connection, "telegram", "8500", "nl", datetime.now(UTC))
    result = meedoen(database_url, "broadcast", "--to", "all", "--text-nl", "Hoi")
    assert result.returncode == 2 and "--yes" in result.stderr


async def test_broadcast_shows_progress_until_the_service_delivered_it(settings, db, database_url):
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        for address, language in ((8501, "nl"), (8502, "so"), (8503, "ar")):
            await participants.create(connection, "telegram", str(address), language, now)
    async with FakeTelegram() as tg:
        async with running(telegram_settings(settings, tg)):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_"))}
            env["MEEDOEN_DATABASE_URL"] = database_url
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.app.cli", "broadcast", "--to", "all,language:so",
                "--text-nl", "Nieuwe reeks in Osdorp!", "--text-so", "Taxane cusub!", "--yes",
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert tg.violations == []
    output = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert "queued for 3 participant(s)" in output
    assert "3/3" in output and "finished: 3 delivered\n" in output
    assert [tg.count_to(a) for a in (8501, 8502, 8503)] == [1, 1, 1]
    assert tg.messages_to(8502)[0]["text"] == "Taxane cusub!"


# --- backup, restore, the erasure ledger and the heartbeat ---------------------------------------


async def ameedoen(database_url: str, *args: str, secret: str | None = None) -> tuple[int, str, str]:
    """``meedoen`` in a subprocess without blocking the event loop (a service runs in it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env["MEEDOEN_DATABASE_URL"] = database_url
    if secret is not None:
        env["MEEDOEN_SECRET_KEY"] = secret
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()


@SQLITE_BACKUPS
async def test_a_restored_backup_does_not_bring_back_a_man_who_used_delete(tg, settings, db, database_url, tmp_path):
    from tests.telegram_chat import Chat
    from tests.test_store import rows_mentioning
    from tests.test_telegram_signup import add_series, sign_up

    backup = str(tmp_path / "backup.db")
    series_id = await add_series(db, capacity=1)
    async with running(telegram_settings(settings, tg)):
        leaving, staying = Chat(tg, 5040), Chat(tg, 5041)
        await sign_up(leaving, "so", "Cabdi", f"s:{series_id}", "a:0")  # the one seat
        await staying.command("/start")
        for key in ("lang:nl", "yes"):
            await staying.tap(key)
        await staying.say("Jan")
        await staying.tap(f"s:{series_id}")
        await staying.tap("wait")  # the series is full: the waiting list
        await staying.tap("a:0")
        code, out, err = await ameedoen(database_url, "broadcast", "--to", "all", "--text-nl", "Tot donderdag!", "--yes")
        assert code == 0 and "finished: 2 delivered" in out, err  # outbox rows naming both
        code, out, err = await ameedoen(database_url, "db", "backup", backup)  # while running
        assert code == 0 and out.startswith(f"backup written to {backup}"), err
        await leaving.command("/delete")
        await leaving.tap("erase")
        code, _out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
        assert code == 2 and "`meedoen run` is using this database" in err and "stop it first" in err
    assert await rows_mentioning(db, ["5040", "Cabdi"]) == []
    code, out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
    assert code == 0, err
    assert "1 chat address(es) erased again" in out
    assert await rows_mentioning(db, ["5040", "Cabdi"]) == []  # nor sign-up, conversation, outbox rows
    assert {table for table, _row in await rows_mentioning(db, ["5041"])} >= {"participants", "outbox"}
    code, out, _err = await ameedoen(database_url, "series", "show", str(series_id))
    assert "Jan" in out and "Cabdi" not in out
    code, out, _err = await ameedoen(database_url, "broadcast", "list")
    assert out.split("|")[1].strip().startswith("sent 1")  # his copy is gone with him


@SQLITE_BACKUPS
async def test_restore_needs_the_key_when_the_ledger_names_anyone(settings, db, database_url, tmp_path):
    from bot.domain import erasure
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        await participants.create(connection, "telegram", "5050", "nl", now)
    backup = str(tmp_path / "backup.db")
    assert (await ameedoen(database_url, "db", "backup", backup))[0] == 0
    async with db.transaction() as connection:
        await erasure.erase(connection, settings, "telegram", "5050", now)
    code, _out, err = await ameedoen(database_url, "db", "restore", backup)
    assert code == 2 and err.strip() == (
        "meedoen: MEEDOEN_SECRET_KEY is needed to erase again the men who used /delete; "
        "set the key `meedoen run` uses, then restore."
    )
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "5050") is None  # nothing replaced
    code, _out, err = await ameedoen(database_url, "db", "backup", backup)
    assert code == 2 and "--force" in err
    assert (await ameedoen(database_url, "db", "backup", backup, "--force"))[0] == 0


async def test_broadcast_without_a_service_says_so_at_once_and_can_be_cancelled(tg, settings, db, database_url):
    """No service: queued, one sentence, exit 0. Then a slow service sends one copy a second,
    and `broadcast cancel` stops the rest even though the sender has them in its window."""
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        for address in range(8601, 8611):
            await participants.create(connection, "telegram", str(address), "nl", now)
    code, out, err = await ameedoen(database_url, "broadcast", "--to", "all", "--text-nl", "Hoi", "--yes")
    assert code == 0, err
    assert out.strip() == (
        "broadcast 1 is queued for 10 participant(s); no running service was seen in the last minute, "
        "so it goes out when `meedoen run` starts."
    )
    code, out, _err = await ameedoen(database_url, "broadcast", "list")
    assert "all  |  sent 0, pending 10, failed 0  |  queued" in out
    slow = dataclasses.replace(telegram_settings(settings, tg), telegram_rate=1.0)
    async with running(slow):
        await tg.wait_for(lambda: len(tg.sent) >= 2, timeout=20)
        code, out, err = await ameedoen(database_url, "broadcast", "cancel", "1")
        assert code == 0, err
        cancelled = int(out.split(": ")[1].split()[0])
        await asyncio.sleep(2.5)  # a second or two more of sending time: nothing more goes out
        sent = len(tg.sent)
    assert cancelled >= 5 and sent + cancelled == 10, (sent, cancelled)
    code, out, _err = await ameedoen(database_url, "broadcast", "list")
    assert f"sent {sent}, pending 0, failed 0, cancelled {cancelled}  |  cancelled" in out


async def test_the_service_beats_while_it_runs_and_says_goodbye(tg, settings, db):
    from bot.store import heartbeat

    async with running(telegram_settings(settings, tg)):
        async with db.transaction() as connection:
            seen = await heartbeat.last_seen(connection)
        assert heartbeat.is_running(seen, datetime.now(UTC))
    async with db.transaction() as connection:
        assert await heartbeat.last_seen(connection) is None


async def test_the_changing_commands_write_the_audit_log(database_url, db):
    from sqlalchemy import select

    from bot.store.schema import audit_log

    meedoen(database_url, "series", "add", "--name", "Vaders", "--weekday", "thu", "--time", "19:00",
            "--start", "2030-12-05", "--meetings", "3")
    meedoen(database_url, "series", "cancel-meeting", "1", "2030-12-12", "--counts")
    meedoen(database_url, "series", "move-meeting", "1", "2030-12-19", "--to", "2030-12-20 20:00")
    meedoen(database_url, "coordinator", "add", "telegram:123456")
    meedoen(database_url, "coordinator", "add", "telegram:123456")  # nothing changes: nothing written
    meedoen(database_url, "coordinator", "remove", "telegram:123456")
    meedoen(database_url, "series", "list")  # reading writes nothing
    async with db.transaction() as connection:
        entries = [(row.actor, row.action, row.detail) for row in await connection.execute(select(audit_log).order_by(audit_log.c.id))]
    assert entries == [
        ("cli", "series.add", "series 1: Vaders, 2030-12-05, 3 meetings"),
        ("cli", "meeting.cancel", "series 1: 2030-12-12"),
        ("cli", "meeting.move", "series 1: 2030-12-19 to 2030-12-20T19:00:00+00:00"),
        ("cli", "coordinator.add", "telegram:123456"),
        ("cli", "coordinator.remove", "telegram:123456"),
    ]
