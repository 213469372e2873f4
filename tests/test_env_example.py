"""``.env.example`` lists every setting ``bot/config.py`` reads, each with a one-line comment,
and nothing else; the defaults it shows are the real ones.

Format (the file's own header says it): a setting is ``NAME=value`` or, switched off,
``# NAME=value``; the line above it is its comment.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE = REPOSITORY / ".env.example"
CONFIG = REPOSITORY / "bot" / "config.py"

NAME = re.compile(r"(?:MEEDOEN|TELEGRAM|TWILIO)_[A-Z0-9_]+")
SETTING = re.compile(rf"^(?:# )?({NAME.pattern})=(.*)$")


def names_in_config() -> set[str]:
    """Every variable name written as a whole string in bot/config.py (what ``get`` reads)."""
    tree = ast.parse(CONFIG.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value)
    }


def example_lines() -> list[str]:
    return EXAMPLE.read_text(encoding="utf-8").splitlines()


def example_settings() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in map(SETTING.match, example_lines()) if m}


def test_the_example_lists_every_setting_of_the_config_and_no_other():
    listed = set(example_settings())
    read = names_in_config()
    assert read, "no variable names found in bot/config.py; has the loader moved?"
    assert not read - listed, f".env.example misses {sorted(read - listed)}"
    assert not listed - read, f".env.example lists {sorted(listed - read)}, which bot/config.py does not read"


@pytest.mark.parametrize("name", sorted(example_settings()))
def test_each_listed_setting_is_really_read(name):
    """Beyond the names in the source: setting it changes what ``load_settings`` gives (or is
    refused with a sentence), so a name kept only in a message would be caught."""
    try:
        changed = load_settings({name: "7"}, env_file=None) != Settings()
    except ConfigError:
        changed = True
    assert changed, f"{name} in .env.example has no effect on the settings"


def test_each_setting_has_a_one_line_comment_above_it():
    lines = example_lines()
    for number, line in enumerate(lines):
        if SETTING.match(line):
            above = lines[number - 1] if number else ""
            assert above.startswith("# ") and not SETTING.match(above), (
                f".env.example line {number + 1}: {line.split('=')[0].lstrip('# ')} needs a comment line above it"
            )


def test_the_example_loads_and_its_switched_off_values_are_the_defaults(tmp_path):
    """Copied as it is, the example gives the defaults; with every switched-off line switched
    on, still the defaults: the values it shows are the ones meedoen uses without them."""
    assert load_settings({}, env_file=EXAMPLE) == Settings()
    switched_on = tmp_path / ".env"
    switched_on.write_text(
        "\n".join(line.removeprefix("# ") if SETTING.match(line) else line for line in example_lines()),
        encoding="utf-8",
    )
    assert load_settings({}, env_file=switched_on) == Settings()


def test_no_value_carries_a_comment_or_quotes():
    """systemd's EnvironmentFile and Docker's env_file read the same file: a trailing comment or
    quotes would end up in the value there."""
    for name, value in example_settings().items():
        assert "#" not in value and not value.startswith(("'", '"')), name
