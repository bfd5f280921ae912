"""One measured ingest in a child process, so CPU and peak memory are the collector's alone.

`python -m bench.measure collector|baseline` reads its settings from the environment (as a
Lambda would), runs once against moto server and the simulator, and prints one JSON line:
wall seconds, this process's CPU seconds (the index writes from a thread pool), peak RSS, the run's figures and the AWS requests it
made by operation (counted at botocore's last step before the HTTP send).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import local  # noqa: F401 - puts the layer's package on sys.path, as Lambda's /opt/python


def _count_requests(clients: list[Any], counts: Counter) -> None:
    for client in clients:
        service = client.meta.service_model.service_id.hyphenize()

        def hook(request: Any, _service: str = service, **kwargs: Any) -> None:
            counts[f"{_service}:{kwargs['event_name'].rsplit('.', 1)[-1]}"] += 1

        client.meta.events.register(f"before-send.{service}", hook)


def collector() -> dict[str, Any]:
    from dlr_vault import aws
    from local.context import LocalLambdaContext
    from local.stack import load_handler

    counts: Counter = Counter()
    _count_requests([aws.client("dynamodb"), aws.client("s3"), aws.client("secretsmanager")], counts)
    handler = load_handler("collector").lambda_handler
    event = {"source": "bench", "mode": "collect"}
    cpu, wall = time.process_time(), time.perf_counter()
    stats = handler(event, LocalLambdaContext(seconds=900))
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "stats": stats, "requests": dict(counts)}


def baseline() -> dict[str, Any]:
    """What a user would otherwise write: GET a page, put_item each report, one thread, no archive."""
    import boto3
    import requests

    table = boto3.resource("dynamodb").Table(os.environ["REPORTS_TABLE"])
    counts: Counter = Counter()
    _count_requests([table.meta.client], counts)
    session = requests.Session()
    url = f"{os.environ['INFOBIP_BASE_URL']}/sms/1/reports"
    headers = {"Authorization": f"App {os.environ['BENCH_INFOBIP_KEY']}"}
    limit, fetched = int(os.environ["PAGE_SIZE"]), 0
    cpu, wall = time.process_time(), time.perf_counter()
    while True:
        reports = session.get(url, params={"limit": limit}, headers=headers, timeout=30).json(parse_float=Decimal)["results"]
        for report in reports:
            table.put_item(Item=report)
        fetched += len(reports)
        if len(reports) < limit:
            break
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "stats": {"fetched": fetched}, "requests": dict(counts)}


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM). Not ru_maxrss: Linux carries that across the
    fork+exec that started us, so it would report the parent's size if that was larger."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    result = {"collector": collector, "baseline": baseline}[sys.argv[1]]()
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write("\nBENCH-RESULT " + json.dumps(result) + "\n")
