"""The one scrubber: every credential, in every encoding it may be echoed in, never leaves the process."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

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


def test_credentials_in_a_base_url_and_their_basic_header_are_scrubbed():
    """`OPENAI_BASE_URL=http://user:pw@proxy/v1`: httpx sends `Authorization: Basic base64(user:pw)`, and an
    error or an echoing proxy may quote the URL or the header."""
    user, password = "proxy-user", "pr0xy-pa55:w%2Frd"
    secrets.remember_env({"OPENAI_BASE_URL": f"http://{user}:{password}@127.0.0.1:9/v1", "PATH": "/bin"})
    decoded = "pr0xy-pa55:w/rd"
    basic = base64.b64encode(f"{user}:{decoded}".encode()).decode()
    texts = [
        f"could not reach http://{user}:{password}@127.0.0.1:9/v1/chat/completions",
        f"Authorization: Basic {basic}",
        f"<pre>{basic}</pre>",  # no header name to go by: the encoded form itself
        base64.b64encode(f"echo {user}:{decoded}!".encode()).decode(),
        json.dumps({"password": decoded}),
    ]
    for text in texts:
        out = secrets.scrub(text)
        assert decoded not in out and "pr0xy-pa55" not in out and basic[8:-4] not in out, (text, out)
    # a URL the run does not know still loses its password, keeping where it points
    assert secrets.scrub("see https://bob:hunter2-x@example.com/x") == "see https://bob:***@example.com/x"
    assert secrets.scrub("mail bob@example.com, ssh://git@host/x") == "mail bob@example.com, ssh://git@host/x"
    assert "/bin" not in secrets.known()


def test_short_values_and_ordinary_text_are_left_alone():
    secrets.remember("abc")
    assert secrets.scrub("abc and more") == "abc and more"


def test_mask_commands_cover_each_form():
    secrets.remember(KEY)
    lines = secrets.mask_commands()
    assert f"::add-mask::{KEY}" in lines
    assert any(line.endswith(base64.b64encode(KEY.encode()).decode()[:-4]) for line in lines)


def _echo(kind: str):
    from tests.servers import Reply

    def handle(request):
        headers = dict(request.headers)
        if kind == "json":  # a 200 JSON body without the answer's part, quoting the headers
            return Reply(200, {"type": "message", "echo": headers, "error": {"message": json.dumps(headers)}})
        return Reply(200, body=f"<pre>{json.dumps(headers)}</pre>", headers={"Content-Type": "text/html"})

    return handle


@pytest.mark.parametrize(
    "provider, spec, env_key, kind",
    [
        ("openai", "openai:gpt-4o-mini-2024-07-18", "OPENAI_API_KEY", "html"),
        ("anthropic", "anthropic:claude-sonnet-4-5-20250929", "ANTHROPIC_API_KEY", "html"),
        ("anthropic", "anthropic:claude-sonnet-4-5-20250929", "ANTHROPIC_API_KEY", "json"),
        ("github", "github:openai/gpt-4o-mini", "GITHUB_TOKEN", "html"),
    ],
)
def test_a_provider_error_quoting_the_request_headers_names_no_key(provider, spec, env_key, kind):
    """The four paths the issue found unscrubbed: a non-JSON 200 (OpenAI, Anthropic, GitHub Models) and an
    Anthropic 200 JSON without `content`."""
    from promptreview.providers import create_provider
    from tests.servers import ScriptedServer, call, make_request

    key = f"{provider}-KEY-never-printed-0123456789"
    with ScriptedServer(_echo(kind)) as server:
        base = {
            "openai": "OPENAI_BASE_URL",
            "anthropic": "ANTHROPIC_BASE_URL",
            "github": "GITHUB_MODELS_BASE_URL",
        }
        url = f"{server.url}/v1" if provider == "openai" else server.url
        prov = create_provider(provider, {base[provider]: url, env_key: key})
        with pytest.raises(Exception) as info:
            call(prov, make_request(spec), max_attempts=2)
        assert server.requests and key in json.dumps(server.requests[0].headers)  # the server did see it
    assert key not in str(info.value)


def test_scrub_prefilters_change_nothing():
    # the cheap pre-checks must never skip a text the full patterns would change
    from promptreview import secrets as s

    s.forget_all()
    samples = [
        "Authorization: Bearer abc.def",
        'AUTHORIZATION="token xyz"',
        "x-api-key=zzzz",
        "X-Api-Key: 1234",
        "\u212aey sk-abcdefgh and ghp_abcd1234",  # a Kelvin sign near the names
        "aUtHoRiZaTiOn : basic dXNlcg==",
        "api-key:q sk-ant-api03-xyz github_pat_11AAAA",
        "nothing to see here",
        "sk-12 gh_x ghp_",
        '{"messages": [["user", "my api-key is sk-live-12345678"]]}',
    ]
    for text in samples:
        full = s._AUTH_VALUE.sub(
            lambda m: m.group(1) + m.group(2) + (m.group(3) or "") + s.MASK,
            s._KEY_SHAPE.sub(lambda m: m.group(1) + s.MASK, text),
        )
        assert s.scrub(text) == full, text
