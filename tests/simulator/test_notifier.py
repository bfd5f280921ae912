"""The change feed: ReportsTable stream records -> one event per real change of a stored report.

The stack runs on moto with EventsEnabled, EventsQueueEnabled and BulkCountersEnabled; the stream
is fed to the real notifier handler the way Lambda would (local/streams.py) and the events are
read back from the template's own events queue (a rule on the bus -> SQS).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import requests

from dlr_vault import aws
from dlr_vault.changes import DETAIL_TYPE, SOURCE
from dlr_vault.index import ReportIndex, make_entry
from dlr_vault.reports import FINAL_GROUPS, log_to_report
from local.infobip_sim import SimReport, make_reports
from local.streams import FeedStats
from tests.conftest import LOCAL_API_KEY
from tests.kit import aws_failing, put_events_refusing, queued, stored_report

TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def later(report: dict, minutes: int, group: tuple) -> SimReport:
    """A later report for the same message with another status (v3 semantics)."""
    done = datetime.strptime(report["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z") + timedelta(minutes=minutes)
    status = dict(zip(("groupId", "groupName", "id", "name", "description"), group, strict=True))
    fields = {("sender" if k == "from" else "count" if k == "smsCount" else k): v for k, v in report.items()}
    return SimReport({**fields, "doneAt": done.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + done.strftime("%z"), "status": status})


DELIVERED = (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset")


def served_v3(api, message_id: str) -> dict:
    answer = requests.get(f"{api.url}/sms/3/reports", params={"messageId": message_id}, headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    (report,) = answer.json()["results"]
    return report


def test_new_reports_give_one_event_each_with_the_served_v3_item(fan_out, sim, collect, notify, api):
    feeder = notify(fan_out)
    sim.add(make_reports(40, bulks=2, seed=3))
    collect()
    assert feeder.drain().records == 40
    events = queued(fan_out)
    assert len(events) == 40 and {e["source"] for e in events} == {SOURCE} and {e["detail-type"] for e in events} == {DETAIL_TYPE}
    for event in events:
        detail = event["detail"]
        assert detail["report"] == served_v3(api, detail["messageId"]), "the detail is the item GET /sms/3/reports serves"
        assert detail["previousStatusGroup"] is None and detail["recoveredFromLogs"] is False
        assert detail["isFinal"] == (detail["statusGroup"] in FINAL_GROUPS)
        assert detail["rawKey"].startswith("raw/") and detail["reportV1"]["messageId"] == detail["messageId"]


def test_a_status_change_is_one_event_naming_the_previous_group(fan_out, sim, collect, notify):
    feeder = notify(fan_out)
    sim.add(make_reports(12, bulks=1, seed=4))
    collect()
    feeder.drain()
    first = {e["detail"]["messageId"]: e["detail"] for e in queued(fan_out)}
    pending = [d for d in first.values() if d["statusGroup"] == "PENDING"][:2]
    sim.add([later(sim.handed_out[[r["messageId"] for r in sim.handed_out].index(d["messageId"])], 30, DELIVERED) for d in pending])
    collect()
    feeder.drain()
    changed = [e["detail"] for e in queued(fan_out)]
    assert sorted(d["messageId"] for d in changed) == sorted(d["messageId"] for d in pending)
    assert all(d["previousStatusGroup"] == "PENDING" and d["statusGroup"] == "DELIVERED" and d["isFinal"] for d in changed)


def test_rewrites_that_leave_the_report_unchanged_publish_nothing(fan_out, sim, collect, notify):
    """A backfill adding index attributes, a no-op rewrite (moto yields MODIFY for it, AWS nothing)
    and a replayed page all leave the stored report as it was: no event."""
    feeder = notify(fan_out)
    sim.add(make_reports(30, bulks=1, seed=5))
    collect()
    feeder.drain()
    assert len(queued(fan_out)) == 30
    ddb, table = aws.client("dynamodb"), fan_out.names["ReportsTable"]
    items = ddb.scan(TableName=table)["Items"]
    for item in items:
        ddb.put_item(TableName=table, Item={**item, "toHash": {"S": "a-keyed-hash"}, "doneDay": {"S": "2026-11-22"}})  # backfill
        ddb.put_item(TableName=table, Item={**item, "toHash": {"S": "a-keyed-hash"}, "doneDay": {"S": "2026-11-22"}})  # no-op
    reordered = json.dumps(dict(reversed(stored_report(items[0]).items())), separators=(", ", ": "))
    ddb.put_item(TableName=table, Item={**items[0], "report": {"S": reordered}})  # same JSON, other text
    sim.add([SimReport(dict(r, sender=r.pop("from"), count=r.pop("smsCount"))) for r in [dict(x) for x in sim.handed_out[:5]]])
    collect()  # the same reports again: the index writes nothing
    stats = feeder.drain()
    assert stats.records == 2 * len(items) + 1 and stats.failed_batches == 0
    assert queued(fan_out) == []


def test_a_recovered_report_is_marked_and_the_real_one_replacing_it_is_an_event_too(fan_out, notify):
    feeder = notify(fan_out)
    index = ReportIndex(fan_out.names["ReportsTable"], aws.client("dynamodb"), aws.dynamodb_batches())
    (sample,) = [r.render(3) for r in make_reports(1, bulks=1, seed=6)]
    recovered = make_entry(log_to_report(sample), raw_key="raw/dt=2026-11-22/x.logs.json.gz", source="logs", expires_at=None)
    index.put([recovered])
    feeder.drain()
    ((event,),) = [queued(fan_out)]
    assert event["detail"]["recoveredFromLogs"] is True and event["detail"]["report"]["recoveredFromLogs"] is True
    real = make_entry(sample, raw_key="raw/dt=2026-11-22/y.v3.json.gz", source="reports", expires_at=None)
    index.put([real])  # same doneAt: the real report wins the tie
    feeder.drain()
    ((event,),) = [queued(fan_out)]
    assert event["detail"]["recoveredFromLogs"] is False and "recoveredFromLogs" not in event["detail"]["report"]
    assert event["detail"]["previousStatusGroup"] == event["detail"]["statusGroup"]


def test_ttl_expiry_and_an_operators_erasure_publish_nothing(fan_out, sim, collect, notify):
    feeder = notify(fan_out)
    sim.add(make_reports(4, bulks=1, seed=7))
    collect()
    feeder.drain()
    queued(fan_out)
    ddb, table = aws.client("dynamodb"), fan_out.names["ReportsTable"]
    for report in sim.handed_out[:2]:
        ddb.delete_item(TableName=table, Key={"messageId": {"S": report["messageId"]}})
    expired, erased = feeder.read()
    assert expired["eventName"] == erased["eventName"] == "REMOVE"
    stats = FeedStats()
    feeder.deliver([{**expired, "userIdentity": TTL}, erased], stats)  # moto cannot expire items: TTL's record shape, as AWS sends it
    assert stats.invocations == 1 and queued(fan_out) == []


def test_events_leave_in_order_per_message_when_putevents_refuses_an_earlier_one(fan_out, sim, collect, notify):
    feeder = notify(fan_out)
    reports = make_reports(6, bulks=1, seed=8)
    sim.add(reports[:3])
    collect()
    sim.add([later(r, 10, DELIVERED) for r in sim.handed_out[:3]])
    collect()
    records = feeder.read()
    assert len(records) == 6  # three messages, each INSERT then MODIFY, in one batch
    seen = {"refused": set()}

    def refuse_each_first_event_once(entry: dict) -> bool:
        message = json.loads(entry["Detail"])["messageId"]
        if message in seen["refused"]:
            return False
        seen["refused"].add(message)
        return True

    with put_events_refusing(aws.client("events"), refuse_each_first_event_once) as accepted:
        stats = FeedStats()
        feeder.deliver(records, stats)
    assert stats.invocations == 1 and stats.redeliveries == 0
    order = [(json.loads(e["Detail"])["messageId"], json.loads(e["Detail"])["statusGroup"]) for e in accepted]
    for message in seen["refused"]:
        mine = [group for m, group in order if m == message]
        assert mine[-1] == "DELIVERED" and len(mine) == 2, (message, mine)


def test_putevents_throttling_whole_calls_or_refusing_a_fifth_of_the_entries_loses_nothing(fan_out, sim, collect, notify):
    feeder = notify(fan_out)
    events = aws.client("events")
    sim.add(make_reports(60, bulks=3, seed=9))
    collect()
    with aws_failing(events, "PutEvents", times=4, status=400, code="ThrottlingException") as throttled:
        first = feeder.drain()
    assert throttled["failed"] == 4 and first.redeliveries == 0 and first.failed_batches == 0
    sim.add(make_reports(60, bulks=3, seed=19))
    collect()
    counter = {"n": 0}

    def every_fifth(entry: dict) -> bool:
        counter["n"] += 1
        return counter["n"] % 5 == 0

    with put_events_refusing(events, every_fifth, code="ThrottlingException") as accepted:
        second = feeder.drain()
    assert counter["n"] > 60 + 12 and len(accepted) == 60
    assert second.redeliveries == 0 and second.failed_batches == 0
    assert sorted(e["detail"]["messageId"] for e in queued(fan_out)) == sorted(r["messageId"] for r in sim.handed_out)


def test_putevents_down_for_a_whole_batch_ends_in_the_failure_queue_after_bounded_retries(fan_out, sim, collect, notify, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries add nothing here but waiting
    from local.stack import reset_runtime

    reset_runtime()
    feeder = notify(fan_out)
    sim.add(make_reports(20, bulks=1, seed=10))
    collect()
    with aws_failing(aws.client("events"), "PutEvents", status=503, code="ServiceUnavailable") as down:
        stats = feeder.drain()
    retries = fan_out.resolver.template["Resources"]["NotifierFunction"]["Properties"]["Events"]["Stream"]["Properties"][
        "MaximumRetryAttempts"
    ]
    assert stats.invocations == retries + 1 and stats.failed_batches == 1 and down["failed"] > retries
    assert queued(fan_out) == [], "nothing was published"
    ((failure,),) = [queued(fan_out, "NotifierFailedBatchesQueue")]
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 20 and info["streamArn"] == feeder.stream_arn and info["shardId"] == feeder.shard
    counters = aws.client("dynamodb").get_item(
        TableName=fan_out.names["BulkCountersTable"], Key={"bulkId": {"S": sim.handed_out[0]["bulkId"]}}
    )
    assert counters["Item"]["messages"]["N"] == "20", "eleven deliveries of the batch counted it once"


def test_the_sample_stream_event_as_sam_local_invoke_would_pass_it(fan_out, notify):
    from local.stack import load_handler
    from tests.kit import FakeLambdaContext, load_event

    notify(fan_out)
    answer = load_handler("notifier").lambda_handler(load_event("notifier_stream.json"), FakeLambdaContext())
    assert answer == {"batchItemFailures": [], "state": {}}
    details = [e["detail"] for e in queued(fan_out)]
    per_message: dict[str, list] = {}
    for d in details:  # order holds per message; across messages it need not
        per_message.setdefault(d["messageId"], []).append((d["previousStatusGroup"], d["statusGroup"]))
    assert per_message == {
        "msg-1-0000000": [(None, "PENDING"), ("PENDING", "DELIVERED")],
        "msg-1-0000001": [(None, "UNDELIVERABLE")],
    }, "the TTL expiry at the end publishes nothing"
    item = aws.client("dynamodb").get_item(TableName=fan_out.names["BulkCountersTable"], Key={"bulkId": {"S": "BULK-000-1"}})["Item"]
    groups = {k: v["N"] for k, v in item.items() if k.startswith("g#")}
    assert item["messages"]["N"] == "2" and groups == {"g#DELIVERED": "1", "g#UNDELIVERABLE": "1"}, "PENDING came and went in one batch"


def test_the_notifiers_logs_carry_no_phone_number(fan_out, sim, collect, notify, log_lines, capsys):
    feeder = notify(fan_out)
    sim.add(make_reports(30, bulks=1, seed=11))
    collect()
    with put_events_refusing(aws.client("events"), lambda entry: True):
        refused = feeder.drain()
    assert refused.failed_batches == 1
    text = "\n".join(log_lines) + capsys.readouterr().out
    assert "events left unpublished after retries" in text and "stream batch handled" not in text
    assert not [r["to"] for r in sim.handed_out if r["to"] in text]
