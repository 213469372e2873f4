"""The reviewers' workflow: ``meedoen translations export | import | preview``.

Run through the real command line on a copy of the real catalogs (``--locales``), with real
.xlsx (openpyxl) and .csv files.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app.cli import main
from bot.operations.preview import conversation
from bot.operations.translations import COLUMNS, LOCALES, STATUS_START, catalog_path, key_of, read_catalog
from dialogs.types import LANGUAGES


@pytest.fixture()
def locales(tmp_path) -> Path:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES, copy)
    return copy


def _catalogs(root: Path) -> dict[str, bytes]:
    return {language: catalog_path(language, root).read_bytes() for language in LANGUAGES}


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def _write_csv(path: Path, lines: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(lines)


def _row(lines: list[list[str]], key: str, form: str = "") -> list[str]:
    return next(line for line in lines if line[0] == key and line[1] == form)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_leaves_every_catalog_byte_for_byte_unchanged(language, suffix, locales, tmp_path, capsys):
    before = _catalogs(locales)
    out = tmp_path / f"{language}{suffix}"
    assert main(["translations", "export", "--lang", language, "--out", str(out), "--locales", str(locales)]) == 0
    assert main(["translations", "import", str(out), "--locales", str(locales)]) == 0
    assert _catalogs(locales) == before
    assert "0 translation(s) changed, 0 string(s) marked reviewed" in capsys.readouterr().out


def test_the_export_has_one_row_per_string_with_source_dutch_context_and_limit(locales, tmp_path):
    out = tmp_path / "so.xlsx"
    assert main(["translations", "export", "--lang", "so", "--out", str(out), "--locales", str(locales)]) == 0
    sheet = load_workbook(out).worksheets[0]
    lines = [["" if c is None else str(c) for c in line] for line in sheet.iter_rows(values_only=True)]
    assert lines[0] == [*COLUMNS[:4], "current (so)", *COLUMNS[5:]]
    catalog = read_catalog("so", locales)
    plural_forms = sum(len(m.string) for m in catalog if m.id and m.pluralizable)
    plain = sum(1 for m in catalog if m.id and not m.pluralizable)
    assert len(lines) - 1 == plain + plural_forms
    skip = _row(lines, "Skip")
    assert skip[2:5] == ["Skip", "Overslaan", "Ka gudub"]
    assert skip[6] == "20"  # a button: WhatsApp's limit
    assert "[Ka gudub]" not in skip[5] and "[Skip]" in skip[5]  # the buttons around it, in English
    assert "preview" in _row(lines, "I'm coming")[5]
    assert all(line[7] == "" and line[8] == "" for line in lines[1:])


def test_a_suggestion_and_an_ok_are_applied_and_marked_reviewed(locales, tmp_path, capsys):
    out = tmp_path / "so.csv"
    main(["translations", "export", "--lang", "so", "--out", str(out), "--locales", str(locales)])
    lines = _read_csv(out)
    _row(lines, "Skip")[7] = "Iska dhaaf"
    _row(lines, "Skip")[8] = "haa"
    _row(lines, "Yes")[8] = "yes"
    _write_csv(out, lines)
    before = catalog_path("so", locales).read_text(encoding="utf-8")

    assert main(["translations", "import", str(out), "--locales", str(locales)]) == 0
    assert "1 translation(s) changed, 2 string(s) marked reviewed" in capsys.readouterr().out
    after = catalog_path("so", locales).read_text(encoding="utf-8")
    assert after == before.replace('msgid "Skip"\nmsgstr "Ka gudub"', 'msgid "Skip"\nmsgstr "Iska dhaaf"')
    review = (locales / "REVIEW.md").read_text(encoding="utf-8")
    status = review.split(STATUS_START, 1)[1]
    assert "| Somali (so) | 2 of " in status and "| Arabic (ar) | 0 of " in status
    assert "'Skip'" in status and "'Yes'" in status

    # A later change to a reviewed string's translation makes it "not yet" again.
    lines = _read_csv(out)
    _row(lines, "Yes")[7], _row(lines, "Yes")[8] = "Haa!", ""
    _write_csv(out, lines)
    assert main(["translations", "import", str(out), "--locales", str(locales)]) == 0
    status = (locales / "REVIEW.md").read_text(encoding="utf-8").split(STATUS_START, 1)[1]
    assert "| Somali (so) | 1 of " in status and "'Yes'" not in status


def test_a_broken_row_is_rejected_with_a_clear_message_and_nothing_changes(locales, tmp_path, capsys):
    out = tmp_path / "ar.csv"
    main(["translations", "export", "--lang", "ar", "--out", str(out), "--locales", str(locales)])
    lines = _read_csv(out)
    number = {key: lines.index(_row(lines, key)) + 1 for key in ("Skip", "The seat in %(series)s is yours!", "Help")}
    _row(lines, "The seat in %(series)s is yours!")[7] = "المكان أصبح لك!"  # lost %(series)s
    _row(lines, "Skip")[7] = "تخطَّ هذا السؤال والأسئلة التالية"  # a button of 33 characters
    _row(lines, "Help")[7] = "مساعدة"  # a good row: still not applied
    _write_csv(out, lines)
    before, review = _catalogs(locales), (locales / "REVIEW.md").read_bytes()

    assert main(["translations", "import", str(out), "--locales", str(locales)]) == 2
    err = capsys.readouterr().err
    assert f"row {number['The seat in %(series)s is yours!']} " in err
    assert "placeholders must stay exactly as in the English (%(series)s); found none" in err
    assert f"row {number['Skip']} ('Skip'): 33 characters; at most 20 fit here" in err
    assert "nothing was changed; fix the 2 row(s) above" in err
    assert _catalogs(locales) == before and (locales / "REVIEW.md").read_bytes() == review


def test_import_refuses_a_file_it_cannot_read(locales, tmp_path, capsys):
    other = tmp_path / "so.csv"
    _write_csv(other, [["msgid", "msgstr"], ["Skip", "x"]])
    assert main(["translations", "import", str(other), "--locales", str(locales)]) == 2
    assert "does not have the columns of an export" in capsys.readouterr().err
    assert main(["translations", "import", str(tmp_path / "notes.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_preview_prints_the_whole_conversation_in_order(capsys):
    assert main(["translations", "preview", "--lang", "so"]) == 0
    printed = capsys.readouterr().out
    shown = conversation("so")
    positions = [printed.index(f"── {m.number}. ") for m in shown]
    assert positions == sorted(positions) and len(shown) > 40
    for message in shown:
        assert message.text in printed
        assert all(f"[ {label} ]" in printed for label in message.buttons)
    for words in ("Salaan!", "Ka gudub", "113 Zelfmoordpreventie", "Haa, ila soo xiriira", "/delete"):
        assert words in printed
    participant_side = {key_of(m) for m in read_catalog("so") if m.id}
    from bot.operations.preview import contexts

    assert len(set(contexts()) & participant_side) > 90  # most of what a man can see


def test_status_recounts_after_the_catalogs_change(locales, capsys):
    """``make catalogs`` runs it: a string added to a catalog counts as "not yet"."""
    from bot.operations.translations import write_catalog

    assert main(["translations", "status", "--locales", str(locales)]) == 0
    total = len([m for m in read_catalog("so", locales) if m.id])
    assert f"| Somali (so) | 0 of {total} | {total} |" in capsys.readouterr().out
    catalog = read_catalog("so", locales)
    catalog.add("A new string", "Qoraal cusub")
    write_catalog("so", catalog, locales)
    assert main(["translations", "status", "--locales", str(locales)]) == 0
    review = (locales / "REVIEW.md").read_text(encoding="utf-8")
    assert f"| Somali (so) | 0 of {total + 1} | {total + 1} |" in review
