"""The repository stands alone: no tracked file refers to a path outside it.

A fresh clone must pass ``make test`` with nothing beside it (issue 10: the tests once read
their API contracts from ``../shared``, and docstrings pointed at a design document that was
not in the repository). Over every tracked file (``git ls-files``; ``.git`` is never tracked):

- no ``../shared``, and no relative path whose ``..`` climbs out of the repository from the
  file that names it;
- no ``Path(__file__)`` walked up beyond the repository's root (``.parents[N]``, ``.parent``
  chains), and no step above a name for the root (``REPOSITORY.parent``);
- no absolute path of a developer's machine (a home folder, this workspace, the clone itself);
- every relative link in a Markdown file, and every ``*.md`` document named anywhere, exists.

This file names the forbidden patterns, so it is not searched itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SELF = PurePosixPath(Path(__file__).resolve().relative_to(REPOSITORY).as_posix())
THIRD_PARTY = ("tests/contracts/", "package-lock.json")  # copies kept unchanged (see its README)


@cache
def tracked() -> dict[PurePosixPath, str]:
    """Every tracked text file and its text, except this one."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: install git to check that the repository stands alone")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPOSITORY, capture_output=True, timeout=60
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: clone the repository with git to run this check")
    files = {}
    for name in listed.stdout.decode().split("\0"):
        path = PurePosixPath(name)
        if not name or path == SELF or not (REPOSITORY / name).is_file():
            continue
        try:
            files[path] = (REPOSITORY / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary file names no paths
    return files


def own() -> dict[PurePosixPath, str]:
    return {p: t for p, t in tracked().items() if not str(p).startswith(THIRD_PARTY)}


def hits(pattern: str, files: dict[PurePosixPath, str]) -> list[tuple[PurePosixPath, int, re.Match]]:
    compiled = re.compile(pattern)
    found = []
    for path, text in files.items():
        for number, line in enumerate(text.splitlines(), start=1):
            found += [(path, number, match) for match in compiled.finditer(line)]
    return found


def inside(path: PurePosixPath, relative: str) -> bool:
    """Whether ``relative``, read from the folder of ``path``, stays in the repository."""
    depth = 0
    for part in (*path.parent.parts, *PurePosixPath(relative).parts):
        depth = depth - 1 if part == ".." else depth + (part not in (".", ""))
        if depth < 0:
            return False
    return True


def test_nothing_names_the_shared_folder_or_climbs_out_of_the_repository():
    assert tracked(), "no tracked files found"
    wrong = [
        f"{path}:{number}: {match.group(0)}"
        for path, number, match in hits(r"(?:\.\./)+[\w.-]*", tracked())
        if "shared" in match.group(0) or not inside(path, match.group(0))
    ]
    assert not wrong, "paths outside the repository:\n" + "\n".join(wrong)


def test_no_python_file_walks_above_the_repository_root():
    python = {p: t for p, t in own().items() if p.suffix == ".py"}
    wrong = []
    for path, number, match in hits(r"Path\(__file__\)(?:\.resolve\(\))?(\.parents\[(\d+)\]|(?:\.parent\b)+)", python):
        steps = int(match.group(2)) + 1 if match.group(2) else match.group(1).count(".parent")
        if steps > len(path.parts):  # the root is len(parts) steps up from the file
            wrong.append(f"{path}:{number}: {match.group(0)}")
    for path, number, match in hits(r"\b[A-Z_]*(?:ROOT|REPOSITORY|REPO)\.parent\b", python):
        wrong.append(f"{path}:{number}: {match.group(0)}")
    assert not wrong, "Python files reaching outside the repository:\n" + "\n".join(wrong)


def test_no_absolute_path_of_a_developers_machine():
    machine = [re.escape(str(REPOSITORY)), r"(?<![\w./:~-])/(?:home|Users|root|work)/", r"[A-Za-z]:\\Users\\"]
    wrong = [f"{path}:{number}: {match.group(0)}" for path, number, match in hits("|".join(machine), own())]
    assert not wrong, "absolute paths of a developer's machine:\n" + "\n".join(wrong)


def test_every_relative_markdown_link_exists():
    markdown = {p: t for p, t in own().items() if p.suffix == ".md"}
    wrong = []
    for path, number, match in hits(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", markdown):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        if not inside(path, target) or not (REPOSITORY / path.parent / target).exists():
            wrong.append(f"{path}:{number}: {target}")
    assert not wrong, "links to files that are not in the repository:\n" + "\n".join(wrong)


def test_every_document_named_exists():
    """``see docs/architecture.md`` in a docstring must lead somewhere: a path from the root or
    from the naming file's folder, or a bare name of a document somewhere in the tree."""
    names = {p.name for p in tracked()}
    wrong = []
    for path, number, match in hits(r"(?<![\w/.:-])([\w-]+(?:/[\w.-]+)*\.md)\b", own()):
        document = match.group(1)
        if "/" in document:
            found = (REPOSITORY / document).exists() or (REPOSITORY / path.parent / document).exists()
        else:
            found = document in names
        if not found:
            wrong.append(f"{path}:{number}: {document}")
    assert not wrong, "documents named but not in the repository:\n" + "\n".join(wrong)
