"""Test helpers for WhatsApp: the real service and HTTP app, the real twilio client through prism
to the fake Twilio (``tests.fakes.twilio_api``), a clock the test moves, and ``Man``: one man
writing to the service on WhatsApp, with webhooks signed exactly as Twilio signs them.

The fixtures ``twilio_api`` (one fake and one prism per test module) and ``clock`` are imported by
the test modules that use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from twilio.request_validator import RequestValidator

from bot.app.http import build_app
from bot.app.service import Service
from bot.config import Settings
from tests.conftest import NOW
from tests.fakes.twilio_api import FakeTwilio, Prism, PrismMissing, SentMessage, free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SENDER = "whatsapp:+3197010203040"

OPENER = "HX" + "0" * 31 + "1"
REMINDER_NL = "HX" + "0" * 31 + "2"
REMINDER_AR = "HX" + "0" * 31 + "3"
REMINDER_EN = "HX" + "0" * 31 + "4"
BROADCAST_NL = "HX" + "0" * 31 + "5"
BUTTONS = {1: "HX" + "0" * 30 + "11", 2: "HX" + "0" * 30 + "12", 3: "HX" + "0" * 30 + "13"}

TEMPLATES = f"""
[opener]
content_sid = "{OPENER}"
variables = {{ 1 = "{{organisation}}" }}

[reminder]
nl = {{ content_sid = "{REMINDER_NL}", variables = {{ 1 = "{{text}}" }} }}
ar = {{ content_sid = "{REMINDER_AR}", variables = {{ 1 = "{{text}}" }} }}
en = {{ content_sid = "{REMINDER_EN}", variables = {{ 1 = "{{text}}" }} }}

[broadcast]
nl = {{ content_sid = "{BROADCAST_NL}", variables = {{ 1 = "{{organisation}}", 2 = "{{text}}" }}, max_text = 600 }}
"""


class Clock:
    """The service's and the fake's ``now``; tests move it."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def twilio_api():
    """(fake Twilio, prism in front of it) for a whole module; fails if prism is missing."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, SENDER)
    fake.add_content(OPENER, ("1",), approved=True)
    for sid in (REMINDER_NL, REMINDER_AR, REMINDER_EN):
        fake.add_content(sid, ("1",), approved=True)
    fake.add_content(BROADCAST_NL, ("1", "2"), approved=True)
    for count, sid in BUTTONS.items():
        variables = ("1", *(str(1 + n) for n in range(1, count + 1)), *(str(4 + n) for n in range(1, count + 1)))
        fake.add_content(sid, variables, approved=False)
    prism = Prism(fake.url)
    with fake:
        try:
            prism.start()
        except PrismMissing as missing:
            pytest.fail(str(missing), pytrace=False)
        try:
            yield fake, prism
        finally:
            prism.stop()


@pytest.fixture
def twilio(twilio_api, clock):
    """The module's fake, reset and set to this test's clock; every test ends with no problem,
    no prism rejection and no message WhatsApp would refuse for the 24-hour window."""
    fake, prism = twilio_api
    fake.reset()
    fake.now = clock
    seen, warned = len(prism.rejections()), len(prism.response_warnings())
    yield fake
    assert fake.problems == []
    assert prism.rejections()[seen:] == []
    assert prism.response_warnings()[warned:] == []
    assert fake.window_violations == []


def whatsapp_settings(settings: Settings, tmp_path: Path, prism_url: str, *, quick_replies: bool = False) -> Settings:
    port = free_port()
    templates = tmp_path / "whatsapp-templates.toml"
    text = TEMPLATES
    if quick_replies:
        text += "\n[quick_replies]\n" + "".join(f'{n} = "{sid}"\n' for n, sid in BUTTONS.items())
    templates.write_text(text, encoding="utf-8")
    return dataclasses.replace(
        settings,
        public_url=f"http://127.0.0.1:{port}",
        http_port=port,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=SENDER,
        twilio_api_base_url=prism_url,
        whatsapp_templates=str(templates),
        whatsapp_chat_interval=0.05,  # tests answer faster than a person can
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: Clock):
    """The service with its HTTP app served on ``settings.http_port``."""
    service = Service(settings, now=clock)
    await service.start()
    config = uvicorn.Config(
        build_app(service, manage_service=False),
        host="127.0.0.1",
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield service
    finally:
        server.should_exit = True
        await task
        await service.stop()


def sign(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, fields)


async def post_signed(settings: Settings, path: str, fields: dict[str, str], *, signature: str | None = None) -> httpx.Response:
    url = settings.public_url + path
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, fields)}
    async with httpx.AsyncClient() as client:
        return await client.post(url, data=fields, headers=headers)


def message_sid() -> str:
    return "SM" + secrets.token_hex(16)


class Man:
    """One man on WhatsApp, writing to the service as Twilio would deliver his messages."""

    def __init__(self, service: Service, twilio: FakeTwilio, number: str, profile: str = "Cabdi") -> None:
        self.service = service
        self.settings = service.settings
        self.twilio = twilio
        self.number = number
        self.profile = profile

    @property
    def channel(self):
        return self.service.channels["whatsapp"]

    @property
    def messages(self) -> list[SentMessage]:
        return self.twilio.messages_to(self.number)

    @property
    def last(self) -> SentMessage:
        return self.messages[-1]

    @property
    def text(self) -> str:
        return self.last.body or ""

    def fields(self, **extra: str) -> dict[str, str]:
        sid = extra.pop("MessageSid", None) or message_sid()
        base = {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ProfileName": self.profile,
            "MessageType": "text",
            "SmsSid": sid,
            "WaId": self.number.removeprefix("+"),
            "SmsStatus": "received",
            "Body": "",
            "To": SENDER,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{self.number}",
            "ApiVersion": "2010-04-01",
        }
        base.update(extra)
        return base

    async def send(self, fields: dict[str, str], *, signature: str | None = None) -> httpx.Response:
        """Deliver one webhook and wait until the service has handled it."""
        self.twilio.inbound(self.number)
        response = await post_signed(self.settings, "/whatsapp", fields, signature=signature)
        await self.channel.idle()
        return response

    async def say(self, text: str, *, replies: int = 1) -> SentMessage:
        """Write ``text`` and wait for ``replies`` new messages; returns the last."""
        before = len(self.messages)
        response = await self.send(self.fields(Body=text))
        assert response.status_code == 200
        await self.twilio.wait_for(lambda: len(self.messages) >= before + replies)
        return self.last

    async def tap(self, payload: str, text: str, replied_to: str, *, replies: int = 1) -> SentMessage:
        """Tap a button (a template's or a quick reply's)."""
        before = len(self.messages)
        fields = self.fields(
            Body=text, ButtonText=text, ButtonPayload=payload, MessageType="button",
            OriginalRepliedMessageSid=replied_to,
        )
        assert (await self.send(fields)).status_code == 200
        await self.twilio.wait_for(lambda: len(self.messages) >= before + replies)
        return self.last

    async def status(self, message: SentMessage, status: str, error: int | None = None) -> httpx.Response:
        """Twilio's status callback for ``message``."""
        fields = {
            "SmsSid": message.sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "ChannelToAddress": self.number,
            "To": message.to,
            "ChannelPrefix": "whatsapp",
            "MessageSid": message.sid,
            "AccountSid": ACCOUNT_SID,
            "From": SENDER,
            "ApiVersion": "2010-04-01",
            "ChannelInstallSid": "XE" + "0" * 32,
        }
        if error is not None:
            fields["ErrorCode"] = str(error)
            fields["ErrorMessage"] = f"error {error}"
        assert message.status_callback == self.settings.public_url + "/whatsapp/status"
        path = message.status_callback.removeprefix(self.settings.public_url)
        return await post_signed(self.settings, path, fields)
