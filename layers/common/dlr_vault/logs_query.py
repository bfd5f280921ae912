"""Validation of `GET /sms/1/logs` and `/sms/3/logs` query strings, with Infobip's parameters and limits.

v1: `from`, `to`, `bulkId`, `messageId`, `generalStatus`, `sentSince`, `sentUntil`, `limit`, `mcc`, `mnc`
(and `cursor`, as dlr-vault's reports routes take it). v3: `sender`, `destination`, `bulkId`,
`messageId` and `campaignReferenceId` (each several times or comma-separated), `generalStatus`,
`sentSince`, `sentUntil`, `limit` (1-1000), `mcc`, `mnc`, `entityId`, `applicationId`,
`useCursor`, `cursor`. Anything malformed is a `bad_request`; unknown parameters are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone

from dlr_vault.lookup import MAX_ID_LENGTH, bad_request
from dlr_vault.reports import format_utc
from dlr_vault.search import normalise_number

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_VALUE_LENGTH = 2048  # Infobip: bulkId and messageId lists take at most 2048 characters
MAX_IDS = {"messageId": 100, "bulkId": 20, "campaignReferenceId": 20}  # one BatchGetItem; one Query stream per bulk
GENERAL_STATUSES = frozenset({"ACCEPTED", "PENDING", "UNDELIVERABLE", "DELIVERED", "EXPIRED", "REJECTED"})
_NAMES = {  # the filter each version's parameter sets
    1: {"from": "sender", "to": "destination"},
    3: {"sender": "sender", "destination": "destination", "entityId": "entity_id", "applicationId": "application_id"},
}
_LIST_FIELDS = {"bulkId": "bulk_ids", "messageId": "message_ids", "campaignReferenceId": "campaign_reference_ids"}
_COMMON_SINGLE = ("generalStatus", "sentSince", "sentUntil", "limit", "mcc", "mnc", "cursor")
_LISTS = {1: ("bulkId", "messageId"), 3: ("bulkId", "messageId", "campaignReferenceId")}
_LIMIT = re.compile(r"[0-9]{1,7}")
_NUMBER = re.compile(r"[0-9+()\-. ]{1,64}")
_MCC, _MNC = re.compile(r"[0-9]{3}"), re.compile(r"[0-9]{2,3}")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+ -]\d{2}:?\d{2})")
_EARLIEST, _LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 29, tzinfo=UTC)


@dataclass(frozen=True)
class LogsQuery:
    """A validated logs request. Times are UTC `…Z` strings; `destination` is normalised digits."""

    destination: str | None = None
    sender: str | None = None
    bulk_ids: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    campaign_reference_ids: tuple[str, ...] = ()
    general_status: str | None = None
    sent_since: str | None = None
    sent_until: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    entity_id: str | None = None
    application_id: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def scope(self) -> str:
        """What a cursor is bound to: every filter, not `limit` or `cursor`, so a cursor cannot be
        replayed against other filters (a digest, so the cursor never carries a number)."""
        filters = {k: v for k, v in asdict(self).items() if k not in ("limit", "cursor")}
        digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:32]
        return f"logs:{digest}"


def _text(name: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_ID_LENGTH or not value.isprintable():
        raise bad_request(f"{name} must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def _ids(name: str, values: list[str]) -> tuple[str, ...]:
    """Several values, repeated and/or comma-separated; at most 2048 characters and `MAX_IDS` of them."""
    if len(",".join(values)) > MAX_VALUE_LENGTH:
        raise bad_request(f"{name} takes at most {MAX_VALUE_LENGTH} characters")
    ids = tuple(dict.fromkeys(_text(name, v) for value in values for v in value.split(",")))
    if len(ids) > MAX_IDS[name]:
        raise bad_request(f"{name} takes at most {MAX_IDS[name]} values")
    return ids


def parse_time(name: str, value: str) -> str:
    """Infobip's `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (also with `Z`, `+01:00`, 0-9 fraction digits, or a
    `+` that arrived as a space because it was not URL-encoded) as a UTC `…Z` string."""
    found = _TIME.fullmatch(value)
    if found is None:
        raise bad_request(f"{name} must look like 2019-11-09T16:00:00.000+0000")
    *fields, fraction, zone = found.groups()
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 23 or minutes > 59:
            raise bad_request(f"{name} has an impossible UTC offset")
        offset = sign * timedelta(hours=hours, minutes=minutes)
    try:
        year, month, day, hour, minute, second = map(int, fields)
        moment = datetime(year, month, day, hour, minute, second, int((fraction or "0")[:6].ljust(6, "0")), timezone(offset))
    except ValueError:
        raise bad_request(f"{name} is not a real date and time") from None
    return format_utc(min(max(moment, _EARLIEST), _LATEST))


def parse_logs_query(multi: dict[str, list[str]] | None, version: int) -> LogsQuery:
    """Validate a logs query string of API `version` (1 or 3); raises `ApiError` (400)."""
    multi = multi or {}
    names, lists = _NAMES[version], _LISTS[version]
    for name, values in multi.items():
        if any(len(v) > MAX_VALUE_LENGTH for v in values):
            raise bad_request(f"{name} is longer than {MAX_VALUE_LENGTH} characters")
        if name in (*_COMMON_SINGLE, *names, *(("useCursor",) if version == 3 else ())) and len(values) > 1:
            raise bad_request(f"{name} may be given only once")
        if version == 1 and name in lists and len(values) > 1:
            raise bad_request(f"{name} may be given only once")
    single = {name: values[0] for name, values in multi.items() if values}
    fields: dict[str, object] = {}
    for parameter, field in names.items():
        if parameter in single:
            fields[field] = _text(parameter, single[parameter])
    if "destination" in fields:
        raw = str(fields["destination"])
        number = normalise_number(raw)
        if not _NUMBER.fullmatch(raw) or number is None:
            raise bad_request(f"{'to' if version == 1 else 'destination'} must be a phone number: digits, with an optional + or 00")
        fields["destination"] = number
    for name in lists:
        if multi.get(name):
            fields[_LIST_FIELDS[name]] = _ids(name, multi[name])
    status = single.get("generalStatus")
    if status is not None:
        if status.upper() not in GENERAL_STATUSES:
            raise bad_request(f"generalStatus must be one of {', '.join(sorted(GENERAL_STATUSES))}")
        fields["general_status"] = status.upper()
    since = parse_time("sentSince", single["sentSince"]) if "sentSince" in single else None
    until = parse_time("sentUntil", single["sentUntil"]) if "sentUntil" in single else None
    if since and until and until < since:
        raise bad_request("sentUntil is before sentSince")
    raw_limit = single.get("limit", str(DEFAULT_LIMIT))
    if not _LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}")
    mcc, mnc = single.get("mcc"), single.get("mnc")
    if mnc is not None and mcc is None:
        raise bad_request("mnc needs mcc")
    if mcc is not None and not _MCC.fullmatch(mcc):
        raise bad_request("mcc must be 3 digits")
    if mnc is not None and not _MNC.fullmatch(mnc):
        raise bad_request("mnc must be 2 or 3 digits")
    if version == 3 and single.get("useCursor", "true").lower() not in ("true", "false"):
        raise bad_request("useCursor must be true or false")
    return LogsQuery(
        **fields,  # type: ignore[arg-type]
        sent_since=since,
        sent_until=until,
        mcc=mcc,
        mnc=mnc,
        limit=int(raw_limit),
        cursor=single.get("cursor"),
    )
