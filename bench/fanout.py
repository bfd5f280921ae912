"""Fan-out figures for `make bench`: notifier throughput, its added cost, and the bulk summary
before (every report read and summed) and after (one counters item).

Runs in the bench's own process against moto server, with resources from template.yaml
(EventsEnabled, BulkCountersEnabled). Reports are indexed with the collector's own index code
from one thread: moto server numbers stream records unsafely under concurrent writes (see
local/streams.py), and the figures here are about the stream's consumer, not the writer.
"""

from __future__ import annotations

import math
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from local.infobip_sim import make_reports

# Written-down list prices, us-east-1, as published by AWS in 2025 (not fetched at run time).
FAN_OUT_PRICES = {
    "eventbridge_custom_events_per_million": 1.00,  # PutEvents, per 64 KB chunk
    "eventbridge_api_destination_per_million": 0.20,  # API destination invocations
    "lambda_arm64_per_gb_second": 0.0000133334,
    "lambda_per_million_requests": 0.20,
    "dynamodb_write_per_million_wru": 0.625,
}
NOTIFIER_MEMORY_GB = 0.25  # NotifierFunction MemorySize in template.yaml
BATCH = 100  # the stream event's BatchSize in template.yaml


def _count_requests(clients: list[Any], counts: Counter) -> None:
    for client in clients:
        service = client.meta.service_model.service_id.hyphenize()

        def hook(request: Any, _service: str = service, **kwargs: Any) -> None:
            counts[f"{_service}:{kwargs['event_name'].rsplit('.', 1)[-1]}"] += 1

        client.meta.events.register(f"before-send.{service}", hook, unique_id=f"fanout-bench-{service}")


def _stack(clients: Callable[[str], Any], env: dict[str, str], **parameters: str) -> Any:
    """Fresh resources from the template, the notifier's and lookup's environment in this process."""
    from local.stack import build_stack, reset_runtime

    prefix = f"fanout-{uuid.uuid4().hex[:6]}"
    stack = build_stack(clients, {"InfobipBaseUrl": "https://x", "InfobipApiKeySecret": f"{prefix}/key", **parameters}, "unused", prefix)
    os.environ.update({**env, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})  # the table is the output
    for function in ("LookupFunction", "NotifierFunction"):
        os.environ.update(stack.environment(function))
    reset_runtime()
    return stack


def _index(stack: Any, reports: int, bulks: int, seed: int) -> list[dict[str, Any]]:
    """`reports` reports indexed by the collector's own index code (one thread); returns them."""
    from dlr_vault import aws
    from dlr_vault.index import ReportIndex, make_entry

    index = ReportIndex(stack.names["ReportsTable"], aws.client("dynamodb"), aws.dynamodb_batches(), workers=1)
    rendered = [r.render(1) for r in make_reports(reports, bulks=bulks, seed=seed)]
    for start in range(0, len(rendered), 1000):
        entries = [make_entry(r, raw_key="raw/bench", source="reports", expires_at=None) for r in rendered[start : start + 1000]]
        index.put([e for e in entries if e is not None])
    return rendered


def notifier_throughput(clients: Callable[[str], Any], env: dict[str, str], reports: int) -> dict[str, Any]:
    """Records per second through the real notifier handler (events + counters), stream read apart."""
    from dlr_vault import aws
    from local.stack import load_handler
    from local.streams import FeedStats, StreamFeeder

    stack = _stack(clients, env, EventsEnabled="true", BulkCountersEnabled="true")
    _index(stack, reports, bulks=max(1, reports // 1000), seed=51)
    feeder = StreamFeeder(stack, load_handler("notifier").lambda_handler)
    records = feeder.read()
    counts: Counter = Counter()
    _count_requests([aws.client("events"), aws.client("dynamodb")], counts)
    stats = FeedStats()
    wall = time.perf_counter()
    for start in range(0, len(records), feeder.batch_size):
        feeder.deliver(records[start : start + feeder.batch_size], stats)
    wall = time.perf_counter() - wall
    assert stats.redeliveries == 0 and stats.failed_batches == 0 and len(records) == reports
    return {"records": len(records), "wall": wall, "requests": dict(counts), "invocations": stats.invocations}


def added_cost(run: dict[str, Any]) -> tuple[float, str]:
    """USD per million reports (one stored change each) the fan-out adds, and its breakdown."""
    p, million = FAN_OUT_PRICES, 1_000_000
    scale = million / run["records"]
    events = p["eventbridge_custom_events_per_million"]  # one event per change, each well under 64 KB
    webhook = p["eventbridge_api_destination_per_million"]  # WebhookReports=all; final-only calls fewer
    invocations = run["invocations"] * scale
    requests = invocations * p["lambda_per_million_requests"] / million
    duration = run["wall"] * scale * NOTIFIER_MEMORY_GB * p["lambda_arm64_per_gb_second"]
    counters = run["requests"].get("dynamodb:UpdateItem", 0) * scale * p["dynamodb_write_per_million_wru"] / million
    total = events + webhook + requests + duration + counters
    text = (
        f"{total:.2f}: EventBridge events {events:.2f}, webhook calls {webhook:.2f} (every change; final-only fewer), "
        f"Lambda {requests + duration:.3f} ({invocations:,.0f} invocations; duration as measured on moto, an upper bound), "
        f"counters {counters:.4f} ({run['requests'].get('dynamodb:UpdateItem', 0) * scale:,.0f} UpdateItem of 1 WRU); "
        "stream reads by Lambda are free"
    )
    return total, text


def bulk_summary_latency(clients: Callable[[str], Any], env: dict[str, str], reports: int, repeat: int) -> dict[str, Any]:
    """GET /bulks/{bulkId}/summary for one bulk of `reports`: summed from the index vs one item."""
    from dlr_vault import aws
    from local.api import ProxyEvents
    from local.context import LocalLambdaContext
    from local.stack import load_handler, reset_runtime
    from local.streams import StreamFeeder

    stack = _stack(clients, env, BulkCountersEnabled="true")
    (first, *_) = _index(stack, reports, bulks=1, seed=52)
    feeder = StreamFeeder(stack, load_handler("notifier").lambda_handler)
    fed = feeder.drain()
    assert fed.records == reports and fed.failed_batches == 0
    event = ProxyEvents().event("GET", f"/bulks/{first['bulkId']}/summary", {})
    out: dict[str, Any] = {"reports": reports}
    for name, table in (("index", ""), ("counters", stack.names["BulkCountersTable"])):
        os.environ["BULK_COUNTERS_TABLE"] = table
        reset_runtime()
        handler = load_handler("lookup").lambda_handler
        counts: Counter = Counter()
        _count_requests([aws.client("dynamodb")], counts)
        samples, answer = [], {}
        for _ in range(repeat if name == "counters" else 1):  # the index path takes minutes on moto at 100,000
            started = time.perf_counter()
            answer = handler(event, LocalLambdaContext(seconds=900))  # the 10 s Timeout would stop the index path in Lambda
            samples.append((time.perf_counter() - started) * 1000)
        out[name] = {"ms": statistics.median(samples), "requests": dict(counts), "runs": len(samples), "body": answer["body"]}
    assert out["index"]["body"] == out["counters"]["body"], "both paths give the same summary"
    return out


def rows(
    clients: Callable[[str], Any], env: dict[str, str], notifier_reports: int, bulk_reports: int, repeat: int
) -> list[tuple[str, str]]:
    """(measure, figure) rows for the bench table."""
    run = notifier_throughput(clients, env, notifier_reports)
    puts = run["requests"].get("eventbridge:PutEvents", 0)
    out = [
        (
            f"notifier throughput ({run['records']:,} stream records, events + counters, moto server)",
            f"{run['records'] / run['wall']:,.0f} records/s ({run['wall']:.1f} s; {run['invocations']} invocations, "
            f"{puts:,} PutEvents = {math.ceil(run['records'] / 10):,} minimum, "
            f"{run['requests'].get('dynamodb:UpdateItem', 0):,} counter UpdateItems)",
        ),
        ("added cost per million reports, fan-out (USD, us-east-1 list prices)", added_cost(run)[1]),
    ]
    summary = bulk_summary_latency(clients, env, bulk_reports, repeat)
    before, after = summary["index"], summary["counters"]
    queries = before["requests"].get("dynamodb:Query", 0) // before["runs"]
    out.append(
        (
            f"bulk summary, one bulk of {summary['reports']:,} reports (lookup handler, moto server)",
            f"before (summed from the index): {before['ms']:,.0f} ms, {queries} Query pages of up to 1 MB read one after another "
            "(moto scans the whole index per page; AWS answers a page in tens of ms, still past the 10 s timeout near a million); "
            f"after (counters): {after['ms']:.1f} ms, {after['requests'].get('dynamodb:GetItem', 0) // after['runs']} GetItem; "
            f"{before['ms'] / after['ms']:,.0f}x",
        )
    )
    return out
