"""An Infobip simulator: a real HTTP server on 127.0.0.1 that hands each delivery report out once.

Serves `GET /sms/1/reports` and `GET /sms/3/reports` like Infobip does (auth check, `limit`
bounds, `bulkId`/`messageId`/`entityId`/`applicationId`/`campaignReferenceId` filters,
one-time reads) and takes injected faults, one per request, in the order queued. It also
serves `GET /sms/3/logs` (never consumed; `sentSince`/`sentUntil`/`bulkId`/`messageId`
filters, cursor paging, a rate limit answered with 429 and `Retry-After`). It renders
both API shapes with its own code, so tests never compare the project against itself.
"""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.httpd import LoopbackServer

MAX_LIMIT = {1: 10000, 3: 1000}
FILTERS = ("bulkId", "messageId", "entityId", "applicationId", "campaignReferenceId")

# (groupId, groupName, id, name, description)
STATUSES = [
    (1, "PENDING", 7, "PENDING_ENROUTE", "Message sent to next instance"),
    (2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED", "Message sent not delivered"),
    (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset"),
    (4, "EXPIRED", 15, "EXPIRED_EXPIRED", "Message expired"),
    (5, "REJECTED", 12, "REJECTED_NOT_ENOUGH_CREDITS", "Not enough credits"),
    (6, "SCHEDULED_FOR_LATER", 99, "SOMETHING_INFOBIP_ADDED_LATER", "A status group this code has never seen"),
]
ERRORS = [
    (0, "Ok", 0, "NO_ERROR", "No Error", False),
    (0, "OK", 0, "NO_ERROR", "No Error", False),
    (1, "HANDSET_ERRORS", 27, "EC_ABSENT_SUBSCRIBER", "Absent Subscriber", False),
    (2, "USER_ERRORS", 9, "EC_ILLEGAL_SUBSCRIBER", "Illegal Subscriber", True),
    (3, "OPERATOR_ERRORS", 4001, "EC_UNKNOWN_NETWORK", "Unknown network", True),
]
CALLBACKS = ["order-4711", "Ünïcödé ✓ 订单 🚀", 'a"quoted" \\ back\\slash', "", "x" * 200]
PLUS_TWO = timezone(timedelta(hours=2))
MCCMNC = ["22801", "21901", "26201", "310260", "50501"]


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def infobip_time(moment: datetime) -> str:
    """Infobip's `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (offset without colon)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


@dataclass
class SimReport:
    """One report in neutral form; `render(version)` gives Infobip's JSON for that API version."""

    fields: dict[str, Any]

    def render(self, version: int) -> dict[str, Any]:
        f = dict(self.fields)
        sender, count = f.pop("sender", None), f.pop("count", None)
        entity, application = f.pop("entityId", None), f.pop("applicationId", None)
        campaign = f.pop("campaignReferenceId", None)
        out = {k: v for k, v in f.items() if v is not None}
        if version == 3:  # v3 spells group names in capitals
            for block in ("status", "error"):
                if isinstance(out.get(block), dict):
                    out[block] = {**out[block], "groupName": out[block]["groupName"].upper()}
            out.update({k: v for k, v in (("sender", sender), ("messageCount", count), ("campaignReferenceId", campaign)) if v is not None})
            platform = {k: v for k, v in (("entityId", entity), ("applicationId", application)) if v is not None}
            if platform:
                out["platform"] = platform
        else:
            out.update(
                {
                    k: v
                    for k, v in (("from", sender), ("smsCount", count), ("entityId", entity), ("applicationId", application))
                    if v is not None
                }
            )
        return out


def make_reports(
    n: int, *, bulks: int = 20, seed: int = 7, start: datetime | None = None, updates: int = 0, spacing: float = 3.0
) -> list[SimReport]:
    """`n` realistic reports over `bulks` bulks, sent `spacing` seconds apart, plus `updates` later
    status changes for earlier messages.

    Every status group appears (one unknown to Infobip's docs), errors vary in casing, some
    optional fields are absent, callbackData is unicode, offsets are not always +0000.
    """
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    reports = []
    for i in range(n):
        sent = start + timedelta(seconds=i * spacing, milliseconds=rng.randrange(1000))
        tz = PLUS_TWO if i % 7 == 0 else UTC
        status = STATUSES[i % len(STATUSES)]
        error = ERRORS[0] if status[1] in ("DELIVERED", "PENDING") else ERRORS[1 + i % (len(ERRORS) - 1)]
        fields: dict[str, Any] = {
            "bulkId": f"BULK-{i % bulks:03d}-{seed}",
            "messageId": f"msg-{seed}-{i:07d}",
            "to": f"4179{rng.randrange(10**7):07d}",
            "sender": "InfoSMS" if i % 3 else "41793026700",
            "sentAt": infobip_time(sent.astimezone(tz)),
            "doneAt": infobip_time((sent + timedelta(seconds=5 + rng.randrange(600))).astimezone(tz)),
            "count": 1 + i % 3,
            "mccMnc": MCCMNC[i % len(MCCMNC)] if i % 11 else None,
            "callbackData": CALLBACKS[i % len(CALLBACKS)] if i % 4 else None,
            "price": {"pricePerMessage": round(0.005 + (i % 9) * 0.0075, 4), "currency": "EUR" if i % 10 else "USD"},
            "status": dict(zip(("groupId", "groupName", "id", "name", "description"), status, strict=True)),
            "error": dict(zip(("groupId", "groupName", "id", "name", "description", "permanent"), error, strict=True)),
            "entityId": "my-entity" if i % 2 else None,
            "applicationId": "my-app" if i % 2 else None,
            "campaignReferenceId": f"campaign-{i % 4}" if i % 6 == 0 else None,
        }
        if i % 13 == 0:
            fields["status"]["action"] = "Check the destination"
        reports.append(SimReport(fields))
    for j in range(updates):  # a later report for an already-reported message (v3 semantics)
        base = dict(reports[(j * 7) % n].fields)
        done = datetime.strptime(base["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z") + timedelta(minutes=30)
        base["doneAt"] = infobip_time(done)
        base["status"] = dict(zip(("groupId", "groupName", "id", "name", "description"), STATUSES[2], strict=True))
        base["error"] = dict(zip(("groupId", "groupName", "id", "name", "description", "permanent"), ERRORS[1], strict=True))
        reports.append(SimReport(base))
    return reports


@dataclass
class Fault:
    """What the next request gets instead of a normal answer.

    kind: `status` (answer `status` with `body`/`headers`, consume nothing), `delay` (sleep
    `seconds`, then answer normally), `garbage` (200 with an HTML body, consume nothing),
    `truncated` (consume a page, send half of it), `drop` (consume a page, close the socket).
    """

    kind: str
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class InfobipSimulator(LoopbackServer):
    name = "infobip-sim"

    def __init__(self, api_key: str = "sim-api-key", host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        self.pending: list[SimReport] = []
        self.handed_out: list[dict[str, Any]] = []  # reports consumed, as rendered (v1 or v3)
        self.handed_out_versions: list[int] = []
        self.requests: list[str] = []
        self.faults: deque[Fault] = deque()
        self.extra_headers: dict[str, str] = {}
        self.sent: list[SimReport] = []  # every report ever added: what /sms/3/logs knows of
        self.logs_rate = (120, 60.0)  # /sms/3/logs: at most this many requests per this many seconds
        self.logs_requests: list[dict[str, str]] = []
        self._logs_times: deque[float] = deque()
        self._lock = threading.Lock()
        super().__init__(self._handler(), host, port)

    # -------------------------------------------------------------- control
    @property
    def base_url(self) -> str:
        return self.url

    def add(self, reports: list[SimReport]) -> None:
        with self._lock:
            self.pending.extend(reports)
            self.sent.extend(reports)

    def logs(self, query: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
        """`/sms/3/logs`: the newest state of every sent message matching `query`, sentAt order,
        paged by an offset cursor. Nothing is consumed."""
        since, until = (_parse(query[k]) if query.get(k) else None for k in ("sentSince", "sentUntil"))
        newest: dict[str, dict[str, Any]] = {}
        with self._lock:
            for report in self.sent:
                f = report.fields
                if f["messageId"] not in newest or _parse(f["doneAt"]) > _parse(newest[f["messageId"]]["doneAt"]):
                    newest[f["messageId"]] = f
        chosen = [
            f
            for f in newest.values()
            if (since is None or _parse(f["sentAt"]) >= since)
            and (until is None or _parse(f["sentAt"]) <= until)
            and all(str(f.get(k)) == query[k] for k in ("bulkId", "messageId") if k in query)
        ]
        chosen.sort(key=lambda f: (_parse(f["sentAt"]), f["messageId"]))
        offset = int(query.get("cursor") or 0) if query.get("useCursor") == "true" else 0
        limit = int(query.get("limit") or 50)
        page = chosen[offset : offset + limit]
        entries = []
        for fields in page:
            entry = SimReport(fields).render(3)
            entry["destination"] = entry.pop("to")
            entry["content"] = {"text": f"Your code is {fields['messageId'][-4:]}"}
            entry.pop("callbackData", None)  # logs do not carry callbackData
            entries.append(entry)
        more = query.get("useCursor") == "true" and offset + limit < len(chosen)
        return entries, (str(offset + limit) if more else None)

    def _logs_allowed(self) -> float:
        """0 if a logs request may proceed now, else the seconds until it may (the rate limit)."""
        limit, window = self.logs_rate
        now = time.monotonic()
        with self._lock:
            while self._logs_times and now - self._logs_times[0] > window:
                self._logs_times.popleft()
            if len(self._logs_times) >= limit:
                return window - (now - self._logs_times[0])
            self._logs_times.append(now)
            return 0.0

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    # -------------------------------------------------------------- serving
    def _take(self, version: int, limit: int, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Remove and return up to `limit` matching reports: they are never handed out again."""
        with self._lock:  # renders only what it hands out: a 500,000-report backlog stays cheap to serve
            if filters:
                chosen, kept = [], []
                for report in self.pending:
                    if len(chosen) < limit and all(str(report.fields.get(k)) == v for k, v in filters.items()):
                        chosen.append(report)
                    else:
                        kept.append(report)
            else:
                chosen, kept = self.pending[:limit], self.pending[limit:]
            taken = [report.render(version) for report in chosen]
            self.pending = kept
            self.handed_out.extend(taken)
            self.handed_out_versions.extend([version] * len(taken))
            return taken

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in {**sim.extra_headers, **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, version: int, status: int, code: str, text: str) -> None:
                if version == 3:
                    body = {"errorCode": f"E{status}", "description": text, "action": "", "violations": [], "resources": []}
                else:
                    body = {"requestError": {"serviceException": {"messageId": code, "text": text}}}
                self._send(status, json.dumps(body).encode())

            def _logs(self, query: dict[str, str]) -> None:
                wait = sim._logs_allowed()
                if wait:
                    body = {"errorCode": "E429", "description": "Too many requests", "action": "", "violations": [], "resources": []}
                    self._send(429, json.dumps(body).encode(), {"Retry-After": str(max(1, math.ceil(wait)))})
                    return
                sim.logs_requests.append(query)
                try:
                    limit = int(query.get("limit") or 50)
                except ValueError:
                    limit = 0
                if not 1 <= limit <= 1000:
                    self._error(3, 400, "BAD_REQUEST", "limit must be between 1 and 1000")
                    return
                entries, next_cursor = sim.logs(query)
                body = {"results": entries, "cursor": {"limit": limit, **({"nextCursor": next_cursor} if next_cursor else {})}}
                self._send(200, json.dumps(body, ensure_ascii=False).encode())

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                sim.requests.append(self.path)
                if url.path == "/sms/3/logs":
                    if self.headers.get("Authorization") != f"App {sim.api_key}":
                        self._error(3, 401, "UNAUTHORIZED", "Invalid login details")
                        return
                    self._logs({k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()})
                    return
                version = {"/sms/1/reports": 1, "/sms/3/reports": 3}.get(url.path)
                if version is None:
                    self._error(1, 404, "NOT_FOUND", "Not found")
                    return
                if self.headers.get("Authorization") != f"App {sim.api_key}":
                    self._error(version, 401, "UNAUTHORIZED", "Invalid login details")
                    return
                query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                try:
                    limit = int(query.get("limit") or 50)
                except ValueError:
                    self._error(version, 400, "BAD_REQUEST", "limit must be an integer")
                    return
                if not 1 <= limit <= MAX_LIMIT[version]:
                    self._error(version, 400, "BAD_REQUEST", f"limit must be between 1 and {MAX_LIMIT[version]}")
                    return
                with sim._lock:
                    fault = sim.faults.popleft() if sim.faults else None
                if fault and fault.kind == "status":
                    self._send(fault.status, fault.body or b'{"errorCode":"E500"}', fault.headers)
                    return
                if fault and fault.kind == "garbage":
                    self._send(200, b"<html><body>502 Bad Gateway</body></html>")
                    return
                if fault and fault.kind == "delay":
                    time.sleep(fault.seconds)
                filters = {k: query[k] for k in FILTERS if k in query}
                body = json.dumps({"results": sim._take(version, limit, filters)}, ensure_ascii=False).encode()
                if fault and fault.kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault and fault.kind == "truncated":
                    body = body[: len(body) // 2]
                self._send(200, body)

        return Handler
