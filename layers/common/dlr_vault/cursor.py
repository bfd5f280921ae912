"""Opaque, tamper-checked paging cursors.

A cursor carries where a query page stopped (the index's `Position`) and the scope it belongs
to (the bulkId, or whatever names the query), signed with HMAC-SHA256 under a key from
Secrets Manager. Anything altered, made for another scope or not made by us is refused, so a
caller cannot steer the query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable

from dlr_vault.index import Position

MAX_CURSOR_LENGTH = 1024
_TAG_BYTES = 16


class InvalidCursor(ValueError):
    """The cursor was altered, belongs to another bulk, or is not ours."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, key: Callable[[], str]) -> None:
        self._key = key  # fetched lazily: most lookups never page

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key().encode(), payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: Position) -> str:
        payload = json.dumps({"q": scope, "k": position.as_dict()}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def decode(self, token: str, scope: str, max_length: int = MAX_CURSOR_LENGTH) -> Position:
        """The position the cursor stands for; raises InvalidCursor."""
        if not token or len(token) > max_length or token.count(".") != 1:
            raise InvalidCursor("cursor is not valid")
        body, tag = token.split(".")
        try:
            payload, given = _unb64(body), _unb64(tag)
        except (binascii.Error, ValueError):
            raise InvalidCursor("cursor is not valid") from None
        if not hmac.compare_digest(given, self._tag(payload)):
            raise InvalidCursor("cursor is not valid")
        fields = json.loads(payload)
        if fields["q"] != scope:
            raise InvalidCursor("cursor belongs to another query")
        return Position.of(fields["k"])
