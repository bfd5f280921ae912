"""One audit record per lookup: who asked for what, and the answer's status, phone numbers masked.

API Gateway's access log records the route's template only (`/reports/{messageId}`), because a
raw path or query could hold a phone number and an access log cannot mask it. This record, with
the same requestId, adds the path and query, masked:
- the parameters that name a number (`to`, `destination`) keep only their last two digits, in any
  spelling the logs routes accept (`+41 79 302 67 31`, `0041-79-302-67-31`, ...);
- everywhere else, every run of 7 to 15 digits (E.164 lengths, an optional `+` before, single
  spaces between groups) is cut to its last two digits. A numeric id of that length is masked too:
  the audit trail keeps who and when, never a readable number.
"""

from __future__ import annotations

import re
from typing import Any

NUMBER_PARAMETERS = frozenset({"to", "destination"})
_NUMBER = re.compile(r"(?<![0-9])\+?[0-9](?: ?[0-9]){6,14}(?![0-9])")
_DIGIT = re.compile(r"[0-9]")


def _all_but_last_two(text: str) -> str:
    """Every digit of `text` as `*` but the last two; the rest (`+`, spaces, dashes) as written."""
    hidden = {m.start() for m in _DIGIT.finditer(text)}
    hidden -= set(sorted(hidden)[-2:])
    return "".join("*" if at in hidden else char for at, char in enumerate(text))


def mask(text: str) -> str:
    """`text` with every phone-number-like run of digits masked but its last two digits."""
    return _NUMBER.sub(lambda found: _all_but_last_two(found.group()), text)


def mask_parameter(name: str, value: str) -> str:
    return _all_but_last_two(value) if name in NUMBER_PARAMETERS else mask(value)


def audit_record(event: dict[str, Any], status: int) -> dict[str, Any]:
    """The fields of an API Gateway REST proxy event worth auditing, masked."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    query = event.get("multiValueQueryStringParameters") or {}
    return {
        "requestId": context.get("requestId"),
        "method": event.get("httpMethod"),
        "resource": event.get("resource"),
        "path": mask(event.get("path") or ""),
        "query": {mask(name): [mask_parameter(name, value) for value in values] for name, values in query.items()},
        "status": status,
        "apiKeyId": identity.get("apiKeyId"),
        "caller": identity.get("userArn"),
        "sourceIp": identity.get("sourceIp"),
    }
