"""`make demo`: the whole pipeline on this machine, with no AWS account and no Docker.

moto (server mode) plays AWS with the resources of template.yaml, the Infobip simulator hands
out realistic reports once, the real collector handler runs with events/schedule.json, and
the real lookup handler is served on http://127.0.0.1:3000 the way `sam local start-api` would,
with the support console at /console (moto's Cognito plays the user pool; one user is created).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CONSOLE_USER = "support"
INFOBIP_SECRET = "dlr-vault/infobip-api-key"  # noqa: S105 - a secret name, not a secret
SEED_NUMBER = "41793026731"  # the number in Infobip's own delivery report examples (../shared/seeds)


def _port_free(port: int) -> bool:
    if port == 0:
        return True
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class _Progress(logging.Handler):
    """Turns the collector's structured log records into one human line per page, and adds up
    what the notifier's batches published."""

    def __init__(self) -> None:
        super().__init__()
        self.published = self.retried = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message == "stream batch handled":
            self.published += record.published
            self.retried += record.retried
        elif message == "page stored":
            print(f"  {record.reports_so_far:>6} reports so far, page stored {record.seconds:.2f} s after its fetch -> {record.raw_key}")
        elif record.levelno >= logging.WARNING:
            print(f"  {record.levelname.lower()}: {message}")


class _WithoutMetrics(io.TextIOBase):
    """Drops CloudWatch EMF metric lines (Powertools prints them to stdout for CloudWatch to read)."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._dropping = False

    def write(self, text: str) -> int:
        if text.startswith('{"_aws"'):
            self._dropping = True
        elif not (self._dropping and text == "\n"):
            self._dropping = False
            self._out.write(text)
        return len(text)


def _save_archive(s3: Any, bucket: str, folder: Path) -> Path:
    """Copy the bucket's objects to `folder` (moto's data ends with the demo; `make report` reads this).
    A key that would land outside `folder` (`../`, an absolute path) is refused, not followed."""
    if folder.exists():
        shutil.rmtree(folder)
    root = folder.resolve()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            target = (root / obj["Key"]).resolve()
            if not target.is_relative_to(root) or target == root:
                raise ValueError(f"refusing to copy object {obj['Key']!r}: it would land outside {folder}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    return folder


def _environment() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_SERVICE_NAME="dlr-vault",
        POWERTOOLS_METRICS_NAMESPACE="DlrVault",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    os.environ.pop("AWS_PROFILE", None)


def _fan_out(stack: Any, progress: _Progress, receiver: Any) -> None:
    """The ReportsTable stream through the real notifier, as Lambda would feed it; the webhook
    rule's bodies (the template's InputTransformer, applied by moto) posted to the receiver."""
    from local.stack import load_handler
    from local.streams import StreamFeeder
    from local.webhook import forward

    print("\ninvoking NotifierFunction with the ReportsTable stream, as Lambda's event source mapping would")
    feeder = StreamFeeder(stack, load_handler("notifier").lambda_handler)
    forwarded = {"n": 0}
    started = time.perf_counter()
    with contextlib.redirect_stdout(_WithoutMetrics(sys.stdout)):
        stats = feeder.drain(after_batch=lambda: forwarded.update(n=forwarded["n"] + forward(stack)))
    elapsed = time.perf_counter() - started
    print(
        f"events: {stats.records} stream records in {stats.invocations} batches -> {progress.published} events published "
        f"on {stack.names['ReportsBus']} ({progress.retried} PutEvents retries, {stats.failed_batches} failed batches), {elapsed:.1f} s"
    )
    print(f"webhook: {forwarded['n']} final reports forwarded to {receiver.url} in Infobip's push shape; the first:")
    headers, body = receiver.received[0]
    print(f"  POST {headers.get('content-type')} {body.decode()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=3000, help="reports the simulated Infobip account holds (default 3000)")
    parser.add_argument("--page-size", default="1000", help="PageSize template parameter (default 1000)")
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("DEMO_API_PORT", 3000)), help="lookup API port (default 3000)")
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("DEMO_AWS_PORT", 0)), help="moto server port (default: any free)"
    )
    parser.add_argument("--no-serve", action="store_true", help="check the lookups and exit instead of serving until Ctrl-C")
    args = parser.parse_args(argv)

    for name, port in (("--api-port", args.api_port), ("--aws-port", args.aws_port)):
        if not _port_free(port):
            print(f"port {port} on 127.0.0.1 is busy: pick another with {name}=N (or DEMO_API_PORT / DEMO_AWS_PORT)", file=sys.stderr)
            return 2

    _environment()
    from local.api import LocalApi
    from local.context import LocalLambdaContext
    from local.infobip_sim import InfobipSimulator, make_reports
    from local.stack import ROOT, build_stack, function_timeout, load_handler, reset_runtime, start_moto_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    server, endpoint = start_moto_server(args.aws_port)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    sim = InfobipSimulator().start()
    two_days = datetime.now(UTC) - timedelta(hours=47)  # what Infobip can still hold: the last 48 hours
    reports = make_reports(args.reports, bulks=7, seed=1, updates=args.reports // 20, start=two_days, spacing=47 * 3600 / args.reports)
    to_seed = {r.fields["messageId"] for r in reports[1 : args.reports : max(1, args.reports // 3)]}
    for report in reports:  # three messages (and their later reports) to the seed's number, to search for
        if report.fields["messageId"] in to_seed:
            report.fields["to"] = SEED_NUMBER
    sim.add(reports)
    print(f"moto (AWS) on {endpoint}; Infobip simulator on {sim.base_url} holding {len(sim.pending)} unread reports")

    from dlr_vault import aws
    from local.webhook import WebhookReceiver
    from ops.erase import OUTPUTS as ERASE_OUTPUTS

    receiver = WebhookReceiver().start()  # plays the customer's notifyUrl
    parameters = {
        "InfobipBaseUrl": sim.base_url,
        "InfobipApiKeySecret": INFOBIP_SECRET,
        "PageSize": args.page_size,
        "EventsEnabled": "true",
        "BulkCountersEnabled": "true",
        "WebhookUrl": receiver.url,
    }
    stack = build_stack(aws.client, parameters, sim.api_key)
    for function in ("CollectorFunction", "LookupFunction", "ConsoleFunction", "NotifierFunction"):
        if stack.has(function):
            os.environ.update(stack.environment(function))
    os.environ["CONSOLE_COGNITO_ENDPOINT"] = endpoint  # moto plays cognito-idp.<region>.amazonaws.com
    reset_runtime()
    print("created from template.yaml: " + ", ".join(f"{k}={v}" for k, v in stack.names.items()))
    described = {"endpoint": endpoint, "outputs": stack.outputs(*ERASE_OUTPUTS)}  # for `make erase STACK=local`
    (ROOT / ".local-stack").mkdir(exist_ok=True)
    (ROOT / ".local-stack" / "stack.json").write_text(json.dumps(described, indent=1))

    collector = load_handler("collector")
    progress = _Progress()
    logging.getLogger("dlr-vault").handlers = [progress]
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    print("\ninvoking CollectorFunction with events/schedule.json")
    started = time.perf_counter()
    with contextlib.redirect_stdout(_WithoutMetrics(sys.stdout)):
        budget = function_timeout(stack.resolver, "CollectorFunction")
        stats: dict[str, Any] = collector.lambda_handler(event, LocalLambdaContext(seconds=budget))
    elapsed = time.perf_counter() - started
    groups = Counter(stats["by_status_group"])
    print(
        f"\nsummary: {stats['fetched']} reports pulled, {stats['archived']} archived, {stats['indexed']} indexed "
        f"in {stats['pages']} pages, {elapsed:.1f} s ({stats['fetched'] / max(elapsed, 1e-9):,.0f} reports/s); "
        f"outcome {stats['outcome']}"
    )
    print("by status group: " + ", ".join(f"{g} {n}" for g, n in groups.most_common()))

    _fan_out(stack, progress, receiver)

    saved = _save_archive(aws.client("s3"), stack.names["ArchiveBucket"], ROOT / ".local-stack" / "archive")
    print(f"archive copied to {saved.relative_to(ROOT)}/ for `make report`")

    from local.cognito import UserPoolAuthorizer, create_user, sign_in

    pool, client = stack.names["ConsoleUserPool"], stack.names["ConsoleUserPoolClient"]
    password = create_user(aws.client("cognito-idp"), pool, CONSOLE_USER)
    authorizer = UserPoolAuthorizer(endpoint, pool, client)
    api_key = secrets.token_urlsafe(24)  # a new one every run: the demo's API is reachable by anything on this machine
    api = LocalApi(load_handler("lookup").lambda_handler, api_key, port=args.api_port, console=authorizer).start()
    first = sim.handed_out[0]
    examples = [
        f"/sms/1/reports?messageId={first['messageId']}",
        f"/sms/3/reports?bulkId={first['bulkId']}&limit=2",
        f"/reports/{first['messageId']}",
        f"/sms/3/logs?destination={SEED_NUMBER}",
        f"/bulks/{first['bulkId']}/summary",
    ]
    print(f"\nlookup API on {api.url} (x-api-key: {api_key}, made for this run); try:")
    for path in examples:
        print(f"  curl -s -H 'x-api-key: {api_key}' '{api.url}{path}'")
    print(f"\nsupport console on {api.url}/console; sign in as {CONSOLE_USER} with password {password}")
    if args.no_serve:
        import requests

        for path in examples:
            response = requests.get(api.url + path, headers={"x-api-key": api_key}, timeout=10)
            results = response.json().get("results") if response.ok else None
            found = f", {len(results)} results" if isinstance(results, list) else ""
            print(f"checked GET {path}: {response.status_code}, {len(response.content)} bytes{found}")
        token = sign_in(endpoint, client, CONSOLE_USER, password)
        for path in ("/console", f"/console/api/bulks/{first['bulkId']}/summary"):
            response = requests.get(api.url + path, headers={"Authorization": token}, timeout=10)
            print(f"checked GET {path} signed in as {CONSOLE_USER}: {response.status_code}, {len(response.content)} bytes")
        from ops.erase import main as erase

        print(f"\nmake erase NUMBER={SEED_NUMBER} STACK=local")
        erase(["--stack", "local", "--number", SEED_NUMBER])
        path = f"/sms/3/logs?destination={SEED_NUMBER}"
        results = requests.get(api.url + path, headers={"x-api-key": api_key}, timeout=10).json()["results"]
        print(f"checked GET {path} after the erasure: {len(results)} results")
    else:
        print(f"erase the number's reports (GDPR art. 17) from another terminal: make erase NUMBER={SEED_NUMBER} STACK=local")
        print("serving until Ctrl-C")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopped")
    api.stop()
    receiver.stop()
    sim.stop()
    server.stop()
    return 0 if stats["outcome"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
