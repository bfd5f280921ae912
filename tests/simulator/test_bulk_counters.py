"""Per-bulk counters kept from the stream: at-least-once redelivery never counts twice, a status
change moves one count, and GET /bulks/{bulkId}/summary reads one item with the index's answer."""

from __future__ import annotations

import json

import pytest

from dlr_vault import aws
from dlr_vault.counters import BulkCounters
from dlr_vault.index import ReportIndex
from dlr_vault.lookup import Lookup
from local.api import ProxyEvents
from local.infobip_sim import make_reports
from local.streams import FeedStats
from tests.kit import FakeLambdaContext, on_the_wire
from tests.simulator.test_notifier import DELIVERED, later


@pytest.fixture
def counted(make_stack):
    return make_stack(BulkCountersEnabled="true")


def counters(stack) -> dict[str, dict]:
    """Every counters item, without the watermarks (they move; the counts must not)."""
    items = aws.client("dynamodb").scan(TableName=stack.names["BulkCountersTable"])["Items"]
    return {i["bulkId"]["S"]: {k: v for k, v in i.items() if not k.startswith("w#")} for i in items}


def from_the_index(stack, bulk_id: str) -> dict:
    """The summary as it is without counters: every report of the bulk read and summed."""
    index = ReportIndex(stack.names["ReportsTable"], aws.client("dynamodb"), aws.dynamodb_batches())
    return Lookup(index, cursors=None).bulk_summary(bulk_id)  # type: ignore[arg-type]


def from_the_counters(stack, bulk_id: str) -> dict:
    index = ReportIndex(stack.names["ReportsTable"], aws.client("dynamodb"), aws.dynamodb_batches())
    counters = BulkCounters(stack.names["BulkCountersTable"], aws.client("dynamodb"))
    return Lookup(index, cursors=None, counters=counters).bulk_summary(bulk_id)  # type: ignore[arg-type]


def bulks(sim) -> set[str]:
    return {r["bulkId"] for r in sim.handed_out}


def test_redelivered_whole_halved_or_overlapping_batches_leave_the_counters_unchanged(counted, sim, collect, notify):
    feeder = notify(counted)
    sim.add(make_reports(250, bulks=3, seed=21, updates=30))
    collect()
    records = feeder.read()
    assert len(records) == 250
    stats = FeedStats()
    feeder.deliver(records[:100], stats)
    once = counters(counted)
    feeder.deliver(records[:100], stats)  # the same batch again, whole
    feeder.deliver(records[:50], stats)  # and its halves, as after a bisect
    feeder.deliver(records[50:100], stats)
    assert counters(counted) == once
    feeder.deliver(records[60:170], stats)  # from a failed record on, with newer records behind it
    feeder.deliver(records[100:250], stats)
    feeder.deliver(records[100:250], stats)
    assert stats.redeliveries == 0 and stats.failed_batches == 0
    for bulk_id in bulks(sim):
        assert from_the_counters(counted, bulk_id) == from_the_index(counted, bulk_id)
    assert sum(int(c["messages"]["N"]) for c in counters(counted).values()) == 250


def test_a_status_change_moves_one_count_and_keeps_the_price(counted, sim, collect, notify):
    feeder = notify(counted)
    sim.add(make_reports(12, bulks=1, seed=22))
    collect()
    feeder.drain()
    ((bulk_id, before),) = counters(counted).items()
    pending = next(r for r in sim.handed_out if r["status"]["groupName"] == "PENDING")
    sim.add([later(pending, 30, DELIVERED)])
    collect()
    assert feeder.drain().records == 1
    after = counters(counted)[bulk_id]
    moved = {k: int(after[k]["N"]) - int(before.get(k, {"N": "0"})["N"]) for k in after if k.startswith("g#")}
    assert {k: n for k, n in moved.items() if n} == {"g#PENDING": -1, "g#DELIVERED": 1}
    assert after["messages"] == before["messages"] and {k: v for k, v in after.items() if k.startswith("p#")} == {
        k: v for k, v in before.items() if k.startswith("p#")
    }
    assert after["lastDoneAt"]["S"] > before["lastDoneAt"]["S"]
    assert from_the_counters(counted, bulk_id) == from_the_index(counted, bulk_id)


def test_ttl_expiry_keeps_the_counts_an_erasure_takes_the_message_out(counted, sim, collect, notify):
    feeder = notify(counted)
    sim.add(make_reports(6, bulks=1, seed=23))
    collect()
    feeder.drain()
    ((bulk_id, before),) = counters(counted).items()
    ddb = aws.client("dynamodb")
    for report in sim.handed_out[:2]:
        ddb.delete_item(TableName=counted.names["ReportsTable"], Key={"messageId": {"S": report["messageId"]}})
    expired, erased = feeder.read()
    feeder.deliver([{**expired, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}], FeedStats())
    assert counters(counted)[bulk_id] == before
    feeder.deliver([erased], FeedStats())
    assert int(counters(counted)[bulk_id]["messages"]["N"]) == 5
    assert from_the_counters(counted, bulk_id)["messages"] == 5


def test_the_summary_route_reads_one_item_when_counters_are_on(counted, sim, collect, notify, lookup_handler):
    feeder = notify(counted)
    sim.add(make_reports(90, bulks=2, seed=24))
    collect()
    feeder.drain()
    bulk_id = sorted(bulks(sim))[0]
    requests: list[str] = []
    ddb = aws.client("dynamodb")
    event = ProxyEvents().event("GET", f"/bulks/{bulk_id}/summary", {})
    with (
        on_the_wire(ddb, "GetItem", lambda request, **_: requests.append("GetItem")),
        on_the_wire(ddb, "Query", lambda request, **_: requests.append("Query")),
    ):
        answer = lookup_handler(event, FakeLambdaContext())
    assert answer["statusCode"] == 200 and requests == ["GetItem"]
    assert json.loads(answer["body"]) == from_the_index(counted, bulk_id)


def test_a_bulk_partly_indexed_before_the_counters_is_summed_from_the_index(counted, sim, collect, notify):
    feeder = notify(counted)
    sim.add(make_reports(12, bulks=1, seed=25))
    collect()
    feeder.read()  # indexed while counters were off: never counted
    pending = next(r for r in sim.handed_out if r["status"]["groupName"] == "PENDING")
    sim.add([later(pending, 30, DELIVERED)])
    collect()
    feeder.drain()
    bulk_id = pending["bulkId"]
    stored = BulkCounters(counted.names["BulkCountersTable"], aws.client("dynamodb")).get(bulk_id)
    assert stored is not None and not stored.consistent  # PENDING -1 of a message never counted in
    assert from_the_counters(counted, bulk_id) == from_the_index(counted, bulk_id)
    assert from_the_index(counted, bulk_id)["messages"] == 12
