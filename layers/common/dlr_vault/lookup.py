"""Read-only lookups in Infobip's own shapes: validation, bulk paging, and the API's error bodies.

Every request names a messageId (GetItem) or a bulkId (Query on the bulk index): nothing a
caller sends can make the lookup scan the table or write anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dlr_vault.counters import BulkCounters
from dlr_vault.cursor import CursorCodec, InvalidCursor
from dlr_vault.index import Position, ReportIndex, StoredReport
from dlr_vault.reports import in_shape, parse_timestamp, price_total

MAX_ID_LENGTH = 200
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_ANSWER_BYTES = 5 * 1024 * 1024  # Lambda answers at most 6 MB: a page hands out its cursor before 5
_LIMIT = re.compile(r"[0-9]{1,7}")
_SINGLE = ("messageId", "bulkId", "limit", "cursor")


class ApiError(Exception):
    """A request the API refuses, with the status and Infobip's error body."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.text)


def error_body(code: str, text: str) -> dict[str, Any]:
    return {"requestError": {"serviceException": {"messageId": code, "text": text}}}


def bad_request(text: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", text)


@dataclass(frozen=True)
class ReportQuery:
    message_id: str | None
    bulk_id: str | None
    limit: int
    cursor: str | None


def _checked_id(name: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_ID_LENGTH or not value.isprintable():
        raise bad_request(f"{name} must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def parse_query(multi: dict[str, list[str]] | None) -> ReportQuery:
    """Validate `?messageId|bulkId[&limit][&cursor]`; unknown parameters are ignored."""
    multi = multi or {}
    for name in _SINGLE:
        if len(multi.get(name, [])) > 1:
            raise bad_request(f"{name} may be given only once")
    single = {name: multi[name][0] for name in _SINGLE if multi.get(name)}
    message_id, bulk_id = single.get("messageId"), single.get("bulkId")
    if message_id is None and bulk_id is None:
        raise bad_request("messageId or bulkId is required")
    raw_limit = single.get("limit", str(DEFAULT_LIMIT))
    if not _LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}")
    cursor = single.get("cursor")
    if cursor is not None and (message_id is not None or bulk_id is None):
        raise bad_request("cursor is only valid with bulkId")
    return ReportQuery(
        message_id=_checked_id("messageId", message_id) if message_id is not None else None,
        bulk_id=_checked_id("bulkId", bulk_id) if bulk_id is not None else None,
        limit=int(raw_limit),
        cursor=cursor,
    )


def _shaped(stored: StoredReport, version: int) -> dict[str, Any]:
    """A stored report in API `version`'s shape."""
    return in_shape(json.loads(stored.report), version)


def bulk_scope(bulk_id: str) -> str:
    """What a bulk page's cursor is bound to (cursors of other queries name another scope)."""
    return f"bulk:{bulk_id}"


def answer_bytes(report: dict[str, Any]) -> int:
    """What one report adds to the Lambda response: serialised as the API body is (ASCII JSON, so
    each non-ASCII character is a 6-byte escape), then escaped once more inside the proxy answer."""
    return len(json.dumps(json.dumps(report, separators=(",", ":")))) + 1


class Lookup:
    def __init__(self, index: ReportIndex, cursors: CursorCodec, counters: BulkCounters | None = None) -> None:
        self.index = index
        self.cursors = cursors
        self.counters = counters  # BulkCountersEnabled: summaries read one item

    def one(self, message_id: str, version: int = 1) -> dict[str, Any]:
        item = self.index.get(_checked_id("messageId", message_id))
        if item is None:
            raise ApiError(404, "NOT_FOUND", "no report for this messageId")
        return _shaped(item, version)

    def reports(self, query: ReportQuery, version: int) -> dict[str, Any]:
        """`{"results": [...]}` for a messageId or one page of a bulk, with `nextCursor` if more remain."""
        if query.message_id is not None:
            item = self.index.get(query.message_id)
            if item is None or (query.bulk_id is not None and item.bulk_id != query.bulk_id):
                return {"results": []}
            return {"results": [_shaped(item, version)]}
        assert query.bulk_id is not None
        try:
            start = self.cursors.decode(query.cursor, bulk_scope(query.bulk_id)) if query.cursor is not None else None
        except InvalidCursor as exc:
            raise bad_request(str(exc)) from None
        items = self._bulk_items(query.bulk_id, query.limit + 1, start)
        results: list[dict[str, Any]] = []
        size = 0
        for item in items[: query.limit]:
            shaped = _shaped(item, version)
            size += answer_bytes(shaped)
            if results and size > MAX_ANSWER_BYTES:
                break  # long (non-ASCII) reports: the rest come with the cursor
            results.append(shaped)
        answer: dict[str, Any] = {"results": results}
        if len(items) > len(results):
            answer["nextCursor"] = self.cursors.encode(bulk_scope(query.bulk_id), items[len(results) - 1].bulk_position())
        return answer

    def bulk_summary(self, bulk_id: str) -> dict[str, Any]:
        """Counts by status group, total price per currency, delivery rate and latest doneAt of one
        bulk: one item when the bulk counters are on (and hold this bulk whole), else from the index."""
        _checked_id("bulkId", bulk_id)
        counted = self.counters.get(bulk_id) if self.counters is not None else None
        if counted is not None and counted.consistent:
            groups, prices, last_done = counted.groups, counted.prices, counted.last_done_at
        else:
            groups, prices, last_done = self._summed(bulk_id)
        total = sum(groups.values())
        if not total:
            raise ApiError(404, "NOT_FOUND", "no reports for this bulkId")
        answer = {
            "bulkId": bulk_id,
            "messages": total,
            "byStatusGroup": dict(sorted(groups.items())),
            "totalPrice": {currency: float(amount) for currency, amount in sorted(prices.items())},
            "deliveryRate": round(groups.get("DELIVERED", 0) / total, 4),
        }
        return {**answer, "lastDoneAt": last_done} if last_done else answer

    def _summed(self, bulk_id: str) -> tuple[dict[str, int], dict[str, Decimal], str]:
        """Every report of the bulk read from the index and summed (`price_total` per report)."""
        groups: dict[str, int] = {}
        prices: dict[str, Decimal] = {}
        last_done = ""
        for item in self.index.bulk_outcomes(bulk_id):
            groups[item.status_group] = groups.get(item.status_group, 0) + 1
            report = json.loads(item.report, parse_float=Decimal)
            cost = price_total(report)
            if cost is not None:
                prices[cost[0]] = prices.get(cost[0], Decimal(0)) + cost[1]
            last_done = max(last_done, parse_timestamp(report.get("doneAt")) or "")
        return groups, prices, last_done

    def _bulk_items(self, bulk_id: str, wanted: int, start: Position | None) -> list[StoredReport]:
        """Up to `wanted` reports in sentAt order; Query pages stop at 1 MB, so keep reading."""
        items: list[StoredReport] = []
        while len(items) < wanted:
            page, start = self.index.query_bulk(bulk_id, wanted - len(items), start)
            items.extend(page)
            if start is None:
                break
        return items
