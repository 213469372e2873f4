"""A local stand-in for Twilio's Messages API (2010-04-01) and for WhatsApp behind it, for tests.

Two parts, meant to be used together::

    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, now=clock) as twilio, Prism(twilio.url) as prism:
        # point the twilio client at prism.url (TWILIO_API_BASE_URL); then, in a test:
        twilio.fail("+31612345678", 63016)          # the next message to him fails so
        ...
        [message] = await twilio.wait_for_messages("+31612345678", 1)
        assert message.fields == {"To": "whatsapp:+31612345678", "From": ..., "Body": ...}
        assert twilio.problems == [] and prism.rejections() == []

``Prism`` runs ``prism proxy --errors`` (npm ``@stoplight/prism-cli``, installed into the
repository's ``node_modules`` by the Makefile) with Twilio's own OpenAPI description,
``tests/contracts/twilio/twilio_api_v2010.json``, in front of the recorder: a request that breaks
the spec (an unknown parameter, a ``ContentSid`` not matching ``^HX[0-9a-fA-F]{32}$``, a bad
account SID) is answered 422 and never reaches the recorder, and ``rejections()`` lists it.
Without prism the tests fail with a message saying how to install it; nothing is skipped.

``FakeTwilio`` is a Starlette app served by uvicorn on 127.0.0.1 in a thread of its own (so one
server and one prism serve a whole test module, whatever event loop each test runs in). It

- checks HTTP Basic authentication (account SID and auth token; 401, code 20003, otherwise) and
  that the URL names the same account (404, code 20404);
- checks what Twilio checks beyond the OpenAPI schema: ``To`` and ``From`` are
  ``whatsapp:+E164`` and ``From`` is the configured sender (63007); there is a ``Body``, a
  ``ContentSid`` or a ``MediaUrl`` (an absolute http(s) URL, at most ten: 21620, 21623), and
  never a ``Body`` with a ``ContentSid`` (21619); a
  ``Body`` is at most 1,600 UTF-16 code units (21617); a ``ContentSid`` is one registered with
  ``add_content`` (21655); ``ContentVariables`` is a JSON object of strings (21656) filling
  exactly the template's variables, with no line break, tab or more than four spaces in an
  approved template's variable (WhatsApp's rule, 63021). Each refusal is answered with Twilio's
  error shape (``{"code", "message", "more_info", "status"}``) and listed in ``problems``;
- plays WhatsApp's 24-hour rule with the test's clock (``now``): ``inbound(number)`` notes that
  he wrote; a free-form message (a ``Body`` or a session ``ContentSid``) to someone who has not
  written in the last 24 hours is accepted (201, like Twilio) but listed in
  ``window_violations``, which every test expects to stay empty;
- answers a valid request ``201`` with a complete Message resource (``sid`` "SM" + 32 hex,
  ``status`` "queued", dates in RFC 2822, ...) and records it in ``messages``;
- fails chosen requests: ``fail(number, code, status=400, times=1)`` answers the next request(s)
  to that number with that Twilio error (``status=429`` for 20429);
- lets a test act the instant a message reaches WhatsApp, before the sender has Twilio's
  answer: ``on_message`` (called in the fake's thread with each accepted ``SentMessage``, before
  the 201 goes back), e.g. a man who answers a list as soon as he sees it.

Media a man sent (``add_media``: a voice note, say) is served like Twilio's, at
``/2010-04-01/Accounts/<sid>/Messages/<MM..>/Media/<ME..>`` with the same Basic authentication;
``media_fetches`` counts the downloads.

Deviations from the real service: only ``Messages.json`` POST and media GET are served; nothing is delivered,
so status callbacks are sent by the test (``tests.whatsapp_chat``); prices and segments are
fixed values.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = REPOSITORY / "tests/contracts/twilio/twilio_api_v2010.json"
PRISM = REPOSITORY / "node_modules/.bin/prism"

WINDOW = timedelta(hours=24)
BODY_LIMIT = 1600
_WHATSAPP = re.compile(r"whatsapp:\+[1-9]\d{6,14}")
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


@dataclass
class Content:
    """A Content API template as the test registers it: its variables, and whether Meta
    approved it (may go out of the window) or it is a session-only quick reply."""

    sid: str
    variables: tuple[str, ...]
    approved: bool


@dataclass
class SentMessage:
    sid: str
    fields: dict[str, str]  # every form field as received (MediaUrl: the first)
    media_urls: list[str]
    sent_at: datetime

    @property
    def to(self) -> str:
        return self.fields["To"]

    @property
    def body(self) -> str | None:
        return self.fields.get("Body")

    @property
    def content_sid(self) -> str | None:
        return self.fields.get("ContentSid")

    @property
    def variables(self) -> dict[str, str]:
        return json.loads(self.fields.get("ContentVariables") or "{}")

    @property
    def status_callback(self) -> str | None:
        return self.fields.get("StatusCallback")


@dataclass
class _Failure:
    number: str
    code: int
    status: int
    times: int


class _ThreadServer(uvicorn.Server):
    """uvicorn in a background thread: no signal handlers (they belong to the main thread)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeTwilio:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.now = now
        self.port = free_port()
        self._lock = threading.Lock()
        self._contents: dict[str, Content] = {}
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{account}/Messages.json", self._create, methods=["POST"]),
                Route("/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", self._media, methods=["GET"]),
            ]
        )
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget messages, problems, failures and inbound times (between tests)."""
        with self._lock:
            self.messages: list[SentMessage] = []
            self.problems: list[str] = []
            self.window_violations: list[str] = []
            self._failures: list[_Failure] = []
            self._last_inbound: dict[str, datetime] = {}
            self._media_files: dict[str, tuple[bytes, str]] = {}
            self.media_fetches = 0
            self.on_message: Callable[[SentMessage], None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-twilio", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Twilio server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what a test sets up -----------------------------------------------------------------

    def add_content(self, sid: str, variables: tuple[str, ...], *, approved: bool) -> None:
        with self._lock:
            self._contents[sid] = Content(sid, variables, approved)

    def inbound(self, number: str) -> None:
        """He wrote to us now: his 24-hour window opens (``number`` is ``+E164``)."""
        with self._lock:
            self._last_inbound[number] = self.now()

    def add_media(self, data: bytes, content_type: str) -> str:
        """Media a man sent (``MediaUrl0`` of his webhook): its URL, served with authentication."""
        message, media = "MM" + secrets.token_hex(16), "ME" + secrets.token_hex(16)
        with self._lock:
            self._media_files[media] = (data, content_type)
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message}/Media/{media}"

    def fail(self, number: str, code: int, status: int = 400, times: int = 1) -> None:
        with self._lock:
            self._failures.append(_Failure(number, code, status, times))

    # -- what a test reads -------------------------------------------------------------------

    def messages_to(self, number: str) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.messages if m.to == f"whatsapp:{number}"]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; messages: {len(self.messages)}, problems: {self.problems}")
            await asyncio.sleep(0.02)

    async def wait_for_messages(self, number: str, count: int, timeout: float = 10.0) -> list[SentMessage]:
        await self.wait_for(lambda: len(self.messages_to(number)) >= count, timeout)
        return self.messages_to(number)

    # -- the endpoint ------------------------------------------------------------------------

    async def _create(self, request: Request) -> JSONResponse:
        if not self._authenticated(request.headers.get("authorization", "")):
            return self._error(20003, "Authenticate", 401)
        if request.path_params["account"] != self.account_sid:
            return self._error(20404, "The requested resource was not found", 404)
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
        fields = {}
        for name, value in pairs:
            fields.setdefault(name, value)
        media = [value for name, value in pairs if name == "MediaUrl"]
        with self._lock:
            failure = self._take_failure(fields.get("To", ""))
            if failure is not None:
                return self._error(failure.code, f"simulated error {failure.code}", failure.status)
            problem = self._check(fields, media)
            if problem is not None:
                code, text = problem
                self.problems.append(f"{code}: {text}")
                return self._error(code, text, 400)
            self._check_window(fields)
            message = SentMessage("SM" + secrets.token_hex(16), fields, media, self.now())
            self.messages.append(message)
            on_message = self.on_message
        if on_message is not None:
            on_message(message)
        return JSONResponse(self._resource(message), status_code=201)

    async def _media(self, request: Request) -> Response:
        if not self._authenticated(request.headers.get("authorization", "")):
            return self._error(20003, "Authenticate", 401)
        with self._lock:
            found = self._media_files.get(request.path_params["media"])
            if found is not None and request.path_params["account"] == self.account_sid:
                self.media_fetches += 1
        if found is None or request.path_params["account"] != self.account_sid:
            return self._error(20404, "The requested resource was not found", 404)
        return Response(found[0], media_type=found[1])

    def _authenticated(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _take_failure(self, to: str) -> _Failure | None:
        for failure in self._failures:
            if to == f"whatsapp:{failure.number}" and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    def _check(self, fields: dict[str, str], media: list[str]) -> tuple[int, str] | None:
        if not _WHATSAPP.fullmatch(fields.get("To", "")):
            return 21211, f"Invalid 'To' Phone Number: {fields.get('To')!r}"
        if fields.get("From") != self.sender:
            return 63007, "Twilio could not find a Channel with the specified From address"
        body, content_sid = fields.get("Body"), fields.get("ContentSid")
        if body is None and content_sid is None and not media:
            return 21602, "Message body is required"
        if body is not None and content_sid is not None:
            return 21619, "A text message body, media url or content sid is required, not both"
        if any(not re.fullmatch(r"https?://[^\s/]+/\S*", url) for url in media):
            return 21620, "Invalid media URL(s)"
        if len(media) > 10:
            return 21623, "Too many media URLs (at most 10)"
        if body is not None and (not body.strip() or len(body.encode("utf-16-le")) // 2 > BODY_LIMIT):
            return 21617, "The concatenated message body exceeds the 1600 character limit"
        if content_sid is not None:
            content = self._contents.get(content_sid)
            if content is None:
                return 21655, f"The ContentSid {content_sid} is invalid"
            try:
                variables = json.loads(fields.get("ContentVariables") or "{}")
            except json.JSONDecodeError:
                return 21656, "The ContentVariables Parameter is invalid (not JSON)"
            if not isinstance(variables, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
            ):
                return 21656, "The ContentVariables Parameter is invalid (not an object of strings)"
            if set(variables) != set(content.variables):
                return 21656, f"ContentVariables {sorted(variables)} do not fill {list(content.variables)}"
            if any(not value.strip() for value in variables.values()):
                return 21656, "A content variable is empty"
            if content.approved and any(
                "\n" in v or "\t" in v or "     " in v for v in variables.values()
            ):
                return 63021, "A template parameter has a line break, a tab or more than four spaces"
        return None

    def _check_window(self, fields: dict[str, str]) -> None:
        content = self._contents.get(fields.get("ContentSid") or "")
        if content is not None and content.approved:
            return
        number = fields["To"].removeprefix("whatsapp:")
        last = self._last_inbound.get(number)
        if last is None or self.now() - last >= WINDOW:
            self.window_violations.append(f"free-form message to {number} outside the 24-hour window")

    def _error(self, code: int, text: str, status: int) -> JSONResponse:
        return JSONResponse(
            {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
            status_code=status,
        )

    def _resource(self, message: SentMessage) -> dict:
        stamp = format_datetime(message.sent_at.astimezone(UTC), usegmt=False).replace("-0000", "+0000")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": message.body or "",
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.fields["From"],
            "messaging_service_sid": None,
            "num_media": str(len(message.media_urls)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.fields["To"],
            "uri": f"{uri}.json",
        }


class PrismMissing(RuntimeError):
    pass


class Prism:
    """``prism proxy --errors SPEC UPSTREAM`` on a free port of 127.0.0.1, as a subprocess."""

    def __init__(self, upstream: str, *, spec: Path = SPEC, executable: Path | None = None) -> None:
        self.upstream = upstream
        self.spec = spec
        self.executable = Path(os.environ.get("MEEDOEN_PRISM") or executable or PRISM)
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        self._log = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        if not self.executable.is_file():
            raise PrismMissing(
                f"prism is not installed at {self.executable}: run `make test` (it runs `npm ci`, "
                "see package.json) or `npm ci` in the repository."
            )
        if shutil.which("node") is None:
            raise PrismMissing("prism needs Node.js (node) on the PATH.")
        if not self.spec.is_file():
            raise PrismMissing(f"the Twilio OpenAPI description is missing: {self.spec}")
        import tempfile

        handle, name = tempfile.mkstemp(prefix="prism-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [str(self.executable), "proxy", "--errors", "-h", "127.0.0.1", "-p", str(self.port), str(self.spec), self.upstream],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"prism exited with {self._process.returncode}: {self.output()[-2000:]}")
            if "Prism is listening" in self.output():
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"prism did not start within {timeout} s")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def rejections(self) -> list[str]:
        """Requests prism refused as invalid by the spec (answered 422, never forwarded)."""
        return [
            line.strip()
            for line in self.output().splitlines()
            if "Request terminated with error" in line or ("[VALIDATOR]" in line and "error" in line and "✖" in line)
        ]

    def response_warnings(self) -> list[str]:
        """Answers of the fake that do not match the spec (error answers aside: the spec
        documents only 201 for Messages.json)."""
        return [
            line.strip()
            for line in self.output().splitlines()
            if "Violation: response" in line and "Unable to match the returned status code" not in line
        ]

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Prism:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
