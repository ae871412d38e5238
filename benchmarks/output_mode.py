"""`auto` output mode against the hand-labelled corpus of real prompt files (tests/fixtures/output_mode/): the
agreement, the confusion matrix, the agreement per source repository and every disagreement.

    python benchmarks/output_mode.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from promptreview.engine.planning.output_mode import asks_for_json_text  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "output_mode"


def main() -> None:
    rows = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()]
    matrix: Counter[tuple[str, str]] = Counter()
    per_repo: Counter[tuple[str, bool]] = Counter()
    wrong: list[str] = []
    held_out = [0, 0]  # agree, prompts: labelled after the rule was written, before it ran on them
    for row in rows:
        detected = (
            "json" if asks_for_json_text((CORPUS / row["file"]).read_text(encoding="utf-8")) else "text"
        )
        matrix[row["label"], detected] += 1
        per_repo[row["repo"], detected == row["label"]] += 1
        if row.get("set") == "held-out":
            held_out[0] += detected == row["label"]
            held_out[1] += 1
        if detected != row["label"]:
            wrong.append(f"  {row['file']}: labelled {row['label']} ({row['reason']}), detected {detected}")
    agreed = matrix["json", "json"] + matrix["text", "text"]
    print(
        f"{len(rows)} prompts from {len({r['repo'] for r in rows})} repositories: {agreed} agree, {agreed / len(rows):.1%}"
    )
    print(f"held out: {held_out[0]}/{held_out[1]} agree")
    print("                 detected json  detected text")
    for label in ("json", "text"):
        print(f"labelled {label}    {matrix[label, 'json']:>13}  {matrix[label, 'text']:>13}")
    print("per repository (agree / prompts):")
    for repo in sorted({r["repo"] for r in rows}):
        ok, total = per_repo[repo, True], per_repo[repo, True] + per_repo[repo, False]
        print(f"  {repo}: {ok}/{total}")
    print("disagreements:" if wrong else "no disagreements")
    print("\n".join(wrong))


if __name__ == "__main__":
    main()
