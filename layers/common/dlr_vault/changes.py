"""What a ReportsTable stream record means: a real change of a stored report, or nothing.

A change is decided on the report itself (the stored `report` JSON and its `source`), never on
the whole item, so a rewrite that only adds attributes (a backfill adding index keys), a no-op
rewrite and a TTL expiry are not changes. An operator's delete (an erasure) is a change with no
new image: it publishes no event, and the bulk's counters drop the message.

Each change becomes one event `detail` (the v3 item the lookup serves, its v1 twin for v1
webhooks, and what changed) and a signed tally for its bulk's counters. Nothing here talks to AWS.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dlr_vault.archive import full_raw_key
from dlr_vault.reports import FINAL_GROUPS, in_shape, price_total
from dlr_vault.stored_form import report_text

SOURCE = "dlr-vault"
DETAIL_TYPE = "SMS Delivery Report Stored"
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def _text(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


@dataclass(frozen=True)
class Stored:
    """The parts of a ReportsTable item (one stream image) a change is judged and counted on."""

    text: str  # the report's JSON, as stored
    source: str  # "reports", or "logs" when recovered by reconciliation
    status_group: str
    bulk_id: str | None
    raw_key: str
    done_at: str
    expires_at: int

    @classmethod
    def of(cls, image: dict[str, Any] | None) -> Stored | None:
        """None for a missing image, or an item that holds no report."""
        text = report_text(image.get("report")) if image else None
        if image is None or text is None:
            return None
        expires = image.get("expiresAt", {}).get("N")
        return cls(
            text=text,
            source=_text(image, "source") or "reports",
            status_group=_text(image, "statusGroup") or "UNKNOWN",
            bulk_id=_text(image, "bulkId"),
            raw_key=full_raw_key(_text(image, "rawKey") or ""),
            done_at=_text(image, "doneAt") or "",
            expires_at=int(Decimal(expires)) if expires else 0,
        )

    def same_report(self, other: Stored) -> bool:
        """Equal report content and source: the same text, or texts that parse to the same JSON."""
        if self.source != other.source:
            return False
        return self.text == other.text or json.loads(self.text) == json.loads(other.text)


@dataclass(frozen=True)
class Change:
    """One real change of a stored report, at its place in the stream."""

    sequence: str  # the stream record's SequenceNumber: increasing within a shard
    message_id: str
    old: Stored | None  # None: a new message
    new: Stored | None  # None: erased by an operator

    @property
    def publishes(self) -> bool:
        """An erasure publishes nothing: there is no report left to hand on."""
        return self.new is not None


def _by_ttl(record: dict[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return identity.get("type") == "Service" and identity.get("principalId") == _TTL_PRINCIPAL


def change_of(record: dict[str, Any]) -> Change | None:
    """The change a stream record (Lambda's DynamoDB event record) stands for; None when the
    report did not change: TTL expiry, a rewrite of the same report, or an item without one."""
    if record.get("eventName") == "REMOVE" and _by_ttl(record):
        return None
    stream = record["dynamodb"]
    old, new = Stored.of(stream.get("OldImage")), Stored.of(stream.get("NewImage"))
    if (old is None and new is None) or (old is not None and new is not None and old.same_report(new)):
        return None
    message_id = stream["Keys"]["messageId"]["S"]
    return Change(stream["SequenceNumber"], message_id, old, new)


def event_detail(change: Change) -> dict[str, Any]:
    """The event's `detail`: the report as `GET /sms/3/reports` serves it (`report`) and as
    `/sms/1/reports` does (`reportV1`, for v1 webhooks), plus what changed and where it is kept."""
    assert change.new is not None
    report = json.loads(change.new.text)
    return {
        "messageId": change.message_id,
        "statusGroup": change.new.status_group,
        "previousStatusGroup": change.old.status_group if change.old is not None else None,
        "isFinal": change.new.status_group in FINAL_GROUPS,
        "recoveredFromLogs": change.new.source == "logs",
        "rawKey": change.new.raw_key,
        "report": in_shape(report, 3),
        "reportV1": in_shape(report, 1),
    }


@dataclass
class Tally:
    """Signed counter deltas for one bulk: messages, messages per status group, price per
    currency, and the latest `doneAt` and `expiresAt` seen."""

    messages: int = 0
    groups: Counter[str] = field(default_factory=Counter)
    prices: dict[str, Decimal] = field(default_factory=dict)
    done_at: str = ""
    expires_at: int = 0

    def count(self, stored: Stored, sign: int) -> None:
        """Add (`sign` 1) or take away (`sign` -1) one stored report."""
        self.messages += sign
        self.groups[stored.status_group] += sign
        cost = price_total(json.loads(stored.text, parse_float=Decimal))
        if cost is not None:
            self.prices[cost[0]] = self.prices.get(cost[0], Decimal(0)) + sign * cost[1]
        if sign > 0:
            self.done_at = max(self.done_at, stored.done_at)
            self.expires_at = max(self.expires_at, stored.expires_at)

    def merge(self, other: Tally) -> None:
        self.messages += other.messages
        self.groups.update(other.groups)
        for currency, amount in other.prices.items():
            self.prices[currency] = self.prices.get(currency, Decimal(0)) + amount
        self.done_at = max(self.done_at, other.done_at)
        self.expires_at = max(self.expires_at, other.expires_at)

    @classmethod
    def total(cls, tallies: Iterable[Tally]) -> Tally:
        out = cls()
        for tally in tallies:
            out.merge(tally)
        return out


def tallies(change: Change) -> dict[str, Tally]:
    """Per bulk, what `change` does to its counters: the old report counted out, the new one in
    (so PENDING -> DELIVERED moves one message between groups). Reports without a bulk count nowhere."""
    out: dict[str, Tally] = {}
    for stored, sign in ((change.old, -1), (change.new, 1)):
        if stored is not None and stored.bulk_id:
            out.setdefault(stored.bulk_id, Tally()).count(stored, sign)
    return out
