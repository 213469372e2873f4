"""A private PostgreSQL server for the tests and the benchmarks, started from the system's
``initdb``/``pg_ctl``. One implementation: tests/conftest.py and bench/ both use it (tests may
import bench, bench does not import the tests' fixtures).

It lives in a temporary folder, listens on 127.0.0.1 on a free port (and a socket in its own
folder), and is stopped when the tests (or the benchmark) end. PostgreSQL refuses to run as
root; as root the server runs as the ``postgres`` system user (``runuser``), in a folder that
user owns.
For the tests durability is switched off (``fsync=off``): nothing there has to survive a power
cut, and every test creates a database. ``start(durable=True)`` keeps PostgreSQL's own
defaults (fsync, synchronous commit), as a deployment has them: the benchmarks use that.
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
    def start(cls, durable: bool = False) -> PostgresServer:
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
        relaxed = [] if durable else ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options = " ".join([
            f"-p {server.port}", "-c listen_addresses=127.0.0.1", f"-k {folder}",
            *relaxed, "-c max_connections=300",
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

    def url(self, database: str = "postgres", *, socket: bool = False) -> str:
        """Over TCP on 127.0.0.1, or with ``socket`` through the server's Unix socket in its
        folder (docs/scaling.md: the connection to choose on the same machine)."""
        if socket:
            return f"postgresql+asyncpg://postgres@/{database}?host={self.folder}&port={self.port}"
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str, *, socket: bool = False) -> str:
        """A new, empty database ``name``; returns its SQLAlchemy URL (see ``url``)."""
        import asyncpg

        connection = await asyncpg.connect(self.url().replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        finally:
            await connection.close()
        return self.url(name, socket=socket)

    def server_pids(self) -> list[int]:
        """The server's processes (the postmaster and its children: one backend per
        connection, the background workers), for CPU readings from /proc."""
        postmaster = int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        pids = [postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:  # ended meanwhile
                    continue
                if int(fields[1]) == postmaster:
                    pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server has used so far: its processes alive now,
        and through the postmaster's children's time, those that ended (a closed connection)."""
        ticks = os.sysconf("SC_CLK_TCK")
        postmaster, *children = self.server_pids()
        total = 0
        for pid in (postmaster, *children):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if pid == postmaster:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: children reaped
        return total / ticks

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
