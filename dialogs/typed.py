"""Typed answers to a question with buttons: on WhatsApp (numbered lists) and for anyone who
types instead of tapping. ``"2"``, the label itself, or an obvious variant all count."""

from __future__ import annotations

from dialogs.types import Option


def match_option(text: str, options: tuple[Option, ...]) -> str | None:
    """The key of the option ``text`` plainly means, or ``None``."""
    typed = " ".join(text.split()).casefold().strip(".!?)")
    if typed.isdecimal() and 1 <= int(typed) <= len(options):
        return options[int(typed) - 1].key
    for option in options:
        if option.label.casefold() == typed:
            return option.key
    return None
