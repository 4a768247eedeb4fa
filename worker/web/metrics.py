"""``/metrics`` for Prometheus: herald's figures read from the store (and the broker) at scrape.

Read at scrape rather than counted in memory, so every worker process's work shows, whichever
process serves the page. Names are prefixed ``herald_``. This module must not change anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.breaker import BREAKER_OPENED
from worker.broker import queue_depths
from worker.celery_app import QUEUES
from worker.redact import redact_text
from worker.runtime import get_runtime
from worker.store.stats import read_figures

log = logging.getLogger(__name__)


class HeraldCollector(Collector):
    """Every herald metric, read afresh on each collect."""

    def collect(self) -> Iterator[Metric]:
        rt = get_runtime()
        with rt.session() as session:
            figures = read_figures(session, (BREAKER_OPENED,))
        ingested = CounterMetricFamily(
            "herald_articles_ingested", "Articles stored, by the source that listed them",
            labels=["source"],
        )  # fmt: skip
        for source, count in sorted(figures.articles_by_source.items()):
            ingested.add_metric([source], count)
        yield ingested
        polls = CounterMetricFamily(
            "herald_polls", "Polls of a source, by outcome", labels=["source", "outcome"]
        )
        fetch = SummaryMetricFamily(
            "herald_poll_fetch_seconds", "Time polls spent fetching and reading a source's list",
            labels=["source"],
        )  # fmt: skip
        per_source: dict[str, tuple[int, float]] = {}
        for (source, outcome), (count, seconds) in sorted(figures.polls.items()):
            polls.add_metric([source, outcome], count)
            total, spent = per_source.get(source, (0, 0.0))
            per_source[source] = (total + count, spent + seconds)
        for source, (count, seconds) in per_source.items():
            fetch.add_metric([source], count_value=count, sum_value=seconds)
        yield polls
        yield fetch
        deliveries = GaugeMetricFamily(
            "herald_deliveries", "Rows of the delivery ledger, by channel and status",
            labels=["channel", "status"],
        )  # fmt: skip
        for (channel, status), count in sorted(figures.deliveries.items()):
            deliveries.add_metric([channel, status], count)
        yield deliveries
        yield GaugeMetricFamily(
            "herald_ledger_lag_seconds", "How long the oldest due delivery has waited",
            value=figures.ledger_lag,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "herald_ingest_lag_seconds", "How long the oldest due article fetch has waited",
            value=figures.ingest_lag,
        )  # fmt: skip
        yield CounterMetricFamily(
            "herald_breaker_openings", "Subscribers suspended by the circuit breaker",
            value=figures.counters.get(BREAKER_OPENED, 0),
        )  # fmt: skip
        by_status = GaugeMetricFamily(
            "herald_sources", "Configured sources, by status", labels=["status"]
        )
        for status, count in sorted(figures.sources_by_status.items()):
            by_status.add_metric([status], count)
        yield by_status
        yield from render_metrics(figures.renders)
        yield from self.queues(rt.config.herald.broker_url)

    def queues(self, broker_url: str) -> Iterator[Metric]:
        if not broker_url:
            return
        depth = GaugeMetricFamily(
            "herald_queue_depth", "Tasks waiting in each broker queue", labels=["queue"]
        )
        try:
            found = queue_depths(broker_url, QUEUES)
        except Exception as err:  # the broker being down must not hide the other metrics
            log.warning("metrics: queue depth unavailable: %s", redact_text(str(err)))
            return
        for queue, count in found.items():
            depth.add_metric([queue], count)
        yield depth


def render_metrics(renders: Mapping[str, tuple[int, int, int]]) -> Iterator[Metric]:
    """Pages headless Chromium rendered per source, failed renders, and the rendered-poll
    streak (a source whose streak keeps growing needs the browser on every poll)."""
    rendered = CounterMetricFamily(
        "herald_renders", "Pages rendered in headless Chromium, by source", labels=["source"]
    )
    failed = CounterMetricFamily(
        "herald_render_failures", "Renders that failed (timeout, still challenged, browser down)",
        labels=["source"],
    )  # fmt: skip
    streak = GaugeMetricFamily(
        "herald_rendered_polls_in_a_row", "Consecutive polls whose list needed the browser",
        labels=["source"],
    )  # fmt: skip
    for source, (ok, bad, polls) in sorted(renders.items()):
        rendered.add_metric([source], ok)
        failed.add_metric([source], bad)
        streak.add_metric([source], polls)
    yield rendered
    yield failed
    yield streak


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(HeraldCollector())


async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
