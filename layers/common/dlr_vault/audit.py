"""One audit record per lookup: who asked for what, and the answer's status, phone numbers masked.

API Gateway's access log records the route's template only (`/reports/{messageId}`), because a
raw path or query could hold a phone number and an access log cannot mask it. This record, with
the same requestId, adds the path and query, masked:
- the parameters that name a number (`to`, `destination`) keep only their last two digits, in any
  spelling the logs routes accept (`+41 79 302 67 31`, `0041-79-302-67-31`, ...);
- the time parameters (`sentSince`, `sentUntil`) keep their dates, and lose any plain run of 7 or
  more digits;
- everywhere else (the path too), every run of 7 to 15 digits, however they are separated (spaces,
  dots, dashes, slashes, brackets: `+41/79/302 67 31`), keeps only its last two digits. A message
  id holding that many digits is masked too: the audit trail keeps who and when, never a readable
  number.
"""

from __future__ import annotations

import re
from typing import Any

NUMBER_PARAMETERS = frozenset({"to", "destination"})
TIME_PARAMETERS = frozenset({"sentSince", "sentUntil"})
_NUMBER = re.compile(r"(?<![0-9])\+?[0-9](?:[ ./()-]*[0-9]){6,14}(?![0-9])")
_PLAIN_NUMBER = re.compile(r"(?<![0-9])[0-9]{7,}(?![0-9])")
_DIGIT = re.compile(r"[0-9]")


def _all_but_last_two(text: str) -> str:
    """Every digit of `text` as `*` but the last two; the rest (`+`, spaces, dashes) as written."""
    hidden = {m.start() for m in _DIGIT.finditer(text)}
    hidden -= set(sorted(hidden)[-2:])
    return "".join("*" if at in hidden else char for at, char in enumerate(text))


def mask(text: str, number: re.Pattern[str] = _NUMBER) -> str:
    """`text` with every phone-number-like run of digits masked but its last two digits."""
    return number.sub(lambda found: _all_but_last_two(found.group()), text)


def mask_parameter(name: str, value: str) -> str:
    if name in NUMBER_PARAMETERS:
        return _all_but_last_two(value)
    return mask(value, _PLAIN_NUMBER if name in TIME_PARAMETERS else _NUMBER)


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
