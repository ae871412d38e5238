"""The words of every note and warning: one function per `NoteKind`, the only place a note becomes text.

The JSON report's `notes` and `warnings` arrays, the terminal, the Markdown comment and the HTML page all say
what `words` says. Nothing reads these words back: what a note means to the report (inconclusive, already
said by another line, the same as another) is decided from its kind and data (`notes.INCONCLUSIVE`,
`report.wording`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from typing import Any, cast

from promptreview.notes import Note, PromptWarning
from promptreview.report.document import WITH_LEAKED
from promptreview.vocabulary import NoteKind, RateName

# One name per rate, in every format: the tables, the notes and warnings, the `--plan` lines, the check's
# summary. Each is a noun phrase that reads before "rate" ("parse failure rate 2.0% → 5.0%").
RATE_LABELS: dict[RateName, str] = {
    "parse_failure": "parse failure",
    "schema_violation": "schema violation",
    "refusal": "refusal",
    "error": "error (excluded)",
    # text mode (prose answers): features of the answer
    "empty": "empty answer",
    "apology": "starts with an apology",
    "heading": "markdown heading",
    "bullet_list": "bullet list",
    "code_block": "code block",
    "link": "link",
    # a prompt with tools: the faults of its tool calls
    "tool_missing": "missing tool call",
    "tool_unknown": "unknown tool call",
    "tool_invalid_json": "non-JSON tool arguments",
    "tool_invalid_arguments": "schema-breaking tool arguments",
}

NOT_SUPPORTED = (
    "not supported: a built-in's judge (its model and prompt) is GitHub's and cannot be pinned; "
    "write it as an llm evaluator with a pinned modelId"
)
SEQUENTIAL_REASONS = {
    "regression": "a regression beyond doubt: a gated rate rose past its margin",
    "futility": "no gated rate can still rise past its margin",
    "completed": "ran every input",
}
_CHECKS = {  # a quality check's measure by its kind, in a gate's warning
    "must_refuse": "refusal rate on must-refuse rows",
    "expect": "expected {field} pass rate",
    "string": "evaluator {name} pass rate",
    "llm": "judge {name} mean score",
}


def _check_words(check: str, field: object, name: str | None) -> str:
    """A quality check's measure; its twin over every row (leaked ones in) says so where the words name no
    check (an expectation, the must-refuse rows)."""
    what = _CHECKS.get(check, "{name}").format(field=field, name=name)
    twin = name is not None and name.endswith(WITH_LEAKED) and not what.endswith(WITH_LEAKED)
    return what + WITH_LEAKED if twin else what


def words(n: Note) -> str:
    """What `n` says, in the report's words."""
    return _WORDS[n.kind](n)


def warning_words(w: PromptWarning) -> str:
    """A review-level warning: the prompt's path, then its warning."""
    return f"{w.path}: {words(w.note)}"


def _v(n: Note, key: str) -> Any:
    """One of the note's values (each kind's function knows what its values are)."""
    return n.data[key]


def _label(name: str | None) -> str:
    # a rate's own name, else the key in words (a quality check, a shift's field)
    return RATE_LABELS.get(cast(RateName, name), name.replace("_", " ")) if name else ""


def _samples(k: int) -> str:
    return f"{k} sample" + ("" if k == 1 else "s")


def _detectable(value: float) -> str:
    return "not reachable" if not math.isfinite(value) or value >= 1.0 else f"{value * 100:.1f} pp"


# -- sources: the suite, the prompt files, the changes ---------------------------------------------------


def _duplicate_inputs(n: Note) -> str:
    pairs = [f"{again} = {original}" for again, original in _v(n, "examples")]
    more = ", ..." if _v(n, "count") > len(pairs) else ""
    return (
        f"{n.subject}: {_v(n, 'count')} of {_v(n, 'rows')} rows repeat an earlier row (every column but the id) "
        f"and are counted once: the same input again adds no evidence ({', '.join(pairs)}{more})"
    )


def _conversation_replay(n: Note) -> str:
    rows, other, unknown = int(_v(n, "rows")), int(_v(n, "other")), int(_v(n, "unknown"))
    depths = ", ".join(f"{depth}: {count}" for depth, count in _v(n, "depths"))
    said = (
        f"conversations replayed ({rows} rows; by depth in user turns {depths}): the final assistant turn is "
        "re-generated after a history the prompt under review did not write"
    )
    if not other and not unknown:
        return said + "; no history holds an assistant turn"

    def share(k: int) -> str:
        return f"{k} of {rows} rows ({k / rows:.0%})" if rows else f"{k} rows"

    return (
        said + f"; {share(other)} replay assistant turns by another model or prompt version, "
        f"{share(unknown)} assistant turns of unknown origin (no model or prompt_version said)"
    )


def _strata_pooled(n: Note) -> str:
    small = [str(s) for s in _v(n, "strata")]
    return (
        f"{len(small)} strata with fewer than {_v(n, 'minimum')} inputs (min_per_stratum) were pooled into "
        f"'{n.subject}': " + ", ".join(small[:8]) + (", ..." if len(small) > 8 else "")
    )


def _editor_prompt(n: Note) -> str:
    tools = _v(n, "tools")
    return (
        f"{n.subject}: a VS Code prompt file ({_v(n, 'mode')} mode): its body is reviewed as the user's message; "
        "Copilot's own system prompt and chat context"
        + (f" and its tools ({tools})" if tools else "")
        + " are not in the file and not in the review"
    )


def _schema_in_code(n: Note) -> str:
    return (
        f"{n.subject}: output.schema {_v(n, 'schema')!r} is defined in code, not in the file: outputs are "
        "checked as JSON but not validated"
    )


# -- planning ------------------------------------------------------------------------------------------


def _model_stand_in(n: Note) -> str:
    named, model = _v(n, "named"), _v(n, "model")
    if n.data.get("mapped"):
        return (
            f"{n.subject}: the file names model {named!r}; {model} stood in for it (models_map in the config)"
        )
    return (
        f"{n.subject}: the file names model {named!r}, which promptreview cannot reach; the config's {model} "
        "stood in for it (say which model stands in under models_map: in the config)"
    )


def _file_suite(n: Note) -> str:
    return (
        f"suite: the {_v(n, 'inputs')} inputs of the prompt file's {_v(n, 'source')}; a small suite catches "
        "only large changes (name a suite: in the config for more)"
    )


def _schema_contract(n: Note) -> str:
    return (
        "the output schema changed in this pull request: both sides are validated against the base commit's "
        "schema" + ("" if _v(n, "base_had_one") else " (the base had none: the head's, for both)")
    )


def _contract_rows_removed(n: Note) -> str:
    rows = [str(r) for r in _v(n, "rows")]
    count = _v(n, "count")
    named = ", ".join(rows) + (", ..." if count > len(rows) else "")
    return (
        f"the pull request drops or edits {count} of the base's own input rows ({named}): the base's rows are "
        "the contract and still run (in the base's version); taking them out needs the accept label"
    )


def _unused_columns(n: Note) -> str:
    columns = ", ".join(_v(n, "columns")) or "none"
    return f"the template uses none of the columns of {n.subject} ({columns}): every input sends the same request"


def _output_mode(n: Note) -> str:
    configured = _v(n, "configured")  # the config's `output` set it, rather than the prompt
    if _v(n, "mode") == "text":
        why = "output: text" if configured else "no schema, JSON response format or JSON instruction"
        return (
            f"text mode ({why}): parse failures and schema violations do not apply; measured: refusals, "
            "empty answers, apologies, formatting, language, length, flips"
        )
    return "json mode" + ("" if configured else " (a schema, a JSON response format or a JSON instruction)")


# -- providers, execution, measurement -----------------------------------------------------------------


def _structured_output_rejected(n: Note) -> str:
    return (
        f"{_v(n, 'service')} rejected structured output for {n.subject} ({_v(n, 'error')}); "
        "ran with the prompt's instruction alone"
    )


def _sequential(n: Note) -> str:
    if _v(n, "stopped"):
        return (
            f"sequential: stopped after {_v(n, 'after_inputs')} of {_v(n, 'planned_inputs')} inputs "
            f"({SEQUENTIAL_REASONS[_v(n, 'reason')]}); {_v(n, 'calls')} of {_v(n, 'planned_calls')} calls"
        )
    looks = _v(n, "looks")
    return (
        f"sequential: ran all {_v(n, 'planned_inputs')} inputs in {looks + 1} "
        + ("batch" if looks == 0 else "batches")
        + " (not settled earlier)"
    )


def _own_schema(n: Note) -> str:
    return (
        f"under the head's own schema, {_v(n, 'violations')} of {_v(n, 'answers')} head answers would be "
        f"schema violations (under the base's schema, which decides: {_v(n, 'contract')})"
    )


def _unpinned(n: Note) -> str:
    served = _v(n, "served")
    return "unpinned: both sides ran in the same job minutes apart; the served id was " + (
        ", ".join(served) if served else "not reported"
    )


def _model_changed_during_review(n: Note) -> str:
    """`values`: (value, answers, first, last) per served id or fingerprint, first seen first; `first`/`last`
    are the provider's timestamps (seconds, UTC; None: it gave none)."""
    what, total = _v(n, "what"), _v(n, "answers")
    values = list(_v(n, "values"))
    head = f"the model changed during the review ({n.subject} side): "

    def share(count: int) -> str:
        return f"{count} of {total} answers"

    if any(first is None for _, _, first, _ in values):  # no time to say when: the counts alone
        listed = ", ".join(f"{value} ({share(count)})" for value, count, _, _ in values)
        return head + f"{what} {listed}; the provider gave no times"
    clock = _Clock()
    overlap = any(values[i][2] <= values[i - 1][3] for i in range(1, len(values)))
    if overlap:  # served side by side (a pool of backends), not one after the other
        start, end = min(v[2] for v in values), max(v[3] for v in values)
        listed = ", ".join(f"{value} ({share(count)})" for value, count, _, _ in values)
        return head + f"{what}s alternated between {clock(start)} and {clock(end)}: {listed}"
    parts = []
    for i, (value, count, first, last) in enumerate(values):
        if i == 0:
            parts.append(f"{value} until {clock(last)}")
        elif i == len(values) - 1:
            parts.append(f"{value} from {clock(first)} ({share(count)})")
        else:
            parts.append(f"{value} from {clock(first)} until {clock(last)} ({share(count)})")
    return head + f"{what} " + ", ".join(parts)


class _Clock:
    """Provider times in UTC: the date with the first one, then the time of day alone while the date holds."""

    def __init__(self) -> None:
        self._day: str | None = None

    def __call__(self, seconds: float) -> str:
        stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        day, time = stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M:%S")
        if day == self._day:
            return time
        self._day = day
        return f"{day} {time} UTC"


# -- quality checks ------------------------------------------------------------------------------------


def _evaluator_changed(n: Note) -> str:
    what = "judge" if _v(n, "judge") else "evaluator"
    return (
        f"the {what} {n.subject!r} changed in this pull request: both sides are checked with the base's "
        "version (review the change on its own with --judge)"
    )


def _evaluator_added(n: Note) -> str:
    if _v(n, "judge"):
        return (
            f"the judge {n.subject!r} is new in this pull request: not called and not gating (the base's "
            "judges decide; it gates once it is on the base branch)"
        )
    return (
        f"evaluator {n.subject!r} is new in this pull request: both sides are checked with it, reported but "
        "not gating (it gates once it is on the base branch)"
    )


def _leakage(n: Note) -> str:
    rows = _v(n, "rows")
    shown = ", ".join(rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    verbatim = _v(n, "verbatim")
    how = (
        "verbatim"
        if verbatim == len(rows)
        else f"verbatim or by {_v(n, 'min_overlap'):.0%}+ overlap of 8-word runs"
    )
    consequence = (
        "and the prompt fails (leakage: {fail: true})"
        if _v(n, "fail")
        else "(leakage: {fail: true} would fail the prompt)"
    )
    return (
        f"leakage: the prompt holds {len(rows)} of {_v(n, 'sampled')} sampled suite rows ({how}, in "
        f"{', '.join(_v(n, 'columns'))}): {shown}; they are left out of the quality checks {consequence}"
    )


def _judge_calls_planned(n: Note) -> str:
    return (
        f"LLM judges ({', '.join(_v(n, 'models'))}): up to {_v(n, 'calls')} calls after the prompts' calls "
        "(fewer when outputs repeat)"
    )


# -- gates ---------------------------------------------------------------------------------------------


def _calls_failed(n: Note) -> str:
    return (
        f"{_v(n, 'failed')} of {_v(n, 'total')} {n.subject} calls failed after retries "
        f"(over max_error_rate {_v(n, 'max_error_rate'):.0%}): no trustworthy verdict"
    )


def _rate_increase(n: Note) -> str:
    p_adjusted = _v(n, "p_adjusted")
    p_text = f"adjusted p = {p_adjusted:.3g}" if p_adjusted is not None else f"p = {_v(n, 'p_value'):.3g}"
    e_value = n.data.get("e_value")
    if isinstance(e_value, float):  # a sequential stop's anytime-valid evidence decided it
        p_text += f"; stopped early on e-value {e_value:.3g}"
    change = (
        f"{_label(n.subject)} rate {_v(n, 'base'):.1%} → {_v(n, 'head'):.1%} "
        f"({_v(n, 'delta') * 100:+.1f} pp, {p_text})"
    )
    margin = f"{_v(n, 'max_increase') * 100:.1f} pp margin"
    where = "above" if _v(n, "beyond") else "within"
    said = f"{change}: significant increase, estimated {where} the {margin}"
    ci95 = n.data.get("ci95")
    if n.data.get("held") and isinstance(ci95, tuple):
        low, high = (float(x) * 100 for x in ci95 if isinstance(x, int | float))
        said += (
            f", but its 95% interval [{low:+.1f}, {high:+.1f}] pp includes zero, so the gate does not fail"
        )
    elif (
        isinstance(e_value, float) and isinstance(ci95, tuple) and isinstance(ci95[0], float) and ci95[0] <= 0
    ):
        # a stop for regression always fails; the interval beside it is the fixed-sample one, not the stop's
        low, high = (float(x) * 100 for x in ci95 if isinstance(x, int | float))
        said += (
            f"; its fixed-sample 95% interval [{low:+.1f}, {high:+.1f}] pp includes zero, because the "
            "sequential test's anytime-valid evidence, not that interval, decided the stop"
        )
    return said + ("" if _v(n, "gating") else " (not gating)")


def _rate_inconclusive(n: Note) -> str:
    what = " and ".join(f"{_label(name)} {delta * 100:+.1f} pp" for name, delta in _v(n, "changes"))
    samples = _samples(_v(n, "samples"))
    needed = _v(n, "inputs_needed")
    decide_by = (
        f"about {needed} inputs × {samples} would decide it with 80% power"
        if needed is not None
        else "no affordable sample would decide it at this size of change"
    )
    return (
        f"inconclusive: {what} estimated above the margin but not significant with {_v(n, 'n_inputs')} "
        f"inputs × {samples}; {decide_by}"
    )


def _sample_too_small(n: Note) -> str:
    gates = _v(n, "gates")
    sizes = [_detectable(d) for d in _v(n, "detectable")]
    if set(sizes) == {"not reachable"}:
        size = "not even a change to 100% would be caught with 80% power"
    else:
        # one size per gate, named: the gates' base rates differ, and so do the increases they catch
        each = (
            sizes[0] + (" for each" if len(sizes) > 1 else "")
            if len(set(sizes)) == 1
            else ", ".join(f"{_label(g)} {s}" for g, s in zip(gates, sizes, strict=True))
        )
        size = f"the smallest increase caught with 80% power is {each} (more than twice the margin)"
    return (
        f"sample too small for the {', '.join(_label(g) for g in gates)} gate{'s' if len(gates) > 1 else ''}: "
        f"with {_v(n, 'n_inputs')} inputs × {_samples(_v(n, 'samples'))}, {size}"
    )


def _drift(n: Note) -> str:
    recorded = str(_v(n, "recorded_from"))
    until = str(_v(n, "recorded_to"))
    when = f"on {recorded}" if recorded == until else f"between {recorded} and {until}"
    return (
        "drift watch: base is the answers recorded " + when + f", head the same requests asked again on "
        f"{_v(n, 'asked_at')}, on the same model and parameters; a failing gate means the model's answers moved "
        "behind the same name"
    )


def _flip_disagreement(n: Note) -> str:
    return (
        f"base and head answers disagree in {_v(n, 'head_vs_base'):.1%} of base × head sample pairs, against "
        f"{_v(n, 'noise_floor'):.1%} between base's own samples (adjusted p = {_v(n, 'p_adjusted'):.3g})"
    )


def _answer_features(n: Note) -> str:
    return "answer features changed: " + ", ".join(
        f"{_label(name)} {base:.0%} → {head:.0%}" for name, base, head in _v(n, "features")
    )


def _judge_unanswered(n: Note) -> str:
    return (
        f"{n.subject}: {_v(n, 'unanswered')} judge calls failed or named none of the choices; those outputs "
        "are left out of its score" + ("" if _v(n, "gate_applied") else ", so its gate could not be applied")
    )


def _check_change(n: Note) -> tuple[str, str]:
    """(the change, the margin) of a quality check's gate warning."""
    what = _check_words(_v(n, "check"), _v(n, "field"), n.subject)
    base, head, delta, p, margin = (_v(n, k) for k in ("base", "head", "delta", "p", "max_decrease"))
    if _v(n, "units") == "rate":
        return (
            f"{what} {base:.1%} → {head:.1%} ({delta * 100:+.1f} pp, adjusted p = {p:.3g})",
            f"{margin * 100:.1f} pp margin",
        )
    return f"{what} {base:.3g} → {head:.3g} ({delta:+.3g}, adjusted p = {p:.3g})", f"{margin:g} margin"


def _check_decrease(n: Note) -> str:
    change, margin = _check_change(n)
    where = "beyond" if _v(n, "beyond") else "within"
    said = f"{change}: significant decrease, estimated {where} the {margin}"
    ci95 = n.data.get("ci95")
    if n.data.get("held") and isinstance(ci95, tuple):
        low, high = (float(x) for x in ci95 if isinstance(x, int | float))
        scale, unit = (100, " pp") if _v(n, "units") == "rate" else (1, "")
        said += (
            f", but its 95% interval [{low * scale:+.3g}, {high * scale:+.3g}]{unit} includes zero, "
            "so the gate does not fail"
        )
    return said


def _check_inconclusive(n: Note) -> str:
    change, margin = _check_change(n)
    said = f"inconclusive: {change}: a decrease estimated beyond the {margin} but not significant"
    if "n_inputs" not in n.data:  # a judge's mean score: no sample size is estimated for it
        return said
    needed = _v(n, "inputs_needed")
    samples = _samples(_v(n, "samples"))
    decide_by = (
        f"about {needed} inputs × {samples} would decide it with 80% power"
        if needed is not None
        else "no affordable sample would decide it at this size of change"
    )
    return f"{said} with {_v(n, 'n_inputs')} inputs × {samples}; {decide_by}"


def _interval_differs(n: Note) -> str:
    said = ", ".join(
        f"{_label(name)} {delta * 100:+.1f} pp (p = {p:.3g}, 95% interval [{low * 100:+.1f}, {high * 100:+.1f}] pp)"
        for name, delta, p, low, high in _v(n, "changes")
    )
    return (
        f"{said}: p is below {_v(n, 'alpha'):g} while the interval includes zero. The test (paired, over inputs) "
        "and the interval (an approximate, conservative one) can disagree this near the edge; a gate fails "
        "only when both agree"
    )


def _check_too_small(n: Note) -> str:
    parts = []
    for name, check, field_, detectable, n_inputs in _v(n, "checks"):
        what = _check_words(check, field_, name)
        size = (
            "not even a drop to 0% would be caught with 80% power"
            if _detectable(detectable) == "not reachable"
            else f"the smallest decrease caught with 80% power is {_detectable(detectable)}"
        )
        parts.append(f"{what} ({n_inputs} inputs): {size}")
    return (
        f"sample too small for the quality check gate{'s' if len(parts) > 1 else ''} "
        f"(more than twice the margin), with {_samples(_v(n, 'samples'))} per input: " + "; ".join(parts)
    )


def _ceiling_how(n: Note) -> str:
    bound = _v(n, "lower_bound") if "lower_bound" in n.data else None
    if bound is None:
        return f"sample too small for an interval ({_v(n, 'n_inputs')} inputs): the point estimate decides"
    return f"95% lower bound {bound:.1%}"


def _ceiling_exceeded(n: Note) -> str:
    return (
        f"new prompt: {_label(n.subject)} rate {_v(n, 'head'):.1%} ({_ceiling_how(n)}) is above the ceiling "
        f"max_rate {_v(n, 'max_rate'):.1%}"
    )


def _ceiling_point_estimate(n: Note) -> str:
    return (
        f"new prompt: {_label(n.subject)} rate {_v(n, 'head'):.1%} within max_rate {_v(n, 'max_rate'):.1%} "
        f"({_ceiling_how(n)})"
    )


_WORDS: dict[NoteKind, Callable[[Note], str]] = {
    # sources
    "suite_numbered_rows": lambda n: (
        f"{n.subject} has no id column: inputs are named by row number (row1, row2, ...)"
    ),
    "duplicate_inputs": _duplicate_inputs,
    "strata_pooled": _strata_pooled,
    "stratum_short": lambda n: (
        f"stratum {n.subject} has {_v(n, 'rows')} rows, fewer than its quota of {_v(n, 'quota')}: "
        "all were taken"
    ),
    "neyman_proportional": lambda n: (
        "neyman allocation needs per-stratum variances that are not known before the run; "
        "proportional allocation was used"
    ),
    "unknown_parameter": lambda n: (
        f"{n.subject}: {_v(n, 'where')}.{_v(n, 'key')} is not a model parameter promptreview knows; ignored"
    ),
    "schema_in_code": _schema_in_code,
    "placeholder_dropped": lambda n: (
        f"{n.subject}: a MessagesPlaceholder has no messages in a review and is left out"
    ),
    "prompt_removed": lambda n: "the prompt file was removed; nothing to run",
    "renamed_unchanged": lambda n: "renamed without a change to its content; nothing to run",
    "content_unchanged": lambda n: "content unchanged; nothing to run",
    "prompt_copied_out": lambda n: (
        f"this prompt was copied or moved out of the config's globs (to {_v(n, 'to')}): whatever stays "
        "inside them, what production reads there is no longer reviewed"
    ),
    "glob_matches_nothing": lambda n: (
        f"the glob {n.subject!r} ({_v(n, 'where')}) matches no file at the base or the head: it reviews nothing"
    ),
    "editor_prompt": _editor_prompt,
    "placeholder_unfilled": lambda n: (
        f"{n.subject}: {_v(n, 'placeholders')} is sent as written, unfilled, as {_v(n, 'tool')} sends it "
        f"(it fills only {_v(n, 'form')})"
    ),
    # planning
    "file_suite": _file_suite,
    "schema_contract": _schema_contract,
    "contract_rows_removed": _contract_rows_removed,
    "contract_rows_added": lambda n: (
        f"the pull request adds {_v(n, 'count')} input rows to the file: they do not run here, the base's rows "
        "are the contract and the gates are decided on them alone (new rows pooled with them would dilute a "
        "regression); once merged, they are part of the contract"
    ),
    "entry_moved": lambda n: (
        f"moved from the config entry of {_v(n, 'before')} to the one of {_v(n, 'after')}: reviewed under the "
        "strictest of the two (the base entry's contract, and what only the new entry adds)"
    ),
    "entry_copied": lambda n: (
        f"a copy of {_v(n, 'source')}, a prompt of the config entry of {_v(n, 'before')}, in the one of "
        f"{_v(n, 'after')}: reviewed as if moved, under the strictest of the two (production may read this copy "
        "while the original stays untouched)"
    ),
    "unused_columns": _unused_columns,
    "output_mode": _output_mode,
    "new_prompt": lambda n: "a new prompt: no base to compare with; its rates are reported on their own",
    "conversation_replay": _conversation_replay,
    "model_changed": lambda n: (
        f"model migration from {_v(n, 'base')} to {_v(n, 'head')}: the base side runs "
        "on the old model, the head side on the new one"
    ),
    "already_on_model": lambda n: f"already runs on {_v(n, 'model')}: nothing to migrate",
    "safety_rows": lambda n: (
        f"--safety: {_v(n, 'rows')} must-refuse rows of promptreview's packaged safety suite "
        f"({_v(n, 'source')}) ran beside the suite, each request in {{{{{_v(n, 'variable')}}}}}; a drop in "
        "refusals on them fails the migration"
    ),
    "removed_from_file": lambda n: "a prompt removed from a multi-prompt file",
    "format_changed": lambda n: (
        f"the file's format changed: base read as {_v(n, 'base')}, head as {_v(n, 'head')}; reviewed as the "
        "head's format reads it, each part against the base prompt"
        if _v(n, "parts") > 1
        else f"the file's format changed: base read as {_v(n, 'base')}, head as {_v(n, 'head')}; reviewed as "
        "the head's format reads it"
    ),
    "model_stand_in": _model_stand_in,
    # providers
    "structured_output_rejected": _structured_output_rejected,
    "provider_batches": lambda n: (
        f"{_v(n, 'calls')} calls to {n.subject} answered through {_v(n, 'batches')} provider "
        f"batch{'es' if _v(n, 'batches') != 1 else ''} (priced at the batch rate)"
    ),
    "provider_batches_unavailable": lambda n: (
        f"{n.subject} has no batch engine: its calls ran one by one (batch: on applies to OpenAI and Anthropic)"
    ),
    "provider_batch_maybe_duplicate": lambda n: (
        f"{_v(n, 'service')}: creating a batch of {_v(n, 'requests')} requests got no answer and was tried "
        f"again; {_v(n, 'batches')}, made meanwhile with as many requests, may be what that attempt made: the "
        "review used a new batch, so cancel that one at the provider if it is not another run's"
    ),
    # execution and measurement
    "sequential": _sequential,
    "weighted": lambda n: (
        "overall rates are weighted by each stratum's share of the suite (the sample is not proportional)"
    ),
    "own_schema": _own_schema,
    "unpinned": _unpinned,
    "model_changed_during_review": _model_changed_during_review,
    # quality checks
    "evaluator_skipped": lambda n: (
        f"evaluator {n.subject!r} of {_v(n, 'origin')} has the name of a config evaluator: skipped"
    ),
    "evaluator_changed": _evaluator_changed,
    "evaluator_added": _evaluator_added,
    "evaluator_removed": lambda n: (
        f"evaluator {n.subject!r} was removed in this pull request: the base's checks still apply"
    ),
    "evaluator_unsupported": lambda n: f"evaluator {n.subject!r} uses {_v(n, 'uses')}: {NOT_SUPPORTED}",
    "must_refuse_unsampled": lambda n: (
        f"no sampled row of {n.subject} has {_v(n, 'column')} in {', '.join(_v(n, 'values'))}"
    ),
    "judge_calls_planned": _judge_calls_planned,
    "leakage": _leakage,
    "judge_served_other": lambda n: (
        f"judge requested {_v(n, 'requested')} but the provider served {', '.join(_v(n, 'served'))}"
    ),
    # gates
    "calls_failed": _calls_failed,
    "rate_increase": _rate_increase,
    "rate_inconclusive": _rate_inconclusive,
    "sample_too_small": _sample_too_small,
    "flip_disagreement": _flip_disagreement,
    "answer_features": _answer_features,
    "distribution_shift": lambda n: (
        "output distribution shifted: " + ", ".join(f"{field} ({test})" for field, test in _v(n, "fields"))
    ),
    "judge_unanswered": _judge_unanswered,
    "check_decrease": _check_decrease,
    "check_inconclusive": _check_inconclusive,
    "check_too_small": _check_too_small,
    "interval_differs": _interval_differs,
    "ceiling_exceeded": _ceiling_exceeded,
    "ceiling_point_estimate": _ceiling_point_estimate,
    "served_several": lambda n: (
        f"the provider served several models to the {n.subject} side during this run: "
        + ", ".join(_v(n, "served"))
    ),
    "served_other": lambda n: (
        f"requested {_v(n, 'requested')} but the provider served {', '.join(_v(n, 'served'))} "
        f"({n.subject} side)"
    ),
    # the review as a whole
    "simulated": lambda n: (
        "simulated model: the numbers come from promptreview's embedded `sim` model, not a real LLM"
    ),
    "nothing_to_review": lambda n: "nothing to review: no prompt file covered by the config changed",
    "leaves_review": lambda n: (
        "this prompt leaves the review (removed, or moved out of the config's globs): it needs the accept "
        "label (or removal: allow in the base config)"
    ),
    "drift": _drift,
    "drift_nothing_recorded": lambda n: (
        f"nothing recorded yet: none of its {_v(n, 'answers')} planned answers is in the response cache; run a "
        "review or `promptreview drift --record` first"
    ),
    "drift_partly_recorded": lambda n: (
        f"partly recorded: {_v(n, 'held')} of its {_v(n, 'answers')} planned answers are in the response cache "
        "(another sample, seed or suite since?), so it is not compared; `promptreview drift --record` records "
        "the rest"
    ),
    "drift_recorded": lambda n: (
        f"recorded {_v(n, 'new')} answers ({_v(n, 'held')} were recorded already, and stay as they were)"
    ),
}
