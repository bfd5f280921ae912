"""Pages S3 refused: kept in DynamoDB (`FallbackTable`), in chunks, until an operator restores them to raw/.

When the raw put of a fetched page fails after retries, its bytes exist nowhere else: Infobip
has handed them out for good. They go to another service's durable, encrypted store (point-in-
time recovery, the stack's key), in chunks under DynamoDB's 400 KB item limit so no page is cut
short, never to the log as readable text. Only if that store refuses too is the page written to
the log, as gzip+base64 in parts under CloudWatch's 256 KB event limit: the last resort.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlr_vault.archive import Archive, RawKeyTaken, compress
from dlr_vault.observability import logger

CHUNK_BYTES = 256 * 1024  # + keys and attributes stays well under DynamoDB's 400 KB item limit
LOG_PART_CHARS = 200_000  # base64 characters per log record: under CloudWatch's 256 KB event limit


class FallbackCorrupt(Exception):
    """A kept page's chunks are missing or do not add up to its checksum: restore refuses it."""


class FallbackStore:
    """Items `(rawKey, chunk)` holding `data` (a slice of the raw object's gzip bytes); every chunk
    also names the count and the SHA-256 of the whole, so a restore can prove it has all of it."""

    def __init__(self, table: str, dynamodb: Any, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.table = table
        self._ddb = dynamodb
        self._chunk_bytes = chunk_bytes

    def keep(self, raw_key: str, body: bytes) -> None:
        """Keep a page S3 refused; if this store refuses too, log it in parts. Never raises."""
        data = compress(body)  # exactly what the raw object would have held
        chunks = [data[i : i + self._chunk_bytes] for i in range(0, len(data), self._chunk_bytes)]
        digest, kept_at = hashlib.sha256(data).hexdigest(), datetime.now(UTC).isoformat()
        written = 0
        try:
            for number, chunk in enumerate(chunks):
                self._ddb.put_item(
                    TableName=self.table,
                    Item={
                        "rawKey": {"S": raw_key},
                        "chunk": {"N": str(number)},
                        "data": {"B": chunk},
                        "chunks": {"N": str(len(chunks))},
                        "sha256": {"S": digest},
                        "keptAt": {"S": kept_at},
                    },
                )
                written += 1
        except Exception:
            logger.exception("the fallback table refused the page too: its body follows in the log", extra={"raw_key": raw_key})
            _log_in_parts(raw_key, data)
            self._drop_partial(raw_key, min(written + 1, len(chunks)))  # the refused chunk may have landed anyway
            return
        logger.critical(
            "raw page NOT archived: kept in the fallback table until restored to raw/",
            extra={"raw_key": raw_key, "chunks": len(chunks), "fallback_table": self.table},
        )

    def _drop_partial(self, raw_key: str, chunks: int) -> None:
        """Remove the chunks a failed keep may have written, so no half page waits for a restore (the log has it whole)."""
        try:
            for number in range(chunks):
                self._ddb.delete_item(TableName=self.table, Key={"rawKey": {"S": raw_key}, "chunk": {"N": str(number)}})
        except Exception:
            logger.exception("a half-kept page stays in the fallback table; restore will refuse it", extra={"raw_key": raw_key})

    def pending(self) -> Iterator[str]:
        """Raw keys of the pages kept here."""
        pages = self._ddb.get_paginator("scan").paginate(
            TableName=self.table,
            ProjectionExpression="rawKey",
            FilterExpression="chunk = :first",
            ExpressionAttributeValues={":first": {"N": "0"}},
            ConsistentRead=True,
        )
        for page in pages:
            for item in page["Items"]:
                yield item["rawKey"]["S"]

    def load(self, raw_key: str) -> bytes:
        """The raw object's gzip bytes, reassembled and checked against their SHA-256."""
        items = self._chunks(raw_key)
        data = b"".join(item["data"]["B"] for item in items)  # Query returns chunks in order
        if not items or len(items) != int(items[0]["chunks"]["N"]) or hashlib.sha256(data).hexdigest() != items[0]["sha256"]["S"]:
            raise FallbackCorrupt(f"{raw_key}: {len(items)} chunks here do not make the page that was kept")
        return data

    def forget(self, raw_key: str) -> None:
        for item in self._chunks(raw_key, projection="rawKey, chunk"):
            self._ddb.delete_item(TableName=self.table, Key=item)

    def _chunks(self, raw_key: str, projection: str | None = None) -> list[dict[str, Any]]:
        pages = self._ddb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="rawKey = :key",
            ExpressionAttributeValues={":key": {"S": raw_key}},
            ConsistentRead=True,
            **({"ProjectionExpression": projection} if projection else {}),
        )
        return [item for page in pages for item in page["Items"]]


def restore(store: FallbackStore, archive: Archive) -> tuple[list[str], dict[str, str]]:
    """Put every kept page back under its raw key (write-once: an identical object already there
    counts as restored), then drop it from the fallback table. Returns the keys restored, and the
    pages refused with why (they stay kept; one refused page does not hold back the others)."""
    restored, refused = [], {}
    for raw_key in list(store.pending()):
        try:
            archive.put_raw(raw_key, gzip.decompress(store.load(raw_key)))
        except (FallbackCorrupt, RawKeyTaken) as exc:
            refused[raw_key] = str(exc)
            continue
        store.forget(raw_key)
        restored.append(raw_key)
    return restored, refused


def _log_in_parts(raw_key: str, data: bytes) -> None:
    text = base64.b64encode(data).decode()
    parts = [text[i : i + LOG_PART_CHARS] for i in range(0, len(text), LOG_PART_CHARS)]
    for number, part in enumerate(parts):
        logger.critical(
            "raw page NOT archived: body part follows (gzip+base64; join the parts in order)",
            extra={"raw_key": raw_key, "part": number, "parts": len(parts), "body_gzip_b64": part},
        )
