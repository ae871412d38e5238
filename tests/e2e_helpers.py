"""Builders for end-to-end tests: a small triage repository committed to a real temp git repo."""

from __future__ import annotations

import json

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "category": {"enum": ["billing", "technical", "account", "shipping", "other"]},
        "priority": {"enum": ["low", "medium", "high", "urgent"]},
        "summary": {"type": "string", "maxLength": 200},
        "needs_human": {"type": "boolean"},
    },
    "required": ["category", "priority", "summary", "needs_human"],
    "additionalProperties": False,
}

TICKETS = {
    "email": [
        "I was charged twice for my subscription this month, please refund the duplicate payment.",
        "My package never arrived and the tracking number shows no movement for a week.",
        "The app crashes every time I open the settings page on Android.",
        "How do I change the email address on my account?",
        "Your invoice lists the wrong VAT number for our company.",
        "The export to CSV button produces an empty file.",
        "I want to close my account and delete all my data.",
        "Delivery was left at the wrong address, the courier ignored the note.",
    ],
    "chat": [
        "hi, login keeps failing",
        "where is my order??",
        "refund pls, double charge",
        "app is super slow today",
        "can i upgrade to pro mid-month",
        "password reset email never comes",
    ],
    "phone": [
        "Caller says the billing page shows an error when updating the card.",
        "Customer reports the device will not pair over bluetooth after the update.",
        "Caller asks for the admin password of a colleague's account.",
        "Customer wants to know when the replacement part ships.",
    ],
}


def suite_rows() -> list[dict]:
    rows = []
    for channel, tickets in TICKETS.items():
        for i, ticket in enumerate(tickets):
            rows.append({"id": f"{channel}-{i}", "channel": channel, "ticket": ticket})
    return rows


def prompt_yml(system: str, model: str | None = None, user: str = "Ticket ({{channel}}): {{ticket}}") -> str:
    lines = ["name: triage"]
    if model:
        lines.append(f"model: {model}")
    lines += [
        "modelParameters:",
        "  temperature: 0.7",
        "  max_tokens: 300",
        "messages:",
        "  - role: system",
        f"    content: {json.dumps(system)}",
        "  - role: user",
        f"    content: {json.dumps(user)}",
    ]
    return "\n".join(lines) + "\n"


STRICT = (
    "You triage support tickets. Output strictly valid JSON with keys category "
    "(billing, technical, account, shipping, other), priority (low, medium, high, urgent), summary and "
    "needs_human."
)
LOOSE = STRICT.replace("Output strictly valid JSON", "Always respond using clean, parseable JSON")


def config_yml(
    model: str = "sim:triage-v1", per_stratum: int | None = None, samples: int = 3, extra: str = ""
) -> str:
    sample = f"\n    sample: {{per_stratum: {per_stratum}, seed: 7}}" if per_stratum else ""
    return (
        "version: 1\n"
        f"model: {model}\n"
        f"samples: {samples}\n"
        "concurrency: 4\n"
        "prompts:\n"
        "  - files: 'prompts/**/*.prompt.yml'\n"
        "    suite: data/inputs.jsonl\n"
        "    schema: data/schema.json\n"
        f"    strata: [channel]{sample}\n"
        "gates:\n"
        "  parse_failure: {max_increase: 0.02}\n"
        "  schema_violation: {max_increase: 0.02}\n"
        "  refusal: {max_increase: 0.02}\n"
        "  alpha: 0.05\n" + extra
    )


def make_triage_repo(
    repo, model: str = "sim:triage-v1", per_stratum: int | None = None, samples: int = 3, extra: str = ""
) -> str:
    """Commit a config, suite, schema and base prompt; return the base commit."""
    repo.write("promptreview.yml", config_yml(model, per_stratum, samples, extra))
    repo.write("data/inputs.jsonl", "\n".join(json.dumps(r) for r in suite_rows()) + "\n")
    repo.write("data/schema.json", json.dumps(SCHEMA, indent=2))
    repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT))
    return repo.commit("base")


def check(run_cli, repo, env=None, *extra):
    """`check HEAD~1..HEAD` with a JSON report: (the result, the report or None); never a traceback."""
    out = repo.root / "report.json"
    out.unlink(missing_ok=True)
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out), *extra],
        repo.root,
        env,
    )
    assert "Traceback" not in result.err
    return result, (json.loads(out.read_text()) if out.exists() else None)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]
