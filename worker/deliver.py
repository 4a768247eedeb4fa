"""Stage: deliver ledger rows — claim, build, send, record the attempt, schedule a retry.

Rows are claimed (status ``sending`` with a lease) before sending, so two workers never send the
same row at once; a worker that dies mid-send leaves a lease that runs out and the sweep sends
the row again with the same ``webhook-id``. Webhook rows of a batch are claimed in one
statement, sent concurrently (``worker.sendmany``: a few requests in flight per endpoint, a
timeout each) and recorded in a few statements; chat rows go one by one, paced by their
platform's rate windows. Every outcome feeds the circuit breaker (``worker.breaker``). It must
not decide who gets what (``fanout`` does).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.backoff import delivery_retry_delay
from worker.breaker import note_outcomes
from worker.config import Config
from worker.notify import REPLY_CLASSIFIERS, Outcome, Outgoing, Target, chat, get_notifier
from worker.notify.webhook import encode_payload, reply_outcome, webhook_request
from worker.ratebucket import bucket_for, parse_rate
from worker.ratelimit import RATE_LIMITS, longest_window, wait_before_send
from worker.runtime import Runtime, network_policy
from worker.sendmany import RawReply, send_many
from worker.store.ledger import (
    AttemptRecord,
    ClaimedDelivery,
    attempts_since,
    claim_deliveries,
    claim_delivery,
    defer_delivery,
    delivery_subscriber,
    record_attempt,
    record_attempts,
    release_deliveries,
)
from worker.store.tables import DeliveryRow, SubscriberRow

log = logging.getLogger(__name__)

CONCURRENT_CHANNELS = ("webhook",)  # no platform rate window: sent concurrently


def max_claims(rt: Runtime) -> int:
    """Claims a row may take: the retry schedule, plus claims lost to dead workers."""
    return len(rt.config.delivery.retry_schedule) + 3


@dataclass(frozen=True)
class Sent:
    """What became of one delivery: delivered / retry / failed / deferred / skipped."""

    status: str
    subscriber: str = ""
    retry_at: datetime | None = None


def target_of_claim(claimed: ClaimedDelivery) -> Target:
    return Target(
        claimed.subscriber_name, claimed.channel, claimed.url, claimed.secret,
        str(claimed.options.get("chat_id", "")), claimed.options,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# A batch


def deliver_batch(rt: Runtime, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Deliver several rows; returns how many ended in each state.

    Webhook rows go concurrently; chat rows in order, and once a chat endpoint asks for a
    retry (down, slow, rate-limited) its other rows in the batch are deferred to the same time.
    """
    with rt.session() as session:
        rows = session.execute(
            select(DeliveryRow.id, SubscriberRow.channel)
            .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id)
            .where(DeliveryRow.id.in_(list(delivery_ids)))
        )
        channels: dict[int, str] = {int(i): str(c) for i, c in rows}
    concurrent = [i for i in delivery_ids if channels.get(i) in CONCURRENT_CHANNELS]
    counts: Counter[str] = Counter(deliver_concurrently(rt, concurrent) if concurrent else {})
    waiting: dict[str, datetime] = {}  # subscriber → when it may be tried again
    for delivery_id in delivery_ids:
        if delivery_id in channels and channels[delivery_id] not in CONCURRENT_CHANNELS:
            sent = deliver_one(rt, delivery_id, waiting=waiting)
            if sent.retry_at is not None:
                waiting[sent.subscriber] = sent.retry_at
            counts[sent.status] += 1
    counts["skipped"] += len([i for i in delivery_ids if i not in channels])
    return {k: v for k, v in counts.items() if v}


def deliver_concurrently(rt: Runtime, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Claim, send and record a batch of webhook rows with a few statements and one event loop."""
    settings = rt.config.delivery
    now = datetime.now(UTC)
    with rt.session() as session:
        claimed = claim_deliveries(
            session, delivery_ids, now=now, lease=settings.lease, max_attempts=max_claims(rt)
        )
    skipped = len(delivery_ids) - len(claimed)  # not due, taken by another worker, suspended …
    claimed, paced = pace(rt, claimed, now)
    by_id = {c.id: c for c in claimed}
    records: list[AttemptRecord] = []
    early: list[AttemptRecord] = []  # rows that could not even be built
    requests: list[tuple[int, Outgoing]] = []
    bodies: dict[str, bytes] = {}  # one event's body is the same for every subscriber
    for item in claimed:
        try:
            if item.channel == "webhook":
                request = build_webhook(item, now, bodies)
            else:
                request = get_notifier(item.channel).build(
                    target_of_claim(item), item.event_type, item.event_id, item.payload, now=now
                )
        except ValueError as err:  # a configuration problem: retrying cannot help
            early.append(_record(item, Outcome("failed", None, None, 0.0, "", str(err)), now, rt))
            continue
        requests.append((item.id, request))
    retry_at: dict[str, datetime] = {}  # endpoint URL → when it asked to be tried again

    def record(replies: dict[int, RawReply]) -> None:
        """Store a chunk of replies while the rest are sent: a worker killed mid-batch
        re-sends only what it had not recorded yet."""
        finished = datetime.now(UTC)
        chunk = [
            _record(by_id[i], webhook_outcome(reply), finished, rt) for i, reply in replies.items()
        ]
        for item in chunk:
            if item.outcome == "retry" and item.next_attempt_at is not None:
                retry_at[by_id[item.delivery_id].url] = item.next_attempt_at
        with rt.session() as session:
            record_attempts(session, chunk, now=finished)
            note_outcomes(rt, session, [(by_id[r.delivery_id], r) for r in chunk], now=finished)
        records.extend(chunk)

    if early:
        record_failed_builds(rt, early, by_id)
    _, held = send_many(
        requests,
        policy=network_policy(rt.config),
        timeout=settings.timeout,
        per_endpoint=settings.per_endpoint,
        in_flight=settings.in_flight,
        stop_after=lambda reply: webhook_outcome(reply).status == "retry",
        progress=record,
    )
    finished = datetime.now(UTC)
    with rt.session() as session:
        for delivery_id in held:  # not sent: their endpoint asked for a retry in this batch
            until = retry_at.get(by_id[delivery_id].url, finished)
            release_deliveries(session, [delivery_id], until=until)
        for delivery_id, until in paced:  # not sent: over the subscriber's rate_limit
            release_deliveries(session, [delivery_id], until=until)
    records.extend(early)
    _log_failures(records, by_id)
    counts = Counter(r.outcome for r in records)
    counts["deferred"] += len(held) + len(paced)
    counts["skipped"] += skipped
    return dict(counts)


def pace(
    rt: Runtime, claimed: Sequence[ClaimedDelivery], now: datetime
) -> tuple[list[ClaimedDelivery], list[tuple[int, datetime]]]:
    """Split rows into those within their subscriber's ``rate_limit`` (a token each, from the
    bucket every worker shares) and those to hold until a token is free."""
    bucket = bucket_for(rt.config.herald.broker_url)
    allowed: list[ClaimedDelivery] = []
    held: list[tuple[int, datetime]] = []
    for item in claimed:
        limit = str(item.options.get("rate_limit") or "")
        wait = bucket.take(f"subscriber:{item.subscriber_id}", parse_rate(limit)) if limit else 0.0
        if wait > 0:
            held.append((item.id, now + timedelta(seconds=wait)))
        else:
            allowed.append(item)
    return allowed, held


def build_webhook(item: ClaimedDelivery, now: datetime, bodies: dict[str, bytes]) -> Outgoing:
    """``WebhookNotifier.build`` with the body encoded once per event (then only signed)."""
    body = bodies.get(item.event_key)
    if body is None:
        body = bodies[item.event_key] = encode_payload(item.event_type, now, item.payload)
    return webhook_request(target_of_claim(item), item.event_id, body, now)


def record_failed_builds(
    rt: Runtime, records: Sequence[AttemptRecord], by_id: Mapping[int, ClaimedDelivery]
) -> None:
    now = datetime.now(UTC)
    with rt.session() as session:
        record_attempts(session, records, now=now)
        note_outcomes(rt, session, [(by_id[r.delivery_id], r) for r in records], now=now)


def chat_outcome(channel: str, reply: RawReply) -> Outcome:
    """A chat platform's reply as an outcome, judged by the channel's own rules."""
    if reply.status is None:
        permanent = reply.problem in ("blocked", "invalid")
        detail = {"blocked": reply.error, "invalid": "invalid request URL"}.get(
            reply.problem, reply.error if reply.problem == "timeout" else "connection failed"
        )  # other errors may quote the URL, which holds the robot's secret
        error = f"{channel}: {detail}"
        if permanent:
            return Outcome("failed", None, None, reply.latency_ms, "", error)
        return Outcome("retry", None, None, reply.latency_ms, "", error)
    return chat.reply_outcome(
        REPLY_CLASSIFIERS[channel], reply.status, reply.text, reply.retry_after, reply.latency_ms
    )


def webhook_outcome(reply: RawReply) -> Outcome:
    """A generic webhook's reply as an outcome (the same rules as ``WebhookNotifier.send``)."""
    if reply.status is None:
        permanent = reply.problem in ("blocked", "invalid")
        prefix = {"timeout": "", "blocked": "", "invalid": "invalid request: "}.get(
            reply.problem, "connection failed: "
        )
        error = f"webhook: {prefix}{reply.error}"
        return Outcome("failed" if permanent else "retry", None, None, reply.latency_ms, "", error)
    return reply_outcome(reply.status, reply.text, reply.retry_after, reply.latency_ms)


def _record(
    claimed: ClaimedDelivery, outcome: Outcome, now: datetime, rt: Runtime
) -> AttemptRecord:
    status, next_at = outcome.status, None
    if status == "retry":
        delay = delivery_retry_delay(
            claimed.attempts, outcome.retry_after, schedule=rt.config.delivery.retry_schedule
        )
        if delay is None:
            status = "failed"
        else:
            next_at = now + timedelta(seconds=delay)
    return AttemptRecord(
        claimed.id, claimed.subscriber_id, status, outcome.http_status, outcome.latency_ms,
        outcome.error, outcome.response_excerpt, next_at,
    )  # fmt: skip


def _log_failures(records: Sequence[AttemptRecord], by_id: Mapping[int, ClaimedDelivery]) -> None:
    for record in records:
        if record.outcome != "delivered":
            claimed = by_id[record.delivery_id]
            log.warning(
                "deliver: %s (%s), attempt %d", record.outcome, record.error, claimed.attempts,
                extra={"delivery_id": record.delivery_id, "subscriber": claimed.subscriber_name},
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# One row (chat channels, and `herald deliveries replay`)


def deliver_one(
    rt: Runtime,
    delivery_id: int,
    *,
    clock: Callable[[], datetime] | None = None,
    waiting: Mapping[str, datetime] | None = None,
) -> Sent:
    """Send one due delivery and record the attempt. Never raises on I/O.

    It is deferred instead when its endpoint is in ``waiting`` (it asked for a retry earlier in
    the batch) or when sending now would overflow the platform's rate windows.
    """
    now_fn = clock or (lambda: datetime.now(UTC))
    with rt.session() as session:
        subscriber = delivery_subscriber(session, delivery_id)
        if subscriber is not None:
            until = (
                (waiting or {}).get(subscriber.name)
                or rate_wait(session, subscriber, now_fn())
                or bucket_wait(rt, subscriber, now_fn())
            )
            if until is not None:
                defer_delivery(session, delivery_id, until=until)
                return Sent("deferred", subscriber.name, until)
        claimed = claim_delivery(
            session, delivery_id, now=now_fn(), lease=rt.config.delivery.lease,
            max_attempts=max_claims(rt),
        )  # fmt: skip
    if claimed is None:
        return Sent("skipped")
    try:
        notifier = get_notifier(claimed.channel)
        request = notifier.build(
            target_of_claim(claimed), claimed.event_type, claimed.event_id, claimed.payload,
            now=now_fn(),
        )  # fmt: skip
        outcome = send_request(rt.config, claimed.channel, request)
    except ValueError as err:  # a configuration problem: retrying cannot help
        outcome = Outcome("failed", None, None, 0.0, "", str(err))
    now = now_fn()
    record = _record(claimed, outcome, now, rt)
    with rt.session() as session:
        record_attempt(
            session,
            claimed.id,
            now=now,
            outcome=record.outcome,
            http_status=record.http_status,
            latency_ms=record.latency_ms,
            error=record.error,
            response_excerpt=record.response_excerpt,
            next_attempt_at=record.next_attempt_at,
        )
        note_outcomes(rt, session, [(claimed, record)], now=now)
    _log_failures([record], {claimed.id: claimed})
    if record.next_attempt_at is not None:
        return Sent("retry", claimed.subscriber_name, record.next_attempt_at)
    return Sent(record.outcome, claimed.subscriber_name)


def bucket_wait(rt: Runtime, subscriber: SubscriberRow, now: datetime) -> datetime | None:
    """When the subscriber's own ``rate_limit`` (if any) gives its next token; None: now.

    Spends the token when one is free, so call it only right before sending."""
    limit = str((subscriber.options or {}).get("rate_limit") or "")
    if not limit:
        return None
    wait = bucket_for(rt.config.herald.broker_url).take(
        f"subscriber:{subscriber.id}", parse_rate(limit)
    )
    return now + timedelta(seconds=wait) if wait > 0 else None


def send_request(config: Config, channel: str, request: Outgoing) -> Outcome:
    """One request through the concurrent sender: a timeout for the whole request (a dripping
    endpoint is dropped at it), the SSRF guard, no redirects; judged by the channel's rules."""
    replies, _ = send_many(
        [(0, request)], policy=network_policy(config), timeout=config.delivery.timeout,
        per_endpoint=1, in_flight=1,
    )  # fmt: skip
    if channel in REPLY_CLASSIFIERS:
        return chat_outcome(channel, replies[0])
    return webhook_outcome(replies[0])


def rate_wait(session: Session, subscriber: SubscriberRow, now: datetime) -> datetime | None:
    """When the endpoint may be sent to, if sending now would overflow its rate windows."""
    if subscriber.channel not in RATE_LIMITS:
        return None
    since = now - timedelta(seconds=longest_window(subscriber.channel))
    recent = attempts_since(session, subscriber.id, since)
    wait = wait_before_send(subscriber.channel, recent, now)
    return now + timedelta(seconds=wait) if wait > 0 else None
