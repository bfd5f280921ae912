"""The report model: parsing Infobip pages, strict timestamps, and the v1 <-> v3 shapes.

Reports are kept exactly as Infobip sent them; only derived fields (normalised times, the
status group) are computed here. Unknown fields and unknown statuses pass through untouched.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any, TypeGuard

Report = dict[str, Any]

_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone half of a UTF-16 pair: JSON can escape it, UTF-8 cannot carry it
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-]\d{2})(\d{2})")


class PageParseError(ValueError):
    """A body that is not an Infobip report page (HTML error page, truncated JSON, ...)."""


@cache
def _offset(hours: str, minutes: str) -> timezone | None:
    if int(minutes) > 59:
        return None
    sign = -1 if hours.startswith("-") else 1
    return timezone(sign * timedelta(hours=abs(int(hours)), minutes=int(minutes)))


def parse_timestamp(value: Any) -> str | None:
    """`2019-11-09T16:00:00.000+0000` -> `2019-11-09T16:00:00.000Z` (UTC); None if not that format.

    Hand-rolled rather than strptime: it runs twice per report and strptime was the slowest part."""
    found = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return None
    year, month, day, hour, minute, second, millis, off_h, off_m = found.groups()
    if off_h == "+00" and off_m == "00":  # Infobip's usual form is UTC already: validate, do not convert
        try:
            datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except ValueError:
            return None
        return f"{year}-{month}-{day}T{hour}:{minute}:{second}.{millis}Z"
    zone = _offset(off_h, off_m)
    if zone is None:
        return None
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), int(millis) * 1000, zone)
    except (ValueError, TypeError):
        return None
    return format_utc(moment)


def parse_infobip_time(value: Any) -> datetime | None:
    """An Infobip timestamp as an aware datetime (None if it is not one)."""
    normalised = parse_timestamp(value)
    return datetime.fromisoformat(normalised) if normalised else None


def infobip_time(moment: datetime) -> str:
    """A datetime in Infobip's request format, in UTC: `2019-11-09T16:00:00.000+0000`."""
    return format_utc(moment)[:-1] + "+0000"


def format_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a `Z`: sorts lexicographically in time order."""
    u = moment.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond // 1000:03d}Z"


FINAL_GROUPS = frozenset({"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"})


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PageParseError(f"not JSON: {exc.__class__.__name__}") from None
    if not isinstance(document, dict):
        raise PageParseError("top level is not an object")
    results = document.get("results", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise PageParseError("results is not a list of objects")
    return document


def parse_page(body: bytes) -> list[Report]:
    """The `results` of a report page; raises PageParseError for anything else."""
    results: list[Report] = _document(body).get("results", [])
    return results


def parse_logs_page(body: bytes) -> tuple[list[Report], str | None]:
    """A `/sms/3/logs` page: its entries as reports (see `log_to_report`) and the next cursor."""
    document = _document(body)
    cursor = document.get("cursor")
    next_cursor = cursor.get("nextCursor") if isinstance(cursor, dict) else None
    return [log_to_report(entry) for entry in document.get("results", [])], next_cursor or None


def log_to_report(entry: Report) -> Report:
    """A log entry in the v3 report shape: `destination` is the report's `to`; the message
    `content` is dropped (reports never carry it); `recoveredFromLogs` marks where it came from."""
    report = {("to" if key == "destination" else key): value for key, value in entry.items() if key != "content"}
    report["recoveredFromLogs"] = True
    return report


def to_json(report: Report) -> str:
    """The compact JSON text a report is stored as, in the index and in JSON Lines alike.

    Always encodable as UTF-8: a lone surrogate (`\\ud800` with no pair, valid JSON that UTF-8
    cannot carry) is written back as that escape, so the text still means the same value."""
    text = json.dumps(report, ensure_ascii=False, separators=(",", ":"))
    return text if _SURROGATE.search(text) is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


def storable(value: object) -> TypeGuard[str]:
    """A non-empty string DynamoDB can hold as a partition key: no lone surrogates, at most 2048 bytes."""
    if not isinstance(value, str) or not value or _SURROGATE.search(value) is not None:
        return False
    return len(value) <= 512 or len(value.encode()) <= 2048


def status_group(report: Report) -> str:
    """Upper-cased status group name (Infobip's casing varies), `UNKNOWN` when absent."""
    status = report.get("status")
    name = status.get("groupName") if isinstance(status, dict) else None
    return name.upper() if storable(name) else "UNKNOWN"


_V3_ONLY = {"sender": "from", "messageCount": "smsCount"}
_NOT_IN_V1 = {"campaignReferenceId"}


def to_v1(report: Report) -> Report:
    """The report in `/sms/1/reports` shape: `from`, `smsCount`, top-level `entityId`/`applicationId`
    (v3's `campaignReferenceId` has no v1 field and is left out; the stored original keeps it)."""
    out = {}
    for key, value in report.items():
        if key in _NOT_IN_V1:
            continue
        if key == "platform" and isinstance(value, dict):
            out.update({k: v for k, v in value.items() if k in ("entityId", "applicationId")})
        else:
            out[_V3_ONLY.get(key, key)] = value
    return out


def _upper_group(block: Any) -> Any:
    """v3 spells group names in capitals (`OK`, where v1 examples say `Ok`); its clients enforce the enum."""
    if isinstance(block, dict) and isinstance(block.get("groupName"), str):
        return {**block, "groupName": block["groupName"].upper()}
    return block


def to_v3(report: Report) -> Report:
    """The report in `/sms/3/reports` shape: `sender`, `messageCount`, `platform{entityId,applicationId}`,
    group names in capitals."""
    renames = {v1: v3 for v3, v1 in _V3_ONLY.items()}
    out: Report = {}
    platform = dict(report["platform"]) if isinstance(report.get("platform"), dict) else {}
    for key, value in report.items():
        if key in ("entityId", "applicationId"):
            platform[key] = value
        elif key in ("status", "error"):
            out[key] = _upper_group(value)
        elif key != "platform":
            out[renames.get(key, key)] = value
    if platform:
        out["platform"] = platform
    return out


def in_shape(report: Report, version: int) -> Report:
    """The report as API `version` (1 or 3) would have returned it."""
    return to_v3(report) if version == 3 else to_v1(report)


def as_log(report: Report, version: int) -> Report:
    """A stored report as a `/sms/{1,3}/logs` entry of API `version`: its shape without `callbackData`
    (logs never carry it), and in v3 the number is `destination` (the inverse of `log_to_report`)."""
    shaped = in_shape(report, version)
    shaped.pop("callbackData", None)
    return {("destination" if key == "to" else key): value for key, value in shaped.items()} if version == 3 else shaped


def price_total(report: Report) -> tuple[str, Decimal] | None:
    """(currency, what the message cost): `pricePerMessage` times the part count (`smsCount` or
    `messageCount`, 1 if absent), as in queries/; None without a numeric price and a currency.
    `report` must be parsed with `parse_float=Decimal`, so sums stay exact."""
    price = report.get("price")
    if not isinstance(price, dict) or not isinstance(price.get("currency"), str):
        return None
    per_message = price.get("pricePerMessage")
    if not isinstance(per_message, Decimal | int):
        return None
    parts = report.get("smsCount", report.get("messageCount", 1))
    return price["currency"], Decimal(per_message) * (parts if isinstance(parts, int) else 1)
