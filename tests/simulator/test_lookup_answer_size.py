"""A bulk page or a logs page stops at 5 MB of answer and hands out its cursor: Lambda cannot answer more than 6 MB."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from dlr_vault.lookup import MAX_ANSWER_BYTES
from local.infobip_sim import Fault, make_reports
from tests.kit import FakeLambdaContext, load_event

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def long_reports(sim, collect) -> list[dict]:
    """12 reports to one number, in one bulk. 150,000 "é" are 300 KB in DynamoDB (UTF-8) but 900 KB
    in the API's ASCII JSON: the 12 are 11 MB."""
    reports = [{**r.render(1), "text": "é" * 150_000, "to": "41793026731"} for r in make_reports(12, bulks=1, seed=3)]
    sim.inject(Fault("status", 200, json.dumps({"results": reports}).encode()))
    assert collect()["indexed"] == 12
    return reports


def served_under_the_limit(lookup_handler, event_file: str, params: dict[str, list[str]], cursor_of) -> tuple[list[str], int]:
    """Every page of one query, each checked against the limit: the messageIds served, and the number of pages."""
    served, cursor, pages = [], None, 0
    while True:
        event = load_event(event_file)
        event["multiValueQueryStringParameters"] = {**params, **({"cursor": [cursor]} if cursor else {})}
        event["queryStringParameters"] = {k: v[0] for k, v in event["multiValueQueryStringParameters"].items()}
        answer = lookup_handler(event, FakeLambdaContext(seconds=10))
        assert answer["statusCode"] == 200, answer["body"]
        assert len(answer["body"]) <= MAX_ANSWER_BYTES + 10_000 and len(json.dumps(answer)) < LAMBDA_RESPONSE_LIMIT
        body = json.loads(answer["body"])
        served += [r["messageId"] for r in body["results"]]
        pages += 1
        cursor = cursor_of(body)
        if cursor is None:
            return served, pages


def test_long_non_ascii_reports_are_paged_under_the_response_limit_each_once_in_order(stack, sim, collect, lookup_handler):
    reports = long_reports(sim, collect)
    params = {"bulkId": [reports[0]["bulkId"]], "limit": ["1000"]}
    served, pages = served_under_the_limit(lookup_handler, "lookup_bulk_v3.json", params, lambda body: body.get("nextCursor"))
    sent = {r["messageId"]: datetime.strptime(r["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in reports}
    expected = sorted(sent, key=lambda m: (sent[m], m))
    assert pages >= 3 and served == expected


def test_small_reports_still_fill_the_asked_limit(stack, sim, collect, lookup_handler):
    sim.add(make_reports(300, bulks=1, seed=5))
    collect()
    event = load_event("lookup_bulk_v3.json")
    bulk_id = sim.handed_out[0]["bulkId"]
    event["multiValueQueryStringParameters"] = {"bulkId": [bulk_id], "limit": ["250"]}
    event["queryStringParameters"] = {"bulkId": bulk_id, "limit": "250"}
    body = json.loads(lookup_handler(event, FakeLambdaContext(seconds=10))["body"])
    assert len(body["results"]) == 250 and "nextCursor" in body


@pytest.mark.parametrize(
    ("version", "params"),
    [
        (3, {"bulkId": ["BULK-000-3"]}),
        (3, {"destination": ["+41 79 302 67 31"]}),
        (1, {"to": ["41793026731"]}),
        (3, {"messageId": []}),  # all 12 ids, filled in below
    ],
    ids=["v3-bulkId", "v3-destination", "v1-to", "v3-messageIds"],
)
def test_a_logs_page_of_long_reports_stops_under_the_response_limit_each_once_newest_first(
    stack, sim, collect, lookup_handler, version, params
):
    reports = long_reports(sim, collect)
    if "messageId" in params:
        params = {"messageId": [r["messageId"] for r in reports]}
    params = {**params, "limit": ["1000"], "sentSince": ["2000-01-01T00:00:00.000+0000"]}

    def cursor_of(body: dict):
        return body.get("cursor", {}).get("nextCursor") if version == 3 else body.get("nextCursor")

    served, pages = served_under_the_limit(lookup_handler, f"lookup_logs_v{version}.json", params, cursor_of)
    sent = {r["messageId"]: datetime.strptime(r["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in reports}
    assert pages >= 3 and served == sorted(sent, key=lambda m: (sent[m], m), reverse=True)
