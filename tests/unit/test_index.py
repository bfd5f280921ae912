"""Index rules: one item per messageId, later doneAt wins whatever the order, idempotent."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlr_vault import aws
from dlr_vault.index import ReportIndex, make_entry
from tests.kit import stored_report

TIMES = [f"2026-11-22T{h:02d}:00:00.000+0000" for h in range(10)]


def report(mid: str, done: str, note: str) -> dict:
    return {"messageId": mid, "bulkId": "B", "sentAt": TIMES[0], "doneAt": done, "status": {"groupName": note}}


def written(result) -> tuple[int, int]:
    return len(result[0]), result[1]


def entry(r: dict):
    return make_entry(r, raw_key="raw/x", source="reports", expires_at=None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.integers(0, 9)), min_size=1, max_size=30), st.integers(1, 5))
def test_any_arrival_order_and_batching_ends_with_the_latest(stack, arrivals, batch):
    table = stack.names["ReportsTable"]
    index = ReportIndex(table, stack.clients("dynamodb"), aws.dynamodb_batches())
    for item in stack.clients("dynamodb").scan(TableName=table)["Items"]:
        stack.clients("dynamodb").delete_item(TableName=table, Key={"messageId": item["messageId"]})
    reports = [report(m, TIMES[h], f"v{h}") for m, h in arrivals]
    for start in range(0, len(reports), batch):
        index.put(entry(r) for r in reports[start : start + batch])
    latest = {}
    for m, h in arrivals:
        latest[m] = max(latest.get(m, -1), h)
    stored = {i["messageId"]["S"]: stored_report(i) for i in stack.clients("dynamodb").scan(TableName=table)["Items"]}
    assert {m: r["status"]["groupName"] for m, r in stored.items()} == {m: f"v{h}" for m, h in latest.items()}


def test_writing_the_same_report_twice_writes_nothing_the_second_time(stack):
    index = ReportIndex(stack.names["ReportsTable"], stack.clients("dynamodb"), aws.dynamodb_batches())
    r = report("m", TIMES[3], "x")
    assert written(index.put([entry(r)])) == (1, 0)
    assert written(index.put([entry(r)])) == (0, 1)


def test_a_report_without_doneat_loses_to_one_with_it_but_is_still_indexed(stack):
    index = ReportIndex(stack.names["ReportsTable"], stack.clients("dynamodb"), aws.dynamodb_batches())
    bare = {"messageId": "m", "status": {"groupName": "PENDING"}}
    assert written(index.put([entry(bare)])) == (1, 0)
    assert written(index.put([entry(report("m", TIMES[1], "DELIVERED"))])) == (1, 0)
    assert written(index.put([entry(bare)])) == (0, 1)
    assert json.loads(index.get("m").report)["status"]["groupName"] == "DELIVERED"


def test_reports_without_messageid_are_not_indexable():
    assert entry({"bulkId": "B"}) is None
    assert entry({"messageId": ""}) is None


def test_item_fields_are_normalised_and_the_original_kept():
    r = {"messageId": "m", "bulkId": "B", "sentAt": "2026-11-22T10:00:00.000+0200", "doneAt": "bad", "status": {"groupName": "Ok"}}
    item = make_entry(r, raw_key="raw/k", source="reports", expires_at=1800000000).item
    assert item["sentAt"] == {"S": "2026-11-22T08:00:00.000Z"}
    assert "doneAt" not in item
    assert item["statusGroup"] == {"S": "OK"} and item["expiresAt"] == {"N": "1800000000"}
    assert stored_report(item) == r
