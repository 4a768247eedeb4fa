"""Hostile endpoints beside healthy ones: the schedule is honoured, the others arrive on time.

One new article goes to nine subscribers in one embedded pass (``run_once``, the same task code
eagerly, SQLite): a webhook answering 500, one answering 429 with ``Retry-After: 120``, one
answering 410, one that hangs, one that drips its reply one byte a second, a WeCom robot
answering 45009 and a DingTalk robot answering 130101 (both inside HTTP 200), and two healthy
webhook receivers, listed last. The healthy receivers must get the article within seconds, not
after the hanging endpoint's timeout (``[delivery] timeout``, 5 s here); each hostile row must be
rescheduled (or failed) the way the retry schedule says. The pass is run once for the module;
each test reads one part of it.

Then: a 410 row is never tried again and the gone subscriber is not sent the next article; and a
WeCom endpoint dripping its reply must be given up after the timeout, before another WeCom
subscriber's message.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.conftest import SECRET, site_source, webhook_subscriber, write_config
from tests.support.chat_fakes import FakeDingTalk, FakeWeCom
from tests.support.fault_cluster import delivery_section
from tests.support.hostile import DrippingEndpoint, HangingEndpoint, StatusEndpoint
from worker.config import Config, DeliverySettings, load_config
from worker.demo.receiver import Received, WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.store.tables import AttemptRow, DeliveryRow, SubscriberRow

TIMEOUT = 5.0  # [delivery] timeout here (herald's default: 15 s)
HEALTHY_WITHIN = 3.0  # seconds from the start of the pass to a healthy receiver's message
SCHEDULE = DeliverySettings().retry_schedule  # each step ± 20 % jitter
DINGTALK_SECRET = "SEC-herald-faults"

HOSTILE = ("status-500", "status-429", "status-410", "hang", "drip", "wecom", "dingtalk")
HEALTHY = ("healthy-1", "healthy-2")


def check_schedule(
    row: Row, *, retry_after: float = 0.0, steps: Sequence[float] = SCHEDULE
) -> None:
    """Every attempt came no sooner than the schedule (or Retry-After) allowed after the one
    before, and the next one is planned by the schedule's next step."""
    times = [attempt.attempted_at for attempt in row.tries]
    assert times and row.attempts == len(times), row
    for index in range(1, len(times)):
        gap = (times[index] - times[index - 1]).total_seconds()
        assert gap >= max(steps[index - 1] * 0.8, retry_after), (index, gap)
    step = steps[len(times) - 1]
    planned = (row.next_attempt_at - times[-1]).total_seconds()
    assert max(step * 0.8, retry_after) <= planned <= max(step * 1.2, retry_after + 1), planned


@dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    outcome: str
    http_status: int | None
    latency_ms: float
    error: str


@dataclass(frozen=True)
class Row:
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    tries: tuple[Attempt, ...]

    def gap(self) -> float:
        """Seconds from the last attempt to the next one."""
        return (self.next_attempt_at - self.tries[-1].attempted_at).total_seconds()


def read_rows(database: Path) -> dict[str, list[Row]]:
    """Every subscriber's delivery rows with their attempts, by subscriber name."""
    engine = create_engine(f"sqlite:///{database}")
    rows: dict[str, list[Row]] = {}
    with Session(engine) as session:
        found = session.execute(
            select(SubscriberRow.name, DeliveryRow)
            .join(DeliveryRow, DeliveryRow.subscriber_id == SubscriberRow.id)
            .order_by(DeliveryRow.id)
        ).all()
        for name, delivery in found:
            tries = tuple(
                Attempt(a.attempted_at, a.outcome, a.http_status, a.latency_ms, a.error)
                for a in session.scalars(
                    select(AttemptRow)
                    .where(AttemptRow.delivery_id == delivery.id)
                    .order_by(AttemptRow.id)
                )
            )
            rows.setdefault(name, []).append(
                Row(
                    status=delivery.status,
                    attempts=delivery.attempts,
                    next_attempt_at=delivery.next_attempt_at,
                    last_status=delivery.last_status,
                    last_error=delivery.last_error,
                    tries=tries,
                )
            )
    engine.dispose()
    return rows


@dataclass
class HostilePass:
    started: float  # time.time() when the pass that sends began
    finished: float
    timeout: float
    rows: dict[str, Row]
    statuses: dict[int, StatusEndpoint]
    hang: HangingEndpoint
    drip: DrippingEndpoint
    wecom: FakeWeCom
    dingtalk: FakeDingTalk
    healthy: dict[str, WebhookReceiver]

    def arrivals(self, name: str) -> list[Received]:
        return self.healthy[name].messages()


@pytest.fixture(scope="module")
def hostile_pass(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostilePass]:
    directory = tmp_path_factory.mktemp("hostile")
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(DemoSite(articles=3, page_size=10))
        statuses = {
            500: StatusEndpoint(500).start(),
            429: StatusEndpoint(429, {"Retry-After": "120"}).start(),
            410: StatusEndpoint(410).start(),
        }
        for endpoint in statuses.values():
            stack.callback(endpoint.stop)
        hang = stack.enter_context(HangingEndpoint())
        drip = stack.enter_context(DrippingEndpoint())
        wecom = stack.enter_context(FakeWeCom())
        dingtalk = stack.enter_context(FakeDingTalk(secret=DINGTALK_SECRET))
        healthy = {name: WebhookReceiver(secret=SECRET) for name in HEALTHY}
        for receiver in healthy.values():
            stack.enter_context(receiver)
        blocks = [
            webhook_subscriber(statuses[500].url(), name="status-500"),
            webhook_subscriber(statuses[429].url(), name="status-429"),
            webhook_subscriber(statuses[410].url(), name="status-410"),
            webhook_subscriber(hang.url(), name="hang"),
            webhook_subscriber(drip.url(), name="drip"),
            f'[[subscribers]]\nname = "wecom"\nchannel = "wecom"\nurl = "{wecom.url()}"\n',
            f'[[subscribers]]\nname = "dingtalk"\nchannel = "dingtalk"\n'
            f'url = "{dingtalk.url()}"\nsecret = "{DINGTALK_SECRET}"\n',
            *(webhook_subscriber(r.url(f"/{name}"), name=name) for name, r in healthy.items()),
        ]
        path = write_config(
            directory,
            sources=site_source(site, backfill=1),
            subscribers=delivery_section(timeout=f"{TIMEOUT:g}s") + "".join(blocks),
        )
        config = load_config(path)
        timeout = config.delivery.timeout
        hang.limit = drip.limit = timeout + 8  # they give up on their own well after the sender
        run_once(config)  # the first poll imports silently
        assert not any(r.messages() for r in healthy.values())
        wecom.fail_next(1, 45009)
        dingtalk.fail_next(1, 130101)
        site.add_article()
        started = time.time()
        run_once(config)
        finished = time.time()
        by_name = read_rows(directory / "herald.db")
        assert sorted(by_name) == sorted(HOSTILE + HEALTHY)
        assert all(len(rows) == 1 for rows in by_name.values()), by_name
        rows = {name: found[0] for name, found in by_name.items()}
        print(f"\nFAULTS hostile pass: {finished - started:.1f} s, send timeout {timeout:g} s")
        yield HostilePass(
            started, finished, timeout, rows, statuses, hang, drip, wecom, dingtalk, healthy
        )


def test_healthy_receivers_get_the_article_within_seconds(hostile_pass: HostilePass) -> None:
    delays = {}
    for name in HEALTHY:
        arrived = hostile_pass.arrivals(name)
        assert len(arrived) == 1, name
        delays[name] = round(arrived[0].received_at - hostile_pass.started, 2)
    print(f"\nFAULTS healthy delays (s): {delays}; the pass took "
          f"{hostile_pass.finished - hostile_pass.started:.1f} s")  # fmt: skip
    assert hostile_pass.rows["healthy-1"].status == "delivered"
    assert hostile_pass.rows["healthy-2"].status == "delivered"
    assert max(delays.values()) <= min(HEALTHY_WITHIN, hostile_pass.timeout), delays


def test_500_is_retried_after_the_first_step_of_the_schedule(hostile_pass: HostilePass) -> None:
    row = hostile_pass.rows["status-500"]
    assert (row.status, row.last_status) == ("pending", 500)
    assert "500" in row.last_error
    check_schedule(row)
    assert len(hostile_pass.statuses[500].hits) == row.attempts


def test_429_waits_for_its_retry_after(hostile_pass: HostilePass) -> None:
    row = hostile_pass.rows["status-429"]
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 429)
    check_schedule(row, retry_after=120)
    assert len(hostile_pass.statuses[429].hits) == 1


def test_410_fails_the_row_with_the_reason(hostile_pass: HostilePass) -> None:
    row = hostile_pass.rows["status-410"]
    assert (row.status, row.attempts, row.last_status) == ("failed", 1, 410)
    assert "410" in row.last_error and "gone" in row.last_error.lower()
    assert [t.outcome for t in row.tries] == ["failed"]
    assert len(hostile_pass.statuses[410].hits) == 1


def test_wecom_45009_and_dingtalk_130101_are_rescheduled_not_failed(
    hostile_pass: HostilePass,
) -> None:
    wecom, dingtalk = hostile_pass.rows["wecom"], hostile_pass.rows["dingtalk"]
    assert (wecom.status, wecom.attempts, dingtalk.status, dingtalk.attempts) == (
        "pending", 1, "pending", 1,
    )  # fmt: skip
    assert "45009" in wecom.last_error and "130101" in dingtalk.last_error
    check_schedule(wecom, retry_after=60)  # WeCom: wait out the minute
    check_schedule(dingtalk, retry_after=600)  # DingTalk: the robot is throttled for 10 minutes
    assert [r.code for r in hostile_pass.wecom.rejections()] == [45009]
    assert [r.code for r in hostile_pass.dingtalk.rejections()] == [130101]
    assert hostile_pass.wecom.messages() == [] and hostile_pass.dingtalk.messages() == []


def _given_up_after_the_timeout(hostile_pass: HostilePass, name: str) -> None:
    row = hostile_pass.rows[name]
    endpoint = hostile_pass.hang if name == "hang" else hostile_pass.drip
    connections = endpoint.records()
    timeout = hostile_pass.timeout
    held = [round(c.held_for, 1) for c in connections]
    latency = [round(t.latency_ms / 1000, 1) for t in row.tries]
    print(f"\nFAULTS {name}: held {held} s, latency {latency} s, error {row.last_error!r}")
    assert row.status == "pending" and len(connections) == row.attempts
    for connection in connections:
        assert connection.client_closed_at is not None, f"herald never hung up (held {held} s)"
        assert timeout - 0.5 <= connection.held_for <= timeout + 2.5, held
    assert "timeout" in row.last_error.lower()
    check_schedule(row)


def test_a_hanging_endpoint_is_given_up_after_the_timeout_and_retried(
    hostile_pass: HostilePass,
) -> None:
    _given_up_after_the_timeout(hostile_pass, "hang")


def test_a_dripping_endpoint_is_given_up_after_the_timeout_and_retried(
    hostile_pass: HostilePass,
) -> None:
    _given_up_after_the_timeout(hostile_pass, "drip")


# --------------------------------------------------------------------------------------------
# 410 Gone, over several passes


@pytest.fixture()
def gone(tmp_path: Path) -> Iterator[tuple[Config, DemoSite, StatusEndpoint, WebhookReceiver]]:
    with DemoSite(articles=3, page_size=10) as site, WebhookReceiver(secret=SECRET) as healthy:
        endpoint = StatusEndpoint(410).start()
        try:
            subscribers = webhook_subscriber(endpoint.url(), name="gone") + webhook_subscriber(
                healthy.url(), name="healthy"
            )
            path = write_config(
                tmp_path, sources=site_source(site, backfill=1), subscribers=subscribers
            )
            config = load_config(path)
            run_once(config)  # the first poll imports silently
            site.add_article()
            run_once(config)
            assert len(endpoint.hits) == 1 and len(healthy.messages()) == 1
            yield config, site, endpoint, healthy
        finally:
            endpoint.stop()


def test_a_410_row_is_never_attempted_again(
    gone: tuple[Config, DemoSite, StatusEndpoint, WebhookReceiver], tmp_path: Path
) -> None:
    config, _, endpoint, _ = gone
    for _ in range(2):
        run_once(config)
    (row,) = read_rows(tmp_path / "herald.db")["gone"]
    assert (row.status, row.attempts, len(row.tries)) == ("failed", 1, 1)
    assert len(endpoint.hits) == 1


def test_a_410_disables_the_subscriber(
    gone: tuple[Config, DemoSite, StatusEndpoint, WebhookReceiver], tmp_path: Path
) -> None:
    config, site, endpoint, healthy = gone
    site.add_article()
    run_once(config)
    assert len(healthy.messages()) == 2  # the others still get the next article
    assert len(endpoint.hits) == 1, "the gone endpoint was sent the next article"
    rows = read_rows(tmp_path / "herald.db")["gone"]
    assert rows[0].status == "failed"
    assert all(not r.tries for r in rows[1:])  # the next article's row is kept, not sent


# --------------------------------------------------------------------------------------------
# A chat endpoint dripping its reply, before another chat subscriber


@dataclass
class ChatDripPass:
    started: float
    timeout: float
    rows: dict[str, Row]
    drip: DrippingEndpoint
    wecom: FakeWeCom


@pytest.fixture(scope="module")
def chat_drip_pass(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatDripPass]:
    directory = tmp_path_factory.mktemp("chat-drip")
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(DemoSite(articles=3, page_size=10))
        drip = stack.enter_context(DrippingEndpoint())
        wecom = stack.enter_context(FakeWeCom())
        blocks = [
            '[[subscribers]]\nname = "wecom-drip"\nchannel = "wecom"\n'
            f'url = "{drip.url("/cgi-bin/webhook/send?key=drip")}"\n',
            f'[[subscribers]]\nname = "wecom"\nchannel = "wecom"\nurl = "{wecom.url()}"\n',
        ]
        path = write_config(
            directory,
            sources=site_source(site, backfill=1),
            subscribers=delivery_section(timeout=f"{TIMEOUT:g}s") + "".join(blocks),
        )
        config = load_config(path)
        drip.limit = config.delivery.timeout + 8
        run_once(config)  # the first poll imports silently
        site.add_article()
        started = time.time()
        run_once(config)
        rows = {name: found[0] for name, found in read_rows(directory / "herald.db").items()}
        yield ChatDripPass(started, config.delivery.timeout, rows, drip, wecom)


def test_a_dripping_chat_endpoint_is_given_up_after_the_timeout(
    chat_drip_pass: ChatDripPass,
) -> None:
    row = chat_drip_pass.rows["wecom-drip"]
    (connection,) = chat_drip_pass.drip.records()
    print(
        f"\nFAULTS wecom drip: held {connection.held_for:.1f} s, {row.status}, {row.last_error!r}"
    )
    assert connection.client_closed_at is not None, "herald never hung up"
    assert connection.held_for <= chat_drip_pass.timeout + 2.5
    assert row.status == "pending" and "timeout" in row.last_error.lower()


def test_the_next_chat_subscriber_waits_at_most_one_timeout(chat_drip_pass: ChatDripPass) -> None:
    (message,) = chat_drip_pass.wecom.messages()
    delay = message.at - chat_drip_pass.started
    print(f"\nFAULTS wecom after a dripping wecom: {delay:.1f} s")
    assert chat_drip_pass.rows["wecom"].status == "delivered"
    assert delay <= chat_drip_pass.timeout + 2.5
