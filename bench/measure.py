"""One measured ingest in a child process, so CPU and peak memory are the collector's alone.

`python -m bench.measure collector|baseline` reads its settings from the environment (as a
Lambda would), runs once against moto server and the simulator, and prints one JSON line:
wall seconds, this process's CPU seconds (the index writes from a thread pool), peak RSS, the run's figures and the AWS requests it
made by operation (counted at botocore's last step before the HTTP send).

With BENCH_DETAIL set, the batch requests' bodies are read too (BatchGetItem keys and their
consistency, BatchWriteItem puts: what the cost model prices); with BENCH_CAPTURE=<file>, every
DynamoDB and S3 request is kept as sent and pickled there after the run (the ceiling replays it).

`python -m bench.measure runs` invokes the handler the way the schedule would: BENCH_RUNS runs
(or until BENCH_UNTIL reports were fetched), each starting BENCH_PERIOD seconds after the last
began (0: back to back; the first at BENCH_START, epoch seconds) with a BENCH_TIMEOUT-second
context, then BENCH_IDLE_RUNS more at once.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import resource
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import local  # noqa: F401 - puts the layer's package on sys.path, as Lambda's /opt/python


def _body(request: Any) -> bytes:
    body = request.body
    if hasattr(body, "read"):
        start = body.tell()
        data = body.read()
        body.seek(start)
        return data
    return body.encode() if isinstance(body, str) else bytes(body or b"")


def _count_requests(clients: list[Any], counts: Counter, detail: Counter | None = None, capture: list[Any] | None = None) -> None:
    lock = threading.Lock()
    for client in clients:
        service = client.meta.service_model.service_id.hyphenize()

        def hook(request: Any, _service: str = service, **kwargs: Any) -> None:
            operation = kwargs["event_name"].rsplit(".", 1)[-1]
            with lock:
                counts[f"{_service}:{operation}"] += 1
            if detail is not None and operation in ("BatchGetItem", "BatchWriteItem"):
                for table in json.loads(_body(request))["RequestItems"].values():
                    with lock:
                        if operation == "BatchGetItem":
                            detail["get_keys"] += len(table["Keys"])
                            detail["consistent_gets"] += len(table["Keys"]) if table.get("ConsistentRead") else 0
                        else:
                            detail["puts"] += sum(1 for r in table if "PutRequest" in r)
            if capture is not None and _service in ("dynamodb", "s3"):
                with lock:
                    capture.append((request.method, request.url, dict(request.headers.items()), _body(request)))

        client.meta.events.register(f"before-send.{service}", hook)


def _aws_clients() -> list[Any]:
    from dlr_vault import aws

    return [aws.client("dynamodb"), aws.client("s3"), aws.client("secretsmanager")]


def collector() -> dict[str, Any]:
    from local.context import LocalLambdaContext
    from local.stack import load_handler

    counts: Counter = Counter()
    detail: Counter | None = Counter() if os.environ.get("BENCH_DETAIL") else None
    capture: list[Any] | None = [] if os.environ.get("BENCH_CAPTURE") else None
    _count_requests(_aws_clients(), counts, detail, capture)
    handler = load_handler("collector").lambda_handler
    event = {"source": "bench", "mode": "collect"}
    cpu, wall = time.process_time(), time.perf_counter()
    stats = handler(event, LocalLambdaContext(seconds=900))
    result = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "stats": stats, "requests": dict(counts)}
    if detail is not None:
        result["detail"] = dict(detail)
    if capture is not None:
        Path(os.environ["BENCH_CAPTURE"]).write_bytes(pickle.dumps(capture))
    return result


def runs() -> dict[str, Any]:
    """Scheduled invocations in one warm process, as Lambda would reuse one container (two at once,
    in threads, when the timeout outlasts the period: polling runs overlap, as two containers would)."""
    from local.context import LocalLambdaContext
    from local.stack import load_handler

    period, timeout = float(os.environ["BENCH_PERIOD"]), float(os.environ["BENCH_TIMEOUT"])
    most, until = int(os.environ.get("BENCH_RUNS", "1000000")), int(os.environ.get("BENCH_UNTIL", "0"))
    overlap = 0 < period < timeout  # polling: the next run starts while the last still polls (two containers)
    handler = load_handler("collector").lambda_handler
    counts: Counter = Counter()
    _count_requests(_aws_clients(), counts)
    out: list[dict[str, Any]] = []

    def invoke() -> dict[str, Any]:
        if not overlap:
            counts.clear()  # this run's requests only (overlapping runs share the count: see "requests_all")
        started, cpu, wall = time.time(), time.process_time(), time.perf_counter()
        stats = handler({"source": "bench", "mode": "collect"}, LocalLambdaContext(seconds=timeout))
        figures = {"start": started, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
        return {**figures, **{k: stats[k] for k in ("fetched", "pages", "outcome", "followed", "handed_over")}, "requests": dict(counts)}

    first = float(os.environ.get("BENCH_START") or time.time())  # the schedule's first tick (epoch seconds)
    workers: list[threading.Thread] = []
    for tick in itertools.count():
        if tick >= most or (until and sum(r["fetched"] for r in out) >= until):
            break
        time.sleep(max(0.0, first + tick * period - time.time()))
        if overlap:
            workers.append(threading.Thread(target=lambda: out.append(invoke())))
            workers[-1].start()
        else:
            out.append(invoke())
    for worker in workers:
        worker.join()
    out.sort(key=lambda r: r["start"])
    requests_all = dict(counts) if overlap else None
    idle = [invoke() for _ in range(int(os.environ.get("BENCH_IDLE_RUNS", "0")))]
    return {"runs": out, "idle": idle, "requests_all": requests_all}


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
    result = {"collector": collector, "baseline": baseline, "runs": runs}[sys.argv[1]]()
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write("\nBENCH-RESULT " + json.dumps(result) + "\n")
