"""Native reviewers' workflow for the catalogs: ``meedoen translations export|import|preview``.

A volunteer who is not a developer reviews one language in a spreadsheet:

- ``export --lang so --out so.xlsx`` (or ``.csv``) writes one row per string (one per plural
  form): the English source, the Dutch text, the current translation, where it appears (the
  step of the conversation, the buttons shown with it), its character limit, and empty
  "suggested" and "ok?" columns;
- ``import FILE`` applies the rows he filled in: a "suggested" text replaces the translation,
  an "ok?" of yes (ja, haa, نعم, x, ✓ ...) marks the string reviewed. Every row is checked first
  (placeholders and slash commands as in the source, no direction marks, the character limit);
  if any row is wrong, nothing is written and each wrong row is reported with its number. The
  catalog is written the way ``make catalogs`` writes it (sorted, no locations), so a
  round trip without changes leaves it byte for byte as it was;
- reviewed strings are listed in a generated part of ``locales/REVIEW.md`` (by a fingerprint of
  source and translation, so a string whose source or translation changes is "not yet" again),
  with a table of how many strings of each language are reviewed;
- ``preview --lang so`` prints every message of one language in order, as a man sees them
  (``bot.operations.preview``).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
SOURCES = (ROOT / "dialogs", ROOT / "bot")
LANGUAGE_NAMES = {"nl": "Dutch", "ar": "Arabic", "so": "Somali", "en": "English"}

BUTTON_LIMIT = 20
"""WhatsApp makes a choice a real button only when its label has at most 20 characters."""
MENU_LIMIT = 256
"""Telegram's limit for a command's description in the command menu."""
MESSAGE_LIMIT = 1024
"""WhatsApp's limit for the text above buttons (and well within a template's variable)."""

COLUMNS = ("key", "form", "English", "Dutch", "current", "context", "limit", "suggested", "ok?")
CURRENT = re.compile(r"current \((?P<language>[a-z]{2})\)")
"""The header of the translation column names its language: ``current (so)``."""
YES = frozenset({"yes", "y", "ok", "x", "✓", "✔", "ja", "j", "haa", "نعم", "1", "true"})

PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[a-zA-Z]")
SLASH_COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


class TranslationError(Exception):
    """A file that cannot be imported; the message says which rows and why."""


# --- catalogs, read and written as ``make catalogs`` does -------------------------------------


def catalog_path(language: str, root: Path = LOCALES) -> Path:
    return root / language / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str, root: Path = LOCALES):
    from babel.messages.pofile import read_po

    with catalog_path(language, root).open("rb") as handle:
        return read_po(handle, locale=language)


def catalog_bytes(catalog, original: bytes) -> bytes:
    """``catalog`` as ``pybabel update --no-location --sort-output`` writes it, keeping the
    original file's ``Generated-By`` line (Babel puts its own version there)."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=76, no_location=True, sort_output=True)
    written = buffer.getvalue()
    old = re.search(rb'"Generated-By: [^"]*"', original)
    if old:
        written = re.sub(rb'"Generated-By: [^"]*"', lambda _m: old.group(0), written, count=1)
    return written


def write_catalog(language: str, catalog, root: Path = LOCALES) -> None:
    target = catalog_path(language, root)
    target.write_bytes(catalog_bytes(catalog, target.read_bytes()))


def forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def key_of(message) -> str:
    return message.id[0] if message.pluralizable else message.id


# --- where each string appears ------------------------------------------------------------------


@dataclass
class Usage:
    """What the code says about one msgid: where it is used, and whether it labels a button."""

    places: set[str] = field(default_factory=set)
    button: bool = False
    menu: bool = False


def usages() -> dict[str, Usage]:
    """msgid → its uses, read from the source (``_``, ``N_``, ``ngettext`` calls; a label
    given to ``Option`` is a button; ``dialogs/menu.py`` holds the command menu)."""
    found: dict[str, Usage] = {}
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            _scan(ast.parse(path.read_text(encoding="utf-8")), f"{folder.name}/{path.relative_to(folder)}", found)
    return found


def _scan(tree: ast.AST, filename: str, found: dict[str, Usage]) -> None:
    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call):
            msgid = _msgid(node)
            if msgid is not None:
                usage = found.setdefault(msgid, Usage())
                usage.places.add(f"{filename}:{function}" if function else filename)
                usage.menu |= filename.endswith("menu.py")
            if getattr(node.func, "id", None) == "Option" and node.args:
                label = _msgid(node.args[0]) if isinstance(node.args[0], ast.Call) else None
                if label is not None:
                    found.setdefault(label, Usage()).button = True
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")


def _msgid(call: ast.Call) -> str | None:
    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
    if name in ("_", "N_", "gettext", "ngettext") and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def button_msgids() -> set[str]:
    """Every msgid the code shows as a button label."""
    return {msgid for msgid, usage in usages().items() if usage.button}


def limit_of(msgid: str, usage: Usage | None) -> int:
    if usage is not None and usage.button:
        return BUTTON_LIMIT
    if usage is not None and usage.menu:
        return MENU_LIMIT
    return MESSAGE_LIMIT


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    form: str  # "" for a plain string, else the plural form's number
    english: str
    dutch: str
    current: str
    context: str
    limit: int
    suggested: str = ""
    ok: str = ""

    def cells(self) -> list[str | int]:
        return [self.key, self.form, self.english, self.dutch, self.current, self.context,
                self.limit, self.suggested, self.ok]


def rows(language: str, root: Path = LOCALES) -> list[Row]:
    from bot.operations.preview import contexts

    catalog, dutch = read_catalog(language, root), read_catalog("nl", root)
    uses, seen = usages(), contexts()
    result = []
    for message in catalog:
        if not message.id:
            continue
        key = key_of(message)
        usage = uses.get(key)
        where = [*seen.get(key, ()), *sorted(usage.places if usage else ())]
        context = "\n".join(dict.fromkeys(where)) or "(not used by the code)"
        limit = limit_of(key, usage)
        nl = dutch.get(message.id)
        nl_forms = forms(nl) if nl is not None else [""]
        if message.pluralizable:
            english = f"{message.id[0]} / {message.id[1]}"
            for index, text in enumerate(forms(message)):
                rule = f"plural form {index} ({_examples(language, index)})"
                result.append(Row(key, str(index), english, " / ".join(nl_forms), text,
                                  f"{rule}\n{context}", limit))
        else:
            result.append(Row(key, "", message.id, nl_forms[0], message.string, context, limit))
    return result


def _examples(language: str, index: int) -> str:
    """The numbers that take plural form ``index``, by the rule the code uses at run time."""
    from dialogs.i18n import catalog

    numbers = [n for n in range(0, 111) if catalog(language).plural(n) == index][:4]
    return "n = " + ", ".join(map(str, numbers)) + (" …" if len(numbers) == 4 else "")


def header(language: str) -> list[str]:
    return [f"current ({language})" if column == "current" else column for column in COLUMNS]


def export(language: str, out: Path, root: Path = LOCALES) -> int:
    table = rows(language, root)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(header(language))
            writer.writerows(row.cells() for row in table)
    elif suffix == ".xlsx":
        _write_xlsx(language, table, out)
    else:
        raise TranslationError(f"cannot write {out.name}: use a file name ending in .xlsx or .csv")
    return len(table)


def _write_xlsx(language: str, table: list[Row], out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = f"review-{language}"
    sheet.append(header(language))
    for row in table:
        sheet.append(row.cells())
    widths = {"A": 30, "B": 6, "C": 45, "D": 45, "E": 45, "F": 40, "G": 7, "H": 45, "I": 6}
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width
    wrap = Alignment(wrap_text=True, vertical="top", readingOrder=2 if language == "ar" else 0)
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = wrap
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in (*sheet["H"][1:], *sheet["I"][1:]):
        cell.fill = PatternFill("solid", fgColor="FFF2CC")
    sheet.freeze_panes = "C2"
    book.save(out)


# --- import ------------------------------------------------------------------------------------


def read_table(path: Path) -> tuple[str, list[dict[str, str]]]:
    """The language of a reviewed file and its rows, as ``{column: text}``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise TranslationError(f"{path} does not exist")
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        lines = [["" if cell is None else str(cell) for cell in line] for line in sheet.iter_rows(values_only=True)]
    else:
        raise TranslationError(f"cannot read {path.name}: use an .xlsx or .csv file from `meedoen translations export`")
    from dialogs.types import LANGUAGES

    names = [cell.strip() for cell in lines[0][: len(COLUMNS)]] if lines else []
    current = CURRENT.fullmatch(names[4]) if len(names) == len(COLUMNS) else None
    if current is None or current.group("language") not in LANGUAGES or names != header(current.group("language")):
        raise TranslationError(
            f"{path.name} does not have the columns of an export ({', '.join(header('so'))}); "
            "export the language again and copy your suggestions into it"
        )
    return current.group("language"), [dict(zip(COLUMNS, [*line, *[""] * len(COLUMNS)], strict=False)) for line in lines[1:]]


@dataclass
class ImportResult:
    changed: int = 0
    reviewed: int = 0
    problems: list[str] = field(default_factory=list)


def apply(
    language: str, table: list[dict[str, str]], *, root: Path = LOCALES, dry_run: bool = False
) -> ImportResult:
    """Check every row, then (only if all are right) write the catalog and the review list."""
    catalog = read_catalog(language, root)
    uses = usages()
    result = ImportResult()
    reviewed = load_reviewed(language, root)
    changes: list[tuple[object, int | None, str]] = []
    ok_forms: dict[str, set[int]] = {}
    for number, row in enumerate(table, start=2):  # row 1 is the header
        key, form = row["key"], row["form"].strip()
        if not any(value.strip() for value in row.values()):
            continue
        message = _find(catalog, key)
        if message is None:
            result.problems.append(f"row {number}: no string {_short(key)!r} in the {language} catalog")
            continue
        index = int(form) if form.isdigit() else None
        if message.pluralizable != (index is not None) or (
            index is not None and index >= len(forms(message))
        ):
            result.problems.append(f"row {number}: form {form!r} does not fit {_short(key)!r}")
            continue
        current = forms(message)[index or 0]
        suggested = row["suggested"].strip()
        problem = check_text(message, suggested or current, limit_of(key, uses.get(key)))
        if problem:
            result.problems.append(f"row {number} ({_short(key)!r}): {problem}")
            continue
        if suggested and suggested != current:
            changes.append((message, index, suggested))
        if row["ok?"].strip().lower() in YES:
            ok_forms.setdefault(key, set()).add(index or 0)
    if result.problems or dry_run:
        return result
    for message, index, text in changes:
        if index is None:
            message.string = text
        else:
            values = forms(message)
            values[index] = text
            message.string = tuple(values)
        result.changed += 1
    for key, done in ok_forms.items():
        message = _find(catalog, key)
        if done >= set(range(len(forms(message)))):  # a plural string: every form ok
            reviewed.add(fingerprint(message))
            result.reviewed += 1
    if result.changed:
        write_catalog(language, catalog, root)
    write_review_status({language: reviewed}, root)
    return result


def _find(catalog, key: str):
    for message in catalog:
        if message.id and key_of(message) == key:
            return message
    return None


def _short(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def check_text(message, text: str, limit: int) -> str | None:
    """Why ``text`` cannot stand for ``message``, or None."""
    sources = [message.id] if isinstance(message.id, str) else list(message.id)
    wanted = [sorted(PLACEHOLDER.findall(source)) for source in sources]
    found = sorted(PLACEHOLDER.findall(text))
    if found not in wanted:
        expected = " ".join(wanted[0]) or "none"
        return f"the placeholders must stay exactly as in the English ({expected}); found {' '.join(found) or 'none'}"
    commands = [set(SLASH_COMMAND.findall(source)) for source in sources]
    if set(SLASH_COMMAND.findall(text)) not in commands:
        return f"the commands must stay as in the English ({' '.join(sorted(commands[0])) or 'none'})"
    if BIDI_CONTROLS.search(text):
        return "remove the direction marks: the code adds them"
    if message.python_format and "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
        return "a lone % sign: write %% for a percent sign"
    shown = PLACEHOLDER.sub("xxxxxxxxxx", text) if found else text
    if len(shown) > limit:
        return f"{len(shown)} characters; at most {limit} fit here"
    if not text.strip():
        return "the text is empty"
    return None


# --- review status -----------------------------------------------------------------------------

STATUS_START = "<!-- review-status: generated by `meedoen translations import`; do not edit by hand -->"
STATUS_END = "<!-- /review-status -->"
_HEADING = re.compile(r"^### Reviewed strings: .*\((?P<language>[a-z]{2})\)$")
_ENTRY = re.compile(r"^- `(?P<fingerprint>[0-9a-f]{16})`")


def fingerprint(message) -> str:
    """Source and translation together: a change to either makes the string "not yet" again."""
    text = "\x1f".join([*([message.id] if isinstance(message.id, str) else message.id), *forms(message)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_reviewed(language: str, root: Path = LOCALES) -> set[str]:
    """The fingerprints marked reviewed for ``language`` in the generated part of REVIEW.md."""
    text = (root / "REVIEW.md").read_text(encoding="utf-8")
    if STATUS_START not in text:
        return set()
    block = text.split(STATUS_START, 1)[1].split(STATUS_END, 1)[0]
    found, current = set(), None
    for line in block.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = heading.group("language")
        elif current == language and (entry := _ENTRY.match(line)):
            found.add(entry.group("fingerprint"))
    return found


def review_status(reviewed: dict[str, set[str]], root: Path = LOCALES) -> tuple[list[str], list[str]]:
    """The generated part of REVIEW.md, as (table, lists): per language, how many strings a
    native speaker has marked ok, and which (a string whose source or translation changed
    since is not listed)."""
    from dialogs.types import LANGUAGES

    table = ["| Language | Reviewed | Not yet |", "|---|---|---|"]
    lists = []
    for language in LANGUAGES:
        messages = sorted((m for m in read_catalog(language, root) if m.id), key=key_of)
        done = [m for m in messages if fingerprint(m) in reviewed.get(language, set())]
        name = f"{LANGUAGE_NAMES[language]} ({language})"
        table.append(f"| {name} | {len(done)} of {len(messages)} | {len(messages) - len(done)} |")
        if done:
            lists += ["", f"### Reviewed strings: {name}", ""]
            lists += [f"- `{fingerprint(m)}` {_short(key_of(m), 70)!r}" for m in done]
    return table, lists


def write_review_status(reviewed: dict[str, set[str]] | None = None, root: Path = LOCALES) -> list[str]:
    """Rewrite the generated part of REVIEW.md (``reviewed`` replaces what it lists for a
    language); returns its table."""
    from dialogs.types import LANGUAGES

    path = root / "REVIEW.md"
    reviewed = {**{lang: load_reviewed(lang, root) for lang in LANGUAGES}, **(reviewed or {})}
    text = path.read_text(encoding="utf-8")
    table, lists = review_status(reviewed, root)
    block = "\n".join([STATUS_START, "", *table, *lists, "", STATUS_END])
    if STATUS_START in text and STATUS_END in text:
        before, rest = text.split(STATUS_START, 1)
        new = before + block + rest.split(STATUS_END, 1)[1]
    else:
        new = text.rstrip("\n") + "\n\n## Strings reviewed so far\n\n" + block + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return table


# --- the command line ----------------------------------------------------------------------------


def add_parser(commands) -> None:
    """``meedoen translations ...``, added to the CLI's subcommands."""
    from dialogs.types import LANGUAGES

    parser = commands.add_parser(
        "translations", help="native reviewers' workflow: export, import and preview a language"
    )
    actions = parser.add_subparsers(dest="translations_command", required=True, metavar="ACTION")
    export_ = actions.add_parser(
        "export", help="write one language's strings to a spreadsheet (.xlsx or .csv) for a reviewer"
    )
    export_.add_argument("--lang", required=True, choices=LANGUAGES, help="the language to review")
    export_.add_argument("--out", required=True, metavar="FILE", help="the file to write: .xlsx or .csv")
    import_ = actions.add_parser(
        "import", help="apply a reviewed spreadsheet (its language is in the header): "
        "suggested texts, and strings marked ok"
    )
    import_.add_argument("file", metavar="FILE", help="an .xlsx or .csv file made by export")
    import_.add_argument("--check", action="store_true", help="only check the rows; change nothing")
    for action in (export_, import_):
        action.add_argument("--locales", metavar="DIR", default=str(LOCALES),
                            help="the catalogs' folder (default: the project's locales/)")
    preview = actions.add_parser(
        "preview", help="print every message of one language in order, as a man sees them"
    )
    preview.add_argument("--lang", required=True, choices=LANGUAGES, help="the language to show")
    status = actions.add_parser(
        "status", help="recount the reviewed strings in locales/REVIEW.md (make catalogs runs it)"
    )
    status.add_argument("--locales", metavar="DIR", default=str(LOCALES),
                        help="the catalogs' folder (default: the project's locales/)")


async def command(args, settings) -> int:
    """Run one ``meedoen translations`` action; a problem is one sentence on stderr (exit 2)."""
    import sys

    try:
        if args.translations_command == "export":
            count = export(args.lang, Path(args.out), Path(args.locales))
            print(f"{args.out}: {count} strings of the {LANGUAGE_NAMES[args.lang]} catalog. Fill in "
                  "“suggested” where a text should change and “ok?” (yes) where it is right, then "
                  f"run: meedoen translations import {args.out}")
            return 0
        if args.translations_command == "status":
            print("\n".join(write_review_status(root=Path(args.locales))))
            return 0
        if args.translations_command == "preview":
            from bot.operations.preview import render

            print(render(args.lang))
            return 0
        path = Path(args.file)
        language, table = read_table(path)
        result = apply(language, table, root=Path(args.locales), dry_run=args.check)
    except TranslationError as error:
        print(f"meedoen: {error}", file=sys.stderr)
        return 2
    if result.problems:
        for problem in result.problems:
            print(problem, file=sys.stderr)
        print(f"meedoen: nothing was changed; fix the {len(result.problems)} row(s) above in "
              f"{path.name} and import it again.", file=sys.stderr)
        return 2
    if args.check:
        print(f"{path.name}: every row can be imported.")
    else:
        print(f"{LANGUAGE_NAMES[language]}: {result.changed} translation(s) changed, "
              f"{result.reviewed} string(s) marked reviewed; locales/REVIEW.md updated.")
    return 0
