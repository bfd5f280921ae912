"""What the search indexes are keyed by: a keyed hash of the destination number, and sharded days.

Phone numbers are never a readable index key: the destination index is keyed by HMAC-SHA256
(key in Secrets Manager) of the number normalised to its digits, so the same number written
`+41 79 302 67 31`, `0041793026731` or `41793026731` lands on one key and the table's keys
list no numbers. The time index is keyed by the UTC day of `sentAt` plus a shard taken from the
messageId, so a burst of writes spreads over `TIME_SHARDS` partition keys (see
docs/architecture.md, "Logs and the search indexes").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from collections.abc import Callable

DESTINATION_INDEX = "toHash-sentAt-index"
TIME_INDEX = "sentDay-sentAt-index"
# 2,000 writes/s over 4 keys is 500 per key, half of DynamoDB's 1,000 write units/s per partition.
# Never change it once items exist: queries would miss the shards written under another count.
TIME_SHARDS = 4
_HASH_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (as RFC 4868 does); readers re-check the number
_NOT_DIGITS = re.compile(r"[^0-9]")


def normalise_number(value: object) -> str | None:
    """The digits of a phone number with a leading international `00` removed (a `+` goes with the
    other non-digits): `+41 79 302 67 31` and `0041793026731` both give `41793026731`."""
    if not isinstance(value, str):
        return None
    digits = _NOT_DIGITS.sub("", value)
    if digits.startswith("00"):
        digits = digits[2:]
    return digits or None


def time_shard(message_id: str) -> int:
    """Which of the day's shards a message is filed under (stable: CRC-32 of its id)."""
    return zlib.crc32(message_id.encode("utf-8", "surrogatepass")) % TIME_SHARDS


def day_key(day: str, shard: int) -> str:
    """The time index's partition key: `2026-11-22#3`."""
    return f"{day}#{shard}"


class NumberHasher:
    """Keyed hash of normalised numbers; the key is read lazily (Secrets Manager, cached by the caller)."""

    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key

    def of(self, number: str) -> str:
        """The index key of an already normalised number (base64url, 22 characters)."""
        digest = hmac.new(self._key().encode(), number.encode(), hashlib.sha256).digest()[:_HASH_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
