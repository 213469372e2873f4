"""``meedoen db backup`` and ``meedoen db restore``, for the SQLite database.

A backup is made with SQLite's online backup API: a consistent copy of the database as it
was at one instant, safe while ``meedoen run`` writes to it (in WAL mode readers and the
writer do not block each other). It is written beside its name and renamed into place, so a
failed backup never leaves half a file, and stored as one self-contained file (no ``-wal``).

A restore never runs under a live service (its heartbeat, ``bot.store.heartbeat``; after a
crash, ``--force`` or a minute's wait), nor with another MEEDOEN_SECRET_KEY than the database
or the backup was made with (``bot.store.key_fingerprint``): the ledger would not recognise
anyone. The
backup is checked (a Meedoen database, of a version this code knows, not damaged) and
prepared in a staging file next to the database: migrated to the current schema, its
erasure ledger merged with the ledger of the database it replaces, and everyone that ledger
names erased again (``bot.domain.erasure.reapply``), so that a man who used /delete after the backup
was taken does not come back. Only then is the staging copy written over the database, again
with the backup API, and removed.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.domain import erasure
from bot.store import erasures, heartbeat, key_fingerprint, sealing
from bot.store.database import Database, known_revisions


class BackupError(Exception):
    """The backup or restore cannot be done; the message is one sentence for the operator."""


def sqlite_file(url: str) -> Path:
    """The database file of a SQLite URL, or one sentence saying what to do instead."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            "MEEDOEN_DATABASE_URL is a PostgreSQL database: make its backups with pg_dump and restore "
            "them with pg_restore (docs/going-live.md, \"Backups on PostgreSQL\")."
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("MEEDOEN_DATABASE_URL names no database file, so there is nothing to back up.")
    return Path(parsed.database)


def backup(url: str, target: Path, *, force: bool) -> None:
    source = sqlite_file(url)
    if not source.exists():
        raise BackupError(f"there is no database at {source} yet, so there is nothing to back up.")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; choose another name, or add --force to overwrite it.")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself; write the backup to another file.")
    _need_folder(target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial)
        with closing(sqlite3.connect(partial)) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"the backup could not be made ({error}).") from None
    finally:
        _remove(partial)


@dataclass(frozen=True)
class Restored:
    database: Path
    erased_again: int  # chat addresses the ledger named and the backup still held


async def restore(settings: Settings, source: Path, now: datetime, *, force: bool = False) -> Restored:
    """``force`` restores even though a service was seen lately (one that crashed)."""
    target = sqlite_file(settings.database_url)
    if not source.is_file():
        raise BackupError(f"there is no file {source}.")
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError(f"{source} is the database itself; give the backup file to restore.")
    if _header(source) != SQLITE_HEADER:
        raise BackupError(f"{source} is not a Meedoen database backup.")
    ledger, fingerprint = await _current_ledger(settings, now, force=force) if target.exists() else ({}, None)
    _need_folder(target)
    staging = target.with_name(f".{target.name}.restore-{os.getpid()}")
    try:
        _copy(source, staging)
        _check_backup(staging, source)
        erased = await _prepare(staging, source, settings, ledger, fingerprint, now)
        _copy(staging, target)
        with closing(sqlite3.connect(target)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no old pages left in the log
    except sqlite3.Error as error:
        raise BackupError(f"the restore could not be done ({error}); the database was not changed.") from None
    finally:
        _remove(staging)
    return Restored(target, erased)


SQLITE_HEADER = b"SQLite format 3\x00"


def _header(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(len(SQLITE_HEADER))


def _check_backup(staged: Path, source: Path) -> None:
    """One sentence unless the copy of ``source`` is an undamaged Meedoen database of a
    version this code knows."""
    not_ours = BackupError(f"{source} is not a Meedoen database backup.")
    try:
        with closing(sqlite3.connect(staged)) as connection:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"alembic_version", "participants", "outbox"} <= tables:
                raise not_ours
            versions = {version for (version,) in connection.execute("SELECT version_num FROM alembic_version")}
            if not versions <= known_revisions():
                raise BackupError(
                    f"{source} was made by a newer version of Meedoen; update this one first (git pull, make)."
                )
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is damaged (SQLite's quick_check failed); try an older backup.")
    except sqlite3.DatabaseError:
        raise not_ours from None


def _other_key(whose: str) -> BackupError:
    return BackupError(
        f"MEEDOEN_SECRET_KEY is not the key {whose} was made with, so the men who used /delete "
        "could not be recognised; set the key from your backup of .env, then restore."
    )


async def _check_key(connection, settings: Settings, whose: str) -> str | None:
    """This database's key fingerprint; one sentence when its erasure ledger cannot be checked
    with the key given. Only compares: a restore never decides which key a database has."""
    mine = await key_fingerprint.stored(connection)
    if mine is not None and settings.secret_key and mine != key_fingerprint.of(settings.secret_key):
        raise _other_key(whose)
    return mine


async def _current_ledger(settings: Settings, now: datetime, *, force: bool) -> tuple[dict[str, str], str | None]:
    """The erasure ledger and key fingerprint of the database about to be replaced; refuses
    while it is in use, and when the key given is not the one it was made with."""
    db = Database(settings.database_url, seal=sealing.of_key(settings.secret_key))
    try:
        async with db.transaction() as connection:
            tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            if "service_heartbeat" in tables and not force:
                seen = await heartbeat.last_seen(connection)
                if heartbeat.is_running(seen, now):
                    raise BackupError(heartbeat.still_running(seen, now, "restore"))
            fingerprint = (
                await _check_key(connection, settings, "the current database") if "key_fingerprint" in tables else None
            )
            return (await erasures.ledger(connection) if "erasures" in tables else {}), fingerprint
    finally:
        await db.close()


async def _prepare(
    staging: Path, source: Path, settings: Settings, ledger: dict[str, str], fingerprint: str | None, now: datetime
) -> int:
    """Bring the staged backup to the current schema and erase again whom the ledger names."""
    db = Database(f"sqlite+aiosqlite:///{staging}", seal=sealing.of_key(settings.secret_key))
    try:
        await db.upgrade()
        async with db.transaction() as connection:
            if await _check_key(connection, settings, f"the backup {source}") is None and fingerprint:
                # a backup from before fingerprints: it goes on with the current database's key
                await key_fingerprint.remember(connection, fingerprint)
            await erasures.merge(connection, ledger)
            await heartbeat.clear(connection)  # the service that ran when the backup was taken
            try:
                return await erasure.reapply(connection, settings, now)
            except erasure.LedgerNeedsKey:
                raise BackupError(
                    "MEEDOEN_SECRET_KEY is needed to erase again the men who used /delete; "
                    "set the key `meedoen run` uses, then restore."
                ) from None
    finally:
        await db.close()


def _copy(source: Path, target: Path) -> None:
    """Copy a database with SQLite's online backup API (consistent while others write)."""
    with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(target)) as writer:
        reader.execute("PRAGMA busy_timeout=10000")
        writer.execute("PRAGMA busy_timeout=10000")
        writer.execute("PRAGMA secure_delete=ON")
        reader.backup(writer)


def _need_folder(path: Path) -> None:
    if not path.parent.resolve().is_dir():
        raise BackupError(f"the folder {path.parent} does not exist.")


def _remove(database: Path) -> None:
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
        path.unlink(missing_ok=True)
