"""The DynamoDB index: one item per messageId, the report with the later `doneAt` wins.

Writes are batched (25 per request) after one batched read of the current `doneAt`s, so a
replayed or out-of-order page never overwrites newer data and an identical page writes nothing.
Both batch calls go through `dynamodb.DynamoDBJson` (items are built here in wire form); single
reads, queries and the preflight use the boto3 client.
The lease in `state.py` guarantees a single writer between that read and the write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dlr_vault.archive import full_raw_key, short_raw_key
from dlr_vault.dynamodb import DynamoDBJson
from dlr_vault.reports import Report, parse_timestamp, status_group, storable, to_json
from dlr_vault.search import NumberHasher, day_key, normalise_number, time_shard
from dlr_vault.stored_form import report_text, report_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BULK_INDEX = "bulkId-sentAt-index"
_EPOCH = "1970-01-01T00:00:00.000Z"
_BATCH_WRITE = 25
_BATCH_GET = 100
_MAX_ATTEMPTS = 8
_MAX_TEXT_BYTES = 380_000  # DynamoDB's item limit is 400 KB, attribute names and the other fields included
_MAX_TEXT_CHARS = _MAX_TEXT_BYTES // 4  # below this many characters no UTF-8 text can reach the limit
SEARCH_ATTRIBUTES = ("sentAt", "sentDay", "toHash")  # written only when the search indexes are on


@dataclass(frozen=True)
class Position:
    """Where a query page stopped: the key of its last item as plain strings (DynamoDB's
    LastEvaluatedKey without its wire types). Opaque to callers; cursors sign and return it."""

    keys: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, fields: dict[str, str]) -> Position:
        return cls(tuple(sorted(fields.items())))

    def as_dict(self) -> dict[str, str]:
        return dict(self.keys)

    def _start_key(self) -> dict[str, Any]:
        return {name: {"S": value} for name, value in self.keys}


@dataclass(frozen=True)
class StoredReport:
    """One indexed report as readers see it: the report's JSON exactly as stored, and what it is filed under."""

    message_id: str
    report: str
    status_group: str = "UNKNOWN"
    source: str = "reports"
    bulk_id: str | None = None
    sent_at: str | None = None
    done_at: str | None = None
    raw_key: str | None = None

    @classmethod
    def _of(cls, item: dict[str, Any]) -> StoredReport:
        text = {name: value["S"] for name, value in item.items() if "S" in value}
        return cls(
            message_id=text.get("messageId", ""),
            report=report_text(item.get("report")) or "null",
            status_group=text.get("statusGroup", "UNKNOWN"),
            source=text.get("source", "reports"),
            bulk_id=text.get("bulkId"),
            sent_at=text.get("sentAt"),
            done_at=text.get("doneAt"),
            raw_key=full_raw_key(text["rawKey"]) if "rawKey" in text else None,
        )

    def bulk_position(self) -> Position:
        """Where a bulk page that ended with this report continues (the bulk index's key)."""
        return Position.of({"bulkId": self.bulk_id or "", "sentAt": self.sent_at or "", "messageId": self.message_id})


class IndexWriteError(RuntimeError):
    """DynamoDB kept refusing writes after bounded retries."""


@dataclass(frozen=True)
class Entry:
    """A report ready to index, with the fields the index orders and filters by."""

    message_id: str
    done_at: str  # normalised UTC, "" if missing or unparseable (loses to any real time)
    item: dict[str, Any]
    text: str  # the report's JSON, as stored

    @property
    def rank(self) -> tuple[str, bool]:
        """What "newer" means: later doneAt; on a tie a real report beats one recovered from logs."""
        return self.done_at, "source" not in self.item


def make_entry(
    report: Report,
    *,
    raw_key: str,
    source: str,
    expires_at: int | None,
    text: str | None = None,
    search: NumberHasher | None = None,
    compress: bool = True,
) -> Entry | None:
    """The index item for `report` (`text`: its JSON, if already made); None without a messageId
    DynamoDB can key, or when the report is too large for a DynamoDB item (raw/ keeps it).
    With `search` (the search indexes are on) it also carries what they are keyed by; with
    `compress` (`StoredReportForm` compressed) the JSON is kept in `stored_form`'s compact form."""
    message_id = report.get("messageId")
    if not storable(message_id):
        return None
    text = text if text is not None else to_json(report)
    if len(text) > _MAX_TEXT_CHARS and len(text.encode()) > _MAX_TEXT_BYTES:
        return None  # DynamoDB refuses items over 400 KB; it stays in raw/ and JSON Lines
    done_at = parse_timestamp(report.get("doneAt")) or ""
    item: dict[str, Any] = {
        "messageId": {"S": message_id},
        "report": report_value(text, compressed=compress),
        "statusGroup": {"S": status_group(report)},
        "rawKey": {"S": short_raw_key(raw_key)},  # its name says the API version it came in
    }
    if source != "reports":  # absent: the default, read as "reports" everywhere
        item["source"] = {"S": source}
    if done_at:
        item["doneAt"] = {"S": done_at}
    sent_at = parse_timestamp(report.get("sentAt")) or done_at or _EPOCH
    bulk_id = report.get("bulkId")
    if storable(bulk_id):  # otherwise the report is still found by its messageId
        item["bulkId"] = {"S": bulk_id}
        item["sentAt"] = {"S": sent_at}
    if search is not None:
        item.update(_search_fields(report, message_id, sent_at, search))
    if expires_at:
        item["expiresAt"] = {"N": str(expires_at)}
    return Entry(message_id, done_at, item, text)


def _search_fields(report: Report, message_id: str, sent_at: str, search: NumberHasher) -> dict[str, Any]:
    """`sentAt` on every item, its sharded day (time index) and the keyed hash of `to` (destination
    index; sparse: a report without a number in `to` is not in it). `to` itself stays in the report."""
    fields = {"sentAt": {"S": sent_at}, "sentDay": {"S": day_key(sent_at[:10], time_shard(message_id))}}
    number = normalise_number(report.get("to"))
    if number is not None:
        fields["toHash"] = {"S": search.of(number)}
    return fields


def latest_per_message(entries: Iterable[Entry]) -> dict[str, Entry]:
    """Within one batch, keep only the newest report of each messageId (first one on ties)."""
    latest: dict[str, Entry] = {}
    for entry in entries:
        kept = latest.get(entry.message_id)
        if kept is None or entry.rank > kept.rank:
            latest[entry.message_id] = entry
    return latest


class ReportIndex:
    def __init__(
        self,
        table: str,
        dynamodb: DynamoDBClient,
        batches: DynamoDBJson,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 8,
        search: NumberHasher | None = None,
        compress: bool = True,
    ) -> None:
        self.table = table
        self.search = search  # what entries are made with: None while the search indexes are off
        self.compress = compress  # and whether their report JSON is compressed (StoredReportForm)
        self._ddb = dynamodb
        self._batches = batches
        self._sleep = sleep
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # made on first use (batched writes, or reads past 100 keys)

    def _map(self, function: Callable[[Any], Any], chunks: list[Any]) -> list[Any]:
        """Run `function` over `chunks` concurrently (batch requests mostly wait on the network).
        Waits for every chunk before raising the first failure: nothing is left in flight."""
        if len(chunks) <= 1:
            return [function(c) for c in chunks]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="index")
        futures = [self._pool.submit(function, chunk) for chunk in chunks]
        wait(futures)
        return [future.result() for future in futures]

    def put(self, entries: Iterable[Entry]) -> tuple[list[Entry], int]:
        """Index `entries`; returns (the entries written, how many were not newer than what is stored)."""
        latest = latest_per_message(entries)
        stored = self._stored_ranks(list(latest))
        fresh = [e for mid, e in latest.items() if mid not in stored or e.rank > stored[mid]]
        self._write([{"PutRequest": {"Item": e.item}} for e in fresh])
        return fresh, len(latest) - len(fresh)

    def get_many(self, message_ids: list[str]) -> dict[str, StoredReport]:
        """The indexed ones of `message_ids` (eventually consistent; 100 keys a request, concurrently)."""
        return {item["messageId"]["S"]: StoredReport._of(item) for item in self._read(message_ids, consistent=False)}

    def delete(self, message_ids: list[str]) -> int:
        """Delete the items of `message_ids` (erasure); returns how many there were."""
        there = [item["messageId"] for item in self._read(message_ids, consistent=True, ProjectionExpression="messageId")]
        self._write([{"DeleteRequest": {"Key": {"messageId": key}}} for key in there])
        return len(there)

    def get(self, message_id: str) -> StoredReport | None:
        item = self._ddb.get_item(TableName=self.table, Key={"messageId": {"S": message_id}}).get("Item")
        return StoredReport._of(item) if item else None

    def query_bulk(self, bulk_id: str, limit: int, after: Position | None) -> tuple[list[StoredReport], Position | None]:
        """One page of a bulk's reports in `sentAt` order, and where the next page starts (None: no more)."""
        kwargs = self._bulk_query(bulk_id, Limit=limit)
        if after is not None:
            kwargs["ExclusiveStartKey"] = after._start_key()
        answer = self._ddb.query(**kwargs)
        last = answer.get("LastEvaluatedKey")
        return self._complete(answer.get("Items", [])), Position.of({k: v["S"] for k, v in last.items()}) if last else None

    def bulk_outcomes(self, bulk_id: str) -> Iterable[StoredReport]:
        """Every report of a bulk (a summary without counters reads them all)."""
        for page in self._ddb.get_paginator("query").paginate(**self._bulk_query(bulk_id)):
            yield from self._complete(page.get("Items", []))

    def _complete(self, items: list[dict[str, Any]]) -> list[StoredReport]:
        """Index entries as reports, in their order: a keys-only index's entries are read from the
        table in batches (BulkIndexProjection KEYS_ONLY); one that projects everything is used as it is.
        An entry whose item is gone by then (erased) is left out."""
        missing = [item["messageId"]["S"] for item in items if "report" not in item]
        read = self.get_many(missing) if missing else {}
        found = (StoredReport._of(item) if "report" in item else read.get(item["messageId"]["S"]) for item in items)
        return [stored for stored in found if stored is not None]

    def _bulk_query(self, bulk_id: str, **extra: Any) -> dict[str, Any]:
        """Query arguments for one bulk on the bulk index (the only way the lookup lists items)."""
        return {
            "TableName": self.table,
            "IndexName": BULK_INDEX,
            "KeyConditionExpression": "bulkId = :b",
            "ExpressionAttributeValues": {":b": {"S": bulk_id}},
            **extra,
        }

    def probe_writable(self) -> None:
        """Preflight: a conditional write that can never succeed proves access without writing."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={"messageId": {"S": "\x00preflight"}},
                ConditionExpression="attribute_exists(messageId) AND attribute_not_exists(messageId)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return

    def _stored_ranks(self, message_ids: list[str]) -> dict[str, tuple[str, bool]]:
        """The stored rank (see `Entry.rank`) of those of `message_ids` that are indexed."""
        items = self._read(
            message_ids, consistent=True, ProjectionExpression="messageId, doneAt, #src", ExpressionAttributeNames={"#src": "source"}
        )
        return {item["messageId"]["S"]: (item.get("doneAt", {}).get("S", ""), item.get("source", {}).get("S") != "logs") for item in items}

    def _read(self, message_ids: list[str], *, consistent: bool, **projection: Any) -> list[dict[str, Any]]:
        """The existing items of `message_ids`, 100 keys a BatchGetItem, the requests concurrent."""
        chunks = [message_ids[i : i + _BATCH_GET] for i in range(0, len(message_ids), _BATCH_GET)]
        return [item for items in self._map(partial(self._batch_get, consistent=consistent, **projection), chunks) for item in items]

    def _write(self, requests: list[dict[str, Any]]) -> None:
        """Put or delete requests, 25 a BatchWriteItem, the requests concurrent."""
        self._map(self._batch_write, [requests[i : i + _BATCH_WRITE] for i in range(0, len(requests), _BATCH_WRITE)])

    def _batch_get(self, message_ids: list[str], *, consistent: bool, **projection: Any) -> list[dict[str, Any]]:
        """The items of `message_ids` that exist, in wire form (`projection`: BatchGetItem's projection arguments)."""
        request = {self.table: {"Keys": [{"messageId": {"S": m}} for m in message_ids], "ConsistentRead": consistent, **projection}}
        items: list[dict[str, Any]] = []
        for attempt in range(_MAX_ATTEMPTS):
            answer = self._batches.batch_get_item(RequestItems=request)
            items.extend(answer.get("Responses", {}).get(self.table, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return items
            self._backoff(attempt)
        raise IndexWriteError("DynamoDB left keys unread after retries")

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending = {self.table: requests}
        for attempt in range(_MAX_ATTEMPTS):
            pending = self._batches.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            self._backoff(attempt)
        raise IndexWriteError(f"DynamoDB left {len(pending.get(self.table, []))} items unwritten after retries")

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(2.0, 0.05 * 2**attempt))
