"""What the WhatsApp channel needs from the settings, checked before anything starts
(``meedoen run``, through ``bot.channels.registry``) rather than at the first reminder."""

from __future__ import annotations

from bot.channels.whatsapp.templates import load_templates
from bot.config import ConfigError, Settings


def check(settings: Settings) -> None:
    """A public URL for Twilio's webhooks and a valid templates file (see README "WhatsApp");
    otherwise one ``ConfigError`` sentence."""
    if not settings.public_url:
        raise ConfigError(
            "MEEDOEN_PUBLIC_URL is required for WhatsApp: Twilio delivers the men's messages to it."
        )
    load_templates(settings.whatsapp_templates)
