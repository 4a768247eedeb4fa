"""Whatever one endpoint answers, every other row is delivered exactly once.

First the case found in review: one endpoint asking for an absurd wait (``Retry-After: 1e300``,
``99999999999999``, a year-9999 date, Discord's or Telegram's JSON ``retry_after`` of that size)
beside twenty healthy webhooks, through ``herald run --once`` twice: the command succeeds, each
healthy subscriber gets every article once, and the absurd wait is cut to the schedule's last
step. Then a property: any reply at all — status, headers, body, charset, JSON — from one
endpoint, for any channel, leaves the healthy rows of the same batch delivered exactly once and
no row of the batch left ``sending``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.hostile import ScriptedEndpoint, StatusEndpoint
from tests.support.notify_helpers import ARTICLE
from worker.cli import main
from worker.config import DeliverySettings, load_config
from worker.deliver import deliver_batch
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.notify.message import Entry, Message
from worker.runtime import Runtime, build_runtime
from worker.store.deliveries import create_deliveries
from worker.store.subscribers import resume_subscriber as resume
from worker.store.subscribers import subscriber_by_name
from worker.store.tables import DeliveryRow
from worker.tasks import prepare_database

LAST_STEP = max(DeliverySettings().retry_schedule)
HEALTHY = 20


def _hostile(name: str, channel: str, url: str) -> str:
    extra = 'chat_id = "42"\n' if channel == "telegram" else ""
    return f'[[subscribers]]\nname = "{name}"\nchannel = "{channel}"\nurl = "{url}"\n{extra}\n'


ABSURD = [
    pytest.param("webhook", 503, {"Retry-After": "1e300"}, b"{}", id="retry-after-1e300"),
    pytest.param("webhook", 429, {"Retry-After": "99999999999999"}, b"{}", id="retry-after-huge"),
    pytest.param(
        "webhook", 503, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, b"{}", id="year-9999"
    ),
    pytest.param("webhook", 503, {"Retry-After": "9" * 400}, b"{}", id="retry-after-400-nines"),
    pytest.param("discord", 429, {}, b'{"retry_after": 1e300, "global": false}', id="discord"),
    pytest.param(
        "telegram",
        429,
        {},
        b'{"ok":false,"error_code":429,"parameters":{"retry_after":1e300}}',
        id="telegram",
    ),
    pytest.param("discord", 429, {}, b'{"retry_after": 1e999}', id="discord-infinite"),
]


@pytest.mark.parametrize(("channel", "status", "headers", "body"), ABSURD)
def test_an_absurd_wait_beside_twenty_healthy_endpoints(
    tmp_path: Path,
    site: DemoSite,
    receiver: WebhookReceiver,
    channel: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    absurd = StatusEndpoint(status, headers=headers, body=body).start()
    try:
        subscribers = "".join(
            webhook_subscriber(receiver.url(f"/s/{i}"), name=f"healthy{i:02d}")
            for i in range(HEALTHY)
        )
        config = write_config(
            tmp_path,
            sources=site_source(site, backfill=1, notify_existing=True),
            subscribers=subscribers + _hostile("absurd", channel, absurd.url("/absurd")),
        )
        runner = CliRunner()
        for _ in range(2):  # a second pass must find nothing left to send
            result = runner.invoke(main, ["--config", str(config), "run", "--once"])
            assert result.exit_code == 0, result.output
        articles = len(site.articles[:10])  # the first list page, one poll
        assert len(receiver.unique_ids()) == HEALTHY * articles
        assert receiver.duplicates() == 0 and receiver.rejected == 0
        paths = {m.path for m in receiver.messages()}
        assert paths == {f"/s/{i}" for i in range(HEALTHY)}
        assert absurd.hits, "the absurd endpoint was tried"
        rt = build_runtime(load_config(config), migrate=False)
        try:
            with rt.session() as session:
                rows = session.scalars(select(DeliveryRow)).all()
        finally:
            rt.close()
        assert not [r for r in rows if r.status == "sending"]
        latest = datetime.now(UTC) + timedelta(seconds=LAST_STEP * 1.2 + 60)
        assert all(r.next_attempt_at <= latest for r in rows)
    finally:
        absurd.stop()


# --------------------------------------------------------------------------------------------
# Any reply at all


CHANNELS = ("webhook", "wecom", "dingtalk", "feishu", "slack", "discord", "telegram")
STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 301, 302, 400, 401, 404, 408, 409, 410, 429, 500, 503]),
    st.integers(min_value=100, max_value=999),
)
HEADER_NAMES = st.sampled_from(
    ["Retry-After", "Location", "Content-Type", "X-Anything", "Retry-After", "Set-Cookie"]
)
HEADER_VALUES = st.one_of(
    st.sampled_from(
        [
            "1e300",
            "-5",
            "nan",
            "inf",
            "99999999999999",
            "0",
            "120",
            "9" * 400,
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "application/json; charset=no-such",
            "text/plain; charset=utf-7",
            "http://[x/",
            "https://evil.example/" + "a" * 3000,
            "",
            " ",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
REPLY_KEYS = ("errcode", "errmsg", "code", "msg", "ok", "retry_after", "parameters", "error_code")
JSON_BODIES = st.dictionaries(st.sampled_from(REPLY_KEYS), JSON_VALUES, max_size=5).map(
    lambda value: json.dumps(value).encode()
)
BODIES = st.one_of(
    JSON_BODIES,
    st.binary(max_size=300),
    st.just(b'{"retry_after": 1e999, "parameters": {"retry_after": -1}}'),
    st.just(b"[" * 5000 + b"]" * 5000),  # nesting deeper than any parser's recursion
    st.just(b"x" * 200_000),  # more than is read
)


@st.composite
def raw_replies(draw: st.DrawFn) -> tuple[bytes, int]:
    """A whole HTTP reply as bytes (whatever its status line, headers and body), and how many of
    its bytes come at once (the rest trickles in)."""
    status = draw(STATUSES)
    body = draw(BODIES)
    lines = [f"HTTP/1.1 {status} Whatever".encode()]
    for name, value in draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4)):
        lines.append(f"{name}: {value}".encode())
    if draw(st.booleans()):
        lines.append(f"Content-Length: {len(body)}".encode())
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    return head + body, draw(st.sampled_from([len(head), len(head) + len(body)]))


@pytest.fixture()
def hostile_setup(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver
) -> Iterator[tuple[Runtime, ScriptedEndpoint]]:
    endpoint = ScriptedEndpoint(b"", limit=5.0).start()
    subscribers = "".join(
        webhook_subscriber(receiver.url(f"/ok/{i}"), name=f"healthy{i}") for i in range(4)
    )
    subscribers += "".join(
        _hostile(f"hostile-{channel}", channel, endpoint.url(f"/{channel}")) for channel in CHANNELS
    )
    config = write_config(
        tmp_path,
        sources=site_source(site),
        subscribers='[delivery]\ntimeout = "1s"\n' + subscribers,
    )
    rt = build_runtime(load_config(config))
    prepare_database(rt)
    yield rt, endpoint
    rt.close()
    endpoint.stop()


def _payload(channel: str) -> tuple[str, dict[str, Any]]:
    if channel == "webhook":
        return "article.created", dict(ARTICLE)
    entry = Entry(ARTICLE["title"], ARTICLE["url"], ARTICLE["source"], "2026-11-30 09:30")
    return "message.test", Message("test", "herald", (entry,)).to_dict()


def test_any_reply_from_one_endpoint_leaves_the_others_delivered_exactly_once(
    hostile_setup: tuple[Runtime, ScriptedEndpoint], receiver: WebhookReceiver
) -> None:
    rt, endpoint = hostile_setup
    counter = iter(range(10**6))

    @settings(
        max_examples=30, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )  # fmt: skip
    @given(reply=raw_replies(), channel=st.sampled_from(CHANNELS))
    def check(reply: tuple[bytes, int], channel: str) -> None:
        endpoint.reply, endpoint.at_once = reply
        endpoint.pieces, endpoint.pause = 3, 0.05
        key = f"example-{next(counter)}"
        with rt.session() as session:
            resume(session, f"hostile-{channel}", datetime.now(UTC))  # a 410 suspends it
            healthy = [subscriber_by_name(session, f"healthy{i}") for i in range(4)]
            hostile = subscriber_by_name(session, f"hostile-{channel}")
            assert hostile is not None and all(s is not None for s in healthy)
            event_type, data = _payload(channel)
            rows = create_deliveries(
                session, event_key=key, event_type=event_type, payload=data,
                subscriber_ids=[hostile.id], article_id=None, now=datetime.now(UTC),
            )  # fmt: skip
            rows += create_deliveries(
                session, event_key=key, event_type="article.created", payload=dict(ARTICLE),
                subscriber_ids=[s.id for s in healthy if s], article_id=None,
                now=datetime.now(UTC),
            )  # fmt: skip
        before = len(receiver.messages())
        deliver_batch(rt, sorted(rows))  # never raises
        with rt.session() as session:
            states = {
                r.subscriber_id: r.status
                for r in session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(rows)))
            }
        arrived = receiver.messages()[before:]
        assert sorted(m.path for m in arrived) == [f"/ok/{i}" for i in range(4)]
        assert len({m.webhook_id for m in arrived}) == 4
        assert [states[s.id] for s in healthy if s] == ["delivered"] * 4
        assert states[hostile.id] in ("delivered", "pending", "failed")

    check()
    assert receiver.duplicates() == 0
