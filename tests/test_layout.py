"""The layout docs/architecture.md draws is the layout of the package, and its rules hold in the code: the
engine's stages import only earlier stages, no module takes part in an import cycle, only the front-ends
print or exit, and no file reaches outside the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "promptreview"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text("utf-8")
PICTURE = ARCHITECTURE.split("```", 2)[1]
# Not a rule: a module past this many lines gets a look (is it one concern?), then a higher alarm or a split
# along a concern, never along a line count.
ALARM_LINES = 800
# beside the checkout, and this machine's own paths; spelled apart, so this file does not match itself
OUTSIDE = ("../" + "sh" + "ared", "/" + "work/")

# The engine's stages in the order data flows through them: a stage may import its own modules and earlier
# stages, never a later one. `engine/jobs.py` (the records the stages hand each other) comes before them all
# and imports none; the modules at the top of `engine/` (review, sequential, assemble) compose the stages.
STAGES = ("planning", "execution", "measurement", "quality", "gates")
JOBS_RANK, TOP_RANK = 0, len(STAGES) + 1

FOLDERS = sorted(p.parent.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*/__init__.py"))
# (`_version.py` is written by setuptools-scm when the package is built: no module of ours)
TOP_MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))


def modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports (third-party ones included): `subprocess`, `click`, ..."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of `package` -> the modules of `package` it imports, wherever in the file: at the top,
    under `if TYPE_CHECKING:`, inside a function. `from P import name` is an edge to `P.name` when that is a
    module, else to `P` itself (its `__init__`, whose own imports are then edges of their own): importing a
    package that re-exports its modules imports them. The packages Python runs on the way to a module
    (`import a.b.c` runs `a/__init__` and `a/b/__init__`) are not edges: a module does not name them."""
    files = {module_name(p, package): p for p in modules(package)}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name in files}
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: `from . import x`, `from ..a import b`
                    base = here[: len(here) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in files:
                        found.add(f"{source}.{alias.name}")
                    elif source in files:
                        found.add(source)
        graph[name] = found - {name}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle as its modules (the first repeated at the end), or None when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target in path:
                return path[path.index(target) :] + [target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def stage_rank(module: str) -> int | None:
    """Where an engine module sits in the flow (None: outside the engine, or in a folder no stage names)."""
    parts = module.split(".")
    if parts[:2] != ["promptreview", "engine"]:
        return None
    inside = parts[2:]
    if inside == ["jobs"]:
        return JOBS_RANK
    if inside and inside[0] in STAGES:
        return STAGES.index(inside[0]) + 1
    if not inside or (len(inside) == 1 and not (PACKAGE / "engine" / inside[0]).is_dir()):
        return TOP_RANK  # engine/__init__, review, sequential, assemble
    return None


def backwards_imports(graph: Mapping[str, set[str]]) -> list[tuple[str, str]]:
    """Engine imports against the flow: a stage importing a later stage (or the top), jobs importing a stage."""
    wrong = []
    for module, targets in graph.items():
        rank = stage_rank(module)
        if rank is None:
            continue
        for target in sorted(targets):
            other = stage_rank(target)
            if other is not None and (other > rank or (rank == JOBS_RANK and other != JOBS_RANK)):
                wrong.append((module, target))
    return wrong


def calls(source: str) -> set[str]:
    """Names called as `name(...)` or `module.name(...)`: `print`, `sys.exit`, ..."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                found.add(f"{func.value.id}.{func.attr}")
    return found


GRAPH = import_graph(PACKAGE)
PRINTS_OR_EXITS = {"print", "sys.exit", "exit", "quit", "click.echo", "os._exit"}


# --- the picture and the folder table -------------------------------------------------------------------


def test_the_picture_names_every_folder_and_nothing_else():
    drawn = set(re.findall(r"\b([a-z_]+)/", PICTURE))
    assert drawn == {folder.rsplit("/", 1)[-1] for folder in FOLDERS}


def test_the_picture_names_the_shared_vocabulary():
    line = next(line for line in PICTURE.splitlines() if "shared vocabulary" in line)
    assert sorted(re.findall(r"(\w+)\.py", line)) == TOP_MODULES


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_module_is_in_the_picture_and_its_folder_row(folder):
    here = PACKAGE / folder
    names = {p.stem for p in here.glob("*.py") if not p.stem.startswith("_")}
    names |= {p.parent.name + "/" for p in here.glob("*/__init__.py")}
    rows = [line for line in ARCHITECTURE.splitlines() if line.startswith(f"| `{folder}/` |")]
    assert len(rows) == 1, f"docs/architecture.md has no row (or several) for {folder}/"
    picture_words = set(re.findall(r"[\w/]+", PICTURE))
    for name in sorted(names):
        assert f"`{name.rstrip('/')}" in rows[0], f"{folder}/{name} is not in the folder table"
        assert name in picture_words or name.rstrip("/") in picture_words, f"{folder}/{name} is not drawn"


def test_the_picture_draws_the_stages_in_their_order():
    line = next(line for line in PICTURE.splitlines() if "planning/" in line)
    assert [m for m in re.findall(r"([a-z]+)/", line) if m in STAGES] == list(STAGES)


# --- stage direction inside the engine ------------------------------------------------------------------


def test_every_engine_module_has_a_place_in_the_flow():
    """A new folder under engine/ is a stage in STAGES (and the picture), or it is not allowed."""
    engine = [m for m in GRAPH if m.split(".")[:2] == ["promptreview", "engine"]]
    assert engine and not [m for m in engine if stage_rank(m) is None]
    assert stage_rank("promptreview.engine.jobs") == JOBS_RANK
    assert stage_rank("promptreview.engine.review") == TOP_RANK


def test_no_stage_imports_a_later_one():
    assert backwards_imports(GRAPH) == []


def test_the_job_records_are_a_leaf_of_the_engine():
    assert not [m for m in GRAPH["promptreview.engine.jobs"] if m.startswith("promptreview.engine")]


def test_the_direction_check_catches_an_import_against_the_flow():
    graph = {
        "promptreview.engine.planning.plan": {"promptreview.engine.gates.decision"},  # back from gates
        "promptreview.engine.jobs": {"promptreview.engine.planning.plan"},  # the leaf importing a stage
        "promptreview.engine.gates.decision": {"promptreview.engine.review"},  # a stage importing the top
        "promptreview.engine.quality.judges": {
            "promptreview.engine.measurement.outcomes",  # earlier: fine
            "promptreview.engine.quality.checks",  # same stage: fine
            "promptreview.engine.jobs",  # the leaf: fine
            "promptreview.records",  # outside the engine: not this rule's business
        },
        "promptreview.engine.review": {
            "promptreview.engine.gates.decision",
            "promptreview.engine.sequential",
        },
    }
    assert backwards_imports(graph) == [
        ("promptreview.engine.planning.plan", "promptreview.engine.gates.decision"),
        ("promptreview.engine.jobs", "promptreview.engine.planning.plan"),
        ("promptreview.engine.gates.decision", "promptreview.engine.review"),
    ]


# --- no import cycles ------------------------------------------------------------------------------------


def test_the_package_has_no_import_cycle():
    assert find_cycle(GRAPH) is None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None  # a diamond is no cycle
    assert find_cycle({"x": {"y"}, "y": {"x"}}) == ["x", "y", "x"]


def test_the_import_graph_counts_type_checking_function_level_and_re_exported_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "b.py": "def f():\n    from pkg import c\n    return c\n",
        "c.py": "from pkg.sub import helper\n",  # a name the package's __init__ re-exports
        "d.py": "import pkg.a\nfrom . import b\nfrom .sub import inner\n",
        "sub/__init__.py": "from .inner import helper\n",
        "sub/inner.py": "from ..a import thing\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, "utf-8")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"}  # under TYPE_CHECKING
    assert graph["pkg.b"] == {"pkg.c"}  # inside a function
    assert graph["pkg.c"] == {"pkg.sub"}  # the package's __init__ ...
    assert graph["pkg.sub"] == {"pkg.sub.inner"}  # ... which imports its module
    assert graph["pkg.d"] == {"pkg.a", "pkg.b", "pkg.sub.inner"}
    assert graph["pkg.sub.inner"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.sub", "pkg.sub.inner", "pkg.a"]


# --- what each layer may do ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [p for p in modules(PACKAGE) if p.relative_to(PACKAGE).parts[0] != "cli"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_cli_prints_or_exits(path):
    """Only the front-ends meet the outside world, and the GitHub one hands its lines to a sink the CLI
    supplies: nothing outside `cli/` prints, exits or imports click."""
    assert not calls(path.read_text("utf-8")) & PRINTS_OR_EXITS
    assert "click" not in imports(path)


def test_the_print_check_sees_prints_and_exits():
    source = "import sys, click\ndef f():\n    print('x')\n    click.echo('y')\n    sys.exit(2)\n"
    assert calls(source) & PRINTS_OR_EXITS == {"print", "click.echo", "sys.exit"}
    assert not calls("log = []\nlog.append('x')\n") & PRINTS_OR_EXITS


def test_nothing_below_the_front_ends_imports_them():
    front_ends = ("promptreview.cli", "promptreview.github")
    below = {m: t for m, t in GRAPH.items() if not m.startswith(front_ends) and m != "promptreview.__main__"}
    assert not {m: t for m, t in below.items() if {x for x in t if x.startswith(front_ends)}}


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


@pytest.mark.parametrize("path", modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_past_the_size_alarm(path):
    assert len(path.read_text("utf-8").splitlines()) <= ALARM_LINES


# --- the tests mirror the package ----------------------------------------------------------------------


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_package_folder_has_its_test_folder(folder):
    """The tests of `promptreview/<folder>/x.py` are in `tests/<folder>/test_x.py`: the folder is there."""
    assert (ROOT / "tests" / folder / "__init__.py").is_file(), f"tests/{folder}/ is missing"


# --- the repository is self-contained --------------------------------------------------------------------


def repository_files() -> list[Path]:
    """Every file the repository holds: git's list when this is a checkout, else a walk of the tree."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def test_nothing_in_the_repository_reaches_beside_it():
    """No file names a path beside the checkout or on the machine it was written on. (Test fixtures are
    verbatim copies of public artifacts, kept as published.)"""
    files = [p for p in repository_files() if p.is_file() and "fixtures" not in p.relative_to(ROOT).parts]
    assert any(p.name == "README.md" for p in files) and any(p.suffix == ".py" for p in files)
    for path in files:
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        assert not [o for o in OUTSIDE if o in text], path


def test_doc_links_stay_inside_the_repository():
    for doc in [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
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
