"""The channel contract (bot.channels.base) and the registry (bot.channels.registry): every
registered channel keeps the contract, and a new channel is one entry in the registry — the
service starts and stops it, the HTTP app mounts its routes, and the outbox paces and delivers
to it, with nothing else changed."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.app.http import build_app
from bot.app.service import Service
from bot.channels import numbered, registry
from bot.channels.base import Channel, Incoming, Limits, Outgoing, Wiring
from bot.channels.numbered import NumberedChoices
from bot.config import Settings
from bot.delivery.pacing import Pacer
from bot.store.database import Database
from dialogs.types import ChoiceMade, Text
from tests import sealed

REPOSITORY = Path(__file__).resolve().parent.parent

SETTINGS_THAT_ENABLE = {
    "telegram": {"telegram_bot_token": "123456:test-token"},
    "whatsapp": {
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "twilio-test-token",
        "twilio_whatsapp_from": "whatsapp:+31201234567",
        "public_url": "https://bot.example.org",
        "whatsapp_templates": str(REPOSITORY / "whatsapp-templates.example.toml"),
    },
    "demo": {"demo": True},
}
"""A registered channel with no settings here fails ``test_every_registered_channel_keeps_the_contract``:
add the settings that turn it on."""


def contract_members() -> dict[str, bool]:
    """Every member ``Channel`` asks for → whether it is a coroutine function."""
    members = {name: False for name in Channel.__annotations__}
    for name, value in vars(Channel).items():
        if not name.startswith("_") and callable(value):
            members[name] = inspect.iscoroutinefunction(value)
    return members


async def no_handler(incoming: Incoming) -> None:
    raise AssertionError("nothing arrives in this test")


@pytest.mark.parametrize("name", list(registry.CHANNELS))
async def test_every_registered_channel_keeps_the_contract(settings, name):
    assert name in SETTINGS_THAT_ENABLE, f"say in SETTINGS_THAT_ENABLE which settings turn {name} on"
    entry = registry.CHANNELS[name]
    off = Settings(database_url=settings.database_url, secret_key=settings.secret_key)
    on = dataclasses.replace(off, **SETTINGS_THAT_ENABLE[name])
    assert not entry.enabled(off) and entry.enabled(on)
    entry.check(on)
    db = Database(settings.database_url)
    try:
        channel = entry.build(on, Wiring(db=db, handle=no_handler, now=lambda: None, on_queued=lambda name: None))
        assert channel.name == name
        members = contract_members()
        assert {"name", "limits", "start", "stop", "deliver", "routes", "sync_coordinator_menus"} <= set(members)
        for member, is_coroutine in members.items():
            assert hasattr(channel, member), f"{name} lacks {member}"
            if callable(getattr(Channel, member, None)):
                assert inspect.iscoroutinefunction(getattr(channel, member)) == is_coroutine, member
        assert isinstance(channel.limits, Limits)
        assert channel.limits.rate > 0 and channel.limits.chat_interval >= 0
        assert channel.limits.text > 0 and channel.limits.buttons >= 0
        routes = channel.routes()
        assert isinstance(routes, list) and all(isinstance(route, Route) for route in routes)
        assert all(inspect.iscoroutinefunction(route.endpoint) for route in routes)  # request handlers
    finally:
        await db.close()


def test_no_channel_configured_is_one_sentence_and_each_check_runs(settings):
    with pytest.raises(Exception, match="No channel is configured"):
        registry.require_channels(settings)
    whatsapp_without_url = dataclasses.replace(settings, **{**SETTINGS_THAT_ENABLE["whatsapp"], "public_url": None})
    with pytest.raises(Exception, match="MEEDOEN_PUBLIC_URL is required for WhatsApp"):
        registry.require_channels(whatsapp_without_url)


# --- a channel the project does not have, added in one place -------------------------------------


class SmsChannel:
    """A minimal SMS channel, as a new package would write it: a webhook in, ``deliver`` out
    (into ``sent``), numbered choices because SMS has no buttons."""

    name = "sms"
    limits = Limits(rate=5.0, chat_interval=0.0, text=1600, buttons=0)

    def __init__(self, wiring: Wiring) -> None:
        self._handle = wiring.handle
        self.choices = NumberedChoices(wiring.db, self.name, wiring.now)
        self.sent: list[tuple[str, str]] = []
        self.arrived = asyncio.Event()
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def sync_coordinator_menus(self, wanted: dict[str, str | None]) -> None:
        """SMS has no menus."""

    def routes(self) -> list[BaseRoute]:
        return [Route("/sms", self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> Response:
        fields = await request.json()
        address, body = str(fields["from"]), str(fields["body"])
        event = await self.choices.read(address, Text(body))
        await self._handle(Incoming(channel=self.name, address=address, event=event))
        return Response(status_code=204)

    async def deliver(self, address: str, message: Outgoing) -> None:
        async with self.choices.showing(address, message):
            self.sent.append((address, numbered.text(message)))
        self.arrived.set()

    async def next_message(self) -> str:
        await asyncio.wait_for(self.arrived.wait(), 10)
        self.arrived.clear()
        return self.sent[-1][1]


async def test_a_channel_registered_in_one_place_is_started_mounted_paced_and_stopped(settings, monkeypatch):
    built: list[SmsChannel] = []

    def build(settings: Settings, wiring: Wiring) -> SmsChannel:
        built.append(SmsChannel(wiring))
        return built[-1]

    monkeypatch.setitem(registry.CHANNELS, "sms", registry.ChannelEntry("sms", lambda settings: True, build))
    registry.require_channels(settings)  # the one channel configured
    service = Service(settings)
    [sms] = built
    assert service.channels == {"sms": sms}
    assert service.senders["sms"].pacer.spacing == Pacer(sms.limits.rate, 0).spacing  # the outbox keeps its pace
    assert not sms.started
    await service.start()
    try:
        assert sms.started
        app = build_app(service, manage_service=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            health = (await client.get("/healthz")).json()
            assert health["channels"] == ["sms"]
            answer = await client.post("/sms", json={"from": "+31612345678", "body": "hallo"})
            assert answer.status_code == 204
            menu = await sms.next_message()
            assert menu.endswith("\n\n1 Nederlands\n2 العربية\n3 Soomaali\n4 English")  # numbered
            await client.post("/sms", json={"from": "+31612345678", "body": "4"})  # read as a choice
            english = await sms.next_message()
    finally:
        await service.stop()
    assert sms.stopped
    # "4" was read as the fourth option: the dialog went on, in English
    assert english.startswith("Before we start") and english.endswith("\n\n1 Yes, that's okay\n2 No, thank you")
    # what he saw last is kept in the database (sealed): a reader made afresh, with the key,
    # reads "1" as its choice
    db = Database(settings.database_url, seal=sealed.SEAL)
    try:
        event = await NumberedChoices(db, "sms", service.now).read("+31612345678", Text("1"))
        command = await NumberedChoices(db, "sms", service.now).read("+31612345678", Text("/stop"))
    finally:
        await db.close()
    assert isinstance(event, ChoiceMade) and event.question > 0
    assert command == Text("/stop")
