"""A DynamoDB stream fed to a function the way Lambda's event source mapping would, on moto.

moto keeps a table's stream records (GetShardIterator, GetRecords) but runs no event source
mapping. `StreamFeeder` reads the records and invokes the handler with Lambda's event shape,
following the function's `DynamoDB` event in template.yaml: BatchSize, the tumbling window's
`shardId`/`state`, ReportBatchItemFailures (redeliver from the reported record),
BisectBatchOnFunctionError (split a failing batch), MaximumRetryAttempts, and at the end the
batch's description in the on-failure queue. The demo, the tests and the bench use it.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.context import LocalLambdaContext
from local.stack import LocalStack, function_timeout

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class FeedStats:
    records: int = 0
    invocations: int = 0
    redeliveries: int = 0
    failed_batches: int = 0  # described in the on-failure queue, as Lambda does after the last retry


_ADD_LOCK = threading.Lock()


def serialize_stream_records() -> None:
    """Make moto number stream records under a lock. moto takes a record's sequence number from
    the shard's length and then appends, so concurrent writes (the collector indexes from 8
    threads) can share a number, which DynamoDB Streams never does. Idempotent; in-process moto
    (tests, and the demo's moto server thread) only."""
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard.add, "serialized", False):
        return
    unlocked = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        with _ADD_LOCK:
            unlocked(self, old, new)

    add.serialized = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]


def _stream_event(stack: LocalStack, function: str) -> dict[str, Any]:
    events = stack.resolver.template["Resources"][function]["Properties"]["Events"]
    return next(e["Properties"] for e in events.values() if e["Type"] == "DynamoDB")


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _as_lambda_json(value: Any) -> Any:
    """boto3's decoded binary (bytes) as Lambda's event gives it: base64 text (e.g. a compressed `report`)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _as_lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_lambda_json(v) for v in value]
    return value


class StreamFeeder:
    """Feeds `table`'s stream to `handler` with the event source settings of `function`."""

    def __init__(self, stack: LocalStack, handler: Handler, function: str = "NotifierFunction", table: str = "ReportsTable") -> None:
        settings = _stream_event(stack, function)
        self.handler = handler
        self.batch_size = int(settings.get("BatchSize", 100))
        self.max_retries = int(settings.get("MaximumRetryAttempts", -1))
        self.bisect = bool(settings.get("BisectBatchOnFunctionError", False))
        self.partial = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        self.seconds = function_timeout(stack.resolver, function)
        on_failure = settings.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", {})
        queue = stack.names[on_failure["Fn::GetAtt"][0]] if on_failure else None
        self._sqs = stack.clients("sqs")
        self.on_failure_url = self._sqs.get_queue_url(QueueName=queue)["QueueUrl"] if queue else None
        self._streams = stack.clients("dynamodbstreams")
        self.stream_arn = stack.clients("dynamodb").describe_table(TableName=stack.names[table])["Table"]["LatestStreamArn"]
        self.shard = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self.shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]

    def read(self) -> list[dict[str, Any]]:
        """Every record added since the last read, in Lambda's record shape."""
        records: list[dict[str, Any]] = []
        while True:
            answer = self._streams.get_records(ShardIterator=self._iterator, Limit=1000)
            self._iterator = answer["NextShardIterator"]
            if not answer["Records"]:
                return records
            for record in answer["Records"]:
                record["dynamodb"]["ApproximateCreationDateTime"] = _epoch(record["dynamodb"]["ApproximateCreationDateTime"])
                records.append({**_as_lambda_json(record), "eventSourceARN": self.stream_arn})

    def drain(self, after_batch: Callable[[], object] | None = None) -> FeedStats:
        """Read the stream and hand every new record to the function, batch by batch
        (`after_batch` runs after each, e.g. to forward what the batch published)."""
        stats = FeedStats()
        records = self.read()
        stats.records = len(records)
        for start in range(0, len(records), self.batch_size):
            self.deliver(records[start : start + self.batch_size], stats)
            if after_batch is not None:
                after_batch()
        return stats

    def deliver(self, batch: list[dict[str, Any]], stats: FeedStats) -> None:
        """One batch, with Lambda's retries: from the reported record, or in halves after an error."""
        retries, queue = 0, [batch]
        while queue:
            current = queue.pop(0)
            resume = self._invoke(current, stats)
            if resume is None:
                continue
            if 0 <= self.max_retries <= retries:
                self._give_up(batch[batch.index(current[0]) :], retries, stats)
                return
            retries += 1
            stats.redeliveries += 1
            if resume == 0 and self.bisect and len(current) > 1:
                half = len(current) // 2
                queue[:0] = [current[:half], current[half:]]
            else:
                queue.insert(0, current[resume:])

    def _invoke(self, batch: list[dict[str, Any]], stats: FeedStats) -> int | None:
        """Invoke once; None if the batch is done, else the position to redeliver from (0: all)."""
        stats.invocations += 1
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        event = {
            "Records": batch,
            "shardId": self.shard,
            "eventSourceARN": self.stream_arn,
            "window": {"start": now, "end": now},
            "state": {},
            "isFinalInvokeForWindow": False,
            "isWindowTerminatedEarly": False,
        }
        try:
            answer = self.handler(event, LocalLambdaContext(seconds=self.seconds, function_name="NotifierFunction"))
        except Exception:  # a function error, as Lambda sees an unhandled exception
            return 0
        failures = (answer or {}).get("batchItemFailures") or [] if self.partial else []
        if not failures:
            return None
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed = failures[0].get("itemIdentifier")
        return sequences.index(failed) if failed in sequences else 0

    def _give_up(self, batch: list[dict[str, Any]], retries: int, stats: FeedStats) -> None:
        """What Lambda sends to the on-failure destination: where the batch is, not its records."""
        stats.failed_batches += 1
        if self.on_failure_url is None:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": self.shard,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": datetime.fromtimestamp(first["ApproximateCreationDateTime"], UTC).isoformat(),
                "approximateArrivalOfLastRecord": datetime.fromtimestamp(last["ApproximateCreationDateTime"], UTC).isoformat(),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(message))
