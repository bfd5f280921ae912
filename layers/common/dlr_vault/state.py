"""The collector's run state in its own small table: a lease (one run at a time), the checkpoint,
and where reconciliation against `/sms/3/logs` stands.

Reserved concurrency 1 already serialises scheduled runs; the lease also covers manual
invocations and replays, because the checkpoint is only correct with a single writer. With a
poll interval, runs overlap on purpose (reserved concurrency 2, a timeout past the period): the
next run asks for the lease (`leaseNext`) and the holder hands it over between two polls, so
someone is always asking Infobip. A lease
that expired without being released belonged to a run that was killed (timeout, out of memory,
lost host): whoever takes it over learns when that run started, so its possible losses can be
reconciled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dlr_vault.reports import infobip_time

STATE_KEY = {"pk": {"S": "collector"}}
RECONCILE_KEY = {"pk": {"S": "reconcile"}}


if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from dlr_vault.reconcile import Window

KILLED_RUN_SPAN = 900.0  # seconds: Lambda's longest timeout, for a dead lease written before leases had a start


class LeaseLost(RuntimeError):
    """Another run holds the lease; this run must not move the checkpoint."""


@dataclass(frozen=True)
class DeadRun:
    """A run whose lease expired unreleased: it was killed somewhere between `started` and `until`."""

    started: float
    until: float
    mode: str


@dataclass(frozen=True)
class Lease:
    owner: str
    took_over: DeadRun | None = None


class _StateItem:
    """One item of the state table, updated with optional conditions."""

    key: dict[str, Any]

    def __init__(self, table: str, dynamodb: DynamoDBClient) -> None:
        self.table = table
        self._ddb = dynamodb

    def _update(self, expression: str, values: dict[str, Any] | None = None, condition: str | None = None) -> dict[str, Any] | None:
        """Apply `expression`; the item as it was before, or None (nothing changed) when `condition` does not hold."""
        kwargs: dict[str, Any] = {"TableName": self.table, "Key": self.key, "UpdateExpression": expression, "ReturnValues": "ALL_OLD"}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            answer = self._ddb.update_item(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return dict(answer.get("Attributes", {}))

    def _load(self) -> dict[str, Any]:
        return dict(self._ddb.get_item(TableName=self.table, Key=self.key, ConsistentRead=True).get("Item", {}))


class RunState(_StateItem):
    key = STATE_KEY

    def acquire(self, owner: str, now: float, until: float, mode: str) -> Lease | None:
        """Take the lease unless a live one exists (None: another run is active). The lease says
        when this run started and what it does, for whoever finds it expired."""
        before = self._update(
            "SET leaseOwner = :me, leaseUntil = :until, leaseSince = :now, leaseMode = :mode",
            {":me": {"S": owner}, ":until": {"N": f"{until:.3f}"}, ":now": {"N": f"{now:.3f}"}, ":mode": {"S": mode}},
            "attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :me",
        )
        if before is None:
            return None
        if "leaseUntil" not in before or before.get("leaseOwner", {}).get("S") == owner:
            return Lease(owner)
        dead_until = float(before["leaseUntil"]["N"])
        started = float(before["leaseSince"]["N"]) if "leaseSince" in before else dead_until - KILLED_RUN_SPAN
        return Lease(owner, DeadRun(started, dead_until, before.get("leaseMode", {}).get("S", "collect")))

    def release(self, owner: str) -> None:
        self._update("REMOVE leaseOwner, leaseUntil, leaseSince, leaseMode", {":me": {"S": owner}}, "leaseOwner = :me")

    def follow(self, owner: str, now: float) -> bool:
        """Ask the holder of a live lease to hand it over (runs that poll overlap: the schedule
        starts the next one while the last still asks Infobip). False: no live lease to follow."""
        values = {":me": {"S": owner}, ":now": {"N": f"{now:.3f}"}}
        return self._update("SET leaseNext = :me, leaseNextAt = :now", values, "leaseUntil >= :now AND leaseOwner <> :me") is not None

    def unfollow(self, owner: str) -> None:
        """Withdraw this run's hand-over request: it was granted, or the run gave up waiting."""
        self._update("REMOVE leaseNext, leaseNextAt", {":me": {"S": owner}}, "leaseNext = :me")

    def successor_waiting(self, owner: str) -> bool:
        """Whether another run asked this lease holder to hand over (one consistent read). Only a
        request made during this holder's lease counts: one left by a follower that was killed
        while waiting would otherwise stop every later holder for nobody."""
        item = self._load()
        if item.get("leaseOwner", {}).get("S") != owner or item.get("leaseNext", {}).get("S", owner) == owner:
            return False
        return float(item.get("leaseNextAt", {}).get("N", "0")) >= float(item.get("leaseSince", {}).get("N", "0"))

    def checkpoint(self) -> str | None:
        key: str | None = self._load().get("lastRawKey", {}).get("S")
        return key

    def advance(self, owner: str, raw_key: str) -> None:
        """Record `raw_key` as fully processed; only the lease holder may, and never backwards."""
        values = {":me": {"S": owner}, ":key": {"S": raw_key}}
        if (
            self._update("SET lastRawKey = :key", values, "leaseOwner = :me AND (attribute_not_exists(lastRawKey) OR lastRawKey < :key)")
            is not None
        ):
            return
        if self._load().get("leaseOwner", {}).get("S") != owner:
            raise LeaseLost(f"checkpoint not advanced to {raw_key}: another run holds the lease")
        # Still ours: the checkpoint is already past this key (clock skew between instances).

    def reset(self) -> None:
        """Forget the checkpoint: the next run re-indexes the whole raw archive (idempotent)."""
        self._update("REMOVE lastRawKey")


class ReconcileState(_StateItem):
    """The open reconciliation window (its range, when it was opened, whether it reaches back to
    the floor, its cursor), the end of the last finished window, and the time of the earliest
    possible gap not yet reconciled. Written only inside the lease."""

    key = RECONCILE_KEY

    def load(self) -> dict[str, str]:
        return {name: value["S"] for name, value in self._load().items() if "S" in value}

    def save_window(self, window: Window, cursor: str) -> None:
        values = {
            ":s": {"S": infobip_time(window.since)},
            ":u": {"S": infobip_time(window.until)},
            ":o": {"S": infobip_time(window.opened)},
            ":f": {"S": "true" if window.from_floor else "false"},
            ":c": {"S": cursor},
        }
        self._update("SET windowStart = :s, windowEnd = :u, windowOpened = :o, windowFromFloor = :f, logsCursor = :c", values)

    def finish_window(self, until: str, clears_gaps_before: str | None) -> None:
        """Close the window; forget a recorded gap only when the window covered it (see
        `reconcile.closes_gap`), and never one recorded after `clears_gaps_before`."""
        self._update("SET lastUntil = :u REMOVE windowStart, windowEnd, windowOpened, windowFromFloor, logsCursor", {":u": {"S": until}})
        if clears_gaps_before is not None:
            self._update("REMOVE gapSince", {":opened": {"S": clears_gaps_before}}, "gapSince <= :opened")

    def note_gap(self, when: str) -> None:
        """Remember that answers may have been lost at `when`: the earliest pending gap is kept."""
        self._update("SET gapSince = :t", {":t": {"S": when}}, "attribute_not_exists(gapSince) OR gapSince > :t")
