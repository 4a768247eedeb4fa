"""Former home of the ledgers' queries, now split by noun (deliveries, pending, outbox, history,
subscribers); these names remain importable from here until every caller has moved."""

from worker.store.deliveries import create_deliveries, delivery_counts, new_event_id
from worker.store.history import (
    delivery_attempts,
    failed_delivery_ids,
    list_deliveries,
    replay_deliveries,
)
from worker.store.pending import (
    claim_pending_item,
    fail_pending_item,
    finish_pending_item,
    pending_item_counts,
    queue_items,
)
from worker.store.subscribers import ops_alert_subscribers

__all__ = [
    "claim_pending_item",
    "create_deliveries",
    "delivery_attempts",
    "delivery_counts",
    "fail_pending_item",
    "failed_delivery_ids",
    "finish_pending_item",
    "list_deliveries",
    "new_event_id",
    "ops_alert_subscribers",
    "pending_item_counts",
    "queue_items",
    "replay_deliveries",
]
