"""Where each side's answers came from: the model ids the provider served and its fingerprints, counted, with the
provider's timestamps; and the warning when one of them changed within a side ("the model changed during the
review"), naming when. Read from the answers themselves, so a cached answer counts with the provenance of when
it was made and a re-run from the cache reports the same counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from promptreview.engine.jobs import PromptJob
from promptreview.notes import Note, note
from promptreview.records import Completion, ProviderResponse
from promptreview.report.document import SideProvenance
from promptreview.vocabulary import Side


@dataclass
class _Seen:
    """One served id or fingerprint on one side: how many answers carried it, and when (provider time)."""

    count: int = 0
    first: float | None = None
    last: float | None = None
    order: int = 0  # the first planned call that carried it: the order when the provider gave no times

    def add(self, at: float | None) -> None:
        self.count += 1
        if at is not None:
            self.first = at if self.first is None else min(self.first, at)
            self.last = at if self.last is None else max(self.last, at)


@dataclass
class _Side:
    served: dict[str, _Seen] = field(default_factory=dict)
    fingerprints: dict[str, _Seen] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    answers: int = 0


def provenance(
    job: PromptJob, completions: Sequence[Completion]
) -> tuple[dict[Side, SideProvenance], list[Note]]:
    """Per side: the served ids and fingerprints with their counts, the first and last provider timestamp; and
    a `model_changed_during_review` warning for each side whose served id (the simulator's aside) or
    fingerprint changed."""
    sides: dict[Side, _Side] = {side.name: _Side() for side in job.sides}
    for position, (call, completion) in enumerate(zip(job.calls, completions, strict=True)):
        response = completion.response
        if response is None or call.side not in sides:
            continue
        _count(sides[call.side], response, position)
    out: dict[Side, SideProvenance] = {}
    warnings: list[Note] = []
    providers = {side.name: side.model.provider for side in job.sides}
    for name, seen in sides.items():
        out[name] = SideProvenance(
            served={k: v.count for k, v in _ordered(seen.served)},
            fingerprints={k: v.count for k, v in _ordered(seen.fingerprints)},
            first=min(seen.times) if seen.times else None,
            last=max(seen.times) if seen.times else None,
            answers=seen.answers,
        )
        if len(seen.served) > 1 and providers[name] != "sim":
            warnings.append(_changed(name, "served model", seen.served, seen.answers))
        if len(seen.fingerprints) > 1:
            warnings.append(_changed(name, "fingerprint", seen.fingerprints, seen.answers))
    return out, warnings


def _count(side: _Side, response: ProviderResponse, position: int) -> None:
    side.answers += 1
    at = response.provider_created
    if at is not None:
        side.times.append(at)
    for value, table in (
        (response.served_model, side.served),
        (response.system_fingerprint, side.fingerprints),
    ):
        if value:
            seen = table.get(value)
            if seen is None:
                seen = table[value] = _Seen(order=position)
            seen.add(at)


def _ordered(table: Mapping[str, _Seen]) -> list[tuple[str, _Seen]]:
    """First seen first: by the provider's time, then (no time) by the planned call that first carried it."""
    return sorted(
        table.items(),
        key=lambda item: (item[1].first is None, item[1].first or 0.0, item[1].order, item[0]),
    )


def _changed(side: Side, what: str, table: Mapping[str, _Seen], answers: int) -> Note:
    values = tuple((value, seen.count, seen.first, seen.last) for value, seen in _ordered(table))
    return note("model_changed_during_review", side, what=what, values=values, answers=answers)


def combined(parts: Iterable[SideProvenance]) -> SideProvenance | None:
    """Several sides' (and prompts') provenance summed: the review's, next to its served ids. None: no part."""
    served: dict[str, int] = {}
    fingerprints: dict[str, int] = {}
    firsts: list[float] = []
    lasts: list[float] = []
    answers = 0
    seen_any = False
    for part in parts:
        seen_any = True
        for value, count in part.served.items():
            served[value] = served.get(value, 0) + count
        for value, count in part.fingerprints.items():
            fingerprints[value] = fingerprints.get(value, 0) + count
        if part.first is not None:
            firsts.append(part.first)
        if part.last is not None:
            lasts.append(part.last)
        answers += part.answers
    if not seen_any:
        return None
    return SideProvenance(
        served=dict(sorted(served.items())),
        fingerprints=dict(sorted(fingerprints.items())),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        answers=answers,
    )
