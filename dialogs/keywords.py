"""Words that act as commands in every language, so that someone who cannot type a slash
command (or is on WhatsApp, which has none) can still stop, start, get help or erase."""

from __future__ import annotations

import unicodedata

from dialogs.types import Command, Event, Text

KEYWORDS: dict[str, str] = {
    # stop
    "stop": "stop", "stoppen": "stop", "jooji": "stop", "توقف": "stop", "ستوب": "stop",
    # start
    "start": "start", "begin": "start", "bilow": "start", "ابدأ": "start", "ابدا": "start",
    # help
    "help": "help", "hulp": "help", "caawin": "help", "caawimo": "help", "مساعدة": "help",
    # delete
    "delete": "delete", "verwijder": "delete", "verwijderen": "delete", "tirtir": "delete",
    "احذف": "delete", "حذف": "delete",
}
"""One lower-case word → command. Only a message that is exactly one of these words counts."""


def as_command(event: Event) -> Event:
    """``/start@bot arg`` and keyword texts become ``Command``; anything else is unchanged."""
    if not isinstance(event, Text):
        return event
    text = "".join(ch for ch in event.text if unicodedata.category(ch) != "Cf").strip()
    if text.startswith("/") and len(text) > 1:
        head, _, argument = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        if name.isascii() and name.isalnum():
            return Command(name, argument.strip())
        return event
    command = KEYWORDS.get(text.casefold().strip(".!"))
    return Command(command) if command else event
