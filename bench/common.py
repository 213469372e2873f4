"""Shared pieces of the benchmarks: child processes spoken to in JSON lines, a lean HTTP/1.1
client, memory and CPU readings, percentiles, seeding, and the summary line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.common.clock import utcnow

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-TOKEN"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
WEBHOOK_SECRET = "bench-webhook-secret"
LANGUAGES = ("nl", "ar", "so", "en")


# --- figures ---------------------------------------------------------------------------------


def summary(name: str, **figures: Any) -> str:
    """Print (and return) the one summary line every benchmark ends with."""
    parts = []
    for key, value in figures.items():
        if isinstance(value, float):
            value = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        parts.append(f"{key}={value}")
    line = f"bench {name}: " + " ".join(parts)
    print(line, flush=True)
    return line


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _status_kb(field: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory now, MB."""
    return round(_status_kb("VmRSS", pid) / 1024, 1)


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of the process so far (VmHWM), MB."""
    return round(_status_kb("VmHWM", pid) / 1024, 1)


def cpu_seconds() -> float:
    """CPU time of this process, all threads (aiosqlite's worker threads count)."""
    return time.process_time()


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": sys.version.split()[0],
        "load": load_average(),
    }


def print_machine() -> None:
    info = machine()
    print(f"machine: {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, load average {info['load']}")


# --- a temporary SQLite database ------------------------------------------------------------------


@contextlib.contextmanager
def temp_dir(prefix: str = "meedoen-bench-"):
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sqlite_url(directory: Path, name: str = "bench.db") -> str:
    return f"sqlite+aiosqlite:///{directory / name}"


async def seed_participants(
    db, count: int, *, first_id: int = 1_000_001, now: datetime | None = None, area: str | None = None
) -> list[int]:
    """``count`` active Telegram participants (chat ids from ``first_id``), in one statement;
    returns their chat ids."""
    from bot.store.schema import participants

    now = now or utcnow()
    chat_ids = list(range(first_id, first_id + count))
    rows = [
        {
            "channel": "telegram",
            "address": str(chat_id),
            "language": LANGUAGES[i % len(LANGUAGES)],
            "name": None,
            "area": area,
            "consented_at": now,
            "status": "active",
        }
        for i, chat_id in enumerate(chat_ids)
    ]
    async with db.transaction() as connection:
        for start in range(0, len(rows), 20_000):
            await connection.execute(participants.insert(), rows[start:start + 20_000])
    return chat_ids


# --- child processes, spoken to in JSON lines ----------------------------------------------------


class Child:
    """A benchmark helper process (``python -m bench.<module>``): it prints one JSON line when
    ready, then answers each JSON line written to its stdin with one JSON line. Closing its
    stdin ends it; ``close`` also kills it if it does not end within a few seconds."""

    def __init__(self, module: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.module = module
        self.args = args
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> dict[str, Any]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(self.env or {})
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(ROOT),
            env=env,
            limit=64 * 1024 * 1024,
        )
        self.ready = await self._read(timeout)
        return self.ready

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            code = await self.process.wait()
            raise RuntimeError(f"{self.module} ended (exit {code}) before answering")
        return json.loads(line)

    async def request(self, command: str, timeout: float = 600.0, **params: Any) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        async with self._lock:
            self.process.stdin.write((json.dumps({"command": command, **params}) + "\n").encode())
            await self.process.stdin.drain()
            answer = await self._read(timeout)
        if "error" in answer:
            raise RuntimeError(f"{self.module} {command}: {answer['error']}")
        return answer

    async def close(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(Exception):
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> Child:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def answer(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def serve_commands(handlers: dict[str, Handler]) -> None:
    """The child's side of ``Child``: answer command lines until stdin closes or "quit"."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        request = json.loads(line)
        command = request.pop("command")
        if command == "quit":
            answer({"ok": True})
            return
        handler = handlers.get(command)
        if handler is None:
            answer({"error": f"unknown command {command!r}"})
            continue
        try:
            answer(await handler(request))
        except Exception as error:  # report to the parent, keep serving
            answer({"error": f"{type(error).__name__}: {error}"})


def process_figures() -> dict[str, float]:
    return {"cpu_s": cpu_seconds(), "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(), "t": time.monotonic()}


# --- a lean HTTP/1.1 client (keep-alive), for load generators --------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1; far cheaper per request than httpx,
    so that a load generator spends its CPU on the load, not on itself."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self._writer is None:
                await self._connect()
            try:
                return await self._exchange(method, path, body, headers or {})
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            content = await self._reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            content = b""
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).strip(), 16)
                content += await self._reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            content = await self._reader.read()
            self.close()
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, content

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class HttpPool:
    """Up to ``size`` keep-alive connections; a request waits for a free one (like Telegram's
    webhook ``max_connections``, 40 by default)."""

    def __init__(self, port: int, size: int) -> None:
        self._free: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for _ in range(size):
            self._free.put_nowait(HttpConnection(port))
        self._all = list(self._free._queue)  # noqa: SLF001

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
        connection = await self._free.get()
        try:
            return await connection.request(method, path, body, headers)
        finally:
            self._free.put_nowait(connection)

    def close(self) -> None:
        for connection in self._all:
            connection.close()


@contextlib.asynccontextmanager
async def fake_server(*args: str) -> AsyncIterator[Child]:
    """The local Bot API server (``bench.fake_server``) in a process of its own."""
    async with Child("bench.fake_server", *args) as child:
        yield child


# --- the bot, started the way ``meedoen run`` starts it -------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def meedoen_run(settings, *, prepare: Callable[[Any], None] | None = None):
    """The service inside its HTTP app on ``settings.http_port``, the app's lifespan starting
    and stopping it, exactly as ``meedoen run`` does (``bot.app.cli.run``); ``prepare(service)``
    may instrument it before the app is built. Yields the service."""
    import uvicorn

    from bot.app.http import build_app
    from bot.app.service import Service

    service = Service(settings)
    if prepare is not None:
        prepare(service)
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(service), host="127.0.0.1", port=settings.http_port, log_level="warning", access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the HTTP app stopped during start-up")
            await asyncio.sleep(0.01)
        yield service
    finally:
        server.should_exit = True
        await task
