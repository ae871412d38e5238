"""The documentation says what the code does: every module and name it points to exists, the configuration
reference shows every key the config schema has, the JSON report's example speaks the report schema's words,
and the README stays a first read that links to the rest."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.reports import REPORT_SCHEMA

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHARED = ("records", "vocabulary", "verdicts", "exitcodes", "errors", "secrets")
FOLDERS = ("engine", "report", "sources", "stats", "providers", "cli", "github")
FILE_SUFFIXES = ("md", "py", "json", "jsonl", "yml", "yaml", "txt", "html", "csv", "sqlite")


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def repository_paths() -> list[str]:
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    return [
        p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)
    ]


def missing_paths(spans: list[str], paths: list[str]) -> list[str]:
    """Code spans naming a file of ours (`engine/measurement/frame.py`, `promptreview/...`) that is not there.
    A bare file name (`app.py`) is an example, not a pointer; `promptreview/accept` is a label."""
    missing = []
    for span in spans:
        ours = re.fullmatch(r"promptreview/[\w./-]*", span) and (
            span.endswith("/") or "." in span.split("/")[-1]
        )
        if ours or re.fullmatch(r"[\w.-]+(/[\w.-]+)+\.py", span):
            name = span.rstrip("/")
            if not [p for p in paths if p == name or p.endswith("/" + name)]:
                missing.append(span)
    return missing


def missing_names(spans: list[str]) -> list[str]:
    """Code spans naming a module or an object of the package by its dotted name (`engine.jobs.ReviewOptions`,
    `stats.holm`, `promptreview.providers.pricing.PRICES_AS_OF`) that does not resolve."""
    first = "|".join(SHARED + FOLDERS)
    missing = []
    for span in spans:
        match = re.fullmatch(rf"(?:promptreview\.)?((?:{first})(?:\.\w+)+)", span)
        if not match or span.rsplit(".", 1)[-1] in FILE_SUFFIXES:
            continue
        parts = match.group(1).split(".")
        try:
            obj: Any = importlib.import_module(f"promptreview.{parts[0]}")
            for i, part in enumerate(parts[1:], start=1):
                if hasattr(obj, part):
                    obj = getattr(obj, part)
                else:
                    obj = importlib.import_module("promptreview." + ".".join(parts[: i + 1]))
        except ImportError:
            missing.append(span)
    return missing


def test_every_file_and_name_a_doc_points_to_exists():
    paths = repository_paths()
    for doc in DOCS:
        spans = code_spans(doc.read_text("utf-8"))
        assert missing_paths(spans, paths) == [], doc.name
        assert missing_names(spans) == [], doc.name


def test_the_pointer_check_catches_a_moved_module():
    paths = ["promptreview/engine/measurement/frame.py", "promptreview/providers/sim/rules.py"]
    spans = ["engine/measurement/frame.py", "sim/rules.py", "engine/frame.py", "app.py", "promptreview/gone/"]
    spans.append("promptreview/accept")
    assert missing_paths(spans, paths) == ["engine/frame.py", "promptreview/gone/"]
    names = ["engine.jobs.ReviewOptions", "stats.holm", "report.model.Report", "stats._common.x", "report.md"]
    assert missing_names(names) == ["report.model.Report", "stats._common.x"]


# --- the configuration reference ------------------------------------------------------------------------

CONFIG_SCHEMA = json.loads((ROOT / "promptreview" / "sources" / "config.schema.json").read_text("utf-8"))


def documented_config() -> dict[str, Any]:
    text = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    block = text.split("## `promptreview.yml`", 1)[1].split("```yaml\n", 1)[1].split("```\n", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(block)
    return loaded


def test_the_configuration_reference_is_a_valid_config():
    jsonschema.Draft202012Validator(CONFIG_SCHEMA).validate(documented_config())


def test_the_configuration_reference_shows_every_key():
    config = documented_config()
    assert set(config) == set(CONFIG_SCHEMA["properties"])
    entry = CONFIG_SCHEMA["properties"]["prompts"]["items"]["properties"]
    assert set(config["prompts"][0]) == set(entry)
    assert set(config["gates"]) == set(CONFIG_SCHEMA["properties"]["gates"]["properties"])


# --- the JSON report ------------------------------------------------------------------------------------


def schema_enums(schema: Any) -> dict[str, list[set[str]]]:
    """Each property name of the report schema -> the sets of words it may hold (one per place it occurs)."""
    found: dict[str, list[set[str]]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and "enum" in sub:
                    found.setdefault(name, []).append({v for v in sub["enum"] if v is not None})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def alternatives(document: Any, key: str = "") -> list[tuple[str, set[str]]]:
    """(key, words) for every value written `a|b|c` in a documented example."""
    if isinstance(document, dict):
        return [pair for k, v in document.items() for pair in alternatives(v, k)]
    if isinstance(document, list):
        return [pair for v in document for pair in alternatives(v, key)]
    if isinstance(document, str) and "|" in document:
        return [(key, set(document.split("|")))]
    return []


def keys(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document) | {k for v in document.values() for k in keys(v)}
    if isinstance(document, list):
        return {k for v in document for k in keys(v)}
    return set()


def documented_report() -> Any:
    text = (ROOT / "docs" / "report.md").read_text("utf-8")
    return json.loads(text.split("## The JSON report", 1)[1].split("```json\n", 1)[1].split("```", 1)[0])


def test_the_report_example_lists_the_schema_s_words():
    """`"kind": "categorical|numeric|length"` once missed `presence`: every `a|b` list is a whole enum."""
    enums = schema_enums(REPORT_SCHEMA)
    listed = alternatives(documented_report())
    assert {key for key, _ in listed} >= {"verdict", "change", "kind", "output_mode"}
    for key, words in listed:
        assert words in enums.get(key, []), (key, sorted(words), enums.get(key))


def test_the_report_example_names_only_keys_the_report_has():
    source = (ROOT / "promptreview" / "report" / "serialize.py").read_text("utf-8")
    written = set(re.findall(r'"(\w+)"', source)) | set(re.findall(r'"(\w+)"', json.dumps(REPORT_SCHEMA)))
    example = documented_report()
    assert keys(example) - {"channel"} <= written  # `channel`: a suite column, the example's stratum


def test_the_enum_check_catches_a_list_that_misses_a_word():
    enums = schema_enums(REPORT_SCHEMA)
    (key, words), *_ = alternatives({"kind": "categorical|numeric|length"})
    assert words not in enums[key]


# --- the completion DataFrame and the README ------------------------------------------------------------


def test_the_architecture_page_documents_every_frame_column():
    from promptreview.engine.measurement.frame import COLUMNS

    page = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    table = page.split("## The completion DataFrame", 1)[1].split("\n\n", 2)[1]
    documented = [name for line in table.splitlines()[2:] for name in code_spans(line.split("|")[1])]
    assert sorted(documented) == sorted(COLUMNS)


def test_the_readme_is_a_first_read_that_links_to_the_rest():
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= 150
    for target in ("docs/configuration.md", "docs/report.md", "docs/statistics.md", "benchmarks/README.md"):
        assert f"]({target}" in text, target
    for command in (
        ".venv/bin/pip install . && .venv/bin/promptreview demo",
        "scripts/demo",
        "scripts/test",
        ".ci/run",
    ):
        assert command in text, command


def test_the_readmes_command_table_lists_every_command():
    """`promptreview --help` and the README's table agree: a newcomer finds each command, a group's too."""
    import click

    from promptreview.cli import main_group

    table = README.read_text("utf-8").split("| command | does |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `promptreview ([a-z]+(?: [a-z]+)?)", table, re.MULTILINE))
    commands = set()
    for name, command in main_group.commands.items():
        if isinstance(command, click.Group):
            commands |= {f"{name} {sub}" for sub in command.commands}
        else:
            commands.add(name)
    assert commands <= listed, sorted(commands - listed)


def test_the_readmes_first_command_installs_where_a_bare_pip_install_is_refused():
    """Debian's and Ubuntu's system Python and Homebrew's refuse `pip install .` (PEP 668): the first command a
    reader copies makes its own environment, and the README says how long it took from a fresh clone."""
    text = README.read_text("utf-8")
    first = text.split("```bash\n", 1)[1].split("\n", 1)[0]
    assert re.match(r"(python3 -m venv \S+ && |pipx |uv )", first), first
    assert not re.search(r"(^|&& )pip install", first), first
    assert re.search(r"[Mm]easured from a fresh clone[^.]*: \d+ s", text)
    for line in text.splitlines():  # nor a bare `pip install` elsewhere in a command block
        assert not line.startswith("pip install ."), line


# --- the statistics' claims (issue 22) -------------------------------------------------------------------

MARGIN_RULE = "whose estimate exceeds its margin"


def test_every_sentence_says_the_margin_rule_the_same_way():
    """A gate fails on a significant increase whose estimate exceeds its margin (docs/statistics.md, section 7);
    no page (nor the config `init` writes) says it fails on a change "larger than its margin", which reads as
    the interval's bound."""
    statistics = (ROOT / "docs" / "statistics.md").read_text("utf-8")
    assert f"*a gate\nfails on a significant increase {MARGIN_RULE}*" in statistics
    exit_codes = README.read_text("utf-8").split("### Exit codes", 1)[1]
    assert f"| 1 | a gate failed: a significant regression {MARGIN_RULE}" in exit_codes
    configuration = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    assert (
        f"gates:                      # a gate fails on a significant increase {MARGIN_RULE}" in configuration
    )
    from promptreview import exitcodes

    for page in [*DOCS, ROOT / "promptreview" / "exitcodes.py"]:
        text = page.read_text("utf-8") if page.suffix == ".md" else (exitcodes.__doc__ or "")
        assert "larger than its margin" not in text, page.name
    from promptreview.cli.init import FoundPrompts, config_text

    starter = config_text("openai", None, "prompts/**/*.prompt.yml")
    assert f"# a gate fails on a significant increase {MARGIN_RULE}" in starter
    assert "larger than its margin" not in starter
    tiny = config_text("openai", None, "p/*.prompt.yml", FoundPrompts(("p/a.prompt.yml",), (), (3,)))
    assert "no increase at all" not in tiny and "cannot\n# catch any increase" in tiny


def test_the_documented_calibration_figures_name_the_run_that_prints_them():
    """Each end-to-end figure in docs/statistics.md is a scenario of `benchmarks/calibration.py`, named by its
    key, and the page names the command; the figures of old runs nobody can reproduce are gone."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("calibration_docs", ROOT / "benchmarks" / "calibration.py")
    assert spec is not None and spec.loader is not None
    calibration = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = calibration  # its dataclasses look their module up
    spec.loader.exec_module(calibration)
    statistics = (ROOT / "docs" / "statistics.md").read_text("utf-8")
    assert "python benchmarks/calibration.py --scenarios documented" in statistics
    end_to_end = statistics.split("### End to end, through the `sim` model", 1)[1].split("\n## ", 1)[0]
    keys = set(re.findall(r"\[(\w+)\] \|", end_to_end)) - {"key"}  # (the header says "[key]")
    assert keys >= {"a", "b", "c", "d", "q1", "q2", "w2", "r1", "r2", "e1", "e2", "v1", "v2"}
    documented = set(calibration.DOCUMENTED.split(","))
    assert keys <= documented <= set(calibration.SCENARIOS)
    for key in ("m1", "m2", "m3", "s1", "s2", "w1"):  # the margin and interval figures of section 7
        assert f"{key}" in statistics.split("## 7. Gates", 1)[1].split("## 8.", 1)[0], key
    for stale in ("37.8 %", "24.5 %", "a clear regression\nstops after one or two batches"):
        assert stale not in statistics, stale
