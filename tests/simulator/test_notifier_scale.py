"""10,000 reports through the notifier while PutEvents refuses a fifth of the entries: every
change reaches the bus, none lost, none counted twice."""

from __future__ import annotations

import json
import random

import pytest

from dlr_vault import aws
from local.infobip_sim import make_reports
from tests.kit import put_events_refusing


@pytest.mark.slow
def test_ten_thousand_reports_with_a_fifth_of_putevents_entries_refused(make_stack, sim, collect, notify, capsys):
    stack = make_stack(EventsEnabled="true", BulkCountersEnabled="true")
    feeder = notify(stack)
    sim.add(make_reports(10_000, bulks=10, seed=41))
    assert collect()["indexed"] == 10_000
    dice = random.Random(41)
    refused = {"entries": 0, "offered": 0}

    def a_fifth(entry: dict) -> bool:
        refused["offered"] += 1
        no = dice.random() < 0.2
        refused["entries"] += no
        return no

    with put_events_refusing(aws.client("events"), a_fifth) as accepted:
        stats = feeder.drain()
    changes = {(r["messageId"], r["doneAt"], r["status"]["id"]) for r in sim.handed_out}
    published = [json.loads(e["Detail"]) for e in accepted]
    keys = {(d["reportV1"]["messageId"], d["reportV1"]["doneAt"], d["report"]["status"]["id"]) for d in published}
    assert len(changes) == 10_000 and keys == changes, f"{len(changes - keys)} changes lost"
    assert 0.15 < refused["entries"] / refused["offered"] < 0.25
    ddb = aws.client("dynamodb")
    messages = sum(int(i["messages"]["N"]) for i in ddb.scan(TableName=stack.names["BulkCountersTable"])["Items"])
    assert messages == 10_000
    with capsys.disabled():
        print(
            f"\n10,000 reports: {stats.records} stream records, {stats.invocations} invocations ({stats.redeliveries} redeliveries, "
            f"{stats.failed_batches} failed batches); PutEvents refused {refused['entries']} of {refused['offered']} entries offered "
            f"({refused['entries'] / refused['offered']:.1%}); {len(published)} events accepted, {len(keys)} distinct changes "
            f"published of {len(changes)}, lost {len(changes - keys)}; bulk counters hold {messages} messages"
        )
