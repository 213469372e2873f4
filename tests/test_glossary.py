"""The agreed words (locales/GLOSSARY.md) are used in every catalog, and buttons stay buttons.

- wherever the English source uses a glossary term, each translation contains the language's
  agreed word, and no text in any language uses a word the glossary rules out;
- every button label the code shows (``Option(_("..."))``, found in the source) has at most
  20 characters in every language: WhatsApp makes a longer label a numbered list item;
- a message that names a button ("press Skip", "a “Sign me up” button") uses the button's own
  translated label.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.operations.translations import BUTTON_LIMIT, button_msgids, forms, key_of, read_catalog
from dialogs.types import LANGUAGES

GLOSSARY = Path(__file__).resolve().parents[1] / "locales" / "GLOSSARY.md"
COLUMNS = ("concept", "en", "nl", "ar", "so", "never")
PLACEHOLDER = re.compile(r"%\([^)]*\)[a-z]")


def _glossary() -> list[dict[str, str]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == len(COLUMNS) and line.startswith("|") and "`" in line:
            rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def _check_word(cell: str) -> str:
    match = re.search(r"`([^`]+)`", cell)
    assert match, f"a glossary cell without a `check` word: {cell!r}"
    return match.group(1)


def _texts(language: str) -> dict[str, list[str]]:
    """msgid → its translation's forms, placeholders removed."""
    return {
        key_of(m): [PLACEHOLDER.sub("", form) for form in forms(m)]
        for m in read_catalog(language)
        if m.id
    }


CATALOGS = {language: _texts(language) for language in LANGUAGES}
TERMS = _glossary()


def test_the_glossary_table_is_read():
    assert len(TERMS) >= 5
    assert any(_check_word(row["en"]) == "group" for row in TERMS)


@pytest.mark.parametrize("row", TERMS, ids=[row["concept"] for row in TERMS])
def test_each_term_is_used_as_agreed(row):
    english = _check_word(row["en"])
    pattern = re.compile(rf"\b{re.escape(english)}", re.IGNORECASE)
    sources = [msgid for msgid in CATALOGS["en"] if pattern.search(PLACEHOLDER.sub("", msgid))]
    assert sources, f"no English string uses {english!r}"
    problems = []
    for language in ("nl", "ar", "so"):
        word = _check_word(row[language]).lower()
        for msgid in sources:
            for form in CATALOGS[language][msgid]:
                if word not in form.lower():
                    problems.append(f"[{language}] {msgid!r}: {form!r} lacks {word!r}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_word_the_glossary_rules_out(language):
    never = [word.strip() for row in TERMS for word in row["never"].split(",") if word.strip()]
    problems = []
    for texts in CATALOGS[language].values():
        for text in texts:
            for word in never:
                if re.search(rf"(?<!\w){re.escape(word)}", text, re.IGNORECASE):
                    problems.append(f"[{language}] {text!r} uses {word!r}")
    assert problems == []


BUTTONS = sorted(button_msgids())


def test_the_buttons_are_found_in_the_code():
    assert {"Skip", "I can't this time", "Yes, contact me", "Join a group", "Sign me up"} <= set(BUTTONS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_button_label_fits_a_whatsapp_button(language):
    catalog = {key_of(m): forms(m) for m in read_catalog(language) if m.id}
    too_long = [
        f"{label!r} → {text!r} ({len(text)})"
        for label in BUTTONS
        for text in catalog[label]
        if len(text) > BUTTON_LIMIT
    ]
    assert too_long == []


REFERS = re.compile(r"(?:[Pp]ress |“)([A-Z][^“”.,]*?)(?:”|[.,]|$)")
"""``press Skip``, ``Press Done``, ``a “Sign me up” button``: the label a message names."""


@pytest.mark.parametrize("language", ["nl", "ar", "so"])
def test_a_message_names_a_button_by_its_own_label(language):
    catalog = {key_of(m): forms(m) for m in read_catalog(language) if m.id}
    checked, problems = 0, []
    for msgid, texts in catalog.items():
        for label in REFERS.findall(msgid):
            if label not in catalog or label not in BUTTONS:
                continue
            checked += 1
            translated = catalog[label][0]
            if not all(translated in text for text in texts):
                problems.append(f"[{language}] {msgid!r} should name the button {translated!r}")
    assert checked >= 5
    assert problems == []
