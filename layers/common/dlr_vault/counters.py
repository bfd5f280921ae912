"""Per-bulk counters in BulkCountersTable, kept from the ReportsTable stream, read by the summary.

One item per bulkId: `messages`, `g#<GROUP>` messages per status group, `p#<CURRENCY>` price
total, `lastDoneAt`, `expiresAt` (the bulk's newest report's TTL) and `w#<shardId>`: the last
stream sequence number of that shard already counted (zero-padded, so strings compare as numbers).

The stream delivers at least once: Lambda may hand a batch over again whole, in halves after a
bisect, or from a failed record on. So one UpdateItem ADDs the tallies of one bulk's records of
one shard, on condition that the shard's watermark lies below the first of them, and raises it
to the last. When the condition fails, the old item (returned with the refusal) says which
records were already counted; only the rest are added. A record is never counted twice, and a
shard's records of one messageId arrive in order, so status moves always net out right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dlr_vault.changes import Tally

_SEQUENCE_WIDTH = 40  # DynamoDB Streams sequence numbers have 21 to 40 digits
_GROUP, _PRICE, _WATERMARK = "g#", "p#", "w#"


class CountersError(RuntimeError):
    """The counters item kept changing under the update (bounded attempts)."""


def _sequence(number: str) -> str:
    return number.zfill(_SEQUENCE_WIDTH)


def _number(value: Decimal | int) -> dict[str, str]:
    return {"N": format(value, "f") if isinstance(value, Decimal) else str(value)}


@dataclass(frozen=True)
class BulkTotals:
    """A bulk's counters as stored (groups and currencies that netted out to zero left out)."""

    messages: int
    groups: dict[str, int]
    prices: dict[str, Decimal]
    last_done_at: str

    @property
    def consistent(self) -> bool:
        """Whether the counts can be served: none negative and groups adding up to `messages`.
        A bulk already indexed before the counters were switched on fails this (its early
        reports were never counted in) and is summed from the index instead."""
        return self.messages > 0 and all(n > 0 for n in self.groups.values()) and sum(self.groups.values()) == self.messages


class BulkCounters:
    def __init__(self, table: str, dynamodb: Any, attempts: int = 5) -> None:
        self.table = table
        self._ddb = dynamodb
        self._attempts = attempts

    def add(self, bulk_id: str, shard: str, parts: Sequence[tuple[str, Tally]]) -> int:
        """Count `parts` ((sequence number, tally) of one shard, in stream order) into the bulk's
        item, skipping those already counted; returns how many were counted now."""
        watermark, newer_done = "", True
        for _ in range(self._attempts):
            fresh = [tally for sequence, tally in parts if _sequence(sequence) > watermark]
            if not fresh:
                return 0
            first = _sequence(parts[len(parts) - len(fresh)][0])
            total = Tally.total(fresh)
            try:
                self._update(bulk_id, shard, first, _sequence(parts[-1][0]), total, newer_done)
                return len(fresh)
            except self._ddb.exceptions.ConditionalCheckFailedException as refused:
                old = refused.response.get("Item", {})
                watermark = old.get(_WATERMARK + shard, {}).get("S", "")
                newer_done = old.get("lastDoneAt", {}).get("S", "") < total.done_at
        raise CountersError(f"counters of a bulk kept changing during {self._attempts} attempts")

    def _update(self, bulk_id: str, shard: str, first: str, last: str, total: Tally, newer_done: bool) -> None:
        names = {"#w": _WATERMARK + shard, "#m": "messages"}
        values: dict[str, Any] = {":first": {"S": first}, ":last": {"S": last}, ":m": _number(total.messages)}
        adds, sets = ["#m :m"], ["#w = :last"]
        condition = "(attribute_not_exists(#w) OR #w < :first)"
        deltas: list[tuple[str, int | Decimal]] = [(_GROUP + g, n) for g, n in sorted(total.groups.items()) if n]
        deltas += [(_PRICE + c, amount) for c, amount in sorted(total.prices.items()) if amount]
        for i, (name, delta) in enumerate(deltas):
            names[f"#a{i}"] = name
            values[f":a{i}"] = _number(delta)
            adds.append(f"#a{i} :a{i}")
        if total.done_at and newer_done:
            names["#d"] = "lastDoneAt"
            values[":d"] = {"S": total.done_at}
            sets.append("#d = :d")
            condition += " AND (attribute_not_exists(#d) OR #d < :d)"
        if total.expires_at:
            names["#e"] = "expiresAt"
            values[":e"] = _number(total.expires_at)
            sets.append("#e = :e")
        self._ddb.update_item(
            TableName=self.table,
            Key={"bulkId": {"S": bulk_id}},
            UpdateExpression=f"ADD {', '.join(adds)} SET {', '.join(sets)}",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def get(self, bulk_id: str) -> BulkTotals | None:
        """The bulk's counters, or None when no report of it was counted."""
        item = self._ddb.get_item(TableName=self.table, Key={"bulkId": {"S": bulk_id}}).get("Item")
        if item is None:
            return None
        groups = {k.removeprefix(_GROUP): int(v["N"]) for k, v in item.items() if k.startswith(_GROUP) and int(v["N"])}
        prices = {k.removeprefix(_PRICE): Decimal(v["N"]) for k, v in item.items() if k.startswith(_PRICE) and Decimal(v["N"])}
        return BulkTotals(int(item.get("messages", {}).get("N", "0")), groups, prices, item.get("lastDoneAt", {}).get("S", ""))
