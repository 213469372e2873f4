"""The folders show the layers (docs/architecture.md, "The layers"): a module imports only from
its own layer and the layers below. An import that goes up (the store importing the engine) or
that makes two layers need each other fails here, naming the file and the import, so the
picture in the architecture notes stays true as the code grows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("dialogs", "bot.common"),
    ("bot.config",),
    ("bot.analytics",),
    ("bot.store",),
    ("bot.channels.base",),
    ("bot.delivery",),
    ("bot.channels",),
    ("bot.domain",),
    ("scheduler",),
    ("bot.operations",),
    ("bot.engine",),
    ("bot.console", "bot.app"),
)
"""Lowest first. A module belongs to the longest prefix that names it. Layers on one line may
import each other only where the line is the top (the front ends); elsewhere a module may use
its own folder and everything below."""

TOP = len(LAYERS) - 1


def layer_of(module: str) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (level, prefix)
    return best


def modules() -> list[tuple[str, Path]]:
    found = []
    for folder in ("bot", "dialogs", "scheduler"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            found.append((name, path))
    return found


def imported(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
    return out


def violations() -> list[str]:
    found = []
    for name, path in modules():
        own = layer_of(name)
        if own is None:
            continue
        for line, target in imported(path):
            other = layer_of(target)
            if other is None or other[1] == own[1]:
                continue
            if other[0] > own[0] or (other[0] == own[0] and own[0] != TOP):
                found.append(f"{path.relative_to(ROOT)}:{line} ({own[1]}) imports {target} ({other[1]})")
    return sorted(set(found))


def test_every_module_belongs_to_a_layer():
    assert [name for name, _ in modules() if layer_of(name) is None] == ["bot"]


def test_no_import_goes_up_or_sideways():
    assert violations() == []


def test_the_check_sees_an_import_that_goes_up(tmp_path, monkeypatch):
    """The check itself: a store module importing the engine is caught, a domain module
    importing the store is not."""
    import sys

    for folder, text in (("store", "from bot.engine import Engine\n"), ("domain", "from bot.store import series\n")):
        (tmp_path / "bot" / folder).mkdir(parents=True)
        (tmp_path / "bot" / folder / "example.py").write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations() == [
        "bot/store/example.py:1 (bot.store) imports bot.engine (bot.engine)",
        "bot/store/example.py:1 (bot.store) imports bot.engine.Engine (bot.engine)",
    ]
