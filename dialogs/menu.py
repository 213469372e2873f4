"""The command menu each channel registers, per language (descriptions are translated)."""

from __future__ import annotations

from dialogs.i18n import N_, gettext, use_locale

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Join a conversation group")),
    ("mysignups", N_("My conversation groups and the next meeting")),
    ("cancel", N_("Leave a conversation group")),
    ("checkin", N_("Answer a few anonymous questions")),
    ("language", N_("Choose another language")),
    ("privacy", N_("What happens with my data")),
    ("stop", N_("Pause all messages")),
    ("delete", N_("Erase my data")),
    ("help", N_("Help")),
)


def command_menu(language: str) -> list[tuple[str, str]]:
    """``[(command, description), ...]`` in ``language``."""
    with use_locale(language):
        return [(name, gettext(description)) for name, description in COMMANDS]
