"""Wording and number formats shared by the human-readable reports."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence

from promptreview.notes import INCONCLUSIVE, Note, PromptWarning
from promptreview.report.document import (
    WITH_LEAKED,
    CallStats,
    ColdStart,
    CostKey,
    EvaluatorRow,
    PromptForecast,
    PromptReport,
    RateRow,
    Report,
    ShiftRow,
    StratumRow,
)
from promptreview.report.notes import RATE_LABELS as RATE_LABELS  # re-exported: the tables name rates with it
from promptreview.report.notes import words
from promptreview.verdicts import PromptVerdict
from promptreview.vocabulary import JSON_RATES, ParseFailureKind, RateName

NOT_APPLICABLE = "n/a"
VERDICT_WORDS = {
    "pass": "PASS",
    "fail": "FAIL: regression",
    "warn": "WARN",
    "error": "ERROR: no trustworthy verdict",
    "skipped": "nothing to review",
}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def pp(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def interval(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]"


def pval(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{float(value):.3f}"


def rate_cells(name: RateName, row: RateRow, weighted: bool = False) -> list[str]:
    """One table row. A weighted rate is not count/n, so the raw counts are labelled as such."""
    counts = "{}/{} raw" if weighted and name != "error" else "{}/{}"  # errors are never weighted

    def side(rate: float | None, count: int, n: int) -> str:
        return "–" if rate is None else f"{pct(rate)} ({counts.format(count, n)})"

    return [
        RATE_LABELS.get(name, name),
        side(row.base, row.base_count, row.base_n),
        side(row.head, row.head_count, row.head_n),
        pp(row.delta),
        interval(row.ci95),
        pval(row.p_adjusted if row.p_adjusted is not None else row.p_value),
        row.gate or "",
    ]


RATE_HEADERS = ["outcome", "base", "head", "change", "95% CI", "p (adj.)", "gate"]


def title(p: PromptReport) -> str:
    if p.change == "renamed" and p.old_path:
        return f"{p.old_path} → {p.path}"
    return p.path


P_VALUE_NOTE = (
    "p (adj.): for gated rates, the one-sided p for an increase, Holm-adjusted over every gated test of the "
    "review; for strata, other rates, flips and distribution shifts, the two-sided p, Benjamini-Hochberg-adjusted. "
    "The 95% CIs are two-sided and unadjusted."
)


def cost_line(cost: Mapping[CostKey, float] | None, sides: tuple[str, str] = ("base", "head")) -> str | None:
    if not cost or not any(cost.values()):  # unknown, or free (sim, local models): nothing worth a line
        return None
    names = dict(zip(("base", "head"), sides, strict=True))
    parts = [f"{names[side]} ${cost[side]:.4f}" for side in ("base", "head") if side in cost]
    if "delta" in cost:
        parts.append(f"change {cost['delta']:+.4f} USD")
    return "cost: " + ", ".join(parts)


def provenance_line(p: PromptReport) -> str | None:
    """The served ids and fingerprints with their counts, when something about them is worth a look: a side
    served several (the warning says when), or the two sides ran on different fingerprints of the provider;
    else nothing (one id, one fingerprint: the model line already says it)."""
    sides = [(side, v) for side, v in p.provenance.items() if v.answers]
    several = any(len(v.served) > 1 or len(v.fingerprints) > 1 for _, v in sides)
    prints = [frozenset(v.fingerprints) for _, v in sides if v.fingerprints]
    apart = len(prints) == 2 and prints[0] != prints[1]
    if not several and not apart:
        return None

    def counts(table: Mapping[str, int]) -> str:
        return ", ".join(f"{value} ×{n}" for value, n in table.items())

    parts = []
    for side, v in sides:
        said = [counts(v.served)] if v.served else []
        if v.fingerprints:
            said.append("fingerprint" + ("s " if len(v.fingerprints) > 1 else " ") + counts(v.fingerprints))
        parts.append(f"{side} " + ("; ".join(said) if said else "not reported"))
    return "served: " + " | ".join(parts)


def cold_start_line(c: ColdStart | None, *, planned: bool = False) -> str | None:
    """The prompt-cache cold start of a model change, beside the cost line (`--plan`: before any call)."""
    if c is None:
        return None
    head = f"prompt-cache cold start on {c.head_model}: "
    if c.cached_share is None:
        if planned:
            return (
                head + "unknown until the base side has run (no answer of its model reported cached tokens)"
            )
        return head + "unknown (the provider reported no cached tokens on the base side)"
    share = f"{c.cached_share:.0%} of the base side's input tokens came from the provider's cache"
    if c.extra_usd_per_1000_calls is None or c.extra_usd is None:
        return head + f"{share}; the extra cost is unknown (no price for {c.head_model})"
    calls = (
        f"the plan's {c.head_calls} head calls, at their estimated input tokens"
        if planned
        else f"this review's {c.head_calls} head calls"
    )
    return (
        head
        + f"{share}; until the head's cache warms that share costs the full input price: "
        + f"+${c.extra_usd_per_1000_calls:.4f} per 1,000 calls (+${c.extra_usd:.4f} for {calls})"
    )


def batched_line(calls: CallStats, sep: str) -> str:
    """`<sep>360 made in 120 requests` when one request answered several samples (`n` > 1), else nothing."""
    made = calls.total - calls.cached
    if calls.requests is None or calls.requests >= made:
        return ""
    return f"{sep}{made} made in {calls.requests} requests"


SHIFT_HEADERS = ["field", "kind", "test", "effect", "p (adj.)"]


def shift_cells(s: ShiftRow) -> list[str]:
    """A field's distribution-shift row; the first cell (the field name, from model output) is untrusted text."""
    return [
        s.field,
        s.kind,
        s.test.name,
        effect_words(s),
        pval(s.p_adjusted if s.p_adjusted is not None else s.p_value),
    ]


def _unit(s: ShiftRow) -> str:
    return "tokens" if "token" in s.field else "characters"


def effect_words(s: ShiftRow) -> str:
    """A shift's size in plain words: "median length 35% shorter (172 → 111 characters)", "21.0% of answers
    moved to another value", never an effect's statistical name."""
    if s.effect is None:
        return "–"
    if s.effect_name != "median_shift":  # total variation: the share of answers that would have to move
        return f"{pct(abs(s.effect))} of answers moved to another value"
    base, head = s.base.get("median"), s.head.get("median")
    if not isinstance(base, (int, float)) or not isinstance(head, (int, float)):
        return f"median change {s.effect:+.3g}"
    what = "median length" if s.kind == "length" else "median"
    moved = f"{base:g} → {head:g}" + (f" {_unit(s)}" if s.kind == "length" else "")
    if base == 0 or head == base:
        return f"{what} {moved}"
    change = (head - base) / abs(base)
    if s.kind == "length":
        return f"{what} {abs(change) * 100:.0f}% {'longer' if change > 0 else 'shorter'} ({moved})"
    return f"{what} {change * 100:+.0f}% ({moved})"


# -- why the head's answers did not parse, and what fixes each kind -------------------------------------------

PARSE_FAILURE_HEADERS = ["what the answer looked like", "head answers", "what to do"]
PARSE_FAILURE_ROWS: dict[ParseFailureKind, tuple[str, str]] = {
    "fenced": (
        "JSON inside a ```json fence",
        "ask for bare JSON, or set `parsing: {allow_fenced: true}` if your code strips fences",
    ),
    "trailing_comma": (
        "JSON with a trailing comma",
        "ask for strict JSON, or send a `jsonSchema` so the provider enforces structured output",
    ),
    "wrapped": (
        "JSON inside other text",
        "ask for the JSON alone, or send a `jsonSchema` (or `responseFormat: json_object`)",
    ),
    "truncated": (
        "cut off at max_tokens",
        "raise `max_tokens` (the prompt file's `modelParameters`, or `params:` in promptreview.yml)",
    ),
    "empty_at_limit": ("empty: max_tokens ran out before any output", "raise `max_tokens`"),
    "empty": ("empty answer", "check what the prompt asks; the JSON report has the finish reasons"),
    "not_json": (
        "not JSON at all",
        "say plainly that the answer must be JSON, or send a `jsonSchema`",
    ),
}


def parse_failure_table(p: PromptReport) -> list[list[str]]:
    """One row per kind of the head's parse failures, most first, each with its remedy: when they are what
    failed or warned (the parse-failure gate, or an added prompt's ceiling), never beside a rate that did not
    rise, where head-only counts would read as new breakage."""
    row = p.rates.get("parse_failure")
    if row is None or not p.parse_failure_kinds or p.verdict == "pass":
        return []
    added = row.base is None  # an added prompt: its ceiling, not a change, is what it is held to
    if row.gate not in ("fail", "warn") and not added:
        return []
    kinds = sorted(p.parse_failure_kinds.items(), key=lambda kv: -kv[1])
    return [[PARSE_FAILURE_ROWS[k][0], str(n), PARSE_FAILURE_ROWS[k][1]] for k, n in kinds]


# -- the overview every format shares (the comment, the terminal, the HTML page say the same things) ---------

STANDARD_RATES = JSON_RATES
# not applicable to a prompt that answers in prose
TEXT_MODE_ABSENT: tuple[RateName, ...] = ("parse_failure", "schema_violation")
NA = NOT_APPLICABLE


def rate_items(p: PromptReport) -> list[tuple[RateName, RateRow | None]]:
    """The rates to show, in order: every rate the prompt has (whatever names they carry), and a `None`
    ("n/a") for a standard rate that does not apply to a text-mode prompt."""
    items: list[tuple[RateName, RateRow | None]] = []
    for name in STANDARD_RATES:
        if name in p.rates:
            items.append((name, p.rates[name]))
        elif p.output_mode == "text" and name in TEXT_MODE_ABSENT:
            items.append((name, None))
    items += [(k, v) for k, v in p.rates.items() if k not in STANDARD_RATES]
    return items


def na_cells(name: RateName) -> list[str]:
    return [RATE_LABELS.get(name, name), NA, NA, NA, NA, NA, NA]


def rate_table(p: PromptReport) -> list[list[str]]:
    return [na_cells(k) if v is None else rate_cells(k, v, p.weighted) for k, v in rate_items(p)]


def evaluator_name(e: EvaluatorRow) -> str:
    """A quality check's short name (as `report.quality` labels its row)."""
    twin = WITH_LEAKED if e.name.endswith(WITH_LEAKED) else ""  # the check over every row, leaked ones in
    if e.kind == "must_refuse":
        return "refusals on must-refuse rows" + twin
    if e.kind == "expect":
        return f"expected {e.field}" + twin
    return e.name


def verdict_key(p: PromptReport) -> str:
    """A prompt's verdict in words: "not run" for one only listed (removed, renamed unchanged), never a pass;
    "inconclusive" for a warning that only says a change above its margin is not significant (the JSON
    verdict stays `warn`)."""
    if not p.rates and p.verdict not in ("error", "fail", "warn"):
        return "not run"
    if p.verdict == "warn" and p.warnings and all(w.kind in INCONCLUSIVE for w in p.warnings):
        return "inconclusive"
    return str(p.verdict)


def headline_word(report: Report) -> str:
    """The verdict's words, never contradicting the prompts below: a pass over a warning says so, and a
    review with only listed prompts (removed, renamed unchanged) is not "nothing to review". A model
    migration says so first, naming both models."""
    verdict = _verdict_words(report)
    if report.migration is None:
        return verdict
    return f"model migration from {report.migration.source} to {report.migration.target}: {verdict}"


def _verdict_words(report: Report) -> str:
    if report.verdict == "pass" and report.warned:
        words = {verdict_key(p) for p in report.prompts if p.verdict == "warn"}
        return "PASS, inconclusive" if words == {"inconclusive"} else "PASS with warnings"
    failing = [p for p in report.prompts if p.verdict == "fail" and p.rates]
    if report.verdict == "fail" and not failing:
        return "FAIL: a prompt leaves the review without the accept label"
    if report.verdict == "fail" and all(p.change == "added" for p in failing):
        return (
            "FAIL: a new prompt is above its ceiling"  # nothing regressed: there is no base to regress from
        )
    if report.verdict == "skipped" and report.prompts:
        kinds = sorted({p.change for p in report.prompts})
        return f"nothing to run ({len(report.prompts)} prompt(s) {' / '.join(kinds)}, listed below)"
    return VERDICT_WORDS[str(report.verdict)]


def headline_icon_key(report: Report) -> str:
    return "warn" if report.verdict == "pass" and report.warned else str(report.verdict)


def review_notes(report: Report) -> list[Note]:
    """The review's notes, without those another line already says (the model line says "simulated"; a
    listed prompt contradicts "nothing to review"), then the notes every reviewed prompt has (said once)."""
    out = []
    for n in report.notes:
        if report.simulated and n.kind == "simulated":
            continue
        if report.prompts and n.kind == "nothing_to_review":
            continue
        out.append(n)
    said = {words(n) for n in out}
    return out + [n for n in shared_prompt_notes(report) if words(n) not in said]


def shared_prompt_notes(report: Report) -> list[Note]:
    """The notes that read the same in every reviewed prompt (two or more): said once for the review, not once
    per prompt."""
    reviewed = [p for p in report.prompts if p.rates]
    if len(reviewed) < 2:
        return []
    first, *others = ([n for n in prompt_notes(p)] for p in reviewed)
    return [n for n in first if all(words(n) in {words(m) for m in other} for other in others)]


def _fails(p: PromptReport, w: Note) -> bool:
    """Whether a warning is the words of a gate that failed (a rate, a quality check, the flip gate)."""
    if w.kind == "rate_increase":
        return any(name == w.subject and row.gate == "fail" for name, row in p.rates.items())
    if w.kind in ("check_decrease", "check_inconclusive", "judge_unanswered"):
        return any(e.name == w.subject and e.gate == "fail" for e in p.evaluators)
    if w.kind == "flip_disagreement":
        return p.flip_rate is not None and p.flip_rate.gate == "fail"
    return w.kind in ("ceiling_exceeded", "prompt_removed") and p.verdict == "fail"


def ordered_warnings(p: PromptReport) -> list[Note]:
    """A prompt's warnings, the failing gates' first: what blocks the merge before what only warns."""
    return sorted(p.warnings, key=lambda w: not _fails(p, w))


def review_warnings(report: Report) -> list[PromptWarning]:
    """Review-level warnings that no prompt section repeats (a prompt's own warnings are shown once, in
    its section)."""
    own = {PromptWarning(p.path, w) for p in report.prompts for w in p.warnings}
    return [w for w in report.warnings if w not in own]


def prompt_notes(p: PromptReport, report: Report | None = None) -> list[Note]:
    """A prompt's notes, without the weighting one when the sample line already says it, and (given the
    `report`) without those `review_notes` says once for every prompt."""
    shared = {words(n) for n in shared_prompt_notes(report)} if report is not None else set()
    return [n for n in p.notes if not (p.weighted and n.kind == "weighted") and words(n) not in shared]


WEIGHTED_WORDS = (
    "Overall rates marked weighted are weighted by each stratum's share of the suite (the sample is not "
    "proportional)"
)


WEIGHTING_SENTENCE = (
    "overall rates weighted by each stratum's share of the suite (the sample is not proportional)"
)


def sample_size(p: PromptReport) -> str:
    """'120 inputs × 3 samples': each format adds the suite's path (untrusted) and, for a weighted prompt,
    `WEIGHTING_SENTENCE` or its own word for it."""
    inputs = f"{p.n_inputs} input" + ("" if p.n_inputs == 1 else "s")
    samples = f"{p.samples} sample" + ("" if p.samples == 1 else "s")
    return f"{inputs} × {samples}"


def model_line(report: Report) -> str:
    """The model once: spec, simulated, pinned, served ids (plain text; each format escapes it)."""
    parts = [report.model_spec or "–"]
    if report.simulated:
        parts.append("(simulated: promptreview's embedded model, not a real LLM)")
    if report.pinned is False:
        parts.append("(NOT pinned)")
    served = [s for s in report.served if s != report.model_id]
    if served:
        parts.append("· served " + ", ".join(served))
    return " ".join(parts)


def side_names(report: Report) -> tuple[str, str]:
    """What the two sides are called: base and head; in drift, the answers the cache recorded and the same
    requests asked again (`recorded`, `fresh`): both sides run the same prompt at the same commit."""
    if report.rerun is not None and report.rerun.command == "drift":
        return "recorded", "fresh"
    return "base", "head"


def sided(headers: Sequence[str], sides: tuple[str, str]) -> list[str]:
    """A table's headers with its `base` and `head` columns named as `side_names` calls the sides."""
    names = {"base": sides[0], "head": sides[1]}
    return [names.get(h, h) for h in headers]


def flip_sentence(p: PromptReport, sides: tuple[str, str] = ("base", "head")) -> str | None:
    """What the flip metric is: the share of (base sample, head sample) pairs whose answers differ,
    against the same share between a side's own samples (the noise floor)."""
    f = p.flip_rate
    if f is None or f.head_vs_base is None:
        return None
    base, head = sides
    text = (
        f"{base.capitalize()}–{head} answer disagreement: {pct(f.head_vs_base)} of {base} × {head} sample "
        "pairs differ"
    )
    if f.noise_floor is None:
        return text + " (no within-side reference with 1 sample per input)."
    own = "base's" if base == "base" else f"the {base} answers'"
    return (
        text + f", against {pct(f.noise_floor)} between {own} own samples "
        f"(p {pval(f.p_adjusted if f.p_adjusted is not None else f.p_value)})."
    )


def important_shifts(p: PromptReport) -> list[ShiftRow]:
    """The shifts that matter: exactly those the distribution gate considered (significant, and beyond its
    floor), so the report never calls a change important that the gates would not."""
    return [s for s in p.distribution_shift if s.matters]


def shift_sentence(s: ShiftRow) -> str:
    """A shifted field in words: its size, base → head of its top categories where it has them, then the test
    (plain text)."""
    moves = category_moves(s)
    said = effect_words(s) + (" (" + ", ".join(moves) + ")" if moves else "")
    return f"{s.field}: {said}; {s.test.name}, p (adj.) {pval(s.p_adjusted)}"


def category_moves(s: ShiftRow, limit: int = 4) -> list[str]:
    """'billing 30% → 22%' for the categories that moved most (categorical fields with counts only)."""
    if s.kind not in ("categorical", "presence"):
        return []
    base, head = _shares(s.base), _shares(s.head)
    if not base or not head:
        return []
    keys = sorted(dict.fromkeys([*base, *head]), key=lambda k: -abs(head.get(k, 0.0) - base.get(k, 0.0)))
    return [f"{k} {pct(base.get(k, 0.0))} → {pct(head.get(k, 0.0))}" for k in keys[:limit]]


def _shares(counts: Mapping[str, object]) -> dict[str, float]:
    values = {str(k): float(v) for k, v in counts.items() if isinstance(v, (int, float))}
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total > 0 else {}


def strata_split(p: PromptReport, alpha: float) -> tuple[list[StratumRow], list[StratumRow]]:
    """(strata with a significant change, the rest), each in the order `decide` sorted them (blast radius)."""
    hot: list[StratumRow] = []
    rest: list[StratumRow] = []
    for s in p.strata:
        significant = any(r.p_adjusted is not None and r.p_adjusted < alpha for r in s.rates.values())
        (hot if significant else rest).append(s)
    return hot, rest


def stratum_rate_names(p: PromptReport) -> list[RateName]:
    names: dict[RateName, None] = {}
    for s in p.strata:
        for k in s.rates:
            if k != "error":
                names[k] = None
    return list(names)


def stratum_headers_for(p: PromptReport) -> list[str]:
    return ["stratum", "inputs", *(f"Δ {RATE_LABELS.get(k, k)}" for k in stratum_rate_names(p))]


def stratum_cells_for(p: PromptReport, s: StratumRow) -> list[str]:
    """A stratum's row over whatever rates exist: the change with base → head (first cell untrusted)."""
    cells = [s.label, str(s.n_inputs)]
    for k in stratum_rate_names(p):
        r = s.rates.get(k)
        if r is None:
            cells.append(NA)
        elif r.base is None:  # an added prompt: no change to show, its rate
            cells.append(f"{pct(r.head)} (new)")
        else:
            cells.append(f"{pp(r.delta)} ({pct(r.base)} → {pct(r.head)})")
    return cells


def examples_title(p: PromptReport) -> str:
    """What the examples are: answers that broke (fine on base), or, for an added prompt, answers that failed."""
    return "Answers that failed" if p.change == "added" else "Examples that broke"


def failed_gate(p: PromptReport) -> RateName | None:
    """The gated rate that failed (or warned) with the largest change: the one the chart explains."""
    ranked = [
        (0 if r.gate == "fail" else 1, -(r.delta or 0.0), k)
        for k, r in p.rates.items()
        if r.gate in ("fail", "warn") and r.delta is not None
    ]
    return min(ranked)[2] if ranked else None


def reproduce_command(report: Report) -> str | None:
    """The exact command that reruns this review locally: `check` between two commits (against the working
    tree, `check`'s default, when that is what it reviewed), or `compare` of the two files a `compare` review
    read. The engine says which it ran (`Report.rerun`)."""
    rerun = report.rerun
    if rerun is None:
        return None
    words = ["promptreview", rerun.command]
    if rerun.command == "check":
        words += ["--base", rerun.base, *(["--head", rerun.head] if rerun.head else [])]
    elif rerun.command == "compare":
        words += [rerun.base, *([rerun.head] if rerun.head else [])]
    # `migrate`: its flags say it all (--to, --from, --prompts)
    # `drift`: HEAD's prompts against what the cache recorded; the flags say the rest
    return shlex.join([*words, *rerun.flags])


VERIFY_COMMAND = "promptreview verify report.json --cache-only"
RECORD_ARTIFACT = "promptreview-record"  # action.yml's `record-artifact` default


def verify_command(report: Report) -> str | None:
    """The command that checks this review later with no model call (`promptreview verify`): for a review of
    commits, a migration or a drift run with a manifest; None otherwise (`compare` names no commit, a
    verdict-only report has no manifest, `--plan` has no number to check)."""
    if report.manifest is None or report.manifest.review.command == "compare" or report.forecast is not None:
        return None
    return VERIFY_COMMAND


def detectable(value: float | None) -> str:
    """A detectable increase: never 'inf pp'."""
    if value is None:
        return "–"
    if not math.isfinite(value) or value >= 1.0:
        return "not detectable with this sample"
    return f"{value * 100:.1f} pp"


# -- the overview a reviewer reads first: the single biggest change of a prompt and of the review, and the
# one-line-per-prompt summary table ---------------------------------------------------------------------------

SUMMARY_HEADERS = ["prompt", "change", "verdict", "biggest shift (95% CI)"]


def _change_score(
    gate: PromptVerdict | None, p: float | None, delta: float, alpha: float
) -> tuple[int, int, float]:
    rank = {PromptVerdict.FAIL: 3, PromptVerdict.WARN: 2}.get(gate, 0) if gate is not None else 0
    return (rank, int(p is not None and p < alpha), abs(delta))


def biggest_change(p: PromptReport, alpha: float = 0.05) -> str | None:
    """The one change a reviewer should read first: a failing gate before a warning before a significant
    change before the largest one; with its 95% CI. None when nothing was compared."""
    best: tuple[tuple[int, int, float], str] | None = None
    for name, row in p.rates.items():
        if name == "error" or row.delta is None:
            continue
        score = _change_score(row.gate, row.p_adjusted, row.delta, alpha)
        text = f"{RATE_LABELS.get(name, name)} {pp(row.delta)} {interval(row.ci95)}"
        if best is None or score > best[0]:
            best = (score, text)
    for e in p.evaluators:
        if e.delta is None:
            continue
        p_e = e.p_adjusted if e.p_adjusted is not None else e.p_decrease
        score = _change_score(e.gate, p_e, e.delta if e.units == "rate" else 0.0, alpha)
        change = f"{pp(e.delta)} {interval(e.ci95)}" if e.units == "rate" else f"{e.delta:+.3g} (score)"
        text = f"{evaluator_name(e)} {change}"
        if best is None or score > best[0]:
            best = (score, text)
    if best is None or best[0][:2] == (0, 0):
        # no gate spoke and no rate moved significantly: a significant shift of the answers is the news
        shifted = important_shifts(p)
        if shifted:
            top = min(shifted, key=lambda s: s.p_adjusted if s.p_adjusted is not None else 1.0)
            moves = category_moves(top, limit=1)
            return f"{top.field} shifted (p (adj.) {pval(top.p_adjusted)})" + (
                f": {moves[0]}" if moves else ""
            )
    if best is not None:
        return best[1]
    if p.change == "added":
        shown = [f"{RATE_LABELS.get(k, k)} {pct(v.head)}" for k, v in p.rates.items() if k != "error"]
        return ("new: " + ", ".join(shown)) if shown else None
    return None


def change_word(p: PromptReport | PromptForecast, command: str | None = None) -> str:
    """What changed, for a reader: a prompt whose two sides run on different models (`migrate`, a pull request
    that moves its model) is a model migration, however little of its text changed (`--plan` too); in `drift`
    (`command`) the prompt is unchanged, only the answers may have moved."""
    if command == "drift" and p.change == "modified":
        return "unchanged"
    models = {k: v.model for k, v in p.sides.items()} if isinstance(p, PromptForecast) else p.models
    base, head = models.get("base"), models.get("head")
    if p.change == "modified" and base and head and base != head:
        return "model migration"
    return str(p.change)


def command_of(report: Report) -> str | None:
    """The command that made the report (None: not said)."""
    return report.rerun.command if report.rerun is not None else None


def summary_cells(p: PromptReport, alpha: float = 0.05, command: str | None = None) -> list[str]:
    """One prompt's line in the overview: prompt (untrusted), change, verdict, biggest shift."""
    if p.change == "removed":
        shift = "not run (removed)"
    elif not p.rates:
        shift = "not run (content unchanged)" if p.change == "renamed" else "not run"
    else:
        shift = biggest_change(p, alpha) or "no change"
    return [title(p), change_word(p, command), verdict_key(p), shift]


def top_change(report: Report) -> tuple[PromptReport, str] | None:
    """The review's single biggest change, and its prompt (the worst prompt first)."""
    order = {"error": 0, "fail": 1, "warn": 2, "pass": 3}
    ranked = sorted(report.prompts, key=lambda p: (order.get(str(p.verdict), 4), not p.rates))
    for p in ranked:
        if not p.rates:
            if p.verdict == "fail":  # a prompt that leaves the review without the accept label
                return p, p.change
            continue
        change = biggest_change(p, report.alpha)
        if change:
            return p, change
    return None
