"""The one scrubber: every credential, in every encoding it may be echoed in, never leaves the process."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from promptreview import secrets

KEY = "sk-ant-api03-SCRUBthisKEYplease_0123456789"


def test_remember_env_knows_provider_keys_tokens_and_secret_like_names():
    secrets.remember_env(
        {"ANTHROPIC_API_KEY": KEY, "MY_SERVICE_TOKEN": "tok-abcdef-123456", "PATH": "/usr/bin:/bin"}
    )
    assert KEY in secrets.known() and "tok-abcdef-123456" in secrets.known()
    assert "/usr/bin:/bin" not in secrets.known()


def test_every_encoding_is_scrubbed():
    secrets.remember(KEY)
    for text in (
        f"x-api-key: {KEY}",
        json.dumps({"headers": {"x-api-key": KEY + "\n"}}),
        quote(KEY, safe=""),
        base64.b64encode(f"u:{KEY}".encode()).decode(),
        base64.b64encode(f"{KEY}".encode()).decode(),
        base64.b64encode(f"ab{KEY}cd".encode()).decode(),
        base64.urlsafe_b64encode(f"?{KEY}".encode()).decode(),
    ):
        out = secrets.scrub(text)
        assert KEY not in out and KEY[6:-6] not in out, text


def test_short_values_and_ordinary_text_are_left_alone():
    secrets.remember("abc")
    assert secrets.scrub("abc and more") == "abc and more"


def test_mask_commands_cover_each_form():
    secrets.remember(KEY)
    lines = secrets.mask_commands()
    assert f"::add-mask::{KEY}" in lines
    assert any(line.endswith(base64.b64encode(KEY.encode()).decode()[:-4]) for line in lines)
