"""The command menu each channel registers, per language (descriptions are translated).

Everyone sees ``COMMANDS``; a coordinator's own chat also gets ``COORDINATOR_COMMANDS``, a
facilitator's ``FACILITATOR_COMMANDS`` (Telegram: a menu for that chat only, see
``bot.channels.telegram``)."""

from __future__ import annotations

from dialogs.i18n import N_, gettext, use_locale

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Join a conversation group")),
    ("mysignups", N_("My conversation groups and the next meeting")),
    ("cancel", N_("Leave a conversation group")),
    ("checkin", N_("Answer a few anonymous questions")),
    ("listen", N_("What keeps you away, what would interest you")),
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
    ("voice", N_("Record a reminder as a voice message")),
    ("report", N_("The anonymous report")),
    ("console", N_("Open the web console")),
    ("flyer", N_("Flyers with QR codes")),
)


FACILITATOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("rsvps", N_("Who is coming to the next meetings")),
    ("attendance", N_("Tick who was there")),
    ("form", N_("The form about your last meeting")),
    ("livingroom", N_("Propose a living-room talk")),
    ("flyer", N_("Flyers and your own invite link")),
    ("voice", N_("Record a reminder as a voice message")),
)

ROLES = ("coordinator", "facilitator", "both")
"""The roles with a menu of their own (``both``: a coordinator who also facilitates)."""


def command_menu(language: str, *, coordinator: bool = False, role: str | None = None) -> list[tuple[str, str]]:
    """``[(command, description), ...]`` in ``language``; a coordinator's or facilitator's
    menu has his own commands first (``coordinator=True`` is ``role="coordinator"``)."""
    role = role or ("coordinator" if coordinator else None)
    own: tuple[tuple[str, str], ...] = ()
    if role in ("coordinator", "both"):
        own = COORDINATOR_COMMANDS
    if role in ("facilitator", "both"):
        own += tuple(entry for entry in FACILITATOR_COMMANDS if entry[0] not in dict(own))
    entries = (*own, *COMMANDS)
    with use_locale(language):
        return [(name, gettext(description)) for name, description in entries]
