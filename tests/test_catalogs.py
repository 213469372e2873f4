"""The gettext catalogs are complete, safe to format, and Arabic plurals follow GNU gettext.

Fails on: an untranslated entry (an empty msgstr or any empty plural form), a fuzzy entry, a
msgstr whose ``%(name)s`` placeholders differ from its source, a catalog whose msgids differ
from ``locales/messages.pot``, and an Arabic ``Plural-Forms`` other than GNU gettext's rule
(Babel writes a wrong one: babel issue #816). Whether the ``.pot`` itself is up to date with
the code is not checked here (``make catalogs`` re-extracts it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from dialogs.i18n import ARABIC_PLURAL_FORMS, catalog, ngettext, use_locale
from dialogs.types import LANGUAGES

LOCALES = Path(__file__).resolve().parents[1] / "locales"
POT = LOCALES / "messages.pot"

PLACEHOLDER = re.compile(r"%\((?P<name>[^)]*)\)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[a-zA-Z%]")
"""A named printf-style placeholder such as ``%(series)s`` or ``%(count)d``."""

SLASH_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
"""The code adds RLM and isolates itself (dialogs.i18n); catalogs must not contain them."""

# n → index of the Arabic plural form GNU gettext picks:
# zero, one, two, few (3-10), many (11-99), other (100-102, ...).
ARABIC_PLURAL_CASES = {0: 0, 1: 1, 2: 2, 3: 3, 11: 4, 100: 5}


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def _entries(cat: Catalog) -> list[Message]:
    return [message for message in cat if message.id]


def _key(message: Message) -> str:
    return message.id[0] if message.pluralizable else message.id


def _label(language: str, message: Message) -> str:
    return f"[{language}] {_key(message)!r}"


def _forms(message: Message) -> list[str]:
    """The translation as a list: one string, or every plural form."""
    if isinstance(message.string, (tuple, list)):
        return list(message.string)
    return [message.string]


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in PLACEHOLDER.finditer(text) if match.group(0) != "%%"}


@pytest.fixture(scope="module", params=LANGUAGES)
def language_catalog(request) -> tuple[str, Catalog]:
    language = request.param
    return language, _read(_catalog_path(language), locale=language)


def test_every_language_has_a_catalog():
    for language in LANGUAGES:
        assert _catalog_path(language).is_file(), f"no catalog for {language}"


def test_msgids_match_the_template(language_catalog):
    """A string added to the .pot must be in every catalog (run `make catalogs`), and a
    catalog must not keep strings the template no longer has."""
    language, cat = language_catalog
    template = {_key(message) for message in _entries(_read(POT))}
    ours = {_key(message) for message in _entries(cat)}
    assert sorted(template - ours) == [], f"[{language}] missing from the catalog"
    assert sorted(ours - template) == [], f"[{language}] not in messages.pot"


def test_nothing_untranslated(language_catalog):
    language, cat = language_catalog
    problems = []
    for message in _entries(cat):
        forms = _forms(message)
        if message.pluralizable and len(forms) != cat.num_plurals:
            problems.append(f"{_label(language, message)}: {len(forms)} of {cat.num_plurals} forms")
        elif not all(form.strip() for form in forms):
            problems.append(f"{_label(language, message)}: untranslated")
    assert problems == []


def test_nothing_fuzzy(language_catalog):
    language, cat = language_catalog
    assert not cat.fuzzy, f"[{language}] the header is marked fuzzy"
    fuzzy = [_label(language, message) for message in _entries(cat) if message.fuzzy]
    assert fuzzy == []


def test_placeholders_match_the_source(language_catalog):
    """Every form keeps the placeholders of msgid or msgid_plural, and formats cleanly."""
    language, cat = language_catalog
    problems = []
    for message in _entries(cat):
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        allowed = [_placeholders(source) for source in sources]
        for index, form in enumerate(_forms(message)):
            found = _placeholders(form)
            if found not in allowed:
                problems.append(
                    f"{_label(language, message)} form {index}: {sorted(found)}, "
                    f"expected {' or '.join(str(sorted(names)) for names in allowed)}"
                )
                continue
            if message.python_format:
                values = {match.group("name"): 1 for match in PLACEHOLDER.finditer(form)}
                try:
                    form % values
                except (KeyError, ValueError, TypeError) as error:
                    problems.append(f"{_label(language, message)} form {index}: {error!r}")
    assert problems == []


def test_slash_commands_are_not_translated(language_catalog):
    language, cat = language_catalog
    problems = []
    for message in _entries(cat):
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = [set(SLASH_COMMAND.findall(source)) for source in sources]
        for index, form in enumerate(_forms(message)):
            if set(SLASH_COMMAND.findall(form)) not in expected:
                problems.append(f"{_label(language, message)} form {index}")
    assert problems == []


def test_no_bidi_controls_in_catalogs(language_catalog):
    language, cat = language_catalog
    marked = [
        _label(language, message)
        for message in _entries(cat)
        if any(BIDI_CONTROLS.search(form) for form in _forms(message))
    ]
    assert marked == []


def test_arabic_header_is_the_gnu_rule():
    cat = _read(_catalog_path("ar"), locale="ar")
    assert dict(cat.mime_headers)["Plural-Forms"] == ARABIC_PLURAL_FORMS
    assert catalog("ar").info()["plural-forms"] == ARABIC_PLURAL_FORMS


@pytest.mark.parametrize(("n", "form"), sorted(ARABIC_PLURAL_CASES.items()))
def test_arabic_plural_forms_at_runtime(n, form):
    """Through the code's own path: dialogs.i18n.ngettext in the Arabic locale."""
    cat = _read(_catalog_path("ar"), locale="ar")
    plurals = [message for message in _entries(cat) if message.pluralizable]
    assert plurals, "the Arabic catalog has no plural message to test with"
    for message in plurals:
        singular, plural = message.id[0], message.id[1]
        assert len(message.string) == 6
        assert catalog("ar").plural(n) == form
        with use_locale("ar"):
            assert ngettext(singular, plural, n) == message.string[form]
