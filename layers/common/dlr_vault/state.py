"""The collector's run state in its own small table: a lease (one run at a time), the checkpoint,
and where reconciliation against `/sms/3/logs` stands.

Reserved concurrency 1 already serialises scheduled runs; the lease also covers manual
invocations and replays, because the checkpoint is only correct with a single writer.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

STATE_KEY = {"pk": {"S": "collector"}}
RECONCILE_KEY = {"pk": {"S": "reconcile"}}


class LeaseLost(RuntimeError):
    """Another run holds the lease; this run must not move the checkpoint."""


class _StateItem:
    """One item of the state table, updated with optional conditions."""

    key: dict[str, Any]

    def __init__(self, table: str, dynamodb: Any) -> None:
        self.table = table
        self._ddb = dynamodb

    def _update(self, expression: str, values: dict[str, Any] | None = None, condition: str | None = None) -> bool:
        """Apply `expression`; False (nothing changed) when `condition` does not hold."""
        kwargs: dict[str, Any] = {"TableName": self.table, "Key": self.key, "UpdateExpression": expression}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self._ddb.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _load(self) -> dict[str, Any]:
        return self._ddb.get_item(TableName=self.table, Key=self.key, ConsistentRead=True).get("Item", {})


class RunState(_StateItem):
    key = STATE_KEY

    def acquire(self, owner: str, now: float, until: float) -> bool:
        """Take the lease unless a live one exists; False means another run is active."""
        return self._update(
            "SET leaseOwner = :me, leaseUntil = :until",
            {":me": {"S": owner}, ":until": {"N": f"{until:.3f}"}, ":now": {"N": f"{now:.3f}"}},
            "attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :me",
        )

    def release(self, owner: str) -> None:
        self._update("REMOVE leaseOwner, leaseUntil", {":me": {"S": owner}}, "leaseOwner = :me")

    def checkpoint(self) -> str | None:
        return self._load().get("lastRawKey", {}).get("S")

    def advance(self, owner: str, raw_key: str) -> None:
        """Record `raw_key` as fully processed; only the lease holder may, and never backwards."""
        values = {":me": {"S": owner}, ":key": {"S": raw_key}}
        if self._update("SET lastRawKey = :key", values, "leaseOwner = :me AND (attribute_not_exists(lastRawKey) OR lastRawKey < :key)"):
            return
        if self._load().get("leaseOwner", {}).get("S") != owner:
            raise LeaseLost(f"checkpoint not advanced to {raw_key}: another run holds the lease")
        # Still ours: the checkpoint is already past this key (clock skew between instances).

    def reset(self) -> None:
        """Forget the checkpoint: the next run re-indexes the whole raw archive (idempotent)."""
        self._update("REMOVE lastRawKey")


class ReconcileState(_StateItem):
    """The open reconciliation window and its cursor, the end of the last finished window, and
    the time of the first possible gap not yet reconciled. Written only inside the lease."""

    key = RECONCILE_KEY

    def load(self) -> dict[str, str]:
        return {name: value["S"] for name, value in self._load().items() if "S" in value}

    def save_window(self, since: str, until: str, cursor: str) -> None:
        self._update("SET windowStart = :s, windowEnd = :u, logsCursor = :c", {":s": {"S": since}, ":u": {"S": until}, ":c": {"S": cursor}})

    def finish_window(self, until: str, started: str) -> None:
        """Close the window; forget a recorded gap only if it happened before this window began."""
        self._update("SET lastUntil = :u REMOVE windowStart, windowEnd, logsCursor", {":u": {"S": until}})
        self._update("REMOVE gapSince", {":started": {"S": started}}, "gapSince <= :started")

    def note_gap(self, when: str) -> None:
        """Remember that answers may have been lost at `when` (kept if an earlier one is pending)."""
        self._update("SET gapSince = if_not_exists(gapSince, :t)", {":t": {"S": when}})
