"""Test kit: a Lambda context, the events/ loader, the stack fixture's state and AWS fault injection."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from botocore.awsrequest import AWSResponse

from dlr_vault.stored_form import report_text
from local.context import LocalLambdaContext
from local.infobip_sim import SimReport, make_reports
from local.stack import ROOT

EVENTS = ROOT / "events"


LOCAL_API_KEY = "local-api-key"  # the x-api-key the local API Gateway stand-in requires


def api_answers(api: Any, bulks: list[str]) -> dict[str, object]:
    """Every page of every bulk in small pages (results only: cursors are signed per stack), its
    summary and its logs, as the bytes the API sent."""
    headers = {"x-api-key": LOCAL_API_KEY}
    out: dict[str, object] = {}
    for bulk in bulks:
        cursor, pages = None, []
        while True:
            params = {"bulkId": bulk, "limit": "7", **({"cursor": cursor} if cursor else {})}
            page = requests.get(f"{api.url}/sms/3/reports", params=params, headers=headers, timeout=30)
            pages.append(page.content.split(b', "nextCursor"')[0].split(b',"nextCursor"')[0])
            cursor = page.json().get("nextCursor")
            if not cursor:
                break
        out[f"{bulk} pages"] = pages
        out[f"{bulk} summary"] = requests.get(f"{api.url}/bulks/{bulk}/summary", headers=headers, timeout=30).content
        logs = requests.get(f"{api.url}/sms/3/logs", params={"bulkId": bulk, "limit": "1000"}, headers=headers, timeout=30)
        out[f"{bulk} logs"] = logs.content
    return out


def stored_report(item: dict[str, Any]) -> Any:
    """The report an index item holds, parsed, in whichever form the table keeps it."""
    return json.loads(report_text(item["report"]) or "null")


def recent(n: int, **kwargs: Any) -> list[SimReport]:
    """Simulator reports sent three hours ago, inside the 48-hour logs window."""
    return make_reports(n, start=datetime.now(UTC) - timedelta(hours=3), **kwargs)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


FakeLambdaContext = LocalLambdaContext


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _service(client: Any) -> str:
    return client.meta.service_model.service_id.hyphenize()


@contextmanager
def on_the_wire(client: Any, operation: str, hook: Callable[..., AWSResponse | None]) -> Iterator[None]:
    """Run `hook(request=...)` before each `operation` request of `client` goes out (botocore's
    before-send, which the package's DynamoDB batch client also emits); removed on exit."""
    event, uid = f"before-send.{_service(client)}.{operation}", f"kit-{id(hook)}"
    client.meta.events.register(event, hook, unique_id=uid)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=uid)


def wire_answer(request: Any, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    """Answer `request` from a before-send hook instead of sending it. The request is pointed
    nowhere so moto's own before-send handler (which runs after the test's) does not also carry it out."""
    request.url = "http://127.0.0.1:9/fault-injected"
    return AWSResponse(request.url, status, headers, _Raw(body))


@contextmanager
def aws_failing(
    client: Any,
    operation: str,
    *,
    times: int | None = None,
    status: int = 503,
    code: str = "ServiceUnavailable",
    url_contains: str = "",
    body_contains: str = "",
) -> Iterator[dict]:
    """Answer `operation` on `client` with an HTTP error at the wire (botocore's retries see it),
    `times` times or for as long as the block lasts, only for requests whose URL and body contain
    `url_contains` and `body_contains`. Yields a dict counting the failures."""
    count = {"failed": 0}
    if _service(client) == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
    elif client.meta.service_model.protocol == "json":
        body = json.dumps({"__type": code, "message": "injected"}).encode()
    else:
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if url_contains not in request.url:
            return None
        sent = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        if body_contains and body_contains.encode() not in sent:
            return None
        if times is not None and count["failed"] >= times:
            return None
        count["failed"] += 1
        return wire_answer(request, status, {"x-amzn-errortype": code}, body)

    with on_the_wire(client, operation, hook):
        yield count


_UNPROCESSED = {"BatchWriteItem": "UnprocessedItems", "BatchGetItem": "UnprocessedKeys"}


def _binary_decoded(value: Any) -> Any:
    """Wire-form attribute values as boto3 takes them: a binary value's base64 text as its bytes."""
    if isinstance(value, dict):
        return {k: base64.b64decode(v) if k == "B" and isinstance(v, str) else _binary_decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_binary_decoded(v) for v in value]
    return value


@contextmanager
def dynamodb_unprocessed(client: Any, operation: str = "BatchWriteItem", times: int = 3) -> Iterator[dict]:
    """Make `operation` (BatchWriteItem or BatchGetItem) carry out only the first half of each batch
    and hand the rest back as unprocessed, as a throttled table does, `times` times. At the wire:
    the first half really goes to DynamoDB (moto) through `client`, the answer lists the second half."""
    state = {"calls": 0}
    lock, inner = threading.Lock(), threading.local()
    writes = operation == "BatchWriteItem"
    method = client.batch_write_item if writes else client.batch_get_item

    def split(request_items: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Each table's requests (writes) or keys (reads), cut in two halves."""
        done, left = {}, {}
        for table, part in request_items.items():
            items = part if writes else part["Keys"]
            half = max(1, len(items) // 2)
            if not items[half:]:
                done[table] = part
            elif writes:
                done[table], left[table] = items[:half], items[half:]
            else:
                done[table], left[table] = {**part, "Keys": items[:half]}, {**part, "Keys": items[half:]}
        return done, left

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if getattr(inner, "forwarding", False):
            return None
        done, left = split(json.loads(request.body)["RequestItems"])
        with lock:
            if not left or state["calls"] >= times:
                return None
            state["calls"] += 1
        inner.forwarding = True
        try:
            answer = method(RequestItems=_binary_decoded(done))
        finally:
            inner.forwarding = False
        answer.pop("ResponseMetadata", None)
        answer[_UNPROCESSED[operation]] = left
        return wire_answer(request, 200, {}, json.dumps(answer, default=lambda b: base64.b64encode(b).decode()).encode())

    with on_the_wire(client, operation, hook):
        yield state


@contextmanager
def put_events_refusing(client: Any, refuse: Callable[[dict[str, Any]], bool], code: str = "InternalFailure") -> Iterator[list[dict]]:
    """PutEvents carries out, really (on moto, through `client`), only the entries `refuse` lets
    through, and answers the others as refused entries (`FailedEntryCount`, `ErrorCode`), the way
    EventBridge refuses part of a call. Yields the entries EventBridge accepted, in that order."""
    accepted: list[dict[str, Any]] = []
    inner = threading.local()

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if getattr(inner, "forwarding", False):
            return None
        entries = json.loads(request.body)["Entries"]
        refused = [refuse(entry) for entry in entries]
        through = [entry for entry, no in zip(entries, refused, strict=True) if not no]
        ids = iter([])
        if through:
            inner.forwarding = True
            try:
                ids = iter(e["EventId"] for e in client.put_events(Entries=through)["Entries"])
            finally:
                inner.forwarding = False
            accepted.extend(through)
        answers = [{"ErrorCode": code, "ErrorMessage": "injected"} if no else {"EventId": next(ids)} for no in refused]
        body = {"FailedEntryCount": sum(refused), "Entries": answers}
        return wire_answer(request, 200, {}, json.dumps(body).encode())

    with on_the_wire(client, "PutEvents", hook):
        yield accepted


Clients = Callable[[str], Any]


def canonical(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, ensure_ascii=False)


def _done_at(report: dict[str, Any]) -> float:
    from datetime import datetime

    try:
        return datetime.strptime(report["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except (KeyError, ValueError):
        return float("-inf")


@dataclass
class Kept:
    """What the stack holds: reports in raw pages, in JSON Lines, and the index's items."""

    raw_pages: dict[str, bytes]
    raw_reports: list[dict[str, Any]]
    jsonl_reports: list[dict[str, Any]]
    index: dict[str, dict[str, Any]]


def kept(stack: Any) -> Kept:
    import gzip

    s3, ddb = stack.clients("s3"), stack.clients("dynamodb")
    bucket, table = stack.names["ArchiveBucket"], stack.names["ReportsTable"]
    raw_pages, raw_reports, jsonl = {}, [], []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            data = gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()) if obj["Key"].endswith(".gz") else b""
            if obj["Key"].startswith("raw/"):
                raw_pages[obj["Key"]] = data
                with suppress(ValueError, KeyError):  # quarantined pages hold no reports
                    raw_reports.extend(json.loads(data)["results"])
            elif obj["Key"].startswith("reports/"):
                jsonl.extend(json.loads(line) for line in data.decode().splitlines())
    index = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            index[item["messageId"]["S"]] = item
    return Kept(raw_pages, raw_reports, jsonl, index)


def expected_latest(handed_out: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per messageId, the handed-out report with the latest doneAt (the first one on ties)."""
    latest: dict[str, dict[str, Any]] = {}
    for report in handed_out:
        current = latest.get(report["messageId"])
        if current is None or _done_at(report) > _done_at(current):
            latest[report["messageId"]] = report
    return latest


def assert_nothing_lost(stack: Any, handed_out: list[dict[str, Any]], *, jsonl: bool = True) -> Kept:
    """Every report handed out is archived raw (and in JSON Lines) and the index holds the newest."""
    state = kept(stack)
    raw = {canonical(r) for r in state.raw_reports}
    missing_raw = [r["messageId"] for r in handed_out if canonical(r) not in raw]
    assert not missing_raw, f"{len(missing_raw)} handed-out reports missing from raw/: {missing_raw[:5]}"
    if jsonl:
        lines = {canonical(r) for r in state.jsonl_reports}
        missing_jsonl = [r["messageId"] for r in handed_out if canonical(r) not in lines]
        assert not missing_jsonl, f"{len(missing_jsonl)} reports missing from reports/: {missing_jsonl[:5]}"
    latest = expected_latest(handed_out)
    wrong = [m for m, r in latest.items() if m not in state.index or stored_report(state.index[m]) != r]
    assert not wrong, f"{len(wrong)} messageIds not indexed with their newest report: {wrong[:5]}"
    return state


def fallback_pages(stack: Any) -> dict[str, bytes]:
    """The pages the fallback table holds (S3 refused them), by raw key, as Infobip sent them."""
    import gzip

    from dlr_vault.fallback import FallbackStore

    store = FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb"))
    return {key: gzip.decompress(store.load(key)) for key in store.pending()}


def queued(stack: Any, queue: str = "EventsQueue") -> list[dict[str, Any]]:
    """Take every message off one of the stack's queues (by logical id), bodies parsed."""
    sqs = stack.clients("sqs")
    url = sqs.get_queue_url(QueueName=stack.names[queue])["QueueUrl"]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def stack_with_outputs(cloudformation: Any, name: str, outputs: dict[str, str]) -> None:
    """A CloudFormation stack (on moto) whose Outputs are these values: what the operator commands read."""
    body = {"Resources": {"Handle": {"Type": "AWS::SQS::Queue"}}, "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(body))  # a stack needs one resource
