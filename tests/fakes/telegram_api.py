"""A local stand-in for the Telegram Bot API, for tests and benchmarks.

``FakeTelegram`` is a small Starlette app served by uvicorn on 127.0.0.1. It speaks the Bot API
the way python-telegram-bot (PTB) v22 uses it, checks every request against the machine-readable
spec in ``tests/contracts/telegram/api.json`` and records what the bot did, so a test can drive
simulated users and assert on the bot's replies::

    from tests.fakes.telegram_api import FakeTelegram

    async def test_start():
        async with FakeTelegram() as tg:
            # point the bot at tg.base_url (TELEGRAM_API_BASE_URL) and tg.token, start it, then:
            tg.add_user(42, first_name="Ahmed", language_code="ar")
            await tg.send_command(42, "/start")
            [welcome] = await tg.wait_for_messages(42, 1)
            await tg.press(42, welcome, "lang:nl")
            await tg.wait_for(lambda: tg.count_to(42) >= 2)
            assert tg.violations == []

The server
    ``base_url`` ("http://127.0.0.1:PORT/bot") is what PTB's ``ApplicationBuilder().base_url()``
    takes; PTB appends the token, so calls arrive at ``/bot<TOKEN>/<method>``. A wrong token is
    answered 401 and an unknown method 404, like the real service. Method names are matched
    case-insensitively, as Telegram does. ``stop()`` then ``start()`` serves the same port again
    (a restart the bot can reconnect to).

Validation
    Bodies may be url-encoded (what PTB sends), multipart (file uploads), JSON or a query string.
    Each request must name an existing method, carry every required field and no unknown one,
    and every value must fit one of the field's types; objects are checked recursively against
    the spec's types (required and unknown subfields, the ``type`` tag of union types such as
    ``BotCommandScope``). Real limits are enforced on top: message text 1-4096 characters,
    captions up to 1024, ``callback_data`` 1-64 bytes, one action per inline button, bot commands
    ``[a-z0-9_]{1,32}``, callback answers up to 200 characters, an edit must name its message and
    must change something ("message is not modified"), and a callback query can be answered
    once. A rejected request is answered ``400 {"ok": false, "error_code": 400, "description":
    "Bad Request: <where>: <reason>"}`` (for example ``reply_markup.inline_keyboard[0][1]:
    unknown field "colour" in InlineKeyboardButton``) and recorded in ``violations`` as
    ``"<method>: <description>"``, so every test can end with ``assert tg.violations == []``.

Replies
    Replies carry every field the spec marks required: ``getMe`` is a bot ``User``, messages have
    per-chat increasing ``message_id``, ``date`` in seconds, a private ``chat`` and the bot as
    ``from``; an inline keyboard is echoed back. Commands, menu buttons and the webhook are kept
    as state. Any other method that validates gets a minimal valid value of its return type,
    built from the spec.

Files
    A voice sent with ``sendVoice`` (an upload, or the ``file_id`` of an earlier one) is kept by
    its file id; ``getFile`` answers a ``file_path`` and ``GET /file/bot<TOKEN>/<file_path>``
    serves the bytes, as Telegram does. An uploaded voice must be OGG (``OggS``), as Telegram
    wants for a voice message; ``files[file_id]`` holds the bytes.

Simulated users
    ``add_user``, ``send_text`` / ``send_command`` / ``send_sticker`` / ``send_photo_from_user``
    / ``send_voice_from_user`` and ``press`` (a button of a message the bot sent) create updates with increasing
    ``update_id``; ``deliver_raw`` injects a hand-made one (a duplicate, a forged callback).
    Updates are POSTed to the webhook when one is set (with ``X-Telegram-Bot-Api-Secret-Token``),
    otherwise queued for ``getUpdates`` long polling (``offset``, ``limit``, ``timeout``).

Recording and waiting
    ``calls`` (every accepted call; a long poll when it returns), ``unacknowledged`` (updates
    no ``offset`` has confirmed yet), ``rejected`` (valid calls answered with an error),
    ``sent`` (messages the bot sent; edits are applied to them in place), ``send_requests``,
    ``busiest_second`` and ``closest_to_one_chat`` (the platform limits as the server saw
    them, from the requests' arrival times), ``messages_to``,
    ``count_to``, ``wait_for(predicate)`` and ``wait_for_messages(chat_id, n)``; ``menu_for(chat_id,
    language_code)`` is the command menu that user would see (scopes resolved as Telegram does).

Error simulation
    ``block(chat_id)`` makes calls for that chat fail with 403 "bot was blocked by the user";
    ``fail_next(n, status)`` fails the next n calls other than getUpdates (500, 502, 400, ...).
    With ``rate_limits=True`` more than ``per_second`` sends in any sliding second, or two sends
    to one chat less than ``per_chat_interval`` apart, are answered 429 with ``retry_after`` and
    counted in ``too_many_requests``.

Deviations from the real service: webhook URLs may be plain http on any port, any positive
integer ``chat_id`` is a private chat with a user (created on first use), file contents are not
stored for download, and a user's text gets no entities other than a leading bot command.

Standalone: ``python -m tests.fakes.telegram_api --port 8081 [--rate-limits]`` serves in the
foreground and prints the base URL (``--port 0`` picks a free port). A process that cannot call
the Python API can use the small control API: ``POST /_fake/users/{id}/text {"text": ...}``,
``POST /_fake/users/{id}/press {"message_id": ..., "callback_data": ...}``,
``GET /_fake/chats/{id}/messages`` and ``GET /_fake/stats``.

The spec is read from ``$MEEDOEN_TELEGRAM_SPEC`` or ``tests/contracts/telegram/api.json`` in
the repository, once per process, and compiled into validators as methods are first used.

Throughput: the fake itself costs well under 100 microseconds per sendMessage. With uvicorn's
pure-Python HTTP parser (h11) the server tops out around 2,000 requests/second on one core; with
``httptools`` installed (uvicorn picks it automatically) it serves 3,000+.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import importlib.util
import inspect
import json
import math
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message as _MimeHeaders
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["ApiSpec", "Call", "FakeTelegram", "UploadedFile", "load_spec", "main"]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
SPEC_ENV = "MEEDOEN_TELEGRAM_SPEC"
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[1] / "contracts/telegram/api.json"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
PER_CHAT_TOLERANCE = 0.005  # seconds of timer jitter forgiven on the per-chat interval
WAIT_POLL_INTERVAL = 0.05  # wait_for re-checks its predicate at least this often
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}\Z")
_INTEGER_RE = re.compile(r"-?\d+\Z")
_TAG_RE = re.compile(r'(?:always|must be) "?([a-z0-9_]+)"?\s*$')
_BUTTON_LOOKS = frozenset({"text", "icon_custom_emoji_id", "style"})  # not a button's action

# A parsed type expression: a type name ("Integer", "Message") or ("array", <item expression>).
TypeExpr = str | tuple


# --------------------------------------------------------------------------------------------
# The spec

Validator = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _TypeSpec:
    name: str
    fields: dict[str, tuple[TypeExpr, ...]]
    required: tuple[str, ...]
    subtypes: tuple[TypeExpr, ...]
    tag: tuple[str, str] | None  # (field, value) that identifies this member of a union type


@dataclass(frozen=True, slots=True)
class _MethodSpec:
    name: str
    fields: dict[str, tuple[TypeExpr, ...]]
    required: tuple[str, ...]
    returns: tuple[TypeExpr, ...]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request, as recorded in ``Call.params``."""

    filename: str
    content_type: str
    data: bytes


class _Invalid(Exception):
    """A request that breaks the spec. ``str()`` gives the reason after "Bad Request: ".

    The location is collected while the error unwinds (``at``), so the success path builds
    no path strings. ``code`` is Telegram's error code for the problem, if it has one.
    """

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.segments: list[str] = []

    def at(self, segment: str) -> _Invalid:
        self.segments.append(segment)
        return self

    def __str__(self) -> str:
        where = "".join(reversed(self.segments))
        detail = f"{where}: {self.reason}" if where else self.reason
        return f"{self.code} ({detail})" if self.code else detail


def _parse_type(text: str) -> TypeExpr:
    prefix = "Array of "
    if text.startswith(prefix):
        return ("array", _parse_type(text[len(prefix):]))
    return text


def _type_name(expr: TypeExpr) -> str:
    return f"Array of {_type_name(expr[1])}" if isinstance(expr, tuple) else expr


def _parse_int(value: str) -> int:
    if _INTEGER_RE.match(value):
        return int(value)
    raise _Invalid(f"must be an Integer, got {value!r}")


def _parse_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise _Invalid(f"must be a Float, got {value!r}") from None


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _Invalid(f"must be a Boolean, got {value!r}")


def _parse_str(value: str) -> str:
    return value


def _decode_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise _Invalid("can't parse JSON") from None


def _scalar(name: str, accepts: Callable[[Any], bool]) -> Validator:
    def check(value: Any) -> Any:
        if accepts(value):
            return value
        raise _Invalid(f"must be {name}, got {value!r}")

    return check


# How a top-level value sent as text (form field, query string) becomes a scalar.
_TEXT_PARSERS: dict[TypeExpr, Callable[[str], Any]] = {
    "Integer": _parse_int,
    "Float": _parse_float,
    "Boolean": _parse_bool,
    "String": _parse_str,
}
# Scalars inside JSON values; bool is not an Integer. InputFile nested in an object is a
# reference to a file part of the same request.
_SCALARS: dict[TypeExpr, Validator] = {
    "Integer": _scalar("Integer", lambda v: type(v) is int),
    "Float": _scalar("Float", lambda v: type(v) in (int, float)),
    "Boolean": _scalar("Boolean", lambda v: type(v) is bool),
    "String": _scalar("String", lambda v: type(v) is str),
    "InputFile": _scalar("InputFile", lambda v: type(v) is str and v.startswith("attach://")),
}
_SCALAR_DEFAULTS: dict[str, Any] = {"Integer": 0, "Float": 0.0, "Boolean": False, "True": True, "String": ""}


class ApiSpec:
    """``api.json`` indexed for reply building and compiled (lazily) into validators."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw.get("version", "")
        self.types: dict[str, _TypeSpec] = {name: self._index_type(t) for name, t in raw["types"].items()}
        self.methods: dict[str, _MethodSpec] = {}
        for name, m in raw["methods"].items():
            fields = m.get("fields", [])
            self.methods[name.lower()] = _MethodSpec(
                name=name,
                fields={f["name"]: tuple(map(_parse_type, f["types"])) for f in fields},
                required=tuple(f["name"] for f in fields if f["required"]),
                returns=tuple(map(_parse_type, m["returns"])),
            )
        self.send_methods: frozenset[str] = frozenset(
            m.name
            for m in self.methods.values()
            if m.name.startswith(("send", "copyMessage", "forwardMessage"))
            and {_type_name(r).removeprefix("Array of ") for r in m.returns} & {"Message", "MessageId"}
        )
        button_fields = frozenset(self.types["InlineKeyboardButton"].fields)
        self.button_actions: frozenset[str] = button_fields - _BUTTON_LOOKS
        self._validators: dict[TypeExpr, Validator] = dict(_SCALARS)
        self._request_validators: dict[str, dict[str, Validator]] = {}

    @staticmethod
    def _index_type(raw: dict[str, Any]) -> _TypeSpec:
        fields = raw.get("fields", [])
        tag = None
        if raw.get("subtype_of"):
            for f in fields:
                match = _TAG_RE.search(f["description"])
                if f["required"] and f["types"] == ["String"] and match:
                    tag = (f["name"], match.group(1))
                    break
        return _TypeSpec(
            name=raw["name"],
            fields={f["name"]: tuple(map(_parse_type, f["types"])) for f in fields},
            required=tuple(f["name"] for f in fields if f["required"]),
            subtypes=tuple(map(_parse_type, raw.get("subtypes", []))),
            tag=tag,
        )

    def method(self, name: str) -> _MethodSpec | None:
        """The method called ``name`` (case-insensitive), or None."""
        return self.methods.get(name.lower())

    # -- validation -------------------------------------------------------------------------

    def validate_request(
        self, method: _MethodSpec, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Check a request's fields; return them decoded (ints, bools, dicts, UploadedFile).

        ``params`` values may be text (form, query string) or JSON values (JSON body).
        Raises ``_Invalid`` with the reason.
        """
        validators = self._request_validators.get(method.name)
        if validators is None:
            validators = {name: self._text_validator(types) for name, types in method.fields.items()}
            self._request_validators[method.name] = validators
        for name in method.required:
            if name not in params and name not in files:
                raise _Invalid(f'required field "{name}" is missing')
        decoded: dict[str, Any] = {}
        for name, value in params.items():
            validator = validators.get(name)
            if validator is None:
                raise _Invalid(f'unknown field "{name}"')
            try:
                decoded[name] = validator(value)
            except _Invalid as exc:
                raise exc.at(name) from None
        for name, upload in files.items():
            validator = validators.get(name)
            if validator is not None:
                try:
                    decoded[name] = validator(upload)
                except _Invalid as exc:
                    raise exc.at(name) from None
            elif not any(isinstance(v, str) and f"attach://{name}" in v for v in params.values()):
                raise _Invalid(f'unknown field "{name}" (a file that nothing refers to)')
        return decoded

    def validate_object(self, expr: TypeExpr, value: Any) -> None:
        """Check a JSON value against a spec type (such as our own replies)."""
        try:
            self._validator(expr)(value)
        except _Invalid as exc:
            raise AssertionError(f"invalid {_type_name(expr)}: {exc}") from None

    def _validator(self, expr: TypeExpr) -> Validator:
        validator = self._validators.get(expr)
        if validator is None:
            if isinstance(expr, tuple):
                validator = self._array_validator(expr)
            elif self.types[expr].subtypes:
                validator = self._abstract_validator(self.types[expr])
            else:
                validator = self._object_validator(self.types[expr])
        return validator

    def _array_validator(self, expr: tuple) -> Validator:
        item = self._validator(expr[1])
        name = _type_name(expr)

        def check(value: Any) -> Any:
            if type(value) is not list:
                raise _Invalid(f"must be an {name}")
            for i, element in enumerate(value):
                try:
                    item(element)
                except _Invalid as exc:
                    raise exc.at(f"[{i}]") from None
            return value

        self._validators[expr] = check
        return check

    def _object_validator(self, spec: _TypeSpec) -> Validator:
        fields: dict[str, Validator] = {}  # filled below, after registering (types are recursive)
        required, name, rule = spec.required, spec.name, _TYPE_RULES.get(spec.name)

        def check(value: Any) -> Any:
            if type(value) is not dict:
                raise _Invalid(f"must be a JSON object ({name})")
            for field_name in required:
                if field_name not in value:
                    raise _Invalid(f'field "{field_name}" is required in {name}')
            for key, sub in value.items():
                validator = fields.get(key)
                if validator is None:
                    raise _Invalid(f'unknown field "{key}" in {name}')
                try:
                    validator(sub)
                except _Invalid as exc:
                    raise exc.at(f".{key}") from None
            if rule is not None:
                rule(self, value)
            return value

        self._validators[spec.name] = check
        fields.update((key, self._union(types)) for key, types in spec.fields.items())
        return check

    def _abstract_validator(self, spec: _TypeSpec) -> Validator:
        """A union type such as BotCommandScope: pick members by their tag ("type": "chat")."""
        by_tag: dict[str, list[TypeExpr]] = {}
        tag_fields = set()
        for member in spec.subtypes:
            member_spec = self.types.get(member) if isinstance(member, str) else None
            if member_spec is not None and member_spec.tag is not None:
                tag_fields.add(member_spec.tag[0])
                by_tag.setdefault(member_spec.tag[1], []).append(member)
        tag_field = tag_fields.pop() if len(tag_fields) == 1 else None
        untagged: list[Validator] = []

        def check(value: Any) -> Any:
            if tag_field is not None and type(value) is dict:
                members = by_tag.get(value.get(tag_field))
                if members is None:
                    raise _Invalid(f"unsupported {spec.name} {tag_field} {value.get(tag_field)!r}")
                return self._union(tuple(members))(value)
            return untagged[0](value)

        self._validators[spec.name] = check
        untagged.append(self._union(spec.subtypes))
        return check

    def _union(self, types: tuple[TypeExpr, ...]) -> Validator:
        if len(types) == 1:
            return self._validator(types[0])
        members = [(expr, self._validator(expr)) for expr in types]

        def check(value: Any) -> Any:
            failures = []
            for expr, validator in members:
                try:
                    return validator(value)
                except _Invalid as exc:
                    failures.append((expr, exc))
            raise self._best_failure(failures, value)

        return check

    def _text_validator(self, types: tuple[TypeExpr, ...]) -> Validator:
        """Checks a top-level value: text to parse (form, query), an upload or a JSON value."""
        members = [(expr, _TEXT_PARSERS.get(expr), self._validator(expr)) for expr in types]

        def check(value: Any) -> Any:
            failures = []
            for expr, parser, validator in members:
                try:
                    if isinstance(value, UploadedFile):
                        if expr == "InputFile":
                            return value
                        raise _Invalid(f"must be {_type_name(expr)}, not an uploaded file")
                    if type(value) is str and expr != "InputFile":
                        return parser(value) if parser else validator(_decode_json(value))
                    return validator(value)
                except _Invalid as exc:
                    failures.append((expr, exc))
            raise self._best_failure(failures, value)

        return check

    def _best_failure(self, failures: list[tuple[TypeExpr, _Invalid]], value: Any) -> _Invalid:
        """The error to report for a union: that of the member ``value`` resembles most."""
        if len(failures) == 1:
            return failures[0][1]
        if type(value) is str:
            try:
                value = json.loads(value)
            except ValueError:
                return failures[-1][1]
        scored = [(self._resemblance(expr, value), exc) for expr, exc in failures]
        score, error = max(scored, key=lambda s: s[0])
        if score < 0:
            return _Invalid(f"must be {' or '.join(_type_name(expr) for expr, _ in failures)}")
        return error

    def _resemblance(self, expr: TypeExpr, value: Any) -> int:
        if isinstance(expr, tuple):
            return 0 if type(value) is list else -1
        if expr in _SCALARS:
            return 0 if type(value) not in (list, dict) else -1
        spec = self.types[expr]
        if type(value) is not dict:
            return -1
        return sum(1 for key in value if key in spec.fields)

    # -- replies ----------------------------------------------------------------------------

    def minimal(self, expr: TypeExpr, _seen: frozenset[str] = frozenset()) -> Any:
        """A minimal value of ``expr`` with every required field, for generic replies."""
        if isinstance(expr, tuple):
            return []
        if expr in _SCALAR_DEFAULTS:
            return _SCALAR_DEFAULTS[expr]
        spec = self.types[expr]
        if spec.subtypes:
            return self.minimal(spec.subtypes[0], _seen)
        seen = _seen | {expr}
        value = {
            name: self.minimal(spec.fields[name][0], seen)
            for name in spec.required
            if not (isinstance(spec.fields[name][0], str) and spec.fields[name][0] in seen)
        }
        if spec.tag is not None:
            value[spec.tag[0]] = spec.tag[1]
        return value


def _check_button(spec: ApiSpec, button: dict[str, Any]) -> None:
    actions = [name for name in button if name in spec.button_actions]
    if len(actions) != 1:
        raise _Invalid(f"a button needs exactly one action field, got {actions or 'none'}")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise _Invalid(
            f"callback_data is {len(data.encode())} bytes, must be 1-{MAX_CALLBACK_DATA_BYTES}",
            code="BUTTON_DATA_INVALID",
        )


def _check_bot_command(spec: ApiSpec, command: dict[str, Any]) -> None:
    if not BOT_COMMAND_RE.match(command["command"]):
        raise _Invalid(
            f"command {command['command']!r} must match [a-z0-9_]{{1,32}}", code="BOT_COMMAND_INVALID"
        )
    if not 1 <= len(command["description"]) <= 256:
        raise _Invalid("description must be 1-256 characters", code="BOT_COMMAND_DESCRIPTION_INVALID")


# Limits of single types that api.json states only in prose.
_TYPE_RULES: dict[str, Callable[[ApiSpec, dict[str, Any]], None]] = {
    "InlineKeyboardButton": _check_button,
    "BotCommand": _check_bot_command,
}


def _check_limits(method: _MethodSpec, params: dict[str, Any]) -> None:
    """Limits of single methods that api.json states only in prose."""
    name = method.name
    if name in ("sendMessage", "editMessageText"):
        text = params.get("text")
        if text is None and "rich_message" not in params:
            raise _Invalid("message text is empty")
        if text is not None and not text.strip():
            raise _Invalid("message text is empty")
        if text is not None and len(text) > MAX_TEXT:
            raise _Invalid(f"message is too long ({len(text)} characters, at most {MAX_TEXT})")
    caption = params.get("caption")
    if isinstance(caption, str) and len(caption) > MAX_CAPTION:
        raise _Invalid(f"message caption is too long ({len(caption)} characters, at most {MAX_CAPTION})")
    if name == "answerCallbackQuery" and len(params.get("text", "")) > MAX_CALLBACK_ANSWER:
        raise _Invalid(f"answerCallbackQuery text must be at most {MAX_CALLBACK_ANSWER} characters")
    if "inline_message_id" in method.fields and "inline_message_id" not in params:
        if "chat_id" not in params or "message_id" not in params:
            raise _Invalid("message identifier is not specified (chat_id and message_id)")


@functools.cache
def load_spec(path: str | None = None) -> ApiSpec:
    """Load and index api.json once per process (``$MEEDOEN_TELEGRAM_SPEC`` overrides the path)."""
    spec_path = Path(path or os.environ.get(SPEC_ENV) or DEFAULT_SPEC_PATH)
    return ApiSpec(json.loads(spec_path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------------------
# Request parsing


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    headers = _MimeHeaders()
    headers["content-type"] = content_type
    boundary = headers.get_param("boundary")
    if not isinstance(boundary, str):
        raise _Invalid("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise _Invalid("malformed multipart body")
        part = _MimeHeaders()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise _Invalid("multipart part without a name")
        filename = part.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            files[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields, files


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    try:
        return await _decode_params(request)
    except UnicodeDecodeError:
        raise _Invalid("the request is not valid UTF-8") from None


async def _decode_params(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    query = request.scope["query_string"]
    params: dict[str, Any] = dict(parse_qsl(query.decode(), keep_blank_values=True)) if query else {}
    files: dict[str, UploadedFile] = {}
    body = await request.body()
    if not body:
        return params, files
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif content_type.startswith("application/json"):
        data = _decode_json(body.decode())
        if not isinstance(data, dict):
            raise _Invalid("the JSON request body must be an object")
        params.update(data)
    elif content_type.startswith("multipart/form-data"):
        fields, files = _parse_multipart(content_type, body)
        params.update(fields)
    else:
        raise _Invalid(f"unsupported content type {content_type!r}")
    return params, files


# --------------------------------------------------------------------------------------------
# The fake


@dataclass(frozen=True, slots=True)
class Call:
    """One bot call: ``params`` hold decoded values; ``time`` is ``time.monotonic()``."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    description: str = ""


class _ApiError(Exception):
    """An error answer; ``violation`` marks a mistake of the bot, not a simulated failure."""

    def __init__(
        self, status: int, description: str, retry_after: int | None = None, violation: bool = False
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.violation = violation

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.status)


def _bad_request(reason: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {reason}", violation=True)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A recorded message as the API returns it (without our "method" key)."""
    return {k: v for k, v in message.items() if k != "method"}


@dataclass(slots=True)
class _Failure:
    status: int
    description: str
    method: str | None


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the host's signal handlers alone and stops promptly."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; wake up at once instead. on_tick(0) also
        # refreshes the Date header, so tick at least once a second.
        while not await self.on_tick(0):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._exit_requested.wait()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()


class FakeTelegram:
    """A fake Telegram Bot API server with simulated users; see the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        port: int = 0,
        rate_limits: bool = False,
        per_second: int = 30,
        per_chat_interval: float = 1.0,
    ) -> None:
        self.token = token
        self.rate_limits = rate_limits
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.spec = load_spec()
        bot_id = token.partition(":")[0]
        self.bot: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": "Meedoen Test",
            "username": "meedoen_test_bot",
        }

        self.calls: list[Call] = []
        self.rejected: list[Call] = []
        self.violations: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.deliveries: list[tuple[int, int]] = []  # (update_id, webhook HTTP status)
        self.too_many_requests = 0

        self._port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._closing = False
        self._changed = asyncio.Condition()

        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent_by_chat: dict[int, list[dict[str, Any]]] = {}
        self._file_counter = 0
        self.files: dict[str, bytes] = {}  # file_id → bytes (voices: uploaded, or sent by users)
        self._durations: dict[str, int] = {}  # file_id → a voice's seconds
        self._update_id = 0
        self._updates: list[dict[str, Any]] = []
        self._open_queries: set[str] = set()
        self._query_counter = 0
        self._webhook: dict[str, Any] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._failures: deque[_Failure] = deque()
        self._send_times: deque[float] = deque()
        self._last_send_to: dict[int, float] = {}

        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
                Route("/_fake/stats", self._control_stats, methods=["GET"]),
                Route("/_fake/users/{user_id:int}/text", self._control_text, methods=["POST"]),
                Route("/_fake/users/{user_id:int}/press", self._control_press, methods=["POST"]),
                Route("/_fake/chats/{chat_id:int}/messages", self._control_messages, methods=["GET"]),
            ]
        )

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` / ``TELEGRAM_API_BASE_URL`` takes (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        """Serve on 127.0.0.1 in the running event loop; returns once the port is bound."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already started")
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self._port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._closing = False
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(), name="fake-telegram")
        while not self._server.started:
            if self._task.done():
                self._server = None
                self._task.result()
                raise RuntimeError("the fake Telegram server stopped during startup")
            await asyncio.sleep(0.005)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Answer pending long polls, shut the server down and close the webhook client."""
        if self._server is None or self._task is None:
            return
        self._closing = True
        await self._notify()
        self._server.request_exit()
        await self._task
        self._server = self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the Bot API endpoint ---------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _ApiError(401, "Unauthorized").response()
        method = self.spec.method(request.path_params["method"])
        if method is None:
            return _ApiError(404, "Not Found").response()
        try:
            raw, files = await _read_params(request)
            params = self.spec.validate_request(method, raw, files)
            _check_limits(method, params)
        except _Invalid as exc:
            response = self._reject(method.name, {}, _bad_request(str(exc)))
            await self._notify()
            return response
        now = time.monotonic()
        try:
            self._precheck(method.name, params, now)
            handler = self._handlers.get(method.name)
            result = handler(params) if handler else self._generic(method, params)
            if inspect.isawaitable(result):
                result = await result
        except _ApiError as exc:
            response = self._reject(method.name, params, exc, now)
            await self._notify()
            return response
        if method.name in self.spec.send_methods and self.rate_limits:
            self._send_times.append(now)
            self._last_send_to[params["chat_id"]] = now
        self.calls.append(Call(method.name, params, now))
        await self._notify()
        return JSONResponse({"ok": True, "result": result})

    def _reject(
        self, method: str, params: dict[str, Any], error: _ApiError, now: float | None = None
    ) -> Response:
        if error.violation:
            self.violations.append(f"{method}: {error.description}")
        if now is not None:
            self.rejected.append(Call(method, params, now, error.status, error.description))
        return error.response()

    def _precheck(self, method: str, params: dict[str, Any], now: float) -> None:
        """Simulated failures, blocked chats and rate limits, in that order."""
        if self._failures:
            failure = self._failures[0]
            if failure.method == method or (failure.method is None and method != "getUpdates"):
                self._failures.popleft()
                retry_after = 1 if failure.status == 429 else None
                raise _ApiError(failure.status, failure.description, retry_after)
        chat_id = params.get("chat_id")
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if self.rate_limits and method in self.spec.send_methods:
            retry_after = self._retry_after(chat_id, now)
            if retry_after is not None:
                self.too_many_requests += 1
                raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _retry_after(self, chat_id: Any, now: float) -> int | None:
        window = self._send_times
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.per_second:
            wait = window[0] + 1.0 - now
        else:
            last = self._last_send_to.get(chat_id)
            if last is None or now - last >= self.per_chat_interval - PER_CHAT_TOLERANCE:
                return None
            wait = last + self.per_chat_interval - now
        return max(1, math.ceil(wait))

    # -- method handlers --------------------------------------------------------------------

    def _generic(self, method: _MethodSpec, params: dict[str, Any]) -> Any:
        if method.name in self.spec.send_methods:
            return self._send(method, params)
        if "Message" in method.returns:
            if "Boolean" in method.returns:  # an edit method (inline_message_id or chat+message)
                return self._edit(params, None)
            return self._bare_message(params.get("chat_id"))
        if method.returns[0] == "Boolean":
            return True
        return self.spec.minimal(method.returns[0])

    def _send(self, method: _MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._chat(params["chat_id"])
        messages = [
            self._record(self._store(chat, self.bot, content), method.name)
            for content in self._contents(method.name, params)
        ]
        returns = _type_name(method.returns[0])
        if returns == "Message":
            return _public(messages[0])
        if returns == "Array of Message":
            return [_public(m) for m in messages]
        ids = [{"message_id": m["message_id"]} for m in messages]
        return ids[0] if returns == "MessageId" else ids

    def _contents(self, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """What each message sent by ``method`` shows (beyond id, date, chat and sender)."""
        if method == "sendMediaGroup":
            return [self._media_content(item["type"], item.get("caption")) for item in params["media"]]
        if method in ("forwardMessages", "copyMessages"):
            return [{} for _ in params["message_ids"]]
        content: dict[str, Any] = {}
        if method == "sendMessage":
            content["text"] = params["text"]
        elif method == "sendPhoto":
            content = self._media_content("photo", None)
        elif method == "sendVoice":
            content = {"voice": self._voice(params["voice"], params.get("duration"))}
        elif method == "sendDocument":
            document = params["document"]
            content = self._media_content("document", None)
            if isinstance(document, UploadedFile):
                content["document"]["file_name"] = document.filename
        for key in ("entities", "caption", "caption_entities"):
            if key in params:
                content[key] = params[key]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        return [content]

    def _media_content(self, kind: str, caption: str | None) -> dict[str, Any]:
        file_id, unique_id = self._new_file_id(kind)
        content: dict[str, Any]
        if kind == "photo":
            content = {
                "photo": [
                    {"file_id": f"{file_id}-s", "file_unique_id": f"{unique_id}s", "width": 90, "height": 90},
                    {"file_id": file_id, "file_unique_id": unique_id, "width": 800, "height": 800},
                ]
            }
        elif kind == "document":
            content = {"document": {"file_id": file_id, "file_unique_id": unique_id}}
        else:
            content = {}
        if caption is not None:
            content["caption"] = caption
        return content

    def _voice(self, voice: Any, duration: Any) -> dict[str, Any]:
        """The ``Voice`` a ``sendVoice`` shows: a new file for an upload, the same for an id."""
        if isinstance(voice, UploadedFile):
            if not voice.data.startswith(b"OggS"):
                raise _ApiError(400, "Bad Request: wrong file type: a voice message must be OGG", violation=True)
            file_id, unique_id = self._new_file_id("voice")
            self.files[file_id] = voice.data
            self._durations[file_id] = int(duration or 1)
        else:
            if voice not in self.files:
                raise _ApiError(400, "Bad Request: wrong remote file identifier specified", violation=True)
            file_id, unique_id = voice, "u" + voice.rsplit("-", 1)[-1]
        return {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": self._durations.get(file_id, 1),
            "mime_type": "audio/ogg",
            "file_size": len(self.files[file_id]),
        }

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id.rsplit("-", 1)[-1],
            "file_size": len(self.files[file_id]),
            "file_path": f"voice/{file_id}.oga",
        }

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        file_id = request.path_params["path"].removeprefix("voice/").removesuffix(".oga")
        data = self.files.get(file_id)
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="audio/ogg")

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        self._file_counter += 1
        return f"fake-{kind}-{self._file_counter}", f"u{self._file_counter}"

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.spec.minimal("ChatFullInfo"), **self._chat(params["chat_id"])}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None:
            if offset < 0:
                del self._updates[:offset]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = params.get("timeout", 0)
        if not self._updates and timeout > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
        limit = min(max(params.get("limit", 100), 1), 100)
        return self._updates[:limit]

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_RE.match(secret):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = dict(params) if params["url"] else None
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        webhook = self._webhook or {}
        info: dict[str, Any] = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in webhook:
                info[key] = webhook[key]
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = dict(params.get("scope") or {"type": "default"})
        if isinstance(scope.get("chat_id"), str) and scope["chat_id"].lstrip("-").isdigit():
            scope["chat_id"] = int(scope["chat_id"])  # "123" and 123 name the same chat
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    def menu_for(self, chat_id: int, language_code: str | None = None) -> list[dict[str, Any]]:
        """The command menu a user with app language ``language_code`` sees in his private
        chat, found the way Telegram documents it ("Determining list of commands"): the first
        list set for the chat scope, all private chats, then the default scope, each with his
        language first and then without a language."""
        for scope in ({"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"}, {"type": "default"}):
            for language in (language_code or "", ""):
                found = self._commands.get(self._commands_key({"scope": scope, "language_code": language}))
                if found is not None:
                    return found
        return []

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands[self._commands_key(params)] = params["commands"]
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        self._menu_buttons[params.get("chat_id")] = params.get("menu_button", {"type": "default"})
        return True

    def _get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._menu_buttons.get(params.get("chat_id"), {"type": "default"})

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._open_queries:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(query_id)
        return True

    def _edit(
        self, params: dict[str, Any], apply: Callable[[dict[str, Any]], None] | None
    ) -> dict[str, Any] | bool:
        """Apply an edit to a bot message; ``apply`` raises "not modified" for a no-op."""
        if "inline_message_id" in params:
            return True
        message = self._messages.get((params["chat_id"], params["message_id"]))
        if message is None:
            raise _bad_request("message to edit not found")
        if message["from"]["id"] != self.bot["id"]:
            raise _bad_request("message can't be edited")
        if apply is not None:
            apply(message)
        message["edit_date"] = int(time.time())
        return _public(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        def apply(message: dict[str, Any]) -> None:
            if "text" not in message:
                raise _bad_request("there is no text in the message to edit")
            self._apply_edit(message, params, "text", "entities")

        return self._edit(params, apply)

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(params, lambda m: self._apply_edit(m, params, "caption", "caption_entities"))

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit(params, lambda m: self._apply_edit(m, params))

    @staticmethod
    def _apply_edit(message: dict[str, Any], params: dict[str, Any], *keys: str) -> None:
        """Replace ``keys`` and the inline keyboard (absent = removed) of ``message``."""
        changes = {key: params.get(key) for key in keys}
        changes["reply_markup"] = params.get("reply_markup")
        if all(message.get(key) == value for key, value in changes.items()):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value

    def _delete_message(self, params: dict[str, Any]) -> bool:
        if self._messages.pop((params["chat_id"], params["message_id"]), None) is None:
            raise _bad_request("message to delete not found")
        return True

    # -- chats and messages -----------------------------------------------------------------

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if not isinstance(chat_id, int) or chat_id <= 0:
            raise _bad_request("chat not found")
        if chat_id not in self._chats:
            self.add_user(chat_id)
        return self._chats[chat_id]

    def _bare_message(self, chat_id: Any) -> dict[str, Any]:
        """A Message with only the required fields, for methods without their own handler."""
        if chat_id is None:
            chat = {"id": self.bot["id"], "type": "private", "first_name": self.bot["first_name"]}
        else:
            chat = self._chat(chat_id)
        return {"message_id": 0, "date": int(time.time()), "chat": chat, "from": self.bot}

    def _store(self, chat: dict[str, Any], sender: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat["id"]
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {
            "message_id": message_id,
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _record(self, message: dict[str, Any], method: str) -> dict[str, Any]:
        message["method"] = method
        self.sent.append(message)
        self._sent_by_chat.setdefault(message["chat"]["id"], []).append(message)
        return message

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to ``chat_id`` (with their current content and "method")."""
        return list(self._sent_by_chat.get(chat_id, ()))

    @property
    def unacknowledged(self) -> int:
        """Updates waiting for ``getUpdates`` that no ``offset`` has confirmed yet."""
        return len(self._updates)

    def count_to(self, chat_id: int) -> int:
        return len(self._sent_by_chat.get(chat_id, ()))

    def send_requests(self) -> list[Call]:
        """Every send request that reached the server (accepted or answered with an error),
        in order of arrival, with its arrival time."""
        return sorted(
            (call for call in (*self.calls, *self.rejected) if call.method in self.spec.send_methods),
            key=lambda call: call.time,
        )

    def busiest_second(self) -> int:
        """The most send requests that arrived within any sliding second (the window
        Telegram's 30-a-second limit counts), whether or not ``rate_limits`` is on."""
        times = [call.time for call in self.send_requests()]
        busiest, first = 0, 0
        for last, arrived in enumerate(times):
            while arrived - times[first] >= 1.0:
                first += 1
            busiest = max(busiest, last - first + 1)
        return busiest

    def closest_to_one_chat(self) -> float:
        """The shortest time between two send requests to one chat (``inf``: none twice)."""
        last: dict[Any, float] = {}
        closest = math.inf
        for call in self.send_requests():
            chat = call.params.get("chat_id")
            if chat in last:
                closest = min(closest, call.time - last[chat])
            last[chat] = call.time
        return closest

    # -- simulated users --------------------------------------------------------------------

    def add_user(
        self, user_id: int, first_name: str = "Test", language_code: str | None = None
    ) -> dict[str, Any]:
        """Register a user (and their private chat with the bot); returns the User object."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
        return user

    def _user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: calls for this chat are answered 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def fail_next(
        self, n: int = 1, status: int = 500, description: str | None = None, *, method: str | None = None
    ) -> None:
        """Answer the next ``n`` calls (of ``method``; by default any but getUpdates) with ``status``.

        The default description is the HTTP reason phrase ("Internal Server Error", ...).
        """
        text = description or (
            "Too Many Requests: retry after 1" if status == 429 else HTTPStatus(status).phrase
        )
        self._failures.extend(_Failure(status, text, method) for _ in range(n))

    async def _user_message(self, user_id: int, content: dict[str, Any]) -> dict[str, Any]:
        user = self._user(user_id)
        message = self._store(self._chats[user_id], user, content)
        return await self._new_update({"message": copy.deepcopy(message)})

    async def send_text(self, user_id: int, text: str) -> dict[str, Any]:
        """The user writes ``text``; a leading "/command" gets a bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self._user_message(user_id, content)

    async def send_command(self, user_id: int, command: str) -> dict[str, Any]:
        """The user sends a command such as "/start" or "/start payload"."""
        if not command.startswith("/"):
            raise ValueError(f"a command starts with '/': {command!r}")
        return await self.send_text(user_id, command)

    async def send_sticker(self, user_id: int, emoji: str = "👍") -> dict[str, Any]:
        file_id, unique_id = self._new_file_id("sticker")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._user_message(user_id, {"sticker": sticker})

    async def send_voice_from_user(self, user_id: int, data: bytes, duration: int = 3) -> dict[str, Any]:
        """The user records a voice note (``data``: its OGG/Opus bytes, served by ``getFile``)."""
        file_id, unique_id = self._new_file_id("voice")
        self.files[file_id] = data
        self._durations[file_id] = duration
        voice = {
            "file_id": file_id, "file_unique_id": unique_id, "duration": duration,
            "mime_type": "audio/ogg", "file_size": len(data),
        }
        return await self._user_message(user_id, {"voice": voice})

    async def send_photo_from_user(self, user_id: int, caption: str | None = None) -> dict[str, Any]:
        return await self._user_message(user_id, self._media_content("photo", caption))

    async def press(self, user_id: int, message: dict[str, Any], callback_data: str) -> dict[str, Any]:
        """The user presses the inline button with ``callback_data`` under a bot ``message``.

        The button must be on the message as it is now (after edits); forge anything else
        with ``deliver_raw``.
        """
        chat_id = message["chat"]["id"]
        if chat_id != user_id:
            raise AssertionError(f"message {message['message_id']} is in chat {chat_id}, not {user_id}'s")
        current = self._messages.get((chat_id, message["message_id"]))
        if current is None or current["from"]["id"] != self.bot["id"]:
            raise AssertionError(f"no bot message {message['message_id']} in chat {chat_id}")
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        offered = [button.get("callback_data") for row in rows for button in row]
        if callback_data not in offered:
            raise AssertionError(
                f"message {message['message_id']} has no button {callback_data!r}; it offers {offered}"
            )
        self._query_counter += 1
        query = {
            "id": f"{self.bot['id']}{self._query_counter:08d}",
            "from": self._user(user_id),
            "chat_instance": f"{-chat_id}{self.bot['id']}",
            "message": copy.deepcopy(_public(current)),
            "data": callback_data,
        }
        return await self._new_update({"callback_query": query})

    async def _new_update(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._update_id + 1, **body}
        await self.deliver_raw(update)
        return update

    async def deliver_raw(self, update: dict[str, Any]) -> int | None:
        """Deliver an update: POST it to the webhook (returns the HTTP status) or queue it."""
        self._update_id = max(self._update_id, update.get("update_id", 0))
        query = update.get("callback_query")
        if query is not None:
            self._open_queries.add(query["id"])
        if self._webhook is None:
            self._updates.append(update)
            await self._notify()
            return None
        headers = {}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0)
        response = await self._http.post(self._webhook["url"], json=update, headers=headers)
        self.deliveries.append((update.get("update_id", 0), response.status_code))
        return response.status_code

    # -- waiting ----------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every call); return its value."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(predicate, timeout))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, WAIT_POLL_INTERVAL)), self._changed:
                    await self._changed.wait()
        return result

    async def wait_for_messages(self, chat_id: int, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least ``n`` messages to ``chat_id``; return them all."""
        await self.wait_for(lambda: self.count_to(chat_id) >= n, timeout)
        return self.messages_to(chat_id)

    def _timeout_report(self, predicate: Callable[[], Any], timeout: float) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        lines = [f"{name} still false after {timeout}s; last calls (without getUpdates):"]
        calls = [call for call in self.calls if call.method != "getUpdates"]
        for call in calls[-5:]:
            params = json.dumps(call.params, ensure_ascii=False, default=repr)
            lines.append(f"  {call.method} {params[:300]}")
        if len(lines) == 1:
            lines.append("  (none)")
        if self.violations:
            lines.append(f"violations: {self.violations[-5:]}")
        return "\n".join(lines)

    # -- control API for separate processes -------------------------------------------------

    async def _control_stats(self, request: Request) -> Response:
        return JSONResponse(
            {
                "calls": len(self.calls),
                "sent": len(self.sent),
                "rejected": len(self.rejected),
                "too_many_requests": self.too_many_requests,
                "pending_updates": len(self._updates),
                "violations": self.violations,
            }
        )

    async def _control_text(self, request: Request) -> Response:
        body = await request.json()
        user_id = request.path_params["user_id"]
        if user_id not in self._users:
            self.add_user(user_id, body.get("first_name", "Test"), body.get("language_code"))
        return JSONResponse(await self.send_text(user_id, body["text"]))

    async def _control_press(self, request: Request) -> Response:
        body = await request.json()
        user_id = request.path_params["user_id"]
        message = {"chat": {"id": user_id}, "message_id": body["message_id"]}
        try:
            update = await self.press(user_id, message, body["callback_data"])
        except AssertionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(update)

    async def _control_messages(self, request: Request) -> Response:
        return JSONResponse(self.messages_to(request.path_params["chat_id"]))


# --------------------------------------------------------------------------------------------
# Standalone


async def _serve(args: argparse.Namespace) -> None:
    async with FakeTelegram(
        args.token,
        port=args.port,
        rate_limits=args.rate_limits,
        per_second=args.per_second,
        per_chat_interval=args.per_chat_interval,
    ) as tg:
        print(tg.base_url, flush=True)
        if importlib.util.find_spec("httptools") is None:
            print(
                "note: httptools is not installed, so uvicorn falls back to its pure-Python HTTP "
                "parser (h11), which roughly halves the requests per second this server can take",
                file=sys.stderr,
                flush=True,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.telegram_api",
        description="Serve a fake Telegram Bot API on 127.0.0.1 until interrupted; "
        "prints the base URL for TELEGRAM_API_BASE_URL.",
    )
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port (default 8081)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help=f"token to accept (default {DEFAULT_TOKEN})")
    parser.add_argument("--rate-limits", action="store_true", help="answer 429 like Telegram's flood control")
    parser.add_argument("--per-second", type=int, default=30, help="sends per second over all chats")
    parser.add_argument(
        "--per-chat-interval", type=float, default=1.0, help="seconds between sends to one chat"
    )
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
