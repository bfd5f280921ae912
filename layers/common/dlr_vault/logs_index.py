"""Reading the indexes behind the logs routes: one partition of a GSI, newest `sentAt` first.

A `Stream` is one partition key of one index (a destination's keyed hash, one shard of one
day, one bulk). Reads are Queries bounded by `sentAt` and by a `Limit`, resumed exactly after
a (sentAt, messageId) position, so ties on `sentAt` are never read twice or skipped. A keys-only
index gives keys (the reports are read from the table); an index that projects everything
(the bulk index of a stack with BulkIndexProjection ALL) gives hits that carry the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlr_vault.index import StoredReport


@dataclass(frozen=True)
class Stream:
    """One partition of a global secondary index, ordered by `sentAt`."""

    index: str
    key: str  # the index's partition key attribute
    value: str


@dataclass(frozen=True)
class Hit:
    """One index entry: where it sorts, and the report when the index projects it."""

    sent_at: str
    message_id: str
    stored: StoredReport | None = None

    @property
    def position(self) -> tuple[str, str]:
        return self.sent_at, self.message_id


class LogsIndex:
    def __init__(self, table: str, dynamodb: Any) -> None:
        self.table = table
        self._ddb = dynamodb

    def newest(self, stream: Stream, since: str, until: str, after: tuple[str, str] | None, limit: int) -> tuple[list[Hit], bool]:
        """Up to `limit` entries of `stream` with `since <= sentAt <= until`, newest first, strictly after
        `after` in that order; and whether more may follow."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": stream.index,
            "KeyConditionExpression": "#k = :k AND sentAt BETWEEN :since AND :until",
            "ExpressionAttributeNames": {"#k": stream.key},
            "ExpressionAttributeValues": {":k": {"S": stream.value}, ":since": {"S": since}, ":until": {"S": until}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {stream.key: {"S": stream.value}, "sentAt": {"S": after[0]}, "messageId": {"S": after[1]}}
        answer = self._ddb.query(**kwargs)
        hits = [
            Hit(item["sentAt"]["S"], item["messageId"]["S"], StoredReport._of(item) if "report" in item else None)
            for item in answer.get("Items", [])
        ]
        return hits, "LastEvaluatedKey" in answer
