"""`make bench`: throughput, AWS requests, cost, CPU, memory, lookup latency, cold start, sizes.

Runs against moto server (its own process) and the Infobip simulator on 127.0.0.1, prints one
markdown table with each target met or not, and writes it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import local  # noqa: F401 - the layer's package on sys.path
from bench import backlog, ceiling, cost, fanout, freshness, life
from local.infobip_sim import InfobipSimulator, make_reports
from local.stack import ROOT, build_stack

SEARCHED_NUMBER = "41793026731"  # every 5,000th report goes to this number: the destination search's target
DETAIL = {"BENCH_DETAIL": "1"}  # the collector child counts its requests and item writes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Moto:
    """moto server in its own process, so its CPU and memory are not the collector's."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        """Terminate moto; a loaded machine can keep it past 10 s, then it is killed (the figures are already taken)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # holding 500,000 items, moto may take longer to exit than to answer
            self.process.kill()
            self.process.wait(timeout=30)


def _env(moto: Moto) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_MAX_ATTEMPTS": "5",
        "POWERTOOLS_SERVICE_NAME": "dlr-vault",
        "POWERTOOLS_METRICS_NAMESPACE": "DlrVault",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def _clients(moto: Moto) -> Any:
    import boto3

    @cache
    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
        )

    return client


def new_prefix() -> str:
    """A fresh resource prefix; every stack's names have the same length (the ceiling swaps them in bodies)."""
    return f"bench-{uuid.uuid4().hex[:6]}"


def child(kind: str, env: dict[str, str]) -> dict[str, Any]:
    """`python -m bench.measure kind` in a fresh process with `env`; its BENCH-RESULT line."""
    done = subprocess.run([sys.executable, "-m", "bench.measure", kind], cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"{kind} run failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
    return result


def collector_env(moto: Moto, stack: Any) -> dict[str, str]:
    return {**_env(moto), **stack.environment("CollectorFunction")}


def ingest(moto: Moto, kind: str, reports: int, page_size: int, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Fresh resources from the template, `reports` waiting at the simulator, one measured run."""
    clients = _clients(moto)
    with InfobipSimulator() as sim:
        batch = make_reports(reports, bulks=max(1, reports // 5000), seed=11)
        for report in batch[::5000]:
            report.fields["to"] = SEARCHED_NUMBER
        sim.add(batch)
        prefix = new_prefix()
        params = {"InfobipBaseUrl": sim.base_url, "InfobipApiKeySecret": f"{prefix}/key", "PageSize": str(page_size)}
        stack = build_stack(clients, params, sim.api_key, prefix)
        result = child(kind, {**collector_env(moto, stack), "BENCH_INFOBIP_KEY": sim.api_key, **(extra or {})})
        result.update(stack=stack, clients=clients, sim_pages=_pages(sim, page_size), reports=reports)
        return result


def _pages(sim: InfobipSimulator, page_size: int) -> list[bytes]:
    """The page bodies the simulator handed out, re-serialised the same way (for the CPU floor)."""
    out = sim.handed_out
    return [json.dumps({"results": out[i : i + page_size]}, ensure_ascii=False).encode() for i in range(0, len(out), page_size)]


def cpu_floor(pages: list[bytes]) -> float:
    """CPU seconds to parse and gzip the same pages once: what no collector can avoid."""
    start = time.thread_time()
    for body in pages:
        reports = json.loads(body)["results"]
        gzip.compress(body, compresslevel=6, mtime=0)
        lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in reports)
        gzip.compress(lines.encode(), compresslevel=6, mtime=0)  # the JSON Lines copy: also unavoidable
    return time.thread_time() - start


def http_request_cpu(moto: Moto, body_bytes: int, repeat: int = 300) -> float:
    """CPU seconds of one bare HTTP POST to moto server with `http.client` (no SDK, no signing):
    the least any Python client spends per request here. moto closes every connection, so each
    request also pays a TCP connect, as the collector's do against it."""
    import http.client

    body = b"{" + b" " * max(0, body_bytes - 2) + b"}"
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    start = time.process_time()
    for _ in range(repeat):
        connection = http.client.HTTPConnection("127.0.0.1", moto.port, timeout=10)
        connection.request("POST", "/", body=body, headers=headers)
        connection.getresponse().read()
        connection.close()
    return (time.process_time() - start) / repeat


def index_costs(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per report, mean write units and stored bytes of the table and of each index, for the items as
    written now and as they were before the search indexes (without sentDay/toHash, and without
    sentAt where there is no bulkId): measured on the stored items, priced in `kept_a_year`."""
    from dlr_vault.index import BULK_INDEX
    from dlr_vault.search import DESTINATION_INDEX, TIME_INDEX

    items = run["clients"]("dynamodb").scan(TableName=run["stack"].names["ReportsTable"], Limit=1000)["Items"]
    keys = {BULK_INDEX: ("bulkId", "sentAt"), DESTINATION_INDEX: ("toHash", "sentAt"), TIME_INDEX: ("sentDay", "sentAt")}
    parts: dict[str, list[tuple[int, int]]] = {name: [] for name in ("table before", "bulk index before", "table", *keys)}
    for item in items:
        before = {k: v for k, v in item.items() if k not in ("sentDay", "toHash") and (k != "sentAt" or "bulkId" in item)}
        for name, shape in (("table before", before), ("table", item)):
            size = cost.item_size(shape) + cost.DYNAMODB_ITEM_OVERHEAD
            parts[name].append((math.ceil((size - cost.DYNAMODB_ITEM_OVERHEAD) / 1024), size))
        for name, shape in (("bulk index before", before), (BULK_INDEX, item)):
            if "bulkId" in shape:  # projects every attribute
                parts[name].append((math.ceil(cost.item_size(shape) / 1024), cost.item_size(shape) + cost.DYNAMODB_ITEM_OVERHEAD))
        for name in (DESTINATION_INDEX, TIME_INDEX):
            attribute = keys[name][0]
            if attribute in item:  # keys only: its own keys and the table's
                entry = {k: item[k] for k in (*keys[name], "messageId")}
                parts[name].append((1, cost.item_size(entry) + cost.DYNAMODB_ITEM_OVERHEAD))
                copies = 2 if "bulkId" in item else 1  # in the table, and in the bulk index's full copy
                parts.setdefault(f"attribute {attribute}", []).append((0, copies * cost.item_size({attribute: item[attribute]})))
    n = len(items)
    return {name: {"wru": sum(w for w, _ in rows) / n, "bytes": sum(b for _, b in rows) / n} for name, rows in parts.items()}


def kept_a_year(part: dict[str, float]) -> float:
    """USD per million reports: written once and stored for twelve months (DynamoDB only)."""
    writes = part["wru"] * cost.PRICES["dynamodb_wru_per_million:STANDARD"]
    storage = part["bytes"] * 1e6 / 1e9 * cost.PRICES["dynamodb_storage_per_gb_month:STANDARD"] * 12
    return writes + storage


def logs_latency(moto: Moto, run: dict[str, Any], iterations: int) -> dict[str, tuple[float, float, float]]:
    """Warm handler latency (p50/p99, ms) and DynamoDB items read per request (index entries plus
    reports) of a destination search and of a one-hour range."""
    from datetime import timedelta

    from dlr_vault import aws
    from local.api import ProxyEvents
    from local.context import LocalLambdaContext
    from local.infobip_sim import infobip_time, make_reports
    from local.stack import load_handler, reset_runtime

    os.environ.update(_env(moto))
    os.environ.update(run["stack"].environment("LookupFunction"))
    reset_runtime()
    handler = load_handler("lookup").lambda_handler
    first = datetime.strptime(make_reports(1, seed=11)[0].fields["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z")
    hour = first + timedelta(seconds=run["reports"] * 3 / 2)  # the middle of the data: make_reports sends one every 3 s
    api = ProxyEvents()

    def at(moment: datetime) -> str:
        return infobip_time(moment).replace("+", "%2B")

    events = {
        f"destination search ({SEARCHED_NUMBER})": api.event(
            "GET", f"/sms/3/logs?destination={SEARCHED_NUMBER}&sentSince={at(first - timedelta(days=1))}", {}
        ),
        "one-hour range (limit 1000)": api.event(
            "GET", f"/sms/3/logs?sentSince={at(hour)}&sentUntil={at(hour + timedelta(hours=1))}&limit=1000", {}
        ),
    }
    read = {"items": 0}

    def queried(parsed: dict[str, Any], **_: Any) -> None:
        read["items"] += parsed.get("Count", 0)

    def batch_read(request: Any, **_: Any) -> None:
        read["items"] += sum(len(t["Keys"]) for t in json.loads(request.body)["RequestItems"].values())

    events_of = aws.client("dynamodb").meta.events
    events_of.register("after-call.dynamodb.Query", queried, unique_id="bench-query")
    events_of.register("before-send.dynamodb.BatchGetItem", batch_read, unique_id="bench-batch")
    out = {}
    for name, event in events.items():
        answer = handler(event, LocalLambdaContext())  # warm
        assert answer["statusCode"] == 200, answer["body"]
        results = len(json.loads(answer["body"])["results"])
        samples, reads = [], []
        for _ in range(iterations):
            read["items"] = 0
            start = time.perf_counter()
            handler(event, LocalLambdaContext())
            samples.append((time.perf_counter() - start) * 1000)
            reads.append(read["items"])
        samples.sort()
        out[name] = (
            samples[len(samples) // 2],
            samples[min(len(samples) - 1, math.ceil(len(samples) * 0.99) - 1)],
            statistics.mean(reads),
            results,
        )
    return out


def lookup_latency(moto: Moto, run: dict[str, Any], iterations: int) -> dict[str, float]:
    """Warm handler latency (p50/p99, ms) for a messageId and for a 1000-report bulk page."""
    from local.api import ProxyEvents
    from local.context import LocalLambdaContext
    from local.stack import load_handler, reset_runtime

    os.environ.update(_env(moto))
    os.environ.update(run["stack"].environment("LookupFunction"))
    reset_runtime()
    handler = load_handler("lookup").lambda_handler
    items = run["clients"]("dynamodb").scan(TableName=run["stack"].names["ReportsTable"], Limit=1)["Items"]
    message_id, bulk_id = items[0]["messageId"]["S"], items[0]["bulkId"]["S"]
    api = ProxyEvents()
    events = {
        "messageId": api.event("GET", f"/sms/1/reports?messageId={message_id}", {}),
        "bulk page of 1000": api.event("GET", f"/sms/1/reports?bulkId={bulk_id}&limit=1000", {}),
    }
    out = {}
    for name, event in events.items():
        handler(event, LocalLambdaContext())  # warm
        samples = []
        for _ in range(iterations if name == "messageId" else max(5, iterations // 10)):  # a bulk page takes ~0.5 s on moto
            start = time.perf_counter()
            answer = handler(event, LocalLambdaContext())
            samples.append((time.perf_counter() - start) * 1000)
            assert answer["statusCode"] == 200
        samples.sort()
        out[name] = (samples[len(samples) // 2], samples[min(len(samples) - 1, math.ceil(len(samples) * 0.99) - 1)])
    out["bulk results"] = len(json.loads(handler(events["bulk page of 1000"], LocalLambdaContext())["body"])["results"])
    return out


def lookup_rows(moto: Moto, run: dict[str, Any], lookups: int) -> list[tuple[str, str, str, str]]:
    """Warm latencies of the lookup: a messageId, a bulk page, the logs searches (`--only lookup` prints just these)."""
    latency = lookup_latency(moto, run, lookups)
    p50, p99 = latency["messageId"]
    met = "met" if p99 <= 20 else "NOT met"
    rows = [("lookup warm latency, messageId (handler, moto server)", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "p99 <= 20 ms", met)]
    p50, p99 = latency["bulk page of 1000"]
    rows.append((f"lookup warm latency, bulk page ({latency['bulk results']} reports)", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", "", ""))
    for name, (p50, p99, reads, results) in logs_latency(moto, run, max(20, lookups // 10)).items():
        figure = f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; {reads:,.0f} DynamoDB items read per request for {results} results"
        rows.append((f"logs warm latency, {name} (handler, moto server)", figure, "", ""))
    return rows


BUILD = ROOT / ".aws-sam" / "build"


def sam_build() -> Path:
    """.aws-sam/build, running `sam build` first if it is not there."""
    if not (BUILD / "CommonLayer").exists():
        subprocess.run(
            [str(Path(sys.executable).parent / "sam"), "build", "--parallel", "--cached"], cwd=ROOT, check=True, capture_output=True
        )
    return BUILD


def cold_imports(stack: Any, repeat: int) -> tuple[dict[str, float], str]:
    """Median seconds to import each handler module in a fresh interpreter, against `import boto3`.

    Laid out as Lambda lays it out: the built function and the built layer's `python/` on
    sys.path and nothing else (`-S`: no virtualenv, none of the dev tools' packages), with the
    variables Lambda and the template set (LAMBDA_TASK_ROOT matters: without it the X-Ray SDK
    builds botocore clients for sampling rules at import, which it never does in Lambda).
    Without a build (`--skip-build`) the source tree and the virtualenv stand in; that layout is
    named in the result. The layer's arm64 extensions (wrapt, charset_normalizer) cannot load on
    another machine, so their pure-Python fallbacks are imported instead."""
    built = (BUILD / "CommonLayer" / "python").exists()
    layout = "sam build output" if built else "source tree + virtualenv (no sam build)"
    snippets = {
        "import boto3": ("collector", "import boto3"),
        "collector handler": ("collector", "import app"),
        "lookup handler": ("lookup", "import app"),
    }
    out = {}
    for name, (function, code) in snippets.items():
        logical = f"{function.title()}Function"
        task = BUILD / logical if built else ROOT / "functions" / function
        paths = [str(task), str(BUILD / "CommonLayer" / "python" if built else ROOT / "layers" / "common")]
        env = {
            "PATH": os.environ.get("PATH", ""),
            **stack.environment(logical),
            "LAMBDA_TASK_ROOT": str(task),
            "AWS_LAMBDA_FUNCTION_NAME": f"bench-{function}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONDONTWRITEBYTECODE": "1",  # Lambda cannot write __pycache__ into /opt or /var/task either
        }
        timer = f"import sys, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        command = [sys.executable, *(["-S"] if built else []), "-c", timer]
        runs = [float(subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout) for _ in range(repeat)]
        out[name] = statistics.median(runs)
    return out, layout


def package_sizes() -> dict[str, tuple[int, int]]:
    """(unzipped, zipped) bytes of each built artifact in .aws-sam/build."""
    build = sam_build()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("CollectorFunction", "LookupFunction", "CommonLayer"):
            folder = build / name
            unzipped = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            zipped = Path(shutil.make_archive(f"{tmp}/{name}", "zip", folder)).stat().st_size
            out[name] = (unzipped, zipped)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=100_000, help="reports for the collector's ingest run")
    parser.add_argument("--baseline-reports", type=int, default=10_000, help="reports for the naive baseline (it is slow)")
    parser.add_argument("--count-reports", type=int, default=10_000, help="reports for the request-count run")
    parser.add_argument("--lookups", type=int, default=300, help="iterations per lookup latency figure")
    parser.add_argument("--notifier-reports", type=int, help="stream records through the notifier (default: 10,000, or --reports if fewer)")
    parser.add_argument("--bulk-reports", type=int, help="reports in the bulk whose summary is timed (default: --reports)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--skip-build", action="store_true", help="skip package sizes (no sam build)")
    parser.add_argument("--console-searches", type=int, default=20, help="searches of each kind timed in the support console")
    parser.add_argument(
        "--only",
        choices=["console", "lookup", "cost", "freshness"],
        help="run only these rows (print them; docs/benchmarks.md is left alone)",
    )
    parser.add_argument(
        "--fanout-only", action="store_true", help="only the fan-out rows (notifier, its cost, bulk summary); prints, writes nothing"
    )
    parser.add_argument("--freshness-runs", type=int, default=3, help="scheduled periods of production per freshness figure (0: skip)")
    parser.add_argument("--freshness-poll", type=int, default=5, help="PollIntervalSeconds for the polling freshness figure")
    parser.add_argument("--freshness-rate", type=float, default=10, help="reports per second the simulator produces")
    parser.add_argument(
        "--freshness-read-timeout",
        type=int,
        default=1,
        help="also measure polling with this INFOBIP_READ_TIMEOUT (a smaller reserve per run; 0: skip)",
    )
    parser.add_argument("--backlog-reports", type=int, default=500_000, help="unread reports for the backlog drain (0: skip)")
    args = parser.parse_args(argv)

    moto = Moto()
    sections: list[str] = []
    try:
        if args.only == "console":
            from bench import console

            for name, figure in console.rows(moto.url, _env(moto), args.console_searches):
                print(f"| {name} | {figure} |  |  |")
            return 0
        if args.only == "cost":  # the cost of a report's life: --reports for Lambda time, --count-reports for the items
            timed, counted = ingest(moto, "collector", args.reports, 1000), ingest(moto, "collector", args.count_reports, 1000, DETAIL)
            measured = life.measured_collector(counted, timed["wall"] / args.reports)
            print(life.table(measured, life.measured_naive(ingest(moto, "baseline", args.baseline_reports, 1000)))[0])
            return 0
        if args.only == "freshness":
            freshness_rows(moto, args, lambda *cells: print("| " + " | ".join(str(c) for c in cells) + " |"))
            return 0
        if args.only == "lookup":
            for name, figure, target, met in lookup_rows(moto, ingest(moto, "collector", args.reports, 1000), args.lookups):
                print(f"| {name} | {figure} | {target} | {met} |")
            return 0
        rows = fan_out_rows(moto, args) if args.fanout_only else run_all(moto, args, sections)
    finally:
        moto.stop()
    table = render(rows, args, sections)
    print(table)
    if not args.no_write and not args.fanout_only:
        (ROOT / "docs" / "benchmarks.md").write_text(table)
    return 0


def fan_out_rows(moto: Moto, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    notifier_reports = args.notifier_reports or min(10_000, args.reports)
    figures = fanout.rows(_clients(moto), _env(moto), notifier_reports, args.bulk_reports or args.reports, 20)
    return [(name, figure, "", "") for name, figure in figures]


def run_all(moto: Moto, args: argparse.Namespace, sections: list[str]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, figure: str, target: str = "", met: bool | None = None) -> None:
        rows.append((name, figure, target, "" if met is None else ("met" if met else "NOT met")))

    main_run = ingest(moto, "collector", args.reports, 1000)
    naive = ingest(moto, "baseline", args.baseline_reports, 1000)
    assert main_run["stats"]["fetched"] == args.reports and naive["stats"]["fetched"] == args.baseline_reports
    rate, naive_rate = args.reports / main_run["wall"], args.baseline_reports / naive["wall"]
    row(f"ingest, collector ({args.reports:,} reports, PageSize 1000)", f"{rate:,.0f} reports/s ({main_run['wall']:.1f} s)")
    row(
        f"ingest, naive baseline ({args.baseline_reports:,} reports, put_item each)", f"{naive_rate:,.0f} reports/s ({naive['wall']:.1f} s)"
    )
    row("ingest speed-up over the baseline", f"{rate / naive_rate:.1f}x", ">= 10x", rate / naive_rate >= 10)

    counted = ingest(moto, "collector", args.count_reports, 1000, DETAIL)
    per_10k = {op: n * 10_000 / args.count_reports for op, n in sorted(counted["requests"].items())}
    minimum_writes = math.ceil(args.count_reports / 25) * 10_000 / args.count_reports
    pages = math.ceil(args.count_reports / 1000)  # pages with reports; a run ends on a short or empty page
    writes = per_10k.get("dynamodb:BatchWriteItem", 0)
    row(
        "DynamoDB BatchWriteItem per 10,000 reports",
        f"{writes:,.0f} (minimum {minimum_writes:,.0f})",
        "<= 1.1x minimum",
        writes <= 1.1 * minimum_writes,
    )
    row(
        "S3 PutObject per 10,000 reports",
        f"{per_10k.get('s3:PutObject', 0):,.0f} (minimum {2 * pages * 10_000 / args.count_reports:,.0f}: "
        "raw + JSON Lines per page with reports, raw for the closing empty page, + 1 preflight)",
    )
    others = ", ".join(f"{op} {n:,.0f}" for op, n in per_10k.items() if op not in ("dynamodb:BatchWriteItem", "s3:PutObject"))
    row("other AWS requests per 10,000 reports", others)

    costs = index_costs(counted)
    measured = life.measured_collector(counted, main_run["wall"] / args.reports)
    now_rows = cost.life_cost(life.config_now(), measured)
    once = life.ingest_only(now_rows)
    row(
        "cost per million reports (USD, us-east-1 list prices)",
        f"{sum(once.values()):.2f} to ingest: DynamoDB writes {once['writes']:.2f} (table and every index, by projection), "
        f"reads {once['reads']:.2f}, S3 PUTs {once['PUTs']:.3f}, Lambda {once['Lambda']:.3f}; kept a year: see the cost table below",
    )
    cost_table, summary = life.table(measured, life.measured_naive(naive))
    core_now = summary[f"{life.config_now().label}: core"]
    row("cost per million reports kept a year, core (this template)", f"{core_now:.2f} USD", "<= 2.50", core_now <= 2.50)

    from dlr_vault.index import BULK_INDEX
    from dlr_vault.search import DESTINATION_INDEX, TIME_INDEX

    before = kept_a_year(costs["table before"]) + kept_a_year(costs["bulk index before"])
    growth = (
        kept_a_year(costs["table"]) + kept_a_year(costs[BULK_INDEX]) - before
    )  # the new attributes, in the table and the bulk index's copy
    added = {"destination": (DESTINATION_INDEX, "toHash"), "time": (TIME_INDEX, "sentDay")}
    marginal = {
        path: kept_a_year(costs[index]) + kept_a_year({"wru": 0, "bytes": costs[f"attribute {attribute}"]["bytes"]})
        for path, (index, attribute) in added.items()
    }
    table_bytes = costs["table"]["bytes"] - costs["table before"]["bytes"]
    row(
        "DynamoDB per million reports kept a year (writes + 12 months of storage), before the search indexes",
        f"{before:.2f} USD: table {kept_a_year(costs['table before']):.2f} ({costs['table before']['bytes']:.0f} B, "
        f"{costs['table before']['wru']:.2f} WRU), bulk index (ALL) {kept_a_year(costs['bulk index before']):.2f}",
    )
    row(
        "... with the search indexes (SearchIndexes=all, keys only)",
        f"{before + growth + sum(kept_a_year(costs[i]) for i, _ in added.values()):.2f} USD: destination index "
        f"{kept_a_year(costs[DESTINATION_INDEX]):.2f} ({costs[DESTINATION_INDEX]['bytes']:.0f} B, 1 WRU), time index "
        f"{kept_a_year(costs[TIME_INDEX]):.2f} ({costs[TIME_INDEX]['bytes']:.0f} B, 1 WRU), their keys in the table and the "
        f"bulk index's copy {growth:.2f} (+{table_bytes:.0f} B per item)",
    )
    for path, usd in marginal.items():
        row(f"marginal cost of the {path} index per million reports kept a year", f"{usd:.2f} USD", "<= 0.80", usd <= 0.80)

    floor = cpu_floor(main_run["sim_pages"])
    per_report, floor_per = main_run["cpu"] / args.reports * 1e6, floor / args.reports * 1e6
    row(
        "collector CPU per report",
        f"{per_report:.0f} µs (parse+gzip floor {floor_per:.0f} µs, {per_report / floor_per:.1f}x)",
        "<= 3x floor",
        per_report <= 3 * floor_per,
    )
    requests_per_report = sum(counted["requests"].values()) / args.count_reports
    http_per_report = requests_per_report * http_request_cpu(moto, 20_000) * 1e6  # a 25-item BatchWriteItem is ~20 KB
    with_http = floor_per + http_per_report
    row(
        "collector CPU per report: what the HTTP requests alone cost",
        f"{http_per_report:.0f} µs ({requests_per_report * 1000:.0f} requests per 1,000 reports x a bare http.client POST to moto; "
        f"parse+gzip floor + this = {with_http:.0f} µs, the collector is at {per_report / with_http:.1f}x)",
    )

    big = ingest(moto, "collector", max(args.count_reports, 20_000), 10_000) if args.reports >= 20_000 else counted
    row("peak RSS, PageSize 1000", f"{counted['peak_rss_mb']:.0f} MB")
    label = "10000" if big is not counted else "1000 (quick run)"
    row(f"peak RSS, PageSize {label}", f"{big['peak_rss_mb']:.0f} MB", "<= 256 MB", big["peak_rss_mb"] <= 256)

    rows.extend(fan_out_rows(moto, args))

    rows.extend(lookup_rows(moto, main_run, args.lookups))

    if not args.skip_build:
        sam_build()
    imports, layout = cold_imports(main_run["stack"], 7)
    base = imports["import boto3"]
    row(f"cold import, `import boto3` alone ({layout})", f"{base * 1000:.0f} ms")
    for name in ("collector handler", "lookup handler"):
        ratio = imports[name] / base
        row(f"cold import, {name}", f"{imports[name] * 1000:.0f} ms ({ratio:.2f}x boto3)", "<= 1.5x boto3", ratio <= 1.5)

    from bench import console

    for name, figure in console.rows(moto.url, _env(moto), args.console_searches):
        row(name, figure)

    if not args.skip_build:
        for name, (unzipped, zipped) in package_sizes().items():
            row(f"package size, {name}", f"{unzipped / 1e3:,.0f} kB unzipped, {zipped / 1e3:,.0f} kB zipped")

    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "requests.pickle"
        captured = ingest(moto, "collector", args.count_reports, 1000, {"BENCH_CAPTURE": str(capture)})
        requests = ceiling.load(capture)
    fresh = build_stack(
        captured["clients"], {"InfobipBaseUrl": "http://127.0.0.1:1", "InfobipApiKeySecret": "ceiling/key"}, "k", new_prefix()
    )
    requests = ceiling.retarget(requests, {old: fresh.names[logical] for logical, old in captured["stack"].names.items()})
    replay_wall, failures = ceiling.replay(requests)
    fraction = replay_wall / captured["wall"]
    row(
        f"local ceiling: the run's {len(requests):,} DynamoDB and S3 requests from a bare client ({args.count_reports:,} reports)",
        f"{replay_wall:.1f} s = {args.count_reports / replay_wall:,.0f} reports/s (http.client, {ceiling.WORKERS} threads, "
        f"pre-built bodies; {failures} refused, as in the run: the preflight's conditional write fails by design)",
    )
    row(
        "ingest as a fraction of the local ceiling",
        f"{fraction:.2f} (collector {args.count_reports / captured['wall']:,.0f} reports/s in {captured['wall']:.1f} s)",
        ">= 0.75",
        fraction >= 0.75,
    )

    sections.append(f"## A report's life: USD per million reports ingested and kept a year\n\n{cost_table}\n\n{life.NOTES}")
    if args.freshness_runs:
        freshness_rows(moto, args, row)
    if args.backlog_reports:
        backlog_rows(args, row, now_rows)
    return rows


def freshness_rows(moto: Moto, args: argparse.Namespace, row: Any) -> None:
    """Freshness p50/p99 with polling off and on, the gap between runs, and each setting's idle cost a month."""
    clients = _clients(moto)
    settings: list[tuple[int, dict[str, str]]] = [(0, {}), (args.freshness_poll, {})]
    if args.freshness_read_timeout:
        settings.append((args.freshness_poll, {"INFOBIP_READ_TIMEOUT": str(args.freshness_read_timeout)}))
    for poll, extra in settings:
        got = freshness.measure(clients, partial(collector_env, moto), child, poll, args.freshness_runs, args.freshness_rate, extra)
        period, timeout = got["period"], got["timeout"]
        also = "".join(f", {k} {v}" for k, v in extra.items())
        row(
            f"freshness, PollIntervalSeconds {poll}{also} ({args.freshness_runs} runs every {period:.0f} s, {timeout:.0f} s budget, "
            f"{args.freshness_rate:g} reports/s)",
            f"p50 {got['p50']:.1f} s, p99 {got['p99']:.1f} s, max {got['max']:.1f} s ({got['reports']} reports, {got['unseen']} unseen); "
            f"runs ask Infobip for {got['asking_window']:.1f} s, then no request for {got['gap_mean']:.1f} s (max {got['gap_max']:.1f} s)",
            "p99 <= 10 s" if poll else "",
            got["p99"] <= 10 if poll else None,
        )
        _, _, memory_mb = freshness.template_schedule()
        runs, lambda_usd, requests_usd = freshness.idle_cost_per_month(got["idle"], period, memory_mb)
        asked = ", ".join(f"{k} {v}" for k, v in sorted(got["idle"]["requests"].items()))
        row(
            f"idle cost per month, PollIntervalSeconds {poll}{also}",
            f"{lambda_usd + requests_usd:.2f} USD: {runs:,.0f} runs x {got['idle']['wall']:.1f} s at {memory_mb} MB = Lambda "
            f"{lambda_usd:.2f}, AWS requests {requests_usd:.2f} ({asked} a run"
            + (
                "; runs overlap and hand over: their length and requests are the scheduled runs', writes of the producer's "
                "reports included)"
                if timeout > period
                else ")"
            ),
        )


def backlog_rows(args: argparse.Namespace, row: Any, now_rows: list[cost.CostRow]) -> None:
    """The backlog drain with the template's PageSize, and a shorter one at Infobip's v1 limit for the per-page cost."""
    once = life.ingest_only(now_rows)
    per_report_aws = (once["writes"] + once["reads"] + once["PUTs"]) / 1e6
    runs_at: dict[int, dict[str, Any]] = {}
    big = backlog.PAGE_LIMITS["v1"]
    for reports, page_size in ((args.backlog_reports, None), (min(args.backlog_reports, 100_000), big)):
        got = backlog.drain(Moto, _clients, collector_env, child, reports, page_size)
        runs_at[got["page_size"]] = got
        lambda_usd = (
            got["gb_seconds"] * cost.PRICES["lambda_arm64_per_gb_second"] + got["runs"] * cost.PRICES["lambda_per_million_requests"] / 1e6
        )
        row(
            f"backlog drain, {reports:,} reports waiting (PageSize {got['page_size']}, {got['timeout']:.0f} s runs on a "
            f"{got['period']:.0f} s schedule)",
            f"{reports / got['drain_seconds']:,.0f} reports/s on the schedule, drained in {got['drain_seconds'] / 60:.1f} min by "
            f"{got['runs']} invocations ({reports / got['busy_seconds']:,.0f} reports/s while running, "
            f"{got['reports_per_run']:,.0f} a run); "
            f"Lambda {lambda_usd:.2f} USD, with DynamoDB and S3 {lambda_usd + per_report_aws * reports:.2f} USD; {got['left']} left",
            "drained" if page_size is None else "",
            got["left"] == 0 if page_size is None else None,
        )
        row(
            f"backlog peak RSS, PageSize {got['page_size']}",
            f"{got['peak_rss_mb']:.0f} MB of MemorySize {got['memory_mb']} MB",
            "<= MemorySize",
            got["peak_rss_mb"] <= got["memory_mb"],
        )
    for version, limit in backlog.PAGE_LIMITS.items():
        got = runs_at.get(limit)
        if got is None:
            continue
        if got["runs"] < 2:
            row(f"backlog that drains within 48 h, {version} (page limit {limit:,})", "not measured: one run drained it all")
            continue
        held = backlog.capacity_48h(got["reports_per_run"], got["period"])
        row(
            f"backlog that drains within 48 h, {version} (page limit {limit:,})",
            f"{held / 1e6:,.0f} million reports: {backlog.HOURS * 3600 / got['period']:,.0f} runs x {got['reports_per_run']:,.0f} "
            f"reports a run ({got['pages_per_run']:.1f} pages of {limit:,}, {got['seconds_per_page']:.2f} s a page against moto)",
        )


def render(rows: list[tuple[str, str, str, str]], args: argparse.Namespace, sections: list[str]) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, with `make bench`",
        f"(`python -m bench --reports {args.reports} --baseline-reports {args.baseline_reports} "
        f"--freshness-runs {args.freshness_runs} --backlog-reports {args.backlog_reports}`):",
        "moto server in its own process, the Infobip simulator on 127.0.0.1, each ingest in a fresh",
        "child process. moto is not AWS: throughput and latency are relative figures; request counts",
        "carry over; CPU per report carries over but for one TCP connect per request (see below).",
        "",
        "| measure | figure | target | |",
        "|---|---|---|---|",
        *[f"| {name} | {figure} | {target} | {met} |" for name, figure, target, met in rows],
        "",
        *sections,
        "",
        *life.prices_text(),
        "",
        "DynamoDB write units: every report is written to the table and to the bulk index (projection",
        "ALL), each rounded up to 1 KB, and to each search index (keys only: one unit); reads are one",
        "consistent BatchGetItem key per report (the 'later doneAt wins' check). Lambda cost uses the",
        "measured wall time against moto at 1 GB.",
        "",
        "Kept a year: DynamoDB's own item sizes (attribute names and values, plus 100 bytes per stored",
        "item, in the table and in each index) of 1,000 stored reports, one write each, twelve months",
        "of storage. 'Before' strips the search attributes from the same items. An index's marginal",
        "cost is its entries plus its key attribute in the table and in the bulk index's full copy.",
        "",
        "Logs: warm handler latency of GET /sms/3/logs over the 100,000-report table. moto answers a",
        "Query by walking every item of the table, so these latencies are moto's (the bulk page row",
        "shows the same); the DynamoDB items read per request (index entries plus reports) carry over.",
        "",
        "CPU per report: beyond parsing and gzipping, the collector's CPU goes mostly to HTTP. Its",
        "requests are already the minimum DynamoDB allows (25 items per BatchWriteItem, 100 keys per",
        "BatchGetItem, one S3 object per page and prefix), and against moto each one also opens a TCP",
        "connection (moto closes every connection; AWS keeps them alive). The second CPU row prices",
        "that floor with the leanest Python client; docs/architecture.md (Speed decisions) says what",
        "was cut and why the rest stays.",
        "",
        "Fan-out (bench/fanout.py): the notifier handler is fed the ReportsTable stream the way Lambda's",
        "event source mapping would (local/streams.py), events and counters on; the added cost counts one",
        "event and one webhook call per stored change (final-only webhooks call less). The bulk summary is",
        "the lookup handler's `GET /bulks/{bulkId}/summary` with the counters off (every report read and",
        "summed, what used to run into the 10 s timeout) and on (one GetItem); both answers are compared.",
        "",
        "Cold imports run what `sam build` produced, laid out as Lambda lays it out: the function and",
        "the layer's python/ on sys.path and nothing else (`python -S`), with LAMBDA_TASK_ROOT and the",
        "template's variables set, bytecode as shipped in the layer. The layer's arm64 extensions",
        "(wrapt, charset_normalizer) cannot load on another machine; their pure-Python fallbacks do.",
        "",
        "The console rows come from Debian's headless Chromium against the local stack (bench/console.py):",
        "the first load sums the Performance API's `transferSize` of the page, its script, style, icon and",
        "config.json with an empty cache; a search is timed in the page from its start (`performance.mark`",
        "when the query runs) to the answer drawn, over 2,000 reports in 10 bulks. A bulk search is slower:",
        '"Any" first asks for a message with that id, and the summary reads the bulk\'s 200 items from',
        "moto's index. `python -m bench --only console` prints just these rows.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
