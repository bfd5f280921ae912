"""One audit record per lookup: who asked for what, and the answer's status, phone numbers masked.

API Gateway's access log records the route's template only (`/reports/{messageId}`), because a
raw path or query could hold a phone number and an access log cannot mask it. This record, with
the same requestId, adds the path and query with every run of 7 to 15 digits (E.164 lengths, an
optional `+` before) cut to its last two digits. A numeric id of that length is masked too:
the audit trail keeps who and when, never a readable number.
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"(?<![0-9])\+?[0-9]{7,15}(?![0-9])")


def mask(text: str) -> str:
    return _NUMBER.sub(lambda found: "*" * (len(found.group()) - 2) + found.group()[-2:], text)


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
        "query": {mask(name): [mask(value) for value in values] for name, values in query.items()},
        "status": status,
        "apiKeyId": identity.get("apiKeyId"),
        "caller": identity.get("userArn"),
        "sourceIp": identity.get("sourceIp"),
    }
