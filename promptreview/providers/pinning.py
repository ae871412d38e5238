"""Pinning rules: does a model id name a fixed snapshot ("pinned"), a moving alias ("floating"), or can't we
tell ("unverifiable")? Pure functions on the id alone, so the engine can refuse an alias before any call.

| provider | pinned | floating | unverifiable |
|---|---|---|---|
| openai | OpenAI family id with a dated snapshot `-YYYY-MM-DD` or legacy `-MMDD`; `ft:` on a pinned base | bare family names (`gpt-4o`), `*-latest` | any id that is not an OpenAI family name (a model on a compatible server), `ft:` on an undated base |
| anthropic | `-YYYYMMDD` ids; ids of generations published without dates (4.6 and later, `claude-2.1`, ...) | `*-latest`, dateless short forms of dated families (`claude-sonnet-4-5`), `opus`/`sonnet`/`haiku` | anything else |
| ollama | `name:tag@sha256:<12+ hex>` (the digest from `GET /api/tags`) | a tag without a digest (`llama3.1:8b`) | never |
| github | never | never | always (GitHub Models serves dateless ids) |
| gemini | a numbered version (`gemini-2.0-flash-001`), a dated preview (`-preview-05-20`) | `*-latest`, aliases of numbered models (`gemini-2.0-flash`) | anything else (`gemini-2.5-flash`: published without a number) |

The rule judges the id, not the server: `openai:gpt-4o-mini-2024-07-18` is pinned even when OPENAI_BASE_URL points
at a local server; the served model id recorded on every response is what catches a server that serves
something else.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any, Literal

from promptreview.providers.base import PinStatus
from promptreview.vocabulary import ProviderName

# -- OpenAI ----------------------------------------------------------------------------------------------

# Dated snapshots per floating family name, newest first (from OpenAI's API description, `ModelIdsShared`).
OPENAI_SNAPSHOTS: dict[str, tuple[str, ...]] = {
    "gpt-5.5": ("gpt-5.5-2026-04-23",),
    "gpt-5.4-mini": ("gpt-5.4-mini-2026-03-17",),
    "gpt-5.4-nano": ("gpt-5.4-nano-2026-03-17",),
    "gpt-5.2": ("gpt-5.2-2025-12-11",),
    "gpt-5.2-pro": ("gpt-5.2-pro-2025-12-11",),
    "gpt-5.1": ("gpt-5.1-2025-11-13",),
    "gpt-5": ("gpt-5-2025-08-07",),
    "gpt-5-mini": ("gpt-5-mini-2025-08-07",),
    "gpt-5-nano": ("gpt-5-nano-2025-08-07",),
    "gpt-4.1": ("gpt-4.1-2025-04-14",),
    "gpt-4.1-mini": ("gpt-4.1-mini-2025-04-14",),
    "gpt-4.1-nano": ("gpt-4.1-nano-2025-04-14",),
    "o4-mini": ("o4-mini-2025-04-16",),
    "o3": ("o3-2025-04-16",),
    "o3-mini": ("o3-mini-2025-01-31",),
    "o1": ("o1-2024-12-17",),
    "o1-preview": ("o1-preview-2024-09-12",),
    "o1-mini": ("o1-mini-2024-09-12",),
    "gpt-4o": ("gpt-4o-2024-11-20", "gpt-4o-2024-08-06", "gpt-4o-2024-05-13"),
    "gpt-4o-mini": ("gpt-4o-mini-2024-07-18",),
    "gpt-4o-audio-preview": (
        "gpt-4o-audio-preview-2025-06-03",
        "gpt-4o-audio-preview-2024-12-17",
        "gpt-4o-audio-preview-2024-10-01",
    ),
    "gpt-4o-mini-audio-preview": ("gpt-4o-mini-audio-preview-2024-12-17",),
    "gpt-4o-search-preview": ("gpt-4o-search-preview-2025-03-11",),
    "gpt-4o-mini-search-preview": ("gpt-4o-mini-search-preview-2025-03-11",),
    "gpt-4-turbo": ("gpt-4-turbo-2024-04-09",),
    "gpt-4-turbo-preview": ("gpt-4-0125-preview", "gpt-4-1106-preview"),
    "gpt-4": ("gpt-4-0613", "gpt-4-0314"),
    "gpt-4-32k": ("gpt-4-32k-0613", "gpt-4-32k-0314"),
    "gpt-3.5-turbo": ("gpt-3.5-turbo-0125", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0613"),
    "gpt-3.5-turbo-16k": ("gpt-3.5-turbo-16k-0613",),
}

_OPENAI_FAMILY = re.compile(
    r"^(?:gpt-|chatgpt-|codex-|computer-use-|o\d+(?:-|$)|text-davinci|davinci|babbage)"
)
_ISO_DATE = re.compile(r"-(\d{4})-(\d{2})-(\d{2})(?=-|$)")
_LEGACY_DATE = re.compile(r"-(\d{2})(\d{2})(?=-|$)")


def is_openai_family(model_id: str) -> bool:
    """True for ids of OpenAI's own models (`gpt-4o-...`, `o3-...`, `ft:gpt-...`), false for anything else."""
    model_id = model_id.strip().lower()
    if model_id.startswith("ft:"):
        model_id = _ft_base(model_id)
    return bool(_OPENAI_FAMILY.match(model_id))


def _ft_base(model_id: str) -> str:
    parts = model_id.split(":")
    return parts[1] if len(parts) > 1 else ""


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _has_openai_date(model_id: str) -> bool:
    for match in _ISO_DATE.finditer(model_id):
        if _valid_date(int(match[1]), int(match[2]), int(match[3])):
            return True
    for match in _LEGACY_DATE.finditer(model_id):
        # MMDD: a real month and day (leap-year-proof with 2024)
        if _valid_date(2024, int(match[1]), int(match[2])):
            return True
    return False


def openai_pin_status(model_id: str) -> PinStatus:
    """OpenAI: dated snapshot (`-YYYY-MM-DD`, legacy `-MMDD`) or `ft:` on one is pinned; bare names and
    `*-latest` float; ids that are not OpenAI family names are unverifiable."""
    mid = model_id.strip().lower()
    if mid.startswith("ft:"):
        base = _ft_base(mid)
        return "pinned" if is_openai_family(base) and openai_pin_status(base) == "pinned" else "unverifiable"
    if not is_openai_family(mid):
        return "unverifiable"
    if mid.endswith("-latest"):
        return "floating"
    return "pinned" if _has_openai_date(mid) else "floating"


def openai_family(model_id: str) -> str:
    """The id without its snapshot date: `gpt-4o-2024-08-06` -> `gpt-4o`, `gpt-4-0613` -> `gpt-4`."""
    mid = model_id.strip().lower()
    mid = _ISO_DATE.sub("", mid)
    return _LEGACY_DATE.sub("", mid)


def openai_pinned_suggestions(model_id: str) -> list[str]:
    """Dated snapshots to use instead of a floating OpenAI id, newest first (empty when we know none)."""
    mid = model_id.strip().lower()
    if mid.startswith("ft:"):
        return []
    base = mid[: -len("-latest")] if mid.endswith("-latest") else mid
    candidates = [base, openai_family(base)]
    if base.endswith("-chat"):
        candidates.append(base[: -len("-chat")])
    if base.startswith("chatgpt-"):
        candidates.append("gpt-" + base[len("chatgpt-") :])
    for candidate in candidates:
        if candidate in OPENAI_SNAPSHOTS:
            return list(OPENAI_SNAPSHOTS[candidate])
    return []


# -- Anthropic -------------------------------------------------------------------------------------------

# Dated snapshots per dateless short form, newest first.
ANTHROPIC_SNAPSHOTS: dict[str, tuple[str, ...]] = {
    "claude-opus-4-5": ("claude-opus-4-5-20251101",),
    "claude-sonnet-4-5": ("claude-sonnet-4-5-20250929",),
    "claude-haiku-4-5": ("claude-haiku-4-5-20251001",),
    "claude-opus-4-1": ("claude-opus-4-1-20250805",),
    "claude-opus-4-0": ("claude-opus-4-20250514",),
    "claude-opus-4": ("claude-opus-4-20250514",),
    "claude-sonnet-4-0": ("claude-sonnet-4-20250514",),
    "claude-sonnet-4": ("claude-sonnet-4-20250514",),
    "claude-3-7-sonnet": ("claude-3-7-sonnet-20250219",),
    "claude-3-5-sonnet": ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20240620"),
    "claude-3-5-haiku": ("claude-3-5-haiku-20241022",),
    "claude-3-opus": ("claude-3-opus-20240229",),
    "claude-3-sonnet": ("claude-3-sonnet-20240229",),
    "claude-3-haiku": ("claude-3-haiku-20240307",),
    # the tier aliases point at the newest model of the tier
    "opus": ("claude-opus-4-6", "claude-opus-4-5-20251101"),
    "sonnet": ("claude-sonnet-4-6", "claude-sonnet-4-5-20250929"),
    "haiku": ("claude-haiku-4-5-20251001",),
}
# Published without a date: the id itself is the fixed snapshot.
ANTHROPIC_UNDATED_PINNED = frozenset({"claude-2.0", "claude-2.1", "claude-instant-1.2"})
# From this generation on, dateless ids are the canonical pinned ids (Anthropic's model-ids-and-versions page).
ANTHROPIC_DATELESS_FROM = (4, 6)

_ANTHROPIC_DATE = re.compile(r"-(\d{4})(\d{2})(\d{2})$")
_ANTHROPIC_NEW = re.compile(r"^claude-(?P<tier>[a-z]+)-(?P<major>\d+)(?:-(?P<minor>\d+))?$")
_ANTHROPIC_OLD = re.compile(r"^claude-(?P<major>\d+)(?:-(?P<minor>\d+))?-(?P<tier>[a-z]+)$")
_ANTHROPIC_TIER_ONLY = re.compile(r"^(?:claude-)?(?:opus|sonnet|haiku)$")


def _anthropic_dated(model_id: str) -> bool:
    match = _ANTHROPIC_DATE.search(model_id)
    return match is not None and _valid_date(int(match[1]), int(match[2]), int(match[3]))


def _anthropic_version(model_id: str) -> tuple[str, tuple[int, int], Literal["new", "old"]] | None:
    """(tier, (major, minor), style) for `claude-sonnet-4-5[-date]` (new) or `claude-3-5-sonnet[-date]` (old)."""
    mid = _ANTHROPIC_DATE.sub("", model_id) if _anthropic_dated(model_id) else model_id
    styles: tuple[tuple[Literal["new", "old"], re.Pattern[str]], ...] = (
        ("new", _ANTHROPIC_NEW),
        ("old", _ANTHROPIC_OLD),
    )
    for style, pattern in styles:
        match = pattern.match(mid)
        if match:
            return match["tier"], (int(match["major"]), int(match["minor"] or 0)), style
    return None


def anthropic_pin_status(model_id: str) -> PinStatus:
    """Anthropic: `-YYYYMMDD` ids are pinned, as are ids of generations published without dates (4.6 on);
    `*-latest` and the dateless short forms of dated families float; anything else is unverifiable."""
    mid = model_id.strip().lower()
    if mid.endswith("-latest") or _ANTHROPIC_TIER_ONLY.match(mid):
        return "floating"
    if _anthropic_dated(mid):
        return "pinned"
    if mid in ANTHROPIC_UNDATED_PINNED:
        return "pinned"
    if mid in ANTHROPIC_SNAPSHOTS:
        return "floating"
    version = _anthropic_version(mid)
    if version is None:
        return "unverifiable"
    _tier, number, style = version
    if style == "new" and number >= ANTHROPIC_DATELESS_FROM:
        return "pinned"
    return "floating"  # a dateless short form of a generation that was published with dates


def anthropic_pinned_suggestions(model_id: str) -> list[str]:
    """Dated snapshots to use instead of a floating Anthropic id, newest first (empty when we know none)."""
    mid = model_id.strip().lower()
    base = mid[: -len("-latest")] if mid.endswith("-latest") else mid
    if base in ANTHROPIC_SNAPSHOTS:
        return list(ANTHROPIC_SNAPSHOTS[base])
    if base.startswith("claude-") and base[len("claude-") :] in ANTHROPIC_SNAPSHOTS:  # claude-opus -> opus
        return list(ANTHROPIC_SNAPSHOTS[base[len("claude-") :]])
    version = _anthropic_version(base)
    if version is not None:
        tier, (major, minor), style = version
        key = f"claude-{tier}-{major}-{minor}" if style == "new" else f"claude-{major}-{minor}-{tier}"
        short = f"claude-{tier}-{major}" if style == "new" else f"claude-{major}-{tier}"
        for candidate in (key, short):
            if candidate in ANTHROPIC_SNAPSHOTS:
                return list(ANTHROPIC_SNAPSHOTS[candidate])
    return []


def anthropic_supports_structured_output(model_id: str) -> bool:
    """Whether the model takes `output_config.format` (JSON-schema outputs): Claude 4.5 generation and later,
    and Opus 4.1. Older models get the prompt's instruction alone."""
    version = _anthropic_version(model_id.strip().lower())
    if version is None:
        return False
    tier, number, style = version
    if style != "new":
        return False
    return number >= (4, 5) or (tier == "opus" and number == (4, 1))


# -- Ollama ----------------------------------------------------------------------------------------------

_OLLAMA_DIGEST = re.compile(r"^(?P<name>[^@]+)@(?:sha256[:\-])?(?P<digest>[0-9a-fA-F]+)$")
OLLAMA_MIN_DIGEST = 12  # hex characters of the digest a pin must give


def split_ollama_digest(model_id: str) -> tuple[str, str | None]:
    """`llama3.1:8b@sha256:46e0c10c039e` -> (`llama3.1:8b`, `46e0c10c039e`); no digest -> (id, None)."""
    match = _OLLAMA_DIGEST.match(model_id.strip())
    if not match:
        return model_id.strip(), None
    return match["name"], match["digest"].lower()


def normalize_ollama_name(name: str) -> str:
    """Ollama's own normal form: a name without a tag means `:latest` (`llama3.1` -> `llama3.1:latest`)."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def ollama_pin_status(model_id: str) -> PinStatus:
    """Ollama: pinned when the id carries the model's digest (at least 12 hex characters), else floating."""
    _name, digest = split_ollama_digest(model_id)
    return "pinned" if digest is not None and len(digest) >= OLLAMA_MIN_DIGEST else "floating"


def ollama_pinned_id(name: str, digest: str, length: int = OLLAMA_MIN_DIGEST) -> str:
    return f"{name}@sha256:{digest.lower().removeprefix('sha256:')[:length]}"


def ollama_pinned_suggestions(model_id: str, tags: Iterable[dict[str, Any]]) -> list[str]:
    """Pinned ids for `model_id` from the models of `GET /api/tags` (`[{name, digest}, ...]`)."""
    name, _digest = split_ollama_digest(model_id)
    wanted = normalize_ollama_name(name)
    out = []
    for tag in tags:
        tag_name = str(tag.get("name") or tag.get("model") or "")
        digest = str(tag.get("digest") or "")
        if digest and normalize_ollama_name(tag_name) == wanted:
            out.append(ollama_pinned_id(name, digest))
    return out


# -- Gemini ----------------------------------------------------------------------------------------------

# Auto-updated aliases of Gemini models with numbered stable versions, newest version first (Google's "model
# versions" page: `gemini-2.0-flash` points at `gemini-2.0-flash-001`).
GEMINI_VERSIONS: dict[str, tuple[str, ...]] = {
    "gemini-2.0-flash": ("gemini-2.0-flash-001",),
    "gemini-2.0-flash-lite": ("gemini-2.0-flash-lite-001",),
    "gemini-1.5-flash": ("gemini-1.5-flash-002", "gemini-1.5-flash-001"),
    "gemini-1.5-flash-8b": ("gemini-1.5-flash-8b-001",),
    "gemini-1.5-pro": ("gemini-1.5-pro-002", "gemini-1.5-pro-001"),
}
_GEMINI_NUMBERED = re.compile(r"-\d{3}$")  # a stable version: gemini-2.0-flash-001
_GEMINI_DATED = re.compile(r"-(?:preview|exp)-(?:\d{2}-\d{2}|\d{4})$")  # gemini-2.5-flash-preview-05-20


def _gemini_id(model_id: str) -> str:
    """The id without the `models/` prefix Google's own listings use."""
    return model_id.strip().lower().removeprefix("models/")


def gemini_pin_status(model_id: str) -> PinStatus:
    """Gemini: a numbered stable version (`-001`) or a dated preview is pinned; `*-latest` and the aliases of
    numbered models float; any other id (a stable model Google publishes without a version number) cannot be
    verified."""
    mid = _gemini_id(model_id)
    if mid.endswith("-latest") or mid in GEMINI_VERSIONS:
        return "floating"
    if _GEMINI_NUMBERED.search(mid) or _GEMINI_DATED.search(mid):
        return "pinned"
    return "unverifiable"


def gemini_pinned_suggestions(model_id: str) -> list[str]:
    """Numbered versions to use instead of a floating Gemini alias, newest first (empty when we know none)."""
    mid = _gemini_id(model_id)
    return list(GEMINI_VERSIONS.get(mid.removesuffix("-latest"), ()))


# -- every provider ---------------------------------------------------------------------------------------

PIN_RULES: dict[ProviderName, str] = {
    "openai": "OpenAI ids pin with a dated snapshot (-YYYY-MM-DD, or legacy -MMDD); bare names and *-latest float; "
    "ids that are not OpenAI model names (a model on a compatible server) cannot be verified",
    "anthropic": "Anthropic ids pin with a -YYYYMMDD date, or are pinned as published (4.6 generation and later); "
    "*-latest and dateless short forms of dated models float",
    "ollama": "Ollama models pin with their digest from `ollama list` / GET /api/tags: name:tag@sha256:<12+ hex>",
    "github": "GitHub Models serves dateless ids, so a pin cannot be verified; set allow_unpinned: true",
    "gemini": "Gemini ids pin with a numbered version (-001) or a dated preview; *-latest and the aliases of "
    "numbered models float; a stable id published without a number cannot be verified",
    "sim": "the simulator is deterministic",
}


def pin_rule(provider: ProviderName) -> str:
    """One sentence naming the pinning rule of `provider` (for error messages and docs)."""
    return PIN_RULES.get(provider, "no pinning rule is known for this provider")


def served_model_matches(provider: ProviderName, requested: str, served: str | None) -> bool:
    """Whether the served model id is the requested one (Ollama: same name, `:latest` implied, digest prefix)."""
    if served is None or served == requested:
        return True
    if provider == "ollama":
        req_name, req_digest = split_ollama_digest(requested)
        srv_name, srv_digest = split_ollama_digest(served)
        if normalize_ollama_name(req_name) != normalize_ollama_name(srv_name):
            return False
        if req_digest and srv_digest:
            return srv_digest.startswith(req_digest) or req_digest.startswith(srv_digest)
        return True
    return False
