"""The Celery application: broker settings, queues, at-least-once delivery, the beat schedule.

Settings are read lazily from herald's config when Celery first needs them, so importing
``worker`` never reads a file. The log handlers Celery sets up get herald's redacting filter.
It must not define tasks (``tasks`` does).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from kombu import Exchange, Queue

from worker import kombu_redis
from worker.config import Config
from worker.logs import redact_handlers, use_key_value_format

kombu_redis.apply()  # a worker must survive Redis going away (see the module)

QUEUES = ("ingest", "feeds", "deliver")
VISIBILITY_TIMEOUT = 3600  # longer than any task; long retry waits live in the database

app = Celery("herald", include=["worker.tasks"])
app.config_from_object("worker.celeryconfig")


def _prepare_logs(logger: logging.Logger, **_: Any) -> None:
    """Celery's handlers (worker, beat, tasks): key=value extras, and only redacted records."""
    use_key_value_format(logger)
    redact_handlers(logger)


signals.after_setup_logger.connect(_prepare_logs)
signals.after_setup_task_logger.connect(_prepare_logs)


def _transport_options(config: Config) -> dict[str, Any]:
    options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if config.herald.embedded:  # the in-memory queue is polled: keep idle threads fed
        options["polling_interval"] = 0.01
    return options


def celery_settings(config: Config) -> dict[str, Any]:
    """Celery settings for a herald config (see docs/design-notes.md for the reasoning)."""
    broker = config.herald.broker_url or "memory://localhost/"
    return {
        "broker_url": broker,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(config),
        "task_default_queue": "ingest",
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        "task_routes": {
            "herald.poll_source": {"queue": "ingest"},
            "herald.ingest_article": {"queue": "ingest"},
            "herald.build_feeds": {"queue": "feeds"},
            "herald.sweep": {"queue": "feeds"},
            "herald.deliver": {"queue": "deliver"},
            "herald.flush_outbox": {"queue": "deliver"},
            "herald.build_digests": {"queue": "deliver"},
            "herald.prune": {"queue": "feeds"},
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_time_limit": 600,
        "task_soft_time_limit": 540,
        "worker_redirect_stdouts": False,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": {
            "herald-sweep": {
                "task": "herald.sweep",
                "schedule": config.herald.sweep_interval,
                "options": {"expires": config.herald.sweep_interval},
            },
            "herald-prune": {  # daily, at 03:30 in China (19:30 UTC): a quiet hour
                "task": "herald.prune",
                "schedule": crontab(minute=30, hour=19),
                "options": {"expires": 3600},
            },
        },
    }
