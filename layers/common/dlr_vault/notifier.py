"""The notifier: one batch of ReportsTable stream records -> bulk counters, then events on the bus.

Counters go first: if they cannot be written the invocation fails before anything is published,
and Lambda hands the batch over again (records already counted are skipped, see counters.py).
Events go next, in stream order per message (events.py). What PutEvents still refuses after
its retries is reported as the batch's first failed record (ReportBatchItemFailures): Lambda
redelivers from that record on (bisecting, within MaximumRetryAttempts), then sends the batch's
description to the on-failure queue. Records after it whose events were accepted are published
again on redelivery: consumers get at least once, never out of order per message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dlr_vault.changes import DETAIL_TYPE, SOURCE, Change, Tally, change_of, event_detail, tallies
from dlr_vault.counters import BulkCounters
from dlr_vault.events import MAX_REQUEST_BYTES, EventPublisher, Outgoing

# The fields an oversized event keeps of its report (a report DynamoDB holds can be up to 380 KB,
# an event at most 256 KB): who, which bulk, when, status, error and price. Unknown fields go.
_SLIM_FIELDS = ("bulkId", "messageId", "to", "from", "sender", "sentAt", "doneAt", "smsCount", "messageCount", "status", "error", "price")


@dataclass
class BatchOutcome:
    """What one invocation did, for the log, the metrics and the event source mapping."""

    records: int = 0
    changes: int = 0
    events: int = 0
    published: int = 0
    retried: int = 0
    slimmed: int = 0
    counted: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    failed_sequence: str | None = None  # the first record whose event is unpublished

    def response(self, state: dict[str, Any]) -> dict[str, Any]:
        """The answer Lambda's event source mapping expects (tumbling-window form: state included)."""
        failures = [{"itemIdentifier": self.failed_sequence}] if self.failed_sequence else []
        return {"batchItemFailures": failures, "state": state}


def outgoing(change: Change, bus: str) -> tuple[Outgoing, bool]:
    """The change's PutEvents entry, and whether its reports had to be slimmed to fit 256 KB."""
    detail = event_detail(change)
    item = Outgoing.of(change.message_id, bus, SOURCE, DETAIL_TYPE, detail)
    if item.size <= MAX_REQUEST_BYTES:
        return item, False
    for name in ("report", "reportV1"):
        detail[name] = {k: v for k, v in detail[name].items() if k in _SLIM_FIELDS}
    detail["slimmed"] = True  # the whole report: GET /reports/{messageId}
    return Outgoing.of(change.message_id, bus, SOURCE, DETAIL_TYPE, detail), True


class Notifier:
    def __init__(self, publisher: EventPublisher | None, bus: str, counters: BulkCounters | None) -> None:
        self.publisher = publisher
        self._bus = bus
        self._counters = counters

    def handle(self, records: list[dict[str, Any]], shard: str | None) -> BatchOutcome:
        """Count and publish the changes among `records` (one shard's, in stream order)."""
        outcome = BatchOutcome(records=len(records))
        changes = [c for c in (change_of(r) for r in records) if c is not None]
        outcome.changes = len(changes)
        if self._counters is not None and changes:
            if not shard:
                raise ValueError("the event names no shardId: the event source mapping needs TumblingWindowInSeconds")
            outcome.counted = self._count(changes, shard)
        if self.publisher is not None:
            self._publish([c for c in changes if c.publishes], outcome)
        return outcome

    def _count(self, changes: Iterable[Change], shard: str) -> int:
        """One conditional UpdateItem per bulk for the whole batch (see counters.py)."""
        assert self._counters is not None
        per_bulk: dict[str, list[tuple[str, Tally]]] = {}
        for change in changes:
            for bulk_id, tally in tallies(change).items():
                per_bulk.setdefault(bulk_id, []).append((change.sequence, tally))
        return sum(self._counters.add(bulk_id, shard, parts) for bulk_id, parts in per_bulk.items())

    def _publish(self, changes: list[Change], outcome: BatchOutcome) -> None:
        assert self.publisher is not None
        items = []
        for change in changes:
            item, slimmed = outgoing(change, self._bus)
            items.append(item)
            outcome.slimmed += slimmed
        outcome.events = len(items)
        published = self.publisher.publish(items)
        outcome.published, outcome.retried, outcome.errors = published.accepted, published.retried, published.errors
        if published.left:
            outcome.failed_sequence = changes[published.left[0]].sequence
