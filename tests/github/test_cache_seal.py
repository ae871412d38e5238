"""The response cache's seal: a restored cache is used only when a run holding this run's model key sealed it."""

from __future__ import annotations

from pathlib import Path

from promptreview.github.cache_seal import SEAL_FILE, seal, seal_key, verify

KEY = {"OPENAI_API_KEY": "sk-real-key-0123456789", "GITHUB_TOKEN": "ghs_per_run_token_1"}


def cache(tmp_path: Path, rows: bytes = b"answers") -> Path:
    where = tmp_path / "cache"
    where.mkdir(exist_ok=True)
    (where / "cache.sqlite").write_bytes(rows)
    return where


def test_a_sealed_cache_is_kept_and_anything_else_is_emptied(tmp_path):
    where = cache(tmp_path)
    assert seal(where, KEY) and (where / SEAL_FILE).is_file()
    assert verify(where, KEY) is None and (where / "cache.sqlite").read_bytes() == b"answers"
    # another run's token does not matter; another model key does
    assert verify(where, {**KEY, "GITHUB_TOKEN": "ghs_next_run_2"}) is None
    line = verify(where, {"OPENAI_API_KEY": "sk-the-attackers-key-9"})
    assert line is not None and "not used" in line and list(where.iterdir()) == []


def test_an_edited_or_unsealed_cache_is_not_used(tmp_path):
    where = cache(tmp_path)
    seal(where, KEY)
    (where / "cache.sqlite").write_bytes(b"fabricated answers")
    assert verify(where, KEY) is not None and list(where.iterdir()) == []
    where = cache(tmp_path)  # restored without any seal
    assert verify(where, KEY) is not None and list(where.iterdir()) == []
    (where / "extra.sqlite-wal").write_bytes(b"x")  # a file slipped in beside a sealed one
    cache(tmp_path)
    seal(where, KEY)
    (where / "more").write_bytes(b"x")
    assert verify(where, KEY) is not None


def test_without_a_model_key_nothing_is_trusted_or_sealed(tmp_path):
    where = cache(tmp_path)
    assert seal_key({"GITHUB_TOKEN": "ghs_per_run_token_1"}) is None
    assert not seal(where, {"GITHUB_TOKEN": "ghs_per_run_token_1"})
    assert "no model credential" in (verify(where, {}) or "")
    assert seal_key({"PROMPTREVIEW_CACHE_SECRET": "a-long-cache-secret"}) is not None
    assert verify(None, KEY) is None and verify(tmp_path / "missing", KEY) is None
