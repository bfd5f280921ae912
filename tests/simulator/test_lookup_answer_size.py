"""A bulk page stops at 5 MB of answer and hands out its cursor: Lambda cannot answer more than 6 MB."""

from __future__ import annotations

import json
from datetime import datetime

from dlr_vault.lookup import MAX_ANSWER_BYTES
from local.infobip_sim import Fault, make_reports
from tests.kit import FakeLambdaContext, load_event

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def test_long_non_ascii_reports_are_paged_under_the_response_limit_each_once_in_order(stack, sim, collect, lookup_handler):
    # 150,000 "é" are 300 KB in DynamoDB (UTF-8) but 900 KB in the API's ASCII JSON: 12 of them are 11 MB.
    reports = [{**r.render(1), "text": "é" * 150_000} for r in make_reports(12, bulks=1, seed=3)]
    sim.inject(Fault("status", 200, json.dumps({"results": reports}).encode()))
    assert collect()["indexed"] == 12
    bulk_id = reports[0]["bulkId"]
    served, cursor, pages = [], None, 0
    while True:
        event = load_event("lookup_bulk_v3.json")
        event["multiValueQueryStringParameters"] = {"bulkId": [bulk_id], "limit": ["1000"], **({"cursor": [cursor]} if cursor else {})}
        event["queryStringParameters"] = {k: v[0] for k, v in event["multiValueQueryStringParameters"].items()}
        answer = lookup_handler(event, FakeLambdaContext(seconds=10))
        assert answer["statusCode"] == 200
        assert len(answer["body"]) <= MAX_ANSWER_BYTES and len(json.dumps(answer)) < LAMBDA_RESPONSE_LIMIT
        body = json.loads(answer["body"])
        served += [r["messageId"] for r in body["results"]]
        pages += 1
        cursor = body.get("nextCursor")
        if cursor is None:
            break
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
