"""What a coordinator going live runs into (issue 10's walk-through): the secret key the
database was made with, a crashed service's heartbeat, a bad database setting, a closed pipe.
Real subprocesses on a real SQLite file."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import erasure
from bot.store import heartbeat, key_fingerprint, participants
from tests.test_cli import ameedoen

OTHER_KEY = "another-key-not-the-databases-0000"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_env(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEEDOEN_", "TELEGRAM_", "TWILIO_"))}
    env.update(
        MEEDOEN_DATABASE_URL=database_url,
        MEEDOEN_SECRET_KEY=secret,
        TELEGRAM_BOT_TOKEN="123456:ABCdef_ghi-jkl",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{_free_port()}/bot",  # nobody listens
        MEEDOEN_HTTP_PORT=str(_free_port()),
    )
    env.update(extra)
    return env


def meedoen_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.app.cli", "run"], env=env, capture_output=True, text=True, timeout=120)


async def test_run_remembers_the_key_and_refuses_another(settings, db, database_url):
    first = meedoen_run(run_env(database_url, settings.secret_key))
    assert "Could not reach the Telegram Bot API" in first.stderr  # past the key check
    async with db.transaction() as connection:
        assert await key_fingerprint.stored(connection) == key_fingerprint.of(settings.secret_key)
        assert settings.secret_key not in await key_fingerprint.stored(connection)
    other = meedoen_run(run_env(database_url, OTHER_KEY))
    assert other.returncode == 2
    assert other.stderr.strip() == (
        "meedoen: MEEDOEN_SECRET_KEY is not the key this database was made with (buttons, check-in "
        "markers and the erasure ledger would silently break); put back the key from your "
        "backup of .env (docs/going-live.md, \"The secret key\")."
    )
    again = meedoen_run(run_env(database_url, settings.secret_key))
    assert "Could not reach the Telegram Bot API" in again.stderr


async def _erased_after_backup(settings, db, tmp_path) -> str:
    """A man in the backup who used /delete after it was taken, in a database made with the key."""
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        await key_fingerprint.remember(connection, key_fingerprint.of(settings.secret_key))
        await participants.create(connection, "telegram", "5060", "nl", now)
    backup = str(tmp_path / "backup.db")
    assert (await ameedoen(settings.database_url, "db", "backup", backup))[0] == 0
    async with db.transaction() as connection:
        await erasure.erase(connection, settings, "telegram", "5060", now)
    return backup


@pytest.mark.sqlite_only("db backup and db restore are SQLite's")
async def test_restore_with_another_key_refuses_instead_of_bringing_him_back(settings, db, database_url, tmp_path):
    backup = await _erased_after_backup(settings, db, tmp_path)
    code, _out, err = await ameedoen(database_url, "db", "restore", backup, secret=OTHER_KEY)
    assert code == 2 and err.strip() == (
        "meedoen: MEEDOEN_SECRET_KEY is not the key the current database was made with, so the men "
        "who used /delete could not be recognised; set the key from your backup of .env, then restore."
    )
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "5060") is None  # nothing replaced
    code, out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
    assert code == 0 and "1 chat address(es) erased again" in out, err
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "5060") is None
        assert await key_fingerprint.stored(connection) == key_fingerprint.of(settings.secret_key)


@pytest.mark.sqlite_only("db backup and db restore are SQLite's")
async def test_restore_refuses_a_backup_made_with_another_key(settings, db, database_url, tmp_path):
    backup = await _erased_after_backup(settings, db, tmp_path)
    with closing(sqlite3.connect(backup)) as raw, raw:  # its database had another key
        raw.execute("UPDATE key_fingerprint SET fingerprint = ?", (key_fingerprint.of(OTHER_KEY),))
    code, _out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
    assert code == 2 and err.strip() == (
        f"meedoen: MEEDOEN_SECRET_KEY is not the key the backup {backup} was made with, so the men "
        "who used /delete could not be recognised; set the key from your backup of .env, then restore."
    )
    async with db.transaction() as connection:
        assert await participants.find(connection, "telegram", "5060") is None


@pytest.mark.sqlite_only("db backup and db restore are SQLite's")
async def test_after_a_crash_restore_says_when_it_works_and_force_overrides(settings, db, database_url, tmp_path):
    backup = str(tmp_path / "backup.db")
    assert (await ameedoen(database_url, "db", "backup", backup))[0] == 0
    async with db.transaction() as connection:  # a service killed 20 s ago left its beat
        await heartbeat.beat(connection, datetime.now(UTC) - timedelta(seconds=20))
    code, _out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
    assert code == 2, err
    said = re.fullmatch(
        r"meedoen: `meedoen run` is using this database \(last seen (\d+) s ago\); stop it first, then restore\. "
        r"If it stopped without cleaning up \(a crash\), restore works in (\d+) s, or add --force now if you "
        r"are sure no `meedoen run` uses this database\.\n",
        err,
    )
    assert said, err
    ago, wait = int(said[1]), int(said[2])
    assert 20 <= ago < 60 and ago + wait in (60, 61)
    code, out, err = await ameedoen(database_url, "db", "restore", backup, "--force", secret=settings.secret_key)
    assert code == 0 and "restored from" in out, err
    async with db.transaction() as connection:  # the same minute as broadcast's "is it running"
        await heartbeat.beat(connection, datetime.now(UTC) - heartbeat.RECENT - timedelta(seconds=2))
    code, out, err = await ameedoen(database_url, "db", "restore", backup, secret=settings.secret_key)
    assert code == 0, err


def test_a_bad_database_setting_is_one_sentence_naming_it_for_every_command(tmp_path):
    missing = tmp_path / "no-such-folder" / "meedoen.db"
    cases = {
        f"sqlite+aiosqlite:///{missing}": (
            f"meedoen: MEEDOEN_DATABASE_URL names the folder {missing.parent}, which does not exist; "
            "create it (or fix the path), then try again."
        ),
        "meedoen.db": (
            "meedoen: MEEDOEN_DATABASE_URL 'meedoen.db' is not a database URL; write it like "
            "sqlite+aiosqlite:////var/lib/meedoen/meedoen.db (four slashes before an absolute path, "
            "three before a relative one)."
        ),
        f"sqlite:///{tmp_path / 'meedoen.db'}": "must name the aiosqlite driver",
        "postgresql://meedoen:secret@127.0.0.1:1/meedoen": (
            "meedoen: MEEDOEN_DATABASE_URL must name the asyncpg driver for PostgreSQL; write it like "
            "postgresql+asyncpg://meedoen:PASSWORD@db.example:5432/meedoen."
        ),
    }
    for url, sentence in cases.items():
        env = run_env(url, "test-secret-key-0123456789")
        for command in (["run"], ["db", "upgrade"], ["series", "list"], ["db", "backup", str(tmp_path / "b.db")],
                        ["broadcast", "list"], ["report"]):
            result = subprocess.run([sys.executable, "-m", "bot.app.cli", *command], env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 2, (command, result.stderr)
            assert sentence in result.stderr and result.stderr.count("\n") == 1, (command, result.stderr)
    demo = subprocess.run([sys.executable, "-m", "bot.app.cli", "demo", "--database", "meedoen.db", "--port", str(_free_port())],
                          env=run_env("", "x" * 20), capture_output=True, text=True, timeout=120)
    assert demo.returncode == 2 and "--database 'meedoen.db' is not a database URL" in demo.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly(database_url, tmp_path):
    """``meedoen series show 3 | head -2`` through a real pipe whose reader closes it."""
    env = run_env(database_url, "test-secret-key-0123456789")
    add = ["series", "add", "--name", "Mannen in gesprek", "--weekday", "thu", "--time", "19:00",
           "--start", "2030-12-05", "--meetings", "52"]
    assert subprocess.run([sys.executable, "-m", "bot.app.cli", *add], env=env, capture_output=True).returncode == 0
    for command in (["series", "show", "1"], ["translations", "preview", "--lang", "so"]):
        shell = f"{sys.executable} -m bot.app.cli {' '.join(command)} | head -c 10 >/dev/null; echo \"${{PIPESTATUS[0]}}\" >&2"
        # head -c 10 closes the pipe at once; a sleeping writer then meets a closed pipe
        result = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=120)
        *errors, status = result.stderr.strip().splitlines()
        assert errors == [], (command, result.stderr)
        assert status in ("0", "141"), (command, status)


def test_broadcast_list_and_cancel_have_their_own_usage_once(database_url):
    env = run_env(database_url, "test-secret-key-0123456789")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.app.cli", *args], env=env, capture_output=True, text=True, timeout=120)

    assert cli("broadcast", "cancel", "--help").stdout.startswith("usage: meedoen broadcast cancel [-h] ID\n")
    assert cli("broadcast", "list", "--help").stdout.startswith("usage: meedoen broadcast list [-h]\n")
    wrong = cli("broadcast", "cancel", "abc")
    assert wrong.returncode == 2
    assert wrong.stderr == (
        "usage: meedoen broadcast cancel [-h] ID\n"
        "meedoen broadcast cancel: error: argument ID: invalid int value: 'abc'\n"
    )


def test_a_malformed_telegram_token_is_refused_at_start_naming_the_setting(database_url):
    from bot.config import ConfigError, load_settings

    for token in ("123456:ABC def", "AAH-no-digits", "https://t.me/meedoen_bot", "98765"):
        try:
            load_settings({"TELEGRAM_BOT_TOKEN": token}, env_file=None)
        except ConfigError as error:
            assert str(error).startswith("TELEGRAM_BOT_TOKEN is not a bot token; copy it again from @BotFather")
            assert token not in str(error)
        else:
            raise AssertionError(f"{token!r} was accepted")
    assert load_settings({"TELEGRAM_BOT_TOKEN": "123456789:AAH_x-Y9"}, env_file=None).telegram_enabled
    result = meedoen_run(run_env(database_url, "test-secret-key-0123456789", TELEGRAM_BOT_TOKEN="my-token"))
    assert result.returncode == 2 and result.stderr.startswith("meedoen: TELEGRAM_BOT_TOKEN is not a bot token")


def test_operator_wording(database_url):
    from bot.app.cli import _final_tally

    env = run_env(database_url, "test-secret-key-0123456789")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.app.cli", *args], env=env, capture_output=True, text=True, timeout=120)

    assert cli("coordinator", "remove", "telegram:999").stdout == "telegram:999 was not a coordinator; nothing changed\n"
    assert cli("coordinator", "add", "telegram:999").stdout == "telegram:999 added\n"
    assert cli("coordinator", "add", "telegram:999").stdout == "telegram:999 is already a coordinator\n"
    assert "/whoami" in cli("coordinator", "add", "--help").stdout
    run_help = " ".join(cli("run", "--help").stdout.split())
    assert "MEEDOEN_SECRET_KEY" in run_help and "TELEGRAM_BOT_TOKEN" in run_help and "TWILIO_ACCOUNT_SID" in run_help
    assert _final_tally({"delivered": 3, "failed": 0, "blocked": 0, "skipped": 0, "waiting": 0}) == "3 delivered"
    assert _final_tally({"delivered": 3, "failed": 1, "blocked": 0, "skipped": 2, "waiting": 0}) == (
        "3 delivered, 1 failed, 2 skipped (paused their messages)"
    )


async def test_cancelling_a_broadcast_with_nothing_left_says_so(settings, db, database_url):
    from bot.domain import broadcasts
    now = datetime.now(UTC)
    async with db.transaction() as connection:
        await participants.create(connection, "telegram", "5070", "nl", now)
        broadcast_id, _count = await broadcasts.create(
            connection, created_by="cli", audience_keys=("all",), texts={"nl": "Hallo"},
            invite_series_id=None, areas=settings.areas, now=now,
        )
    code, out, err = await ameedoen(database_url, "broadcast", "cancel", str(broadcast_id))
    assert code == 0 and out == f"broadcast {broadcast_id}: 1 copy not yet sent cancelled\n", err
    code, out, err = await ameedoen(database_url, "broadcast", "cancel", str(broadcast_id))
    assert code == 0 and out == f"broadcast {broadcast_id}: nothing was left to cancel\n", err


def test_series_add_refuses_a_first_meeting_that_has_begun_and_lists_past_series_as_finished(database_url):
    from zoneinfo import ZoneInfo

    env = run_env(database_url, "test-secret-key-0123456789")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.app.cli", *args], env=env, capture_output=True, text=True, timeout=120)

    local = datetime.now(ZoneInfo("Europe/Amsterdam")).replace(hour=0, minute=0)  # today at 00:00: begun
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    today = ["series", "add", "--name", "Vandaag", "--weekday", weekday, "--time", "00:00",
             "--start", local.date().isoformat(), "--meetings", "1"]
    refused = cli(*today)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"meedoen: the first meeting, {local.date().isoformat()} at {local.strftime('%H:%M')}, has already begun; "
        "give a later --start, or add --allow-past if you mean it.\n"
    )
    assert cli(*today, "--allow-past").returncode == 0
    listed = cli("series", "list").stdout
    assert "next: no meetings ahead  |  finished" in listed
    assert ", 12 seats, finished" in cli("series", "show", "1").stdout


async def test_the_demo_stops_quickly_with_a_long_poll_open(tmp_path):
    """A browser tab on /demo keeps a 25-second long poll open; Ctrl+C or SIGTERM must not
    wait for it. A real ``meedoen demo`` process and a real open request."""
    import asyncio
    import signal

    import httpx

    port = _free_port()
    env = run_env(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", "test-secret-key-0123456789")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "demo", "--port", str(port), "--database", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(process.stdout.readline(), 60)  # "Meedoen demo: open http://..."
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=40) as client:
            for _attempt in range(600):  # the line is printed just before the server listens
                try:
                    assert (await client.get("/healthz")).status_code == 200
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            poll = asyncio.ensure_future(client.get("/demo/api/messages", params={"user": "tester", "after": "999999"}))
            await asyncio.sleep(0.5)  # the poll is waiting inside the server
            assert not poll.done()
            process.send_signal(signal.SIGTERM)
            # Well before the poll's own 25 s would have ended it (loose: a shared machine).
            code = await asyncio.wait_for(process.wait(), 15)
            answer = await asyncio.wait_for(poll, 5)
        assert code == 0, (await process.stderr.read()).decode()
        assert answer.status_code == 200 and answer.json()["messages"] == []  # answered, not cut off
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
