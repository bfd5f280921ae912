"""Reconciliation against /sms/3/logs: reports lost in transit are found and served again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from local.infobip_sim import Fault
from local.stack import load_handler
from tests.conftest import LOCAL_API_KEY
from tests.kit import FakeLambdaContext, kept, load_event, recent, stored_report

FINAL = {"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"}


@pytest.fixture
def reconcile(aws):
    handler = load_handler("collector").lambda_handler

    def run(context=None):
        return handler(load_event("reconcile.json"), context or FakeLambdaContext())

    return run


def stored(stack, message_id):
    item = kept(stack).index.get(message_id)
    return stored_report(item) if item else None


def test_reports_lost_in_transit_are_recovered_and_served_marked(make_stack, sim, collect, reconcile, api):
    stack = make_stack(PageSize="50")
    sim.add(recent(120, bulks=3))
    sim.inject(Fault("drop"))
    assert collect()["possible_gaps"] == 1
    lost = sim.handed_out[:50]
    assert not any(stored(stack, r["messageId"]) for r in lost)
    before = {m: i for m, i in kept(stack).index.items()}

    result = reconcile()
    assert {r["status"]["groupName"].upper() in FINAL for r in lost} == {True, False}, "final and pending reports were lost"
    assert result["mode"] == "reconcile" and result["gaps_recovered"] == len(lost)
    for report in lost:  # a pending report too: a message Infobip reported on is never a 404
        answer = requests.get(f"{api.url}/reports/{report['messageId']}", headers={"x-api-key": LOCAL_API_KEY}, timeout=10).json()
        assert answer["recoveredFromLogs"] is True
        assert answer["to"] == report["to"] and answer["from"] == report["from"]
        for field in ("bulkId", "sentAt", "doneAt", "status", "price", "smsCount", "mccMnc"):
            assert answer.get(field) == report.get(field), field
        assert answer["error"] == {**report["error"], "groupName": report["error"]["groupName"].upper()}  # logs spell it as v3 does
        assert "content" not in answer
    after = kept(stack)
    assert all(after.index[m] == item for m, item in before.items()), "reports already indexed are not rewritten"
    assert any(k.endswith(".logs.json.gz") for k in after.raw_pages), "logs pages are archived raw like any page"
    assert {r["messageId"] for r in after.jsonl_reports if r.get("recoveredFromLogs")} == {r["messageId"] for r in lost}


def test_a_later_report_replaces_the_recovered_one_only_if_newer_or_as_new(make_stack, sim, collect, reconcile):
    stack = make_stack(PageSize="10")
    reports = recent(10, bulks=1)
    finals = [r for r in reports if r.fields["status"]["groupName"].upper() in FINAL]
    sim.add(reports)
    sim.inject(Fault("drop"))
    collect()
    reconcile()
    same, newer, older = finals[0], finals[1], finals[2]
    assert stored(stack, same.fields["messageId"])["recoveredFromLogs"] is True
    update = dict(
        newer.fields,
        doneAt=(datetime.strptime(newer.fields["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z") + timedelta(minutes=5)).strftime(
            "%Y-%m-%dT%H:%M:%S.000%z"
        ),
    )
    stale = dict(older.fields, doneAt="2020-01-01T00:00:00.000+0000")
    from local.infobip_sim import SimReport

    sim.pending.extend([SimReport(dict(same.fields)), SimReport(update), SimReport(stale)])
    collect()
    assert "recoveredFromLogs" not in stored(stack, same.fields["messageId"]), "the real report wins a tie"
    assert stored(stack, newer.fields["messageId"])["doneAt"] == update["doneAt"]
    assert stored(stack, older.fields["messageId"])["recoveredFromLogs"] is True, "an older report never replaces"


def test_reconciliation_never_overwrites_a_newer_report(stack, sim, collect, reconcile):
    reports = recent(30, bulks=1)
    sim.add(reports)
    collect()
    newest = {m: stored(stack, m) for m in kept(stack).index}
    result = reconcile()
    assert result["gaps_recovered"] == 0 and result["log_entries"] == 30
    assert {m: stored(stack, m) for m in newest} == newest


def test_paging_through_three_logs_pages_by_cursor(stack, sim, reconcile):
    sim.add(recent(2_500, bulks=5))
    result = reconcile()
    assert result["log_entries"] == 2_500 and result["pages"] == 3
    assert [q.get("cursor") for q in sim.logs_requests] == [None, "1000", "2000"]
    assert all(q["useCursor"] == "true" and q["limit"] == "1000" for q in sim.logs_requests)
    assert result["gaps_recovered"] == len(sim.sent) == len(kept(stack).index)


def test_the_rate_limit_is_honoured_with_retry_after(stack, sim, reconcile):
    sim.add(recent(1_500, bulks=2))
    sim.logs_rate = (1, 2.0)  # one request per two seconds: the second page gets a 429
    result = reconcile()
    assert result["retries"] >= 1 and result["log_entries"] == 1_500
    assert result["outcome"] == "ok"


class OutOfTimeAfterOneLogsPage(FakeLambdaContext):
    """The Lambda's clock: plenty of time until the first logs page is in, then none."""

    def __init__(self, sim) -> None:
        super().__init__()
        self.sim = sim

    def get_remaining_time_in_millis(self) -> int:
        return 120_000 if not self.sim.logs_requests else 1_000


def test_time_budget_stops_after_a_page_and_the_next_run_resumes_by_cursor(stack, sim, reconcile):
    sim.add(recent(2_500, bulks=5))
    first = reconcile(OutOfTimeAfterOneLogsPage(sim))
    assert first["outcome"] == "ok" and first["pages"] == 1
    second = reconcile()
    assert [q.get("cursor") for q in sim.logs_requests] == [None, "1000", "2000"]
    assert sim.logs_requests[1]["sentSince"] == sim.logs_requests[0]["sentSince"]
    assert first["log_entries"] + second["log_entries"] == 2_500


def test_a_window_without_gaps_starts_where_the_last_one_ended(stack, sim, reconcile):
    sim.add(recent(10))
    reconcile()
    reconcile()
    first, second = sim.logs_requests
    ended = datetime.strptime(first["sentUntil"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert datetime.strptime(second["sentSince"], "%Y-%m-%dT%H:%M:%S.%f%z") == ended - timedelta(minutes=30)
