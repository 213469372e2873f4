"""The command menu each channel registers, per language (descriptions are translated).

Everyone sees ``COMMANDS``; a coordinator's own chat also gets ``COORDINATOR_COMMANDS``
(Telegram: a menu for that chat only, see ``bot.channels.telegram``)."""

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

COORDINATOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("rsvps", N_("Who is coming to the next meetings")),
    ("attendance", N_("Tick who was there")),
    ("broadcast", N_("Send a message to many people")),
    ("report", N_("The anonymous report")),
    ("console", N_("Open the web console")),
    ("flyer", N_("Flyers with QR codes")),
)


def command_menu(language: str, *, coordinator: bool = False) -> list[tuple[str, str]]:
    """``[(command, description), ...]`` in ``language``; a coordinator's menu has his own
    commands first."""
    entries = (*COORDINATOR_COMMANDS, *COMMANDS) if coordinator else COMMANDS
    with use_locale(language):
        return [(name, gettext(description)) for name, description in entries]
