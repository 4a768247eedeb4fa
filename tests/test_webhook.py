"""Standard Webhooks: signing, verification, building, sending and the demo receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.notify_helpers import post
from worker.demo.receiver import Received, WebhookReceiver
from worker.models import Article
from worker.notify import (
    NOTIFIERS,
    Outgoing,
    Target,
    article_data,
    get_notifier,
)
from worker.notify.webhook import (
    WebhookNotifier,
    WebhookVerificationError,
    sign,
    verify,
)
from worker.retry_after import parse_retry_after

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
DATA = {"id": 7, "title": "关于开展2026年度申报工作的通知", "tags": ["通知"]}

pytestmark = pytest.mark.timeout(20)


def headers_for(msg_id: str, ts: int, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=SECRET)
    r.start()
    yield r
    r.stop()


def build_now(url: str, event_id: str = "evt_1", *, secret: str = SECRET) -> Outgoing:
    target = Target(name="t", channel="webhook", url=url, secret=secret)
    return WebhookNotifier().build(target, "article.created", event_id, DATA, now=datetime.now(UTC))


class Server:
    """A throwaway threaded HTTP server on 127.0.0.1 with a given handler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def status_server(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Server:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Server(Handler)


# --- signing and verification ---------------------------------------------------------------


def test_sign_matches_standard_webhooks_vector() -> None:
    assert sign(SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG


def test_verify_accepts_vector_at_its_time() -> None:
    verify(SECRET, headers_for(VECTOR_ID, VECTOR_TS, VECTOR_SIG), VECTOR_BODY, now=VECTOR_TS + 10)


def test_sign_verify_round_trip_with_mixed_case_headers() -> None:
    ts = int(time.time())
    body = json.dumps(DATA, ensure_ascii=False).encode()
    sig = sign(OTHER_SECRET, "evt_9", ts, body)
    assert sig.startswith("v1,") and sig != sign(SECRET, "evt_9", ts, body)
    verify(
        OTHER_SECRET,
        {"Webhook-Id": "evt_9", "Webhook-Timestamp": str(ts), "Webhook-Signature": sig},
        body,
    )


def test_verify_rejects_tampered_body() -> None:
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(
            SECRET,
            headers_for(VECTOR_ID, VECTOR_TS, VECTOR_SIG),
            b'{"test": 2432232315}',
            now=VECTOR_TS,
        )


def test_verify_rejects_wrong_secret() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(
            OTHER_SECRET, headers_for(VECTOR_ID, VECTOR_TS, VECTOR_SIG), VECTOR_BODY, now=VECTOR_TS
        )


def test_verify_rejects_timestamp_ten_minutes_old() -> None:
    ts = int(time.time()) - 600
    sig = sign(SECRET, "evt_old", ts, b"{}")
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(SECRET, headers_for("evt_old", ts, sig), b"{}")
    verify(SECRET, headers_for("evt_old", ts, sig), b"{}", tolerance=700)


def test_verify_rejects_missing_signature_header() -> None:
    with pytest.raises(WebhookVerificationError, match="webhook-signature"):
        verify(SECRET, {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)}, b"", now=0)


def test_verify_accepts_one_of_several_signatures() -> None:
    wrong = sign(OTHER_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY)
    rotated = f"v2,abc {wrong} {VECTOR_SIG}"
    verify(SECRET, headers_for(VECTOR_ID, VECTOR_TS, rotated), VECTOR_BODY, now=VECTOR_TS)
    with pytest.raises(WebhookVerificationError):
        verify(
            SECRET, headers_for(VECTOR_ID, VECTOR_TS, f"v2,abc {wrong}"), VECTOR_BODY, now=VECTOR_TS
        )


def test_secret_without_prefix_and_not_base64_uses_utf8_bytes() -> None:
    plain = "correct horse battery staple!"
    sig = sign(plain, "evt", 100, b"x")
    assert sig != sign("whsec_Y29ycmVjdA==", "evt", 100, b"x")
    verify(plain, headers_for("evt", 100, sig), b"x", now=100)
    # A base64-looking secret without the prefix is decoded like a whsec_ one.
    assert sign(SECRET.removeprefix("whsec_"), VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG


def test_whsec_secret_with_invalid_base64_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^webhook: "):
        sign("whsec_not base64!", "evt", 1, b"")


# --- build ----------------------------------------------------------------------------------


def test_build_is_pure_and_deterministic() -> None:
    target = Target(name="t", channel="webhook", url="https://example.org/hook", secret=SECRET)
    now = datetime(2026, 11, 3, 20, 26, 10, tzinfo=timezone(timedelta(hours=8)))
    first = WebhookNotifier().build(target, "article.created", "evt_42", DATA, now=now)
    second = WebhookNotifier().build(target, "article.created", "evt_42", dict(DATA), now=now)
    assert first == second
    assert first.url == "https://example.org/hook"
    assert (
        first.body
        == (
            '{"type":"article.created","timestamp":"2026-11-03T12:26:10Z",'
            '"data":{"id":7,"title":"关于开展2026年度申报工作的通知","tags":["通知"]}}'
        ).encode()
    )
    payload = json.loads(first.body)
    assert payload == {"type": "article.created", "timestamp": "2026-11-03T12:26:10Z", "data": DATA}
    ts = int(now.timestamp())
    assert dict(first.headers) == {
        "content-type": "application/json; charset=utf-8",
        "webhook-id": "evt_42",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(SECRET, "evt_42", ts, first.body),
    }
    verify(SECRET, first.headers, first.body, now=ts)


def test_build_without_secret_has_no_signature_and_refuses_naive_time() -> None:
    target = Target(name="t", channel="webhook", url="https://example.org/hook")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    built = WebhookNotifier().build(target, "ping", "evt_1", {}, now=now)
    assert "webhook-signature" not in built.headers
    assert built.headers["webhook-timestamp"] == "1767225600"
    with pytest.raises(ValueError, match=r"^webhook: "):
        WebhookNotifier().build(target, "ping", "evt_1", {}, now=datetime(2026, 1, 1))


# --- registry -------------------------------------------------------------------------------


def test_registry_and_unknown_channel() -> None:
    assert isinstance(NOTIFIERS["webhook"], WebhookNotifier)
    assert get_notifier("webhook").channel == "webhook"
    with pytest.raises(ValueError, match=r"^notify: unknown channel 'pigeon'$"):
        get_notifier("pigeon")


def test_article_data_is_json_ready() -> None:
    when = datetime(2026, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    article = Article(
        id=3,
        source_name="miit",
        url="https://example.gov.cn/a/3.html",
        guid="g3",
        title="标题",
        author="办公厅",
        published_at=when,
        summary="摘要",
        content_html="<p>x</p>",
        text="x",
        images=("https://example.gov.cn/i.png",),
        version=2,
        first_seen_at=when,
        updated_at=when,
        tags=("政策",),
    )
    data = article_data(article)
    assert data == {
        "id": 3,
        "source": "miit",
        "url": "https://example.gov.cn/a/3.html",
        "title": "标题",
        "published_at": "2026-11-03T09:00:00+08:00",
        "author": "办公厅",
        "summary": "摘要",
        "tags": ["政策"],
        "images": ["https://example.gov.cn/i.png"],
        "attachments": [],
        "version": 2,
    }
    assert json.loads(json.dumps(data)) == data
    undated = Article(**{**article.__dict__, "published_at": None})
    assert article_data(undated)["published_at"] is None


# --- sending to a real receiver -------------------------------------------------------------


def test_send_to_receiver_is_recorded_once_with_its_id(receiver: WebhookReceiver) -> None:
    echoed: list[Received] = []
    receiver.echo = echoed.append
    request = build_now(receiver.url("/in"), "evt_once")
    outcome = post(WebhookNotifier(), request, timeout=5)
    assert outcome.status == "delivered"
    assert outcome.http_status == 200
    assert outcome.error == "" and outcome.retry_after is None
    assert json.loads(outcome.response_excerpt) == {"ok": True}
    assert outcome.latency_ms > 0
    assert receiver.wait_for(1, timeout=2)
    [message] = receiver.messages()
    assert message.webhook_id == "evt_once"
    assert message.path == "/in"
    assert message.payload["data"] == DATA
    assert message.timestamp == int(request.headers["webhook-timestamp"])
    assert receiver.unique_ids() == {"evt_once"}
    assert receiver.duplicates() == 0 and receiver.rejected == 0
    deadline = time.monotonic() + 2
    while not echoed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert echoed == [message]


def test_redelivery_counts_as_duplicate(receiver: WebhookReceiver) -> None:
    request = build_now(receiver.url(), "evt_dup")
    for _ in range(2):
        assert post(WebhookNotifier(), request, timeout=5).status == "delivered"
    assert len(receiver.messages()) == 2
    assert receiver.unique_ids() == {"evt_dup"}
    assert receiver.duplicates() == 1


def test_receiver_with_other_secret_rejects_and_send_fails() -> None:
    with WebhookReceiver(secret=OTHER_SECRET) as other:
        outcome = post(WebhookNotifier(), build_now(other.url()), timeout=5)
        assert outcome.status == "failed"
        assert outcome.http_status == 401
        assert outcome.error == "webhook: HTTP 401"
        assert "signature" in outcome.response_excerpt
        assert other.rejected == 1
        assert other.messages() == []


def test_receiver_rejects_stale_timestamp(receiver: WebhookReceiver) -> None:
    target = Target(name="t", channel="webhook", url=receiver.url(), secret=SECRET)
    old = datetime.now(UTC) - timedelta(minutes=10)
    request = WebhookNotifier().build(target, "ping", "evt_stale", {}, now=old)
    outcome = post(WebhookNotifier(), request, timeout=5)
    assert (outcome.status, outcome.http_status) == ("failed", 401)
    assert receiver.rejected == 1 and receiver.messages() == []


def test_forced_503_with_retry_after_then_delivered(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, 503, "3")
    request = build_now(receiver.url(), "evt_retry")
    first = post(WebhookNotifier(), request, timeout=5)
    assert first.status == "retry"
    assert first.http_status == 503
    assert first.retry_after == 3.0
    assert first.error == "webhook: HTTP 503"
    assert receiver.messages() == []
    second = post(WebhookNotifier(), request, timeout=5)
    assert second.status == "delivered"
    assert receiver.unique_ids() == {"evt_retry"} and receiver.duplicates() == 0


def test_retry_after_as_http_date(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, 429, formatdate(time.time() + 120, usegmt=True))
    outcome = post(WebhookNotifier(), build_now(receiver.url()), timeout=5)
    assert outcome.status == "retry" and outcome.http_status == 429
    assert outcome.retry_after is not None and 100 < outcome.retry_after <= 121


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("120", now=0) == 120.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0) == 60.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=40.0) == 0.0
    assert parse_retry_after("soon", now=0) is None
    assert parse_retry_after("-5", now=0) is None
    assert parse_retry_after(None, now=0) is None


def test_410_is_permanent(receiver: WebhookReceiver) -> None:
    receiver.fail_next(1, 410)
    outcome = post(WebhookNotifier(), build_now(receiver.url()), timeout=5)
    assert outcome.status == "failed" and outcome.http_status == 410
    assert outcome.error.startswith("webhook: HTTP 410")


@pytest.mark.parametrize(
    ("code", "status"),
    [(400, "failed"), (404, "failed"), (408, "retry"), (409, "retry"), (425, "retry"),
     (429, "retry"), (500, "retry"), (502, "retry"), (504, "retry"), (204, "delivered")],
)  # fmt: skip
def test_status_classification(code: int, status: str) -> None:
    with status_server(code) as base:
        outcome = post(WebhookNotifier(), build_now(base + "/h"), timeout=5)
    assert (outcome.status, outcome.http_status) == (status, code)
    assert outcome.error == ("" if status == "delivered" else f"webhook: HTTP {code}")


def test_response_excerpt_is_truncated() -> None:
    with status_server(
        500, ("错" * 2000).encode(), {"content-type": "text/plain; charset=utf-8"}
    ) as base:
        outcome = post(WebhookNotifier(), build_now(base), timeout=5)
    assert outcome.response_excerpt == "错" * 500


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_permanent_failure_naming_where_it_pointed(
    receiver: WebhookReceiver, code: int
) -> None:
    """An endpoint that moved is not retried for two days: it fails at once, saying where to."""
    with status_server(code, headers={"location": receiver.url()}) as base:
        outcome = post(WebhookNotifier(), build_now(base + "/old"), timeout=5)
    assert outcome.status == "failed"
    assert outcome.http_status == code
    assert outcome.error == f"webhook: HTTP {code} redirect to {receiver.url()} not followed"
    time.sleep(0.1)
    assert receiver.messages() == [] and receiver.rejected == 0


def test_closed_port_is_retry() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = post(WebhookNotifier(), build_now(f"http://127.0.0.1:{port}/h"), timeout=2)
    assert outcome.status == "retry"
    assert outcome.http_status is None
    assert outcome.error.startswith("webhook: connection failed")


def test_silent_server_times_out_as_retry() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/h"
        started = time.monotonic()
        outcome = post(WebhookNotifier(), build_now(url), timeout=0.3)
        elapsed = time.monotonic() - started
    assert outcome.status == "retry"
    assert outcome.http_status is None
    assert outcome.error.startswith("webhook: timeout after 0.3 s")
    assert elapsed < 2


def test_invalid_url_is_permanent() -> None:
    outcome = post(WebhookNotifier(), build_now("not a url"), timeout=1)
    assert outcome.status == "failed"
    assert outcome.error.startswith("webhook: invalid request")


def test_receiver_rejects_bad_json_and_unsigned(session: requests.Session) -> None:
    with WebhookReceiver() as open_receiver:
        bad = session.post(
            open_receiver.url(),
            data=b"[not json",
            headers={"webhook-id": "evt_x", "webhook-timestamp": "1"},
            timeout=5,
        )
        assert bad.status_code == 400
        good = post(WebhookNotifier(), build_now(open_receiver.url(), "evt_y"), timeout=5)
        assert good.status == "delivered"
        assert open_receiver.rejected == 1
        assert open_receiver.unique_ids() == {"evt_y"}
    with WebhookReceiver(secret=SECRET) as signed:
        unsigned = build_now(signed.url(), secret="")
        outcome = post(WebhookNotifier(), unsigned, timeout=5)
        assert (outcome.status, outcome.http_status) == ("failed", 401)
        assert signed.rejected == 1
        assert not signed.wait_for(1, timeout=0.05)
