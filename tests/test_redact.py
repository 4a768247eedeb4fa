"""Redaction: every platform's secret is masked wherever its URL appears, the endpoint stays
recognisable, generated tokens never survive, and hostile input costs linear time."""

from __future__ import annotations

import socket
import time

import aiohttp
import pytest
import requests
from hypothesis import assume, given
from hypothesis import strategies as st

from worker.redact import redact_text, redact_url

# --- redact_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # userinfo passwords in DSNs and webhook URLs
        ("postgresql://herald:pw@db:5432/herald", "postgresql://herald:***@db:5432/herald"),
        ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://default:pw@cache.example:6380/1", "rediss://default:***@cache.example:6380/1"),
        ("redis://:pa/ss@h:6379/0", "redis://:***@h:6379/0"),  # an unencoded / in the password
        ("https://user:pass@hooks.example.org/in", "https://user:***@hooks.example.org/in"),
        ("postgresql://herald@db/herald", "postgresql://herald@db/herald"),  # no password
        # every query value
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=a%2Bb",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***",
        ),
        ("https://h.example/in?token=t&empty=&bare", "https://h.example/in?token=***&empty=&***"),
        ("https://h.example/in#access_token=t", "https://h.example/in#access_token=***"),
        # the platforms' token path segments
        (
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/T00000000/B00000000/***",
        ),
        (
            "https://hooks.slack.com/triggers/T0001/123456/abcdef0123",
            "https://hooks.slack.com/triggers/T0001/123456/***",
        ),
        (
            "https://discord.com/api/webhooks/112233445566778899/tok-EN_1?wait=true",
            "https://discord.com/api/webhooks/112233445566778899/***?wait=***",
        ),
        (
            "https://discord.com/api/v10/webhooks/1122/tok/messages/99",
            "https://discord.com/api/v10/webhooks/1122/***/messages/99",
        ),
        (
            "https://open.feishu.cn/open-apis/bot/v2/hook/2d4c1f0e-xxxx",
            "https://open.feishu.cn/open-apis/bot/v2/hook/***",
        ),
        (
            "https://open.larksuite.com/open-apis/bot/v2/hook/2d4c1f0e",
            "https://open.larksuite.com/open-apis/bot/v2/hook/***",
        ),
        (
            "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
            "https://api.telegram.org/bot***/sendMessage",
        ),
        ("https://api.telegram.org/botANYTHING/getMe", "https://api.telegram.org/bot***/getMe"),
        ("http://127.0.0.1:8/bot42%3Atoken/sendMessage", "http://127.0.0.1:8/bot***/sendMessage"),
        # the same shapes on other hosts (fakes, proxies)
        ("http://127.0.0.1:5001/services/T1/B2/tok", "http://127.0.0.1:5001/services/T1/B2/***"),
        ("http://[::1]:5002/api/webhooks/42/tok", "http://[::1]:5002/api/webhooks/42/***"),
        (
            "http://proxy.internal/open-apis/bot/v2/hook/tok",
            "http://proxy.internal/open-apis/bot/v2/hook/***",
        ),
        ("http://127.0.0.1:5003/bot42:tok/sendMessage", "http://127.0.0.1:5003/bot***/sendMessage"),
        # what is not a secret stays
        ("https://example.org/hooks/herald", "https://example.org/hooks/herald"),
        ("https://h.example:8443/@someone", "https://h.example:8443/@someone"),
        ("https://example.org/robots.txt", "https://example.org/robots.txt"),
        (
            "https://h.example/api/webhooks/events/list",
            "https://h.example/api/webhooks/events/list",
        ),
        ("sqlite:////srv/herald/data/herald.db", "sqlite:////srv/herald/data/herald.db"),
        ("", ""),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # idempotent


# --- redact_text -------------------------------------------------------------------------------


def test_urls_in_free_text_are_redacted_with_their_punctuation_kept() -> None:
    text = (
        "POST failed (https://h.example/in?token=abc). Also see <http://u:pw@h/x>, "
        "url='https://hooks.slack.com/services/T1/B2/zzz' and "
        'URL("https://discord.com/api/webhooks/1/tok").'
    )
    assert redact_text(text) == (
        "POST failed (https://h.example/in?token=***). Also see <http://u:***@h/x>, "
        "url='https://hooks.slack.com/services/T1/B2/***' and "
        'URL("https://discord.com/api/webhooks/1/***").'
    )


def test_urls_glued_together_are_redacted_each() -> None:
    text = "('http://a.example/in?k=v','redis://:pw@h/0') next=https://h/r?to=https://u:pw@i/"
    assert redact_text(text) == (
        "('http://a.example/in?k=***','redis://:***@h/0') next=https://h/r?to=https://u:***@i/"
    )


def test_path_and_query_quoted_without_a_host_are_redacted() -> None:
    text = "Max retries exceeded with url: /robot/send?access_token=TOK&sign=S (Caused by x)"
    assert redact_text(text) == (
        "Max retries exceeded with url: /robot/send?access_token=***&sign=*** (Caused by x)"
    )
    assert redact_text("GET /bot42:TOKEN/sendMessage 404") == "GET /bot***/sendMessage 404"


def test_bare_secrets_are_masked() -> None:
    dingtalk = "SEC" + "0f" * 32
    telegram = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    text = f"secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw; {dingtalk}, token {telegram}."
    assert redact_text(text) == "secret=whsec_***; SEC***, token 123456789:***."


def test_ordinary_text_is_left_alone() -> None:
    text = "服务器返回 93000 invalid webhook url, 12:30:00 and/or 3/4? yes: 20/min"
    assert redact_text(text) == text


def test_a_real_requests_error_quoting_the_url_is_redacted() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: connection refused
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=WECOM-SECRET-KEY"
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(url, timeout=2)
    assert "WECOM-SECRET-KEY" in str(caught.value)  # what the library says …
    assert "WECOM-SECRET-KEY" not in redact_text(str(caught.value))  # … and what herald keeps


def test_a_real_aiohttp_error_quoting_the_url_is_redacted() -> None:
    message = str(aiohttp.InvalidURL("http://[bad/api/webhooks/42/DISCORD-TOKEN"))
    assert "DISCORD-TOKEN" in message
    assert "DISCORD-TOKEN" not in redact_text(message)


# --- properties: a generated token never survives ----------------------------------------------

TOKEN = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=16)
HOSTS = st.sampled_from(["127.0.0.1:8080", "hooks.example.org", "[::1]:9000", "api.telegram.org"])
SHAPES = [
    "https://{host}/cgi-bin/webhook/send?key={token}",
    "https://{host}/robot/send?access_token={token}&timestamp=1&sign=x",
    "https://{host}/open-apis/bot/v2/hook/{token}",
    "https://{host}/services/T0AB12/B0CD34/{token}",
    "https://{host}/api/webhooks/112233445566778899/{token}",
    "https://{host}/bot123456789:{token}/sendMessage",
    "https://user:{token}@{host}/in?x=1",
    "postgresql://herald:{token}@{host}/herald",
    "redis://:{token}@{host}/0",
    "https://{host}/in?token={token}#frag",
]
SEPARATORS = st.sampled_from([" ", "\n", "'", '"', ")", ").", ",", ">", "]"])


@given(
    shape=st.sampled_from(SHAPES),
    host=HOSTS,
    token=TOKEN,
    before=st.text(),
    after=st.text(),
    sep=SEPARATORS,
)
def test_a_token_in_a_url_never_survives(
    shape: str, host: str, token: str, before: str, after: str, sep: str
) -> None:
    url = shape.format(host=host, token=token)
    assume(token not in shape.format(host=host, token="") + before + after)
    assert token not in redact_url(url)
    assert token not in redact_text(f"{before} {url}{sep}{after}")
    assert token not in redact_text(f"{before}'{url}'{after}")


@given(
    secret=st.sampled_from(["whsec_{b64}", "SEC{hex}", "987654321:{tg}"]),
    b64=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=24),
    hex_=st.text("0123456789abcdef", min_size=64, max_size=64),
    tg=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=35),
    before=st.text(),
    after=st.text(),
)
def test_a_bare_secret_never_survives(
    secret: str, b64: str, hex_: str, tg: str, before: str, after: str
) -> None:
    value = secret.format(b64=b64, hex=hex_, tg=tg)
    hidden = value.split("_", 1)[-1] if value.startswith("whsec_") else value[3:]
    if value[0].isdigit():
        hidden = tg
    assume(hidden not in before + after)
    assert hidden not in redact_text(f"{before} {value} {after}")


@given(st.text())
def test_any_text_is_redacted_without_error_and_idempotently(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    assert redact_url(redact_url(text)) == redact_url(text)


# --- linear time on hostile input --------------------------------------------------------------

N = 200_000


@pytest.mark.parametrize(
    "text",
    [
        "1" * N,
        "1" * N + ":",
        ("12345:" + "a" * 29) * (N // 35),
        "SEC" * (N // 3),
        "SEC" + "a" * N,
        "whsec_" * (N // 6),
        "/" * N,
        "?" * N,
        "&=" * (N // 2),
        "a://" * (N // 4),
        "a" * N + "://",
        "http://" + "@" * N,
        "http://a:" + "b" * N + "/" + "@" * N,
        "http://a:b" + "/@" * N,
        "/open-apis" + "/hook" * (N // 5),
        "/services/T/B" * (N // 13),
        "/api/webhooks/1" * (N // 15),
        "/bot1%3a" * (N // 8),
        "http://h/" + "bot1:" * (N // 5),
        "x " * N,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_hostile_input_costs_linear_time(text: str) -> None:
    started = time.perf_counter()
    redact_text(text)
    redact_url(text)
    assert time.perf_counter() - started < 2.0  # a quadratic pass over 200 k would take minutes
