"""The approved WhatsApp templates, read from the TOML file ``MEEDOEN_WHATSAPP_TEMPLATES``.

Outside WhatsApp's 24-hour window only templates Meta approved may be sent (Twilio error 63016
otherwise). The file says which Twilio Content template (``ContentSid``, ``HX`` + 32 hex digits)
to use for which kind of message in which language, and how to fill its variables::

    [opener]                  # required: opens the window, then the held message follows
    content_sid = "HX..."
    variables = { 1 = "{organisation}" }

    [reminder]                # optional, per outbox kind: reminder, broadcast, offer, ...
    nl = { content_sid = "HX...", variables = { 1 = "{text}" } }
    ar = { content_sid = "HX...", variables = { 1 = "{text}" }, max_text = 600 }

    [quick_replies]           # optional: in-window buttons for 1, 2 or 3 choices
    2 = "HX..."

Values may use ``{text}`` (the message itself, on one line: templates allow no line breaks in
a variable) and ``{organisation}``. The file is checked when the service starts; any problem is
one ``ConfigError`` sentence. README ("WhatsApp") has the whole story.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import ConfigError
from dialogs.types import LANGUAGES

CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
KIND = re.compile(r"[a-z][a-z_]{0,15}")
PLACEHOLDERS = ("text", "organisation")
MAX_TEXT = 900
"""Default room for ``{text}``: WhatsApp allows 1,024 characters for a template's whole body
(Twilio error 63021 beyond), and the template's own words need some of it."""
MAX_BUTTONS = 3  # WhatsApp allows three quick-reply buttons in a session message

SECTIONS = ("opener", "quick_replies")


@dataclass(frozen=True)
class Template:
    content_sid: str
    variables: dict[str, str] = field(default_factory=dict)  # "1" → "{text}"
    max_text: int = MAX_TEXT

    def fill(self, *, text: str, organisation: str) -> dict[str, str] | None:
        """The ``ContentVariables``; ``None`` when ``text`` does not fit ``max_text``."""
        if any("{text}" in value for value in self.variables.values()) and len(text) > self.max_text:
            return None
        values = {"text": text, "organisation": organisation}
        return {number: pattern.format_map(values) for number, pattern in self.variables.items()}


@dataclass(frozen=True)
class Templates:
    opener: Template
    by_kind: dict[tuple[str, str], Template] = field(default_factory=dict)  # (kind, language)
    quick_replies: dict[int, str] = field(default_factory=dict)  # buttons → content SID

    def for_message(self, kind: str, language: str) -> Template | None:
        return self.by_kind.get((kind, language))


def load_templates(path: str | None) -> Templates:
    """Read and check the file; every problem is a ``ConfigError`` sentence."""
    if not path:
        raise ConfigError(
            "MEEDOEN_WHATSAPP_TEMPLATES is required for WhatsApp: the path of the file with the "
            "approved templates (see whatsapp-templates.example.toml)."
        )
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"MEEDOEN_WHATSAPP_TEMPLATES: cannot read {path} ({error.strerror}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0].rstrip(".")
        raise ConfigError(f"{path} is not valid TOML: {reason}.") from None
    return parse_templates(raw, path)


def parse_templates(raw: dict, where: str = "the templates file") -> Templates:
    if not isinstance(raw.get("opener"), dict):
        raise ConfigError(
            f"{where} has no [opener]: the approved template that opens the 24-hour window "
            "(Dutch or English, with a \"Show message\" button)."
        )
    opener = _template(raw["opener"], f"{where} [opener]")
    if any("{text}" in value for value in opener.variables.values()):
        raise ConfigError(
            f"{where} [opener] cannot use {{text}}: the opener goes out in Dutch or English, "
            "before the message itself."
        )
    by_kind: dict[tuple[str, str], Template] = {}
    for kind, languages in raw.items():
        if kind in SECTIONS:
            continue
        if not KIND.fullmatch(kind) or not isinstance(languages, dict):
            raise ConfigError(
                f"{where}: [{kind}] is not a kind of message; use sections like [reminder] or "
                "[broadcast] holding one entry per language."
            )
        for language, entry in languages.items():
            if language not in LANGUAGES:
                raise ConfigError(
                    f"{where} [{kind}]: {language!r} is not a language; use {', '.join(LANGUAGES)}."
                )
            by_kind[(kind, language)] = _template(entry, f"{where} [{kind}] {language}")
    quick_replies: dict[int, str] = {}
    for buttons, sid in (raw.get("quick_replies") or {}).items():
        if not (buttons.isdigit() and 1 <= int(buttons) <= MAX_BUTTONS):
            raise ConfigError(f"{where} [quick_replies]: {buttons!r} must be 1, 2 or 3 (buttons).")
        quick_replies[int(buttons)] = _content_sid(sid, f"{where} [quick_replies] {buttons}")
    return Templates(opener, by_kind, quick_replies)


def _template(entry, where: str) -> Template:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table with content_sid and variables.")
    unknown = set(entry) - {"content_sid", "variables", "max_text"}
    if unknown:
        raise ConfigError(f"{where} has unknown keys {', '.join(sorted(unknown))}; use content_sid, variables, max_text.")
    sid = _content_sid(entry.get("content_sid"), where)
    variables = entry.get("variables", {})
    if not isinstance(variables, dict):
        raise ConfigError(f"{where}: variables must be a table like {{ 1 = \"{{text}}\" }}.")
    for number, pattern in variables.items():
        if not number.isdigit() or not isinstance(pattern, str):
            raise ConfigError(f"{where}: variables need numbered keys and text values, like 1 = \"{{text}}\".")
        try:
            pattern.format_map({name: "" for name in PLACEHOLDERS})
        except (KeyError, ValueError, IndexError):
            raise ConfigError(
                f"{where}: variable {number} = {pattern!r} may only use {{text}} and {{organisation}}."
            ) from None
    max_text = entry.get("max_text", MAX_TEXT)
    if not isinstance(max_text, int) or not 1 <= max_text <= 1024:
        raise ConfigError(f"{where}: max_text must be a number of characters from 1 to 1024.")
    return Template(sid, dict(variables), max_text)


def _content_sid(value, where: str) -> str:
    if not isinstance(value, str) or not CONTENT_SID.fullmatch(value):
        raise ConfigError(f"{where}: content_sid {value!r} is not a Content SID (HX and 32 hex digits).")
    return value
