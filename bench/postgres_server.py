"""A private PostgreSQL server for the tests and the benchmarks, started from the system's
``initdb``/``pg_ctl``. One implementation: tests/conftest.py and bench/ both use it (tests may
import bench, bench does not import the tests' fixtures).

It lives in a temporary folder, listens on 127.0.0.1 on a free port (and a socket in its own
folder), and is stopped when the tests (or the benchmark) end. PostgreSQL refuses to run as
root; as root the server runs as the ``postgres`` system user (``runuser``), in a folder that
user owns.
Durability is switched off (``fsync=off``): nothing here has to survive a power cut, and every
test or benchmark creates its own database.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOW_TO_ENABLE = (
    "PostgreSQL tests skipped: install PostgreSQL's server programs (Debian: apt-get install "
    "postgresql) so that initdb and pg_ctl are found, or set MEEDOEN_PG_BIN to their folder."
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL programs on this machine (the message says how to install them)."""


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: $MEEDOEN_PG_BIN, the PATH, or Debian's
    versioned folder (``/usr/lib/postgresql/N/bin``, newest first)."""
    configured = os.environ.get("MEEDOEN_PG_BIN")
    candidates = [Path(configured)] if configured else []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    folder: Path
    port: int
    as_postgres_user: bool

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(HOW_TO_ENABLE)
        as_postgres_user = os.geteuid() == 0
        folder = Path(tempfile.mkdtemp(prefix="meedoen-pg-"))
        if as_postgres_user:
            shutil.chown(folder, "postgres", "postgres")
        server = cls(bin_dir, folder, _free_port(), as_postgres_user)
        server._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8")
        options = " ".join([
            f"-p {server.port}", "-c listen_addresses=127.0.0.1", f"-k {folder}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=300",
        ])
        server._run("pg_ctl", "-D", str(folder / "data"), "-o", options,
                    "-l", str(folder / "server.log"), "-w", "start")
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr.strip()}\n{tail}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
