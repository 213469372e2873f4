"""Arabic messages read right: every /command, number and phone number stays left-to-right.

Each Arabic message is laid out with python-bidi (the Unicode bidirectional algorithm, with
isolates) the way a chat app shows it, and the visual line must still contain "/stop", not
"stop/", and "088 0767 000", not "000 0767 088". Checked for every string of the Arabic catalog
(filled with Latin names, numbers and phone numbers, as the code fills them) and for every
message of the Arabic preview conversation.
"""

from __future__ import annotations

import re

import pytest
from bidi import get_display

from bot.operations.preview import conversation
from bot.operations.translations import forms, read_catalog
from dialogs.checkin import HELP_LINES
from dialogs.i18n import directed, fill, use_locale

CONTROLS = re.compile("[\u200e\u200f\u2066-\u2069]")
SLASH_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
PLACEHOLDER = re.compile(r"%\((?P<name>[^)]*)\)s")
SAMPLES = {
    **HELP_LINES,
    "count": 12,
    "limit": 3000,
    "position": 3,
    "address": "+31 6 1234 5678",
    "channel": "WhatsApp",
    "time": "19:00",
    "worthwhile": "7.5",
}


def _shown(line: str) -> str:
    """The line as an app draws it, left to right, without the invisible controls."""
    return CONTROLS.sub("", get_display(line))


NUMBER_GROUPS = re.compile(r"\+?\d+(?:[ –-]\d+)+")
"""A phone number or a range: "088 0767 000", "0800-0113", "+31 6 1234 5678", "0–10"."""


def _left_to_right_parts(text: str) -> set[str]:
    """What must read left to right: every command, phone number and range."""
    plain = CONTROLS.sub("", text)
    return set(SLASH_COMMAND.findall(plain)) | set(NUMBER_GROUPS.findall(plain))


def _problems(text: str) -> list[str]:
    problems = []
    for line in text.split("\n"):
        shown = _shown(line)
        for part in _left_to_right_parts(line):
            if part not in shown:
                problems.append(f"{part!r} is shown as {shown!r}")
    return problems


def _arabic_messages() -> list[str]:
    texts = []
    with use_locale("ar"):
        for message in read_catalog("ar"):
            if not message.id:
                continue
            for form in forms(message):
                values = {name: SAMPLES.get(name, "Mannen in gesprek") for name in PLACEHOLDER.findall(form)}
                texts.append(directed(fill(form, **values) if message.python_format else form))
    return texts


def test_the_check_sees_the_problem_it_is_for():
    """Without isolation, an app shows "stop/" and "000 0767 088": the check must say so."""
    bare = "\u200fأرسل /stop أو اتصل بالرقم 088 0767 000"
    assert len(_problems(bare)) == 2
    with use_locale("ar"):
        assert _problems(directed(bare)) == []


def test_every_arabic_catalog_string_keeps_commands_and_numbers_left_to_right():
    messages = _arabic_messages()
    assert len(messages) > 150
    assert sum("/" in m for m in messages) >= 10
    problems = [f"{message!r}: {problem}" for message in messages for problem in _problems(message)]
    assert problems == []


def test_every_message_of_the_arabic_conversation_reads_right():
    shown = conversation("ar")
    assert len(shown) > 30
    problems = [f"{m.number}: {problem}" for m in shown for problem in _problems(m.text)]
    assert problems == []
    assert any("/start" in _shown(line) for m in shown for line in m.text.split("\n"))


@pytest.mark.parametrize(
    ("value", "opener"), [("Cabdi", "\u2066"), ("088 0767 000", "\u2066"), ("عبد الله", "\u2068")]
)
def test_inserted_values_are_isolated_by_their_direction(value, opener):
    with use_locale("ar"):
        assert fill("مرحبا %(name)s", name=value) == f"مرحبا {opener}{value}\u2069"
    with use_locale("so"):
        assert fill("Salaan %(name)s", name=value) == f"Salaan {value}"
