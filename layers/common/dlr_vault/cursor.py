"""Opaque, tamper-checked paging cursors.

A cursor carries where a query page stopped (the index's `Position`) and the scope it belongs
to (the bulkId, or whatever names the query), signed with HMAC-SHA256 under a key from
Secrets Manager. Anything altered, made for another scope or not made by us is refused, so a
caller cannot steer the query.

Cursors are `<key id>.<payload>.<tag>`: the key id (a fingerprint of the signing key) lets a
cursor signed before a rotation verify under the secret's AWSPREVIOUS key, and a container
whose cached keys predate the rotation re-read them once when it meets an unknown id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence

from dlr_vault.index import Position

MAX_CURSOR_LENGTH = 1024
REREAD_AT_MOST_EVERY = 60.0  # seconds: forged key ids must not turn every request into secret reads
_TAG_BYTES = 16


class InvalidCursor(ValueError):
    """The cursor was altered, belongs to another bulk, or is not ours."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_id(key: str) -> str:
    """8 characters naming a key (48 bits of its SHA-256: says nothing useful about the key)."""
    return _b64(hashlib.sha256(key.encode()).digest()[:6])


def _tag(key: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), payload, hashlib.sha256).digest()[:_TAG_BYTES]


class CursorCodec:
    def __init__(self, keys: Callable[[bool], Sequence[str]]) -> None:
        """`keys(fresh)`: the signing key, then the previous one if any (Secrets Manager's AWSCURRENT
        and AWSPREVIOUS); `fresh` bypasses any cache. Fetched lazily: most lookups never page."""
        self._keys = keys
        self._reread_at = float("-inf")

    def encode(self, scope: str, position: Position) -> str:
        key = self._keys(False)[0]
        payload = json.dumps({"q": scope, "k": position.as_dict()}, separators=(",", ":")).encode()
        return f"{_key_id(key)}.{_b64(payload)}.{_b64(_tag(key, payload))}"

    def _key(self, key_id: str) -> str | None:
        found = next((k for k in self._keys(False) if hmac.compare_digest(_key_id(k), key_id)), None)
        if found is None and time.monotonic() - self._reread_at > REREAD_AT_MOST_EVERY:
            self._reread_at = time.monotonic()  # an unknown id: the keys may have rotated since they were cached
            found = next((k for k in self._keys(True) if hmac.compare_digest(_key_id(k), key_id)), None)
        return found

    def decode(self, token: str, scope: str, max_length: int = MAX_CURSOR_LENGTH) -> Position:
        """The position the cursor stands for; raises InvalidCursor."""
        if not token or len(token) > max_length or token.count(".") != 2:
            raise InvalidCursor("cursor is not valid")
        key_id, body, tag = token.split(".")
        try:
            payload, given = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            raise InvalidCursor("cursor is not valid") from None
        key = self._key(key_id)
        if key is None or not hmac.compare_digest(given, _tag(key, payload)):
            raise InvalidCursor("cursor is not valid")
        fields = json.loads(payload)
        if fields["q"] != scope:
            raise InvalidCursor("cursor belongs to another query")
        return Position.of(fields["k"])
