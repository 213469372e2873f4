"""Which channels exist, when each is on, what it needs from the settings, and how it is
built. The service, the HTTP app and the CLI loop over ``CHANNELS`` and name no channel.

Each channel's module is imported only when it is built or checked, so a service without
WhatsApp never loads twilio, and ``bot.config`` never imports a channel.
Adding a channel: one package under ``bot/channels/`` and one entry here (see
docs/architecture.md, "Adding a channel").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.base import Channel, Wiring
from bot.config import ConfigError, Settings


def _nothing_to_check(settings: Settings) -> None:
    """A channel whose settings ``bot.config.load_settings`` already checked in full."""


@dataclass(frozen=True)
class ChannelEntry:
    name: str
    enabled: Callable[[Settings], bool]  # is it configured?
    build: Callable[[Settings, Wiring], Channel]
    # What it needs beyond ``load_settings``, checked by ``meedoen run`` before anything
    # starts; one ``ConfigError`` sentence for the operator.
    check: Callable[[Settings], None] = _nothing_to_check


def _telegram(settings: Settings, wiring: Wiring) -> Channel:
    from bot.channels.telegram import TelegramChannel

    return TelegramChannel(settings, wiring.db, wiring.handle)


def _whatsapp(settings: Settings, wiring: Wiring) -> Channel:
    from bot.channels.whatsapp.channel import WhatsAppChannel

    return WhatsAppChannel(settings, wiring.db, wiring.handle, now=wiring.now, on_queued=wiring.on_queued)


def _check_whatsapp(settings: Settings) -> None:
    from bot.channels.whatsapp.settings import check

    check(settings)


def _demo(settings: Settings, wiring: Wiring) -> Channel:
    from bot.channels.demo import DemoChannel

    return DemoChannel(wiring.handle, wiring.db)


CHANNELS: dict[str, ChannelEntry] = {
    entry.name: entry
    for entry in (
        ChannelEntry("telegram", lambda settings: settings.telegram_enabled, _telegram),
        ChannelEntry("whatsapp", lambda settings: settings.whatsapp_enabled, _whatsapp, _check_whatsapp),
        ChannelEntry("demo", lambda settings: settings.demo, _demo),
    )
}
"""In the order they start; a test may add one (``monkeypatch.setitem``)."""


def enabled(settings: Settings) -> list[ChannelEntry]:
    return [entry for entry in CHANNELS.values() if entry.enabled(settings)]


def require_channels(settings: Settings) -> None:
    """What ``meedoen run`` needs of the channels: at least one, each with its settings."""
    if not enabled(settings):
        raise ConfigError("No channel is configured; set TELEGRAM_BOT_TOKEN or the TWILIO_* variables.")
    for entry in enabled(settings):
        entry.check(settings)


def build(settings: Settings, wiring: Wiring) -> dict[str, Channel]:
    """Every configured channel, by name."""
    return {entry.name: entry.build(settings, wiring) for entry in enabled(settings)}
