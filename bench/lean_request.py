"""A lean HTTP/1.1 request backend for python-telegram-bot: a PROTOTYPE, used only by the
benchmarks' ``--http lean`` option to measure what the bot could do without httpx's cost.

Why: on the benchmark machine one ``bot.send_message`` through PTB's default ``HTTPXRequest``
costs about 3 ms of CPU; most of it is httpx/httpcore/anyio machinery (the connection pool
re-examines every pooled connection twice per request, with a ``getpeername`` and a ``poll``
each; see docs/benchmarks.md). The product has since moved to aiohttp
(``bot/channels/telegram_http.py``); this class, which speaks just enough HTTP/1.1
(keep-alive, Content-Length or chunked bodies, TLS via the ``ssl`` module) over asyncio
streams and hands requests with files to a regular ``HTTPXRequest``, is kept to compare with
it. It is not wired into the product.

Safety notes for a production version: a request is never retried once written (Telegram
has no idempotency key); an idle connection the server closed is noticed before reuse
(EOF seen by the stream) and dropped; connections idle longer than ``IDLE_SECONDS`` are
dropped rather than reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram._utils.defaultvalue import DefaultValue

IDLE_SECONDS = 30.0


class _Connection:
    __slots__ = ("reader", "writer", "used_at")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.used_at = reader, writer, time.monotonic()

    def reusable(self) -> bool:
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and not self.reader._buffer  # noqa: SLF001 - unread bytes: the server closed or erred
            and time.monotonic() - self.used_at < IDLE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


class LeanRequest(BaseRequest):
    def __init__(
        self,
        connection_pool_size: int = 16,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        pool_timeout: float = 1.0,
    ) -> None:
        self._size = connection_pool_size
        self._timeouts = {"connect": connect_timeout, "read": read_timeout, "write": write_timeout, "pool": pool_timeout}
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._files = HTTPXRequest(connection_pool_size=4)
        self._ssl: ssl.SSLContext | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self._size)
        await self._files.initialize()

    async def shutdown(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        await self._files.shutdown()

    def _timeout(self, name: str, given) -> float:
        return self._timeouts[name] if isinstance(given, DefaultValue) or given is None else float(given)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._files.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        assert self._slots is not None, "LeanRequest is not initialized"
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        origin = (parts.scheme, parts.hostname or "", parts.port or (443 if secure else 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request_data.url_encoded_parameters().encode() if request_data and request_data.parameters else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {self.USER_AGENT}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout("pool", pool_timeout))
        except asyncio.TimeoutError:
            raise TimedOut("Pool timeout: all connections are busy; the request was not sent.") from None
        connection = None
        try:
            connection = await self._connection(origin, secure, self._timeout("connect", connect_timeout))
            connection.writer.write(head + body)
            await asyncio.wait_for(connection.writer.drain(), self._timeout("write", write_timeout))
            status, content, keep = await asyncio.wait_for(
                self._response(connection.reader), self._timeout("read", read_timeout)
            )
        except asyncio.TimeoutError:
            if connection is not None:
                connection.close()
            raise TimedOut() from None
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            if connection is not None:
                connection.close()
            raise NetworkError(f"lean: {type(error).__name__}: {error}") from None
        finally:
            self._slots.release()
        if keep:
            connection.used_at = time.monotonic()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return status, content

    async def _connection(self, origin: tuple[str, str, int], secure: bool, timeout: float) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        if secure and self._ssl is None:
            self._ssl = ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(origin[1], origin[2], ssl=self._ssl if secure else None), timeout
        )
        return _Connection(reader, writer)

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        fields: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        if "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                chunks.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            content = b"".join(chunk[:-2] for chunk in chunks)
        else:
            content, keep = await reader.read(), False
        return int(status), content, keep


def use_lean_requests(service) -> None:
    """Swap the Telegram channel's request backend (before ``service.start()``)."""
    telegram = service.channels.get("telegram")
    if telegram is None:
        return
    bot = telegram.application.bot
    bot._request = (bot._request[0], LeanRequest())  # noqa: SLF001 - (get_updates, everything else)


def use_raw_api_sends(service) -> None:
    """Also skip PTB's object model for plain text messages: ``Bot.do_api_request`` instead of
    ``send_message`` (no ``Message`` built from the answer; errors are the same PTB errors,
    so ``deliver`` maps them as before). Prototype, for the measurement only."""
    from bot.channels.telegram import TEXT_LIMIT

    telegram = service.channels.get("telegram")
    if telegram is None:
        return
    original = telegram._send  # noqa: SLF001

    async def send(chat_id: int, message) -> None:
        if message.image is not None or len(message.text) > TEXT_LIMIT:
            return await original(chat_id, message)
        kwargs = {"chat_id": chat_id, "text": message.text}
        keyboard = telegram._keyboard(str(chat_id), message)  # noqa: SLF001
        if keyboard is not None:
            kwargs["reply_markup"] = keyboard
        await telegram.application.bot.do_api_request("sendMessage", api_kwargs=kwargs)

    telegram._send = send  # noqa: SLF001
