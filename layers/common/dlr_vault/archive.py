"""The S3 archive: raw pages (the log everything else is derived from) and JSON Lines copies.

Raw keys sort by fetch time (`raw/dt=YYYY-MM-DD/YYYYMMDDTHHMMSSffffffZ-<id>.json.gz`), so
`ListObjectsV2(StartAfter=checkpoint)` yields exactly the pages not yet processed. raw/ is
write-once: a raw put never replaces an object (`If-None-Match: *`, which the bucket policy
demands of the collector), and finding its own earlier bytes under the key counts as stored.
"""

from __future__ import annotations

import gzip
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from botocore.exceptions import ClientError

RAW_PREFIX = "raw/"
REPORTS_PREFIX = "reports/"
PREFLIGHT_KEY = "health/preflight"


@dataclass(frozen=True)
class Version:
    """One version of an object (the bucket is versioned); `deleted`: a delete marker."""

    key: str
    version_id: str
    latest: bool
    deleted: bool = False


class RawKeyTaken(Exception):
    """raw/ already holds other bytes under this key: they are never overwritten."""


_FULL_KEY = re.compile(r"raw/dt=(\d{4})-(\d{2})-(\d{2})/(\1\2\3T\d{12}Z-[0-9a-f]{12}\.\w+)\.json\.gz")
_SHORT_KEY = re.compile(r"(\d{4})(\d{2})(\d{2})T\d{12}Z-[0-9a-f]{12}\.\w+")


def short_raw_key(raw_key: str) -> str:
    """A raw key as a table item keeps it: its name without what the name already says (the
    `raw/dt=<day>/` partition, `.json.gz`): 26 bytes less on every report. Other keys stay whole."""
    found = _FULL_KEY.fullmatch(raw_key)
    return found.group(4) if found else raw_key


def full_raw_key(stored: str) -> str:
    """The raw key `short_raw_key` was given."""
    found = _SHORT_KEY.fullmatch(stored)
    return f"{RAW_PREFIX}dt={found.group(1)}-{found.group(2)}-{found.group(3)}/{stored}.json.gz" if found else stored


def compress(body: bytes) -> bytes:
    """A raw page's stored form: gzip with mtime 0, so the same bytes always give the same object."""
    return gzip.compress(body, compresslevel=6, mtime=0)


class Archive:
    def __init__(self, bucket: str, s3: S3Client) -> None:
        self.bucket = bucket
        self._s3 = s3

    @staticmethod
    def raw_key(fetched_at: datetime, kind: str) -> str:
        """A fresh, time-sortable key for a page of `kind` (`v1`/`v3` reports, `logs`) fetched at `fetched_at`."""
        moment = fetched_at.astimezone(UTC)
        return f"{RAW_PREFIX}dt={moment:%Y-%m-%d}/{moment:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:12]}.{kind}.json.gz"

    @staticmethod
    def kind_of(raw_key: str) -> str:
        """What a raw page is (`v1`, `v3` or `logs`), as named in its key."""
        return raw_key.removesuffix(".json.gz").rsplit(".", 1)[-1]

    @staticmethod
    def jsonl_key(raw_key: str) -> str:
        """The JSON Lines twin of a raw page: same partition and name, so rewriting it is idempotent."""
        return REPORTS_PREFIX + raw_key.removeprefix(RAW_PREFIX).removesuffix(".json.gz") + ".jsonl.gz"

    def put_raw(self, key: str, body: bytes) -> None:
        """Store a page's bytes exactly as received (gzip, deterministic), never replacing an object.

        A put retried after a lost answer finds its own first attempt under the key (412): the
        same bytes there mean the page is stored; other bytes raise RawKeyTaken."""
        data = compress(body)
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
            if self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() != data:
                raise RawKeyTaken(f"{key} already holds other bytes; raw/ is write-once") from exc

    def get_raw(self, key: str) -> bytes:
        obj = self._s3.get_object(Bucket=self.bucket, Key=key)
        return gzip.decompress(obj["Body"].read())

    def raw_keys_after(self, start_after: str | None) -> Iterator[str]:
        """Raw page keys after `start_after`, oldest first."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=RAW_PREFIX, StartAfter=start_after or "")
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def put_jsonl(self, raw_key: str, lines: list[str]) -> str:
        """One report per line (each `reports.to_json` of a report, every field as sent), for Athena/DuckDB."""
        key = self.jsonl_key(raw_key)
        text = "\n".join(lines) + "\n"
        self._put(key, compress(text.encode("utf-8")), "application/x-ndjson")
        return key

    def probe_writable(self) -> None:
        """Preflight: prove the bucket takes writes before anything is consumed at Infobip."""
        self._put(PREFLIGHT_KEY, datetime.now(UTC).isoformat().encode(), "text/plain")

    # Erasure (dlr_vault.erasure) only: an operator's role may replace and delete; the collector's may not.

    def versions(self, prefix: str) -> Iterator[Version]:
        """Every version and delete marker under `prefix`."""
        for page in self._s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
            for found in page.get("Versions", []):
                yield Version(found["Key"], found["VersionId"], found["IsLatest"])
            for marker in page.get("DeleteMarkers", []):
                yield Version(marker["Key"], marker["VersionId"], marker["IsLatest"], deleted=True)

    def read_version(self, key: str, version_id: str) -> bytes:
        return gzip.decompress(self._s3.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"].read())

    def rewrite(self, key: str, data: bytes) -> str:
        """Replace an object with new stored (gzip) bytes, in place: a new current version, whose id is returned."""
        return self._put(key, data, "application/x-ndjson" if key.startswith(REPORTS_PREFIX) else "application/json")

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version for good, past a governance-mode Object Lock (the role must be allowed to)."""
        self._s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id, BypassGovernanceRetention=True)

    def put_record(self, key: str, data: bytes) -> None:
        self._put(key, data, "application/json")

    def get_record(self, key: str) -> bytes | None:
        """The record under `key`, None if there is none (listed first: a role without s3:ListBucket
        on the whole bucket gets 403, not 404, for a missing key)."""
        if not self._s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1).get("KeyCount"):
            return None
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete_record(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def _put(self, key: str, data: bytes, content_type: str) -> str:
        return self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type).get("VersionId", "")
