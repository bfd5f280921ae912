"""Seconds from a report becoming available at Infobip to the index serving it, and what polling costs idle.

The simulator gets one new report every 1/rate seconds (a producer thread) while a child process
invokes the collector the way the schedule would: every ScheduleExpression period, each with
the function's Timeout as its budget (both read from template.yaml). A checker reads the
table the lookup reads (BatchGetItem of every report not yet seen, every CHECK_EVERY seconds),
so a report's freshness is the time it was first found there minus the time it was added,
give or take CHECK_EVERY. The Infobip requests are timed too, for the gap between runs.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.cost import PRICES, TemplateReader
from local.infobip_sim import InfobipSimulator, make_reports
from local.stack import Resolver, build_stack, function_timeout, load_template

CHECK_EVERY = 0.2
IDLE_PRICES = {  # what one idle run's AWS requests cost (state table items < 1 KB: 1 unit each)
    "dynamodb:GetItem": PRICES["dynamodb_rru_per_million:STANDARD"] / 1e6,
    "dynamodb:UpdateItem": PRICES["dynamodb_wru_per_million:STANDARD"] / 1e6,
    "dynamodb:PutItem": PRICES["dynamodb_wru_per_million:STANDARD"] / 1e6,  # the preflight's failed conditional put
    "s3:PutObject": PRICES["s3_put_per_thousand"] / 1000,
    "s3:ListObjectsV2": PRICES["s3_put_per_thousand"] / 1000,
    "secrets-manager:GetSecretValue": 0.05 / 10_000,  # Secrets Manager API calls; Powertools caches the key 5 minutes
}


def schedule_seconds(expression: str) -> float:
    """Seconds between runs of a `rate(N unit)` schedule expression."""
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not found:
        raise ValueError(f"cannot time schedule {expression!r}: only rate(...) expressions")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found[2].rstrip("s")]
    return int(found[1]) * unit


def template_schedule(parameters: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(period, timeout, memory MB) of the collector as the template sets them with `parameters` (else its defaults)."""
    template = load_template()
    reader = TemplateReader(template, parameters)
    schedule = template["Resources"]["CollectorFunction"]["Properties"]["Events"]["Schedule"]["Properties"]["ScheduleExpression"]
    timeout = function_timeout(Resolver(template, parameters or {}), "CollectorFunction")
    return schedule_seconds(reader.value(schedule)), timeout, reader.storage_config("now").memory_mb


class TimedRequests(list[str]):
    """The simulator's request log, with the time each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, path: str) -> None:
        self.times.append(time.time())
        super().append(path)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share + 0.999999) - 1))]


def measure(
    clients: Any, env_for: Any, child: Any, poll: int, runs: int, rate: float, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """One freshness measurement: `runs` scheduled periods of production, a run to drain, one idle run
    (`extra`: environment the template does not set, e.g. INFOBIP_READ_TIMEOUT)."""
    period, timeout, _ = template_schedule({"PollIntervalSeconds": str(poll)})
    overlap = timeout > period  # polling: runs overlap and hand over (the child runs them in threads)
    born: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop, lock = threading.Event(), threading.Lock()
    with InfobipSimulator() as sim:
        sim.requests = TimedRequests()
        prefix = f"fresh-{uuid.uuid4().hex[:6]}"
        params = {"InfobipBaseUrl": sim.base_url, "InfobipApiKeySecret": f"{prefix}/key", "PollIntervalSeconds": str(poll)}
        stack = build_stack(clients, params, sim.api_key, prefix)
        table = stack.names["ReportsTable"]
        start = time.time() + 5  # the child's imports finish well before its first tick
        window = (start, start + runs * period)

        def produce() -> None:
            n = 0
            while not stop.is_set() and time.time() < window[1]:
                (report,) = make_reports(1, bulks=1, seed=n, start=datetime.now(UTC))
                report.fields["messageId"] = f"fresh-{n:07d}"
                with lock:
                    born[report.fields["messageId"]] = time.time()
                sim.add([report])
                n += 1
                stop.wait(1 / rate)

        def check() -> None:
            ddb = clients("dynamodb")
            while not stop.is_set():
                with lock:
                    unseen = [m for m in born if m not in seen]
                for i in range(0, len(unseen), 100):
                    keys = [{"messageId": {"S": m}} for m in unseen[i : i + 100]]
                    answer = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ProjectionExpression": "messageId"}})
                    now = time.time()
                    for item in answer["Responses"].get(table, []):
                        seen.setdefault(item["messageId"]["S"], now)
                stop.wait(CHECK_EVERY)

        threads = [threading.Thread(target=produce, daemon=True), threading.Thread(target=check, daemon=True)]
        for thread in threads:
            thread.start()
        env = {
            **env_for(stack),
            "BENCH_START": str(start),
            "BENCH_PERIOD": str(period),
            "BENCH_TIMEOUT": str(timeout),
            "BENCH_RUNS": str(runs + 1),  # the last one collects what the last period produced
            "BENCH_IDLE_RUNS": "0" if overlap else "1",  # overlapping runs: every scheduled run but the last is one
            **(extra or {}),
        }
        result = child("runs", env)
        deadline = time.time() + 10
        while time.time() < deadline and any(m not in seen for m in born):
            time.sleep(CHECK_EVERY)
        stop.set()
        for thread in threads:
            thread.join()
        requests = list(sim.requests.times)
    counted = [m for m, t in born.items() if window[0] <= t < window[1]]
    latencies = [seen[m] - born[m] for m in counted if m in seen]
    scheduled = result["runs"]
    gaps = []
    for before, after in itertools.pairwise(scheduled):
        asked = [t for t in requests if before["start"] <= t <= before["start"] + before["wall"]]
        following = [t for t in requests if after["start"] <= t <= after["start"] + after["wall"]]
        if asked and following:
            gaps.append(following[0] - asked[-1])
    windows = [max(t for t in requests if r["start"] <= t <= r["start"] + r["wall"]) - r["start"] for r in scheduled if r["pages"]]
    return {
        "poll": poll,
        "period": period,
        "timeout": timeout,
        "reports": len(counted),
        "unseen": len(counted) - len(latencies),
        "p50": _percentile(latencies, 0.5) if latencies else float("nan"),
        "p99": _percentile(latencies, 0.99) if latencies else float("nan"),
        "max": max(latencies, default=float("nan")),
        "gap_max": max(gaps, default=float("nan")),
        "gap_mean": sum(gaps) / len(gaps) if gaps else float("nan"),
        "asking_window": sum(windows) / len(windows) if windows else float("nan"),
        "run_walls": [r["wall"] for r in scheduled],
        "handed_over": sum(r["handed_over"] for r in scheduled),
        "idle": _steady_run(scheduled, result["requests_all"]) if overlap else result["idle"][0],
        "peak_rss_mb": result["peak_rss_mb"],
    }


def _steady_run(scheduled: list[dict[str, Any]], requests_all: dict[str, int]) -> dict[str, Any]:
    """What one overlapping run costs in a steady state: the mean of the scheduled runs that handed
    over (the last has no successor and polls to its reserve), with the AWS requests all runs made
    shared out evenly (they were counted together). The producer's reports are few: near idle."""
    steady = [r for r in scheduled if r["handed_over"]] or scheduled
    return {
        "wall": sum(r["wall"] for r in steady) / len(steady),
        "requests": {op: n / len(scheduled) for op, n in requests_all.items()},
    }


def idle_cost_per_month(idle: dict[str, Any], period: float, memory_mb: int) -> tuple[float, float, float]:
    """(runs a month, Lambda USD a month, AWS requests USD a month) of runs that find nothing new."""
    runs = 365 / 12 * 86400 / period
    lambda_usd = runs * (
        idle["wall"] * memory_mb / 1024 * PRICES["lambda_arm64_per_gb_second"] + PRICES["lambda_per_million_requests"] / 1e6
    )
    requests_usd = runs * sum(n * IDLE_PRICES.get(op, 0.0) for op, n in idle["requests"].items())
    return runs, lambda_usd, requests_usd
