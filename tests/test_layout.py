"""The layout docs/architecture.md draws is the layout of the package, and its rules hold in the code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "promptreview"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text("utf-8")
PICTURE = ARCHITECTURE.split("```", 2)[1]
MAX_LINES = 400
# beside the checkout, and this machine's own paths; spelled apart, so this file does not match itself
OUTSIDE = ("../" + "sh" + "ared", "/" + "work/")

SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
TOP_MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__"))


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def calls(path: Path) -> set[str]:
    """Names called as `name(...)` or `module.name(...)`: `print`, `sys.exit`, ..."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                found.add(f"{func.value.id}.{func.attr}")
    return found


NESTED = sorted(p.parent.name for p in PACKAGE.glob("*/*/__init__.py"))


def test_the_picture_names_every_folder_and_nothing_else():
    drawn = sorted(set(re.findall(r"\b([a-z]+)/", PICTURE)))
    assert drawn == sorted(SUBPACKAGES + NESTED)


def test_the_picture_names_the_shared_vocabulary():
    line = next(line for line in PICTURE.splitlines() if "shared vocabulary" in line)
    assert sorted(re.findall(r"(\w+)\.py", line)) == TOP_MODULES


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_module_is_in_the_picture_and_its_folder_row(package):
    folder = PACKAGE / package
    names = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    names |= {p.parent.name + "/" for p in folder.glob("*/__init__.py")}
    row = next(line for line in ARCHITECTURE.splitlines() if line.startswith(f"| `{package}/` |"))
    picture_words = set(re.findall(r"[\w/]+", PICTURE))
    for name in sorted(names):
        assert f"`{name.rstrip('/')}" in row, f"{package}/{name} is not in the folder table"
        assert name in picture_words or name.rstrip("/") in picture_words, f"{package}/{name} is not drawn"


@pytest.mark.parametrize("path", modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text("utf-8").splitlines()) <= MAX_LINES


@pytest.mark.parametrize("package", ["engine", "sources", "providers", "stats", "report", "github"])
def test_nothing_below_the_front_ends_prints_or_exits(package):
    for path in modules(PACKAGE / package):
        assert not calls(path) & {"print", "sys.exit", "exit", "click.echo", "os._exit"}, path
        assert "click" not in imports(path), path


def test_the_engine_shells_out_to_nothing_and_knows_no_github():
    for path in modules(PACKAGE / "engine") + modules(PACKAGE / "stats") + modules(PACKAGE / "report"):
        found = imports(path)
        assert "subprocess" not in found, path
        assert not {m for m in found if m == "github" or m.startswith(("github.", "promptreview.github"))}, (
            path
        )


def test_git_is_run_by_one_module():
    runners = [
        path.relative_to(PACKAGE).as_posix() for path in modules(PACKAGE) if "subprocess" in imports(path)
    ]
    assert runners == ["sources/git.py"]


def test_only_the_github_front_end_imports_pygithub():
    users = {
        path.relative_to(PACKAGE).parts[0]
        for path in modules(PACKAGE)
        if {m for m in imports(path) if m == "github" or m.startswith("github.")}
    }
    assert users <= {"github"}


def test_nothing_in_the_repository_reaches_beside_it():
    for folder in ("promptreview", "tests", "benchmarks", "scripts", "docs", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if (
                path.is_file()
                and path.suffix in (".py", ".md", ".toml", ".yml", ".yaml", "")
                and "fixtures" not in path.parts
            ):
                text = path.read_text("utf-8", errors="replace")
                assert not [o for o in OUTSIDE if o in text], path


def test_doc_links_stay_inside_the_repository():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text("utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).resolve().is_relative_to(ROOT), (doc.name, target)
            assert (doc.parent / target).exists(), (doc.name, target)


def test_starting_the_cli_loads_no_statistics_and_no_pygithub():
    """pandas and scipy load only when there is something to analyse; PyGithub only in `ci`."""
    code = (
        "import sys, promptreview.cli, promptreview.engine.review\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'github') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
