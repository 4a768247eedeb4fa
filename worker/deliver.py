"""Stage: deliver ledger rows — claim a batch, pace it, send it, record every outcome.

One path for every channel. A batch is claimed in one statement with a lease that a keeper
thread renews while this worker lives (``worker.lease``); each row is built by its channel's
notifier, paced (``worker.ratelimit``: a rate-limited chat endpoint gets one lane and waits for
its platform's window, a generic webhook two lanes, reserved across worker processes by
``worker.endpoint_lanes``), sent through the transport (``worker.notify.transport``) and
judged by its notifier's ``classify``. Outcomes are recorded by the batch's own thread in
chunks as they come (so a worker killed mid-batch re-sends only what it had not recorded),
feed the circuit breaker (``worker.breaker``), and a retry is scheduled by ``worker.backoff``.
Whatever happens inside a batch — a hostile reply, a template error, an exception — the rows
sent are recorded, the rows not sent go back to the ledger, and no row disturbs another.
It must not decide who gets what (``fanout`` does).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.synchronize
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from worker.backoff import scheduled_retry_delay
from worker.breaker import note_outcomes
from worker.endpoint_lanes import lanes_for
from worker.lease import LeaseKeeper, effective_lease
from worker.notify import NOTIFIERS, Outcome, Reply, Target, get_notifier
from worker.notify.mail_transport import Relay
from worker.notify.transport import Send, send_all
from worker.ratebucket import bucket_for
from worker.ratelimit import Planned, longest_window, plan_sends
from worker.redact import redact_text
from worker.runtime import Runtime, network_policy
from worker.store.clock import new_lease_token
from worker.store.deliveries import (
    AttemptRecord,
    ClaimedDelivery,
    claim_deliveries,
    record_attempts,
    release_deliveries,
    renew_leases,
)
from worker.store.due import recent_attempts

log = logging.getLogger(__name__)

BATCH_SECONDS = 120.0  # no send starts later in a batch: signed timestamps stay fresh


def shutdown_flag() -> threading.Event | multiprocessing.synchronize.Event:
    """A flag set when this worker begins a warm shutdown. A process-shared event, created at
    import, before Celery forks its pool, so the pool's children see the parent set it."""
    try:
        return multiprocessing.Event()
    except OSError:  # no POSIX semaphores here (no /dev/shm): the threads pool still sees it
        return threading.Event()


STOPPING = shutdown_flag()  # set: no send starts, unsent rows go back to the ledger at once
RECORD_EVERY = 100  # replies recorded together (or every RECORD_AFTER seconds)
RECORD_AFTER = 0.2
LANES_BUSY_WAIT = 2.0  # seconds a row waits when other batches hold all its endpoint's lanes
LANES_MARGIN = 30.0  # seconds a reservation outlasts the longest a batch can send


def max_claims(rt: Runtime) -> int:
    """Claims a row may take: the retry schedule, plus claims lost to dead workers."""
    return len(rt.config.delivery.retry_schedule) + 3


def target_of_claim(claimed: ClaimedDelivery) -> Target:
    return Target(
        claimed.subscriber_name, claimed.channel, claimed.url, claimed.secret,
        claimed.options.chat_id, claimed.options,
    )  # fmt: skip


def deliver_batch(rt: Runtime, delivery_ids: Sequence[int]) -> dict[str, int]:
    """Deliver these rows; returns how many ended in each state (delivered, retry, failed,
    deferred: given back unsent, skipped: not due or not ours)."""
    settings = rt.config.delivery
    token, lease = new_lease_token(), effective_lease(settings.lease, settings.timeout)
    claimed_at = time.monotonic()  # before the database's clock is read: a safe lower bound
    with rt.session() as session:
        now, claimed = claim_deliveries(
            session, delivery_ids, lease=lease, token=token, max_attempts=max_claims(rt)
        )
    skipped = len(delivery_ids) - len(claimed)
    if not claimed:
        return {"skipped": skipped} if skipped else {}
    batch = Batch(rt, token, lease, claimed, claimed_at)
    batch.counts["skipped"] += skipped
    try:
        plan = pace(rt, claimed, now)
    except Exception:  # e.g. the rate-limit bucket's Redis is down: nothing goes out unpaced
        log.exception("deliver: could not pace the batch; its rows go back to the ledger")
        plan = Planned([], [(c.id, settings.retry_schedule[0]) for c in claimed])
    batch.run(plan)
    return batch.summary()


def pace(rt: Runtime, claimed: Sequence[ClaimedDelivery], now: datetime) -> Planned:
    """When each row may go: its platform's windows (from the attempt log) and its
    subscriber's ``rate_limit``."""
    paced = [c for c in claimed if c.channel in NOTIFIERS and NOTIFIERS[c.channel].rate_windows]
    windows = {c.channel: NOTIFIERS[c.channel].rate_windows for c in paced}
    sent_at: dict[int, list[datetime]] = {}
    if paced:
        longest = max(longest_window(w) for w in windows.values())
        with rt.session() as session:
            sent_at = recent_attempts(
                session, {c.subscriber_id for c in paced}, now - timedelta(seconds=longest)
            )
    return plan_sends(claimed, windows, sent_at, bucket_for(rt.config.herald.broker_url), now)


@dataclass
class _Row:
    claimed: ClaimedDelivery
    state: str = "held"  # held → started → replied → recorded | given back


class Batch:
    """One claimed batch: its rows' states, the keeper of its leases, and its records.

    The keeper starts with the batch: ``claimed_at`` is a moment taken before the claim."""

    def __init__(
        self,
        rt: Runtime,
        token: str,
        lease: float,
        claimed: Sequence[ClaimedDelivery],
        claimed_at: float,
    ) -> None:
        self.rt, self.token, self.lease = rt, token, lease
        self.rows = {c.id: _Row(c) for c in claimed}
        self.counts: Counter[str] = Counter()
        self.waiting: list[tuple[_Row, AttemptRecord]] = []  # replied, not yet recorded
        self.lock = threading.Lock()  # guards ``waiting`` (the loop adds, this thread writes)
        self.flushed_at = time.monotonic()
        self.wake = threading.Event()  # set when RECORD_EVERY records wait to be written
        self.lanes: dict[str, int] = {}  # endpoint → lanes this batch holds
        self.allowed: dict[str, int] = {}  # endpoint → lanes it allows, all batches together
        self.stopped_for: dict[str, float] = {}  # endpoint → seconds it asked us to wait
        self.built_at = datetime.now(UTC)  # one moment for the batch: an event's body is built once
        self.keeper = LeaseKeeper(
            held=list(self.rows), lease=lease, longest_step=rt.config.delivery.timeout,
            renew=self._renew, confirmed_at=claimed_at, name=f"lease-{token[:8]}",
        ).start()  # fmt: skip

    # -- building ---------------------------------------------------------------------------

    def prepare(self, item: ClaimedDelivery, offset: float) -> Send[int] | None:
        """The request for one row; a row that cannot be built is recorded now (never raises)."""
        try:
            notifier = get_notifier(item.channel)
            request = notifier.build(
                target_of_claim(item), item.event_type, item.event_id, item.payload,
                now=self.built_at,
            )  # fmt: skip
        except ValueError as err:  # a configuration problem: retrying cannot help
            self.finish(item.id, Outcome("failed", None, None, 0.0, "", str(err)))
            return None
        except Exception as err:  # a defect, or content it chokes on: the schedule retries it
            log.exception("deliver: building delivery %d failed", item.id)
            error = f"{item.channel}: could not build the request ({type(err).__name__})"
            self.finish(item.id, Outcome("retry", None, None, 0.0, "", error))
            return None
        return Send(
            item.id, item.url, request, lanes=self.lanes[item.url], not_before=offset,
            allowed=self.allowed[item.url],
        )  # fmt: skip

    def reserve_lanes(
        self, go: Sequence[tuple[ClaimedDelivery, float]]
    ) -> list[tuple[ClaimedDelivery, float]]:
        """Each endpoint's lanes for this batch, across worker processes
        (``worker.endpoint_lanes``); the rows of an endpoint that other batches fill go back to
        the ledger for ``LANES_BUSY_WAIT`` seconds. Returns the rows that may go."""
        per_endpoint = self.rt.config.delivery.per_endpoint
        wanted: dict[str, tuple[int, int]] = {}
        for item, _ in go:  # a rate-limited chat platform allows one lane
            notifier = NOTIFIERS.get(item.channel)
            allowed = 1 if notifier is not None and notifier.rate_windows else per_endpoint
            self.allowed[item.url] = allowed
            wanted[item.url] = (min(allowed, wanted.get(item.url, (0, 0))[0] + 1), allowed)
        hold = BATCH_SECONDS + self.rt.config.delivery.timeout + LANES_MARGIN
        lanes = lanes_for(self.rt.config.herald.broker_url)
        try:
            self.lanes = lanes.reserve(self.token, wanted, hold)
        except Exception:  # the script may have run: whatever it took is given back
            self.lanes = dict(self.allowed)
            raise
        self.give_back([(item.id, LANES_BUSY_WAIT) for item, _ in go if not self.lanes[item.url]])
        return [(item, offset) for item, offset in go if self.lanes[item.url]]

    def release_lanes(self) -> None:
        try:
            lanes_for(self.rt.config.herald.broker_url).release(self.token, self.lanes)
        except Exception:  # they lapse on their own after their hold
            log.exception("deliver: could not give back the lanes of %d endpoints", len(self.lanes))

    # -- sending ----------------------------------------------------------------------------

    def run(self, plan: Planned) -> None:
        """Send the planned rows; whatever happens, record what was sent, give back the rest."""
        settings = self.rt.config.delivery
        try:
            self.give_back(plan.back)
            go = self.reserve_lanes(plan.go)
            prepared = [self.prepare(item, offset) for item, offset in go]
            sends = [s for s in prepared if s is not None]
            send_all(  # what it did not send is what is still "held"
                sends, policy=network_policy(self.rt.config), timeout=settings.timeout,
                user_agent=self.rt.config.network.user_agent, in_flight=settings.in_flight,
                on_reply=self.on_reply, may_start=self.may_start,
                deadline=time.monotonic() + BATCH_SECONDS, stop=STOPPING,
                meanwhile=self.flush_due, wake=self.wake,
                relay=Relay.from_settings(self.rt.config.smtp),
            )  # fmt: skip
        except Exception:
            log.exception("deliver: batch interrupted; its rows are recorded or given back")
        finally:
            self.release_lanes()  # before the records: other workers may use them now
            try:
                self.settle()
            finally:
                self.keeper.stop()

    def may_start(self, delivery_id: int) -> bool | None:
        verdict = self.keeper.may_start(delivery_id)
        if verdict:
            self.rows[delivery_id].state = "started"
        return verdict

    def on_reply(self, delivery_id: int, reply: Reply) -> bool:
        """Judge one reply and queue its record; True stops the endpoint's lane (a retry)."""
        row = self.rows[delivery_id]
        outcome = NOTIFIERS[row.claimed.channel].classify(reply)  # it was built: it is known
        record = self.finish(delivery_id, outcome)
        if outcome.status != "retry":
            return False
        wait = record.retry_in
        if wait is None:  # its own schedule is used up; the endpoint's other rows are not
            schedule = self.rt.config.delivery.retry_schedule
            wait = scheduled_retry_delay(1, outcome.retry_after, schedule=schedule)
        self.stopped_for[row.claimed.url] = wait or 0.0
        return True

    def finish(self, delivery_id: int, outcome: Outcome) -> AttemptRecord:
        """Turn an outcome into a record (a retry gets its delay) and queue it for writing.

        Called on the sending loop for every reply, which must not wait for the database (it
        sends every batch of this process): the batch's own thread writes the records, woken
        once ``RECORD_EVERY`` wait, else after ``RECORD_AFTER`` seconds (``flush_due``)."""
        row = self.rows[delivery_id]
        record = attempt_record(row.claimed, outcome, self.rt.config.delivery.retry_schedule)
        row.state = "replied"
        with self.lock:
            self.waiting.append((row, record))
            due = len(self.waiting) >= RECORD_EVERY
        if due:
            self.wake.set()
        return record

    # -- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the records waiting (one transaction); kept for the next flush on failure.
        Only the batch's own thread writes."""
        with self.lock:
            chunk, self.waiting = self.waiting, []
        self.flushed_at = time.monotonic()
        if not chunk:
            return
        try:
            with self.rt.session() as session:
                now = record_attempts(session, [r for _, r in chunk], token=self.token)
                pairs = [(row.claimed, r) for row, r in chunk]
                note_outcomes(self.rt, session, pairs, now=now)
        except Exception:
            with self.lock:
                self.waiting[:0] = chunk
            raise
        for row, record in chunk:
            row.state = "recorded"
            self.counts[record.outcome] += 1
        self.keeper.forget(row.claimed.id for row, _ in chunk)
        _log_failures(chunk)

    def flush_due(self) -> None:
        """Write the records waiting once ``RECORD_EVERY`` of them are, or ``RECORD_AFTER``
        seconds after the last write (the sending thread's chore while the loop sends)."""
        with self.lock:
            count = len(self.waiting)
        if count >= RECORD_EVERY or (count and time.monotonic() - self.flushed_at >= RECORD_AFTER):
            self.flush_quietly()

    def flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("deliver: could not record %d replies yet", len(self.waiting))

    def _renew(self) -> set[int]:
        with self.rt.session() as session:
            return renew_leases(session, self.token, lease=self.lease)

    def give_back(self, waits: Sequence[tuple[int, float]]) -> None:
        """Return rows unsent (their claim not counted), due again after their waits. Should
        that fail, they are let go: their lease runs out and the sweep hands them out again."""
        if not waits:
            return
        ids = [delivery_id for delivery_id, _ in waits]
        for delivery_id in ids:
            self.rows[delivery_id].state = "given back"
        try:
            with self.rt.session() as session:
                release_deliveries(session, self.token, waits)
            self.counts["deferred"] += len(waits)
        finally:
            self.keeper.forget(ids)

    def settle(self) -> None:
        """After sending: rows started with no reply (the batch was interrupted) count as a
        retry; every reply is written (tried again for a while, the leases still kept: a reply
        not written would be sent again); rows never started go back, after their endpoint's
        wait when it asked for one."""
        for row in self.rows.values():
            if row.state == "started":
                error = f"{row.claimed.channel}: interrupted before the reply was read"
                self.finish(row.claimed.id, Outcome("retry", None, None, 0.0, "", error))
        give_up = time.monotonic() + self.lease / 2
        while True:
            try:
                self.flush()
                break
            except Exception:
                if time.monotonic() >= give_up:
                    log.exception("deliver: could not record %d replies", len(self.waiting))
                    break
                time.sleep(1.0)
        back = [
            (row.claimed.id, self.stopped_for.get(row.claimed.url, 0.0))
            for row in self.rows.values()
            if row.state == "held"
        ]
        try:
            self.give_back(back)
        except Exception:  # they stay leased: the sweep takes them back when the lease ends
            log.exception("deliver: could not give back %d rows", len(back))

    def summary(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if v}


def attempt_record(
    claimed: ClaimedDelivery, outcome: Outcome, schedule: Sequence[float]
) -> AttemptRecord:
    """The record of one attempt: a retry gets its delay, or fails once the schedule is used up.

    The error and the reply are stored redacted (an endpoint's error may quote its URL, token
    and all), so the ledger, the log and the breaker's alerts never carry a secret."""
    status, retry_in = outcome.status, None
    if status == "retry":
        retry_in = scheduled_retry_delay(claimed.attempts, outcome.retry_after, schedule=schedule)
        if retry_in is None:
            status = "failed"
    return AttemptRecord(
        claimed.id, claimed.subscriber_id, status, outcome.http_status, outcome.latency_ms,
        redact_text(outcome.error), redact_text(outcome.response_excerpt), retry_in,
    )  # fmt: skip


def _log_failures(chunk: Sequence[tuple[_Row, AttemptRecord]]) -> None:
    for row, record in chunk:
        if record.outcome != "delivered":
            claimed = row.claimed
            log.warning(
                "deliver: %s (%s), attempt %d", record.outcome, record.error, claimed.attempts,
                extra={"delivery_id": record.delivery_id, "subscriber": claimed.subscriber_name},
            )  # fmt: skip
