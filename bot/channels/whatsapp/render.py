"""WhatsApp's side of a conversation, as pure functions: Twilio's webhook fields → an event,
an ``Outgoing`` → what to send. No I/O, so every rule here is tested as a table.

Choices. WhatsApp has no inline keyboard, so options become a numbered list under the text
(``bot.channels.numbered``). Where quick-reply content is configured, one to three short options become real
buttons instead; a button's id carries the question number and the option key
(``"7:lang:ar"``), so it arrives as the same ``ChoiceMade`` a Telegram button would.

Length. Twilio refuses a ``Body`` over 1,600 characters (error 21617; WhatsApp itself would
take 4,096), counting characters outside the Basic Multilingual Plane (emoji) twice; longer
texts are split where a reader would pause (``bot.channels.text.split_text``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels import numbered
from bot.channels.base import Outgoing
from bot.channels.text import split_text
from bot.channels.whatsapp.templates import MAX_BUTTONS, Templates
from dialogs.i18n import RLM
from dialogs.types import ChoiceMade, Event, Text, Unsupported, VoiceNote

PREFIX = "whatsapp:"
BODY_LIMIT = 1600  # Twilio's limit for Body, in UTF-16 code units
QUICK_REPLY_BODY_LIMIT = 1024  # WhatsApp's limit for the text above buttons
BUTTON_TITLE_LIMIT = 20  # WhatsApp's limit for a quick-reply button's title
LINE_JOIN = " · "  # template variables may not contain line breaks (WhatsApp rule)

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_CHOICE = re.compile(r"(\d{1,9}):(.+)", re.DOTALL)
_SPACES = re.compile(r"[ \t]{2,}")
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker", "location", "contacts")

COUNTRY_LANGUAGES = {
    "+252": "so",  # Somalia
    "+253": "so",  # Djibouti
    **{
        code: "ar"
        for code in (
            "+20", "+212", "+213", "+216", "+218", "+249", "+961", "+962", "+963", "+964",
            "+965", "+966", "+967", "+968", "+970", "+971", "+973", "+974",
        )
    },
    "+31": "nl",
    "+32": "nl",
    "+44": "en",
}
"""A hint from the number's country, only to put a language first in the menu (the
Telegram channel uses the app's language the same way); the man always chooses."""


# --- addresses ---------------------------------------------------------------------------------


def address_of(value: str) -> str | None:
    """``"whatsapp:+31612345678"`` → ``"+31612345678"``; ``None`` for anything else."""
    number = value.strip().removeprefix(PREFIX)
    return number if value.strip().startswith(PREFIX) and _E164.fullmatch(number) else None


def to_twilio(address: str) -> str:
    return PREFIX + address


def language_hint(address: str) -> str | None:
    for length in (4, 3):
        language = COUNTRY_LANGUAGES.get(address[:length])
        if language:
            return language
    return None


# --- inbound -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """One message from a man, as the dialog and the window rule need it.

    ``event`` is ``None`` when there is nothing to answer (a reaction, an empty message): it
    still opens the window. ``template_button`` is set when he tapped a button of a template
    we sent (the opener's "Show message"): what he asked for is the held message, not a turn
    of the dialog; ``event`` then carries the button's text in case nothing is held.
    """

    sid: str
    address: str
    event: Event | None
    template_button: bool = False
    media_url: str | None = None  # a voice note's, to fetch if a coordinator's flow wants it


def inbound(form: Mapping[str, str]) -> Inbound | None:
    """Twilio's incoming-message webhook fields → ``Inbound``; ``None`` if not a message
    from a WhatsApp user (no ``MessageSid`` or no valid ``From``)."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    address = address_of(form.get("From", ""))
    if not sid or address is None:
        return None
    body = form.get("Body", "")
    payload = form.get("ButtonPayload", "")
    if payload:
        choice = parse_choice(payload)
        if choice is not None:
            return Inbound(sid, address, ChoiceMade(choice[1], choice[0]))
        text = form.get("ButtonText") or body
        return Inbound(sid, address, Text(text) if text.strip() else None, template_button=True)
    kind = (form.get("MessageType") or "").lower()
    media = int(form.get("NumMedia") or 0) if (form.get("NumMedia") or "0").isdecimal() else 0
    if kind == "reaction":
        return Inbound(sid, address, None)
    if media == 1 and (form.get("MediaContentType0") or "").lower().startswith("audio/"):
        return Inbound(sid, address, VoiceNote(), media_url=form.get("MediaUrl0") or None)
    if media or kind in MEDIA_KINDS or form.get("Latitude"):
        return Inbound(sid, address, Unsupported(kind if kind in MEDIA_KINDS else _media_kind(form)))
    if body.strip():
        return Inbound(sid, address, Text(body))
    return Inbound(sid, address, None)


def kept_fields(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A webhook's fields as ``bot.store.inbound`` keeps them: without the addresses of his
    media, so nothing in our database leads to a voice note (or photo) he sent."""
    return [(key, value) for key, value in items if not key.startswith("MediaUrl")]


def _media_kind(form: Mapping[str, str]) -> str:
    if form.get("Latitude"):
        return "location"
    content_type = form.get("MediaContentType0", "")
    return content_type.split("/", 1)[0] or "other"


def choice_payload(question: int, key: str) -> str:
    return f"{question}:{key}"


def parse_choice(payload: str) -> tuple[int, str] | None:
    match = _CHOICE.fullmatch(payload)
    return (int(match.group(1)), match.group(2)) if match else None


# --- outbound ----------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def bodies(message: Outgoing) -> list[str]:
    """The ``Body`` of each message to send, in order, each within Twilio's limit."""
    text = numbered.text(message)
    limit = BODY_LIMIT
    while True:
        parts = split_text(text, limit)
        if all(utf16_length(part) <= BODY_LIMIT for part in parts):
            return parts
        limit -= 100


def quick_reply(message: Outgoing, templates: Templates) -> tuple[str, dict[str, str]] | None:
    """``(ContentSid, ContentVariables)`` for buttons, when configured and WhatsApp's limits
    allow; otherwise ``None`` (send a numbered list). Variables: 1 = the text, 2-4 = the
    button titles, 5-7 = the button ids (see README "WhatsApp")."""
    count = len(message.options)
    sid = templates.quick_replies.get(count)
    if (
        sid is None
        or not 1 <= count <= MAX_BUTTONS
        or message.image is not None
        or not message.text.strip()
        or utf16_length(message.text) > QUICK_REPLY_BODY_LIMIT
        or any(len(option.label) > BUTTON_TITLE_LIMIT for option in message.options)
    ):
        return None
    variables = {"1": message.text}
    for n, option in enumerate(message.options, 1):
        variables[str(1 + n)] = option.label
        variables[str(1 + MAX_BUTTONS + n)] = choice_payload(message.question, option.key)
    return sid, variables


def one_line(text: str) -> str:
    """A text fit for a template variable: no line breaks or tabs, never more than one space
    in a row (WhatsApp refuses those in a template parameter)."""
    lines = [line.strip() for line in text.replace("\t", " ").splitlines()]
    return _SPACES.sub(" ", LINE_JOIN.join(line for line in lines if line.strip(RLM + " ")))


def template_text(message: Outgoing) -> str:
    """What ``{text}`` stands for in a template: the message and its numbered options."""
    return one_line(numbered.text(message))
