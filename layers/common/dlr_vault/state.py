"""The collector's run state in its own small table: a lease (one run at a time) and the checkpoint.

Reserved concurrency 1 already serialises scheduled runs; the lease also covers manual
invocations and replays, because the checkpoint is only correct with a single writer.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

STATE_KEY = {"pk": {"S": "collector"}}


class LeaseLost(RuntimeError):
    """Another run holds the lease; this run must not move the checkpoint."""


class RunState:
    def __init__(self, table: str, dynamodb: Any) -> None:
        self.table = table
        self._ddb = dynamodb

    def acquire(self, owner: str, now: float, until: float) -> bool:
        """Take the lease unless a live one exists; False means another run is active."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=STATE_KEY,
                UpdateExpression="SET leaseOwner = :me, leaseUntil = :until",
                ConditionExpression="attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :me",
                ExpressionAttributeValues={":me": {"S": owner}, ":until": {"N": f"{until:.3f}"}, ":now": {"N": f"{now:.3f}"}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, owner: str) -> None:
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=STATE_KEY,
                UpdateExpression="REMOVE leaseOwner, leaseUntil",
                ConditionExpression="leaseOwner = :me",
                ExpressionAttributeValues={":me": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def checkpoint(self) -> str | None:
        item = self._ddb.get_item(TableName=self.table, Key=STATE_KEY, ConsistentRead=True).get("Item", {})
        return item.get("lastRawKey", {}).get("S")

    def advance(self, owner: str, raw_key: str) -> None:
        """Record `raw_key` as fully processed; only the lease holder may, and never backwards."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=STATE_KEY,
                UpdateExpression="SET lastRawKey = :key",
                ConditionExpression="leaseOwner = :me AND (attribute_not_exists(lastRawKey) OR lastRawKey < :key)",
                ExpressionAttributeValues={":me": {"S": owner}, ":key": {"S": raw_key}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item = self._ddb.get_item(TableName=self.table, Key=STATE_KEY, ConsistentRead=True).get("Item", {})
            if item.get("leaseOwner", {}).get("S") != owner:
                raise LeaseLost(f"checkpoint not advanced to {raw_key}: another run holds the lease") from None
            # Still ours: the checkpoint is already past this key (clock skew between instances).

    def reset(self) -> None:
        """Forget the checkpoint: the next run re-indexes the whole raw archive (idempotent)."""
        self._ddb.update_item(TableName=self.table, Key=STATE_KEY, UpdateExpression="REMOVE lastRawKey")


RECONCILE_KEY = {"pk": {"S": "reconcile"}}


class ReconcileState:
    """Where reconciliation against `/sms/3/logs` stands: the open window and its cursor, the end
    of the last finished window, and the time of the first possible gap not yet reconciled.
    Written only by the lease holder (reconciliation runs inside the collector's lease)."""

    def __init__(self, table: str, dynamodb: Any) -> None:
        self.table = table
        self._ddb = dynamodb

    def load(self) -> dict[str, str]:
        item = self._ddb.get_item(TableName=self.table, Key=RECONCILE_KEY, ConsistentRead=True).get("Item", {})
        return {name: value["S"] for name, value in item.items() if "S" in value}

    def save_window(self, since: str, until: str, cursor: str) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=RECONCILE_KEY,
            UpdateExpression="SET windowStart = :s, windowEnd = :u, logsCursor = :c",
            ExpressionAttributeValues={":s": {"S": since}, ":u": {"S": until}, ":c": {"S": cursor}},
        )

    def finish_window(self, until: str, started: str) -> None:
        """Close the window; forget a recorded gap only if it happened before this window began."""
        self._ddb.update_item(
            TableName=self.table,
            Key=RECONCILE_KEY,
            UpdateExpression="SET lastUntil = :u REMOVE windowStart, windowEnd, logsCursor",
            ExpressionAttributeValues={":u": {"S": until}},
        )
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=RECONCILE_KEY,
                UpdateExpression="REMOVE gapSince",
                ConditionExpression="gapSince <= :started",
                ExpressionAttributeValues={":started": {"S": started}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def note_gap(self, when: str) -> None:
        """Remember that answers may have been lost at `when` (kept if an earlier one is pending)."""
        self._ddb.update_item(
            TableName=self.table,
            Key=RECONCILE_KEY,
            UpdateExpression="SET gapSince = if_not_exists(gapSince, :t)",
            ExpressionAttributeValues={":t": {"S": when}},
        )
