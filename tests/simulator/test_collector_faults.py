"""Every fault the collector can meet, injected, then cleared, then the next run.

Each test asserts that every report Infobip handed out is archived and findable, and that
no report was overwritten by an older one.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from dlr_vault.run import CollectorFailed
from local.infobip_sim import Fault, make_reports
from local.stack import load_handler
from tests.conftest import LOCAL_API_KEY
from tests.kit import (
    FakeLambdaContext,
    assert_nothing_lost,
    aws_failing,
    dynamodb_unprocessed,
    fallback_pages,
    kept,
    load_event,
    on_the_wire,
    stored_report,
    wire_answer,
)


def _next_run_gets_everything(stack, sim, collect, waiting: int) -> None:
    """The failed run consumed nothing at Infobip; the next one pulls it all and loses none."""
    assert len(sim.pending) == waiting
    assert collect()["fetched"] == waiting
    assert_nothing_lost(stack, sim.handed_out)


def _fails(collect, match: str) -> CollectorFailed:
    with pytest.raises(CollectorFailed, match=match) as raised:
        collect()
    return raised.value


# ------------------------------------------------------------------ Infobip


def test_401_fails_fast_consumes_nothing_and_the_next_run_gets_everything(stack, sim, collect):
    sim.add(make_reports(120))
    sim.inject(Fault("status", 401, b'{"requestError":{"serviceException":{"messageId":"UNAUTHORIZED","text":"Invalid login details"}}}'))
    failure = _fails(collect, "HTTP 401")
    assert len(sim.requests) == 1, "a 401 must not be retried"
    assert failure.stats.fetched == 0
    _next_run_gets_everything(stack, sim, collect, 120)


def test_the_key_comes_from_the_secret_and_a_wrong_one_is_a_loud_401(stack, sim, collect):
    sim.add(make_reports(10))
    secret = stack.resolver.parameter("InfobipApiKeySecret")
    stack.clients("secretsmanager").put_secret_value(SecretId=secret, SecretString="not-the-key")
    _fails(collect, "HTTP 401.*check the API key")
    assert len(sim.pending) == 10
    stack.clients("secretsmanager").put_secret_value(SecretId=secret, SecretString=sim.api_key)
    from local.stack import reset_runtime

    reset_runtime()  # a new container reads the rotated key (a warm one within the 5-minute cache)
    assert collect()["fetched"] == 10
    assert_nothing_lost(stack, sim.handed_out)


def test_429_honours_retry_after(stack, sim, collect):
    sim.add(make_reports(30))
    sim.inject(Fault("status", 429, b'{"errorCode":"E429"}', {"Retry-After": "1"}))
    result = collect()
    assert result["retries"] == 1 and result["fetched"] == 30
    assert_nothing_lost(stack, sim.handed_out)


def test_retry_after_that_does_not_fit_the_time_budget_fails_without_consuming(stack, sim, collect):
    sim.add(make_reports(30))
    sim.inject(Fault("status", 429, b'{"errorCode":"E429"}', {"Retry-After": "3600"}))
    _fails(collect, "giving up.*429")
    _next_run_gets_everything(stack, sim, collect, 30)


def test_5xx_are_retried_with_backoff(stack, sim, collect):
    sim.add(make_reports(30))
    sim.inject(Fault("status", 500), Fault("status", 502), Fault("status", 503))
    result = collect()
    assert result["retries"] == 3 and result["fetched"] == 30
    assert_nothing_lost(stack, sim.handed_out)


def test_a_slow_answer_within_the_read_timeout_is_kept(stack, sim, collect):
    sim.add(make_reports(30))
    sim.inject(Fault("delay", seconds=1.0))
    assert collect()["fetched"] == 30
    assert_nothing_lost(stack, sim.handed_out)


def test_an_answer_lost_in_transit_is_reported_as_a_possible_gap(make_stack, sim, collect):
    stack = make_stack(PageSize="50")
    sim.add(make_reports(250))
    sim.inject(Fault("drop"))
    result = collect()
    assert result["possible_gaps"] == 1
    lost = 250 - result["fetched"]
    assert lost == 50, "the dropped page was consumed at Infobip (only /sms/3/logs can still tell of it)"
    assert_nothing_lost(stack, sim.handed_out[lost:])


def test_garbage_200_is_kept_raw_quarantined_and_the_run_goes_on(stack, sim, collect):
    sim.add(make_reports(80))
    sim.inject(Fault("garbage"))
    result = collect()
    assert result["quarantined"] == 1 and result["fetched"] == 80
    state = assert_nothing_lost(stack, sim.handed_out)
    assert b"<html><body>502 Bad Gateway</body></html>" in state.raw_pages.values()


def test_truncated_page_keeps_its_exact_bytes_in_raw(make_stack, sim, collect):
    stack = make_stack(PageSize="50")
    sim.add(make_reports(80))
    sim.inject(Fault("truncated"))
    result = collect()
    assert result["quarantined"] == 1 and result["fetched"] == 30
    full = json.dumps({"results": sim.handed_out[:50]}, ensure_ascii=False).encode()
    assert full[: len(full) // 2] in kept(stack).raw_pages.values(), "raw/ must hold the bytes exactly as received"
    assert_nothing_lost(stack, sim.handed_out[50:])


def test_deprecation_headers_are_counted(stack, sim, collect):
    sim.add(make_reports(5))
    sim.extra_headers = {"Deprecation": "true", "Sunset": "Wed, 01 Jul 2027 00:00:00 GMT"}
    assert collect()["deprecation_notices"] == 1


def _page(*reports: dict) -> bytes:
    """A report page as Infobip would write it: ASCII JSON, non-ASCII as escapes."""
    return json.dumps({"results": list(reports)}).encode()


def test_a_lone_surrogate_is_kept_indexed_and_served_not_a_page_that_blocks_every_run(stack, sim, collect, api):
    """`\\ud800` without its pair is valid JSON but not UTF-8; it once failed every run's catch-up."""
    report = {**make_reports(1)[0].render(1), "messageId": "m-surrogate", "text": "\ud800 lone half"}
    broken_id = {**make_reports(1, seed=9)[0].render(1), "messageId": "m-\udfff"}
    sim.add(make_reports(5))
    sim.inject(Fault("status", 200, _page(report, broken_id)))  # a 200 page with these two
    assert collect()["unindexable"] == 1  # a messageId DynamoDB cannot hold stays in raw/ only
    assert collect()["outcome"] == "ok"  # and nothing is left to block the next run
    state = assert_nothing_lost(stack, sim.handed_out)
    assert stored_report(state.index["m-surrogate"]) == report
    assert report in state.jsonl_reports and broken_id in state.raw_reports
    served = requests.get(f"{api.url}/sms/1/reports", params={"messageId": "m-surrogate"}, headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    assert served.status_code == 200 and served.json()["results"][0]["text"] == "\ud800 lone half"


def test_reports_dynamodb_cannot_hold_stay_in_raw_and_do_not_block_the_run(stack, sim, collect):
    """A messageId over DynamoDB's 2048-byte key limit, a report over its 400 KB item limit."""
    long_id = {**make_reports(1)[0].render(1), "messageId": "m" * 3000}
    huge = {**make_reports(1, seed=4)[0].render(1), "messageId": "m-huge", "text": "x" * 450_000}
    fine = {**make_reports(1, seed=5)[0].render(1), "messageId": "m-fine"}
    sim.inject(Fault("status", 200, _page(long_id, huge, fine)))
    result = collect()
    assert result["outcome"] == "ok" and result["unindexable"] == 2 and result["indexed"] == 1
    state = kept(stack)
    assert set(state.index) == {"m-fine"}
    assert long_id in state.raw_reports and huge in state.raw_reports and huge in state.jsonl_reports


# ------------------------------------------------------------------ S3


def test_s3_failing_transiently_is_absorbed(stack, sim, collect):
    sim.add(make_reports(300))
    with aws_failing(stack.clients("s3"), "PutObject", times=6, url_contains="/raw/"):
        result = collect()
    assert result["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out)


def test_s3_down_for_a_run_indexes_the_page_keeps_its_body_in_the_fallback_table_and_fails(make_stack, sim, collect, log_lines):
    stack = make_stack(PageSize="50")
    sim.add(make_reports(120))
    with aws_failing(stack.clients("s3"), "PutObject", url_contains="/raw/"):
        failure = _fails(collect, "archiving raw/.*failed")
    consumed = sim.handed_out[:]
    assert len(consumed) == 50 and len(sim.pending) == 70, "stop pulling once a page could not be archived"
    state = kept(stack)
    assert not state.raw_pages
    for report in consumed:  # still findable through the lookup
        assert stored_report(state.index[report["messageId"]]) == report
    (page,) = fallback_pages(stack).values()
    assert json.loads(page)["results"] == consumed
    assert not [line for line in log_lines if "body_gzip_b64" in line], "report bodies stay out of the logs"
    assert failure.stats.indexed == 50
    assert collect()["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out[50:])


def test_s3_failing_on_the_next_page_finishes_the_page_in_flight_first(make_stack, sim, collect, log_lines):
    """Page 1 is on the storer thread when page 2's raw put fails: page 1 completes (archived,
    indexed, checkpointed) before page 2 is indexed from memory and kept in the fallback table."""
    stack = make_stack(PageSize="50")
    sim.add(make_reports(120))
    raw_puts = {"seen": 0}

    def second_raw_put_fails(request, **_):
        if "/raw/" in request.url:
            raw_puts["seen"] += 1
            if raw_puts["seen"] > 1:
                return wire_answer(request, 503, {}, b"<Error><Code>ServiceUnavailable</Code></Error>")
        return None

    with on_the_wire(stack.clients("s3"), "PutObject", second_raw_put_fails):
        failure = _fails(collect, "archiving raw/.*failed")
    first, second = sim.handed_out[:50], sim.handed_out[50:]
    assert len(second) == 50 and len(sim.pending) == 20
    assert failure.stats.indexed == 100
    state = assert_nothing_lost(stack, first)
    (raw_key,) = state.raw_pages
    checkpoint = stack.clients("dynamodb").get_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "collector"}})["Item"]
    assert checkpoint["lastRawKey"]["S"] == raw_key
    for report in second:  # indexed from memory, its only other copy in the fallback table
        assert stored_report(state.index[report["messageId"]]) == report
    (page,) = fallback_pages(stack).values()
    assert json.loads(page)["results"] == second
    assert collect()["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out[100:])


def test_storage_unwritable_at_preflight_consumes_nothing(stack, sim, collect):
    sim.add(make_reports(40))
    with aws_failing(stack.clients("s3"), "PutObject", status=403, code="AccessDenied"):
        _fails(collect, "preflight failed")
    with aws_failing(stack.clients("dynamodb"), "PutItem", status=400, code="AccessDeniedException"):
        _fails(collect, "preflight failed")
    assert sim.requests == []
    _next_run_gets_everything(stack, sim, collect, 40)


# ------------------------------------------------------------------ DynamoDB


def test_dynamodb_throttling_is_retried(stack, sim, collect):
    sim.add(make_reports(400))
    ddb = stack.clients("dynamodb")
    with (
        dynamodb_unprocessed(ddb, times=5) as unprocessed,
        aws_failing(ddb, "BatchWriteItem", times=1, status=400, code="ProvisionedThroughputExceededException") as throttled,
    ):
        result = collect()
    assert unprocessed["calls"] == 5 and throttled["failed"] == 1
    assert result["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out)


def test_dynamodb_read_throttling_still_keeps_the_newest(stack, sim, collect):
    """The 'is it newer?' read leaves keys unprocessed: they are asked again, never assumed absent."""
    originals, updates = make_reports(60), make_reports(60, updates=60)[60:]
    sim.add(updates)
    collect()
    sim.add(originals)  # older reports of the same messages arrive late
    with dynamodb_unprocessed(stack.clients("dynamodb"), "BatchGetItem", times=3) as unprocessed:
        result = collect()
    assert unprocessed["calls"] == 3
    assert result["not_newer"] == 60 and result["indexed"] == 0
    assert_nothing_lost(stack, sim.handed_out)


def test_dynamodb_down_for_a_run_is_healed_from_raw_by_the_next_run(make_stack, sim, collect):
    stack = make_stack(PageSize="100")
    sim.add(make_reports(250))
    with aws_failing(stack.clients("dynamodb"), "BatchWriteItem", status=500, code="InternalServerError"):
        failure = _fails(collect, "InternalServerError|IndexWriteError|run failed")
    # the next page is fetched while the first is indexed, so the failure surfaces one page later:
    # both are in raw/, neither is indexed, and the checkpoint has not moved past either
    assert failure.stats.pages == 2 and len(kept(stack).raw_pages) == 2 and not kept(stack).index
    result = collect()
    assert result["caught_up_pages"] == 2
    assert_nothing_lost(stack, sim.handed_out)


# ------------------------------------------------------------------ time, concurrency, ordering


def test_time_budget_running_out_mid_backlog_stops_cleanly_and_the_next_run_resumes(make_stack, sim, collect):
    stack = make_stack(PageSize="100")
    sim.add(make_reports(3000))
    reserve = 3.05 + 2 + 5  # connect + read timeout + page cost the collector keeps in hand
    first = collect(seconds=reserve + 1.0)
    assert first["outcome"] == "ok"
    assert 0 < first["fetched"] < 3000
    second = collect()
    assert first["fetched"] + second["fetched"] == 3000
    assert_nothing_lost(stack, sim.handed_out)


def test_two_runs_at_once_one_works_the_other_stands_aside(stack, sim):
    sim.add(make_reports(200))
    sim.inject(Fault("delay", seconds=1.0))  # hold the first run inside its lease
    handler = load_handler("collector").lambda_handler
    results = []
    first = threading.Thread(target=lambda: results.append(handler(load_event("schedule.json"), FakeLambdaContext())))
    first.start()
    deadline = time.monotonic() + 30
    while not sim.requests and time.monotonic() < deadline:  # the first run is inside its lease, waiting on Infobip
        time.sleep(0.01)
    results.append(handler(load_event("schedule.json"), FakeLambdaContext()))
    first.join()
    assert sorted(r["outcome"] for r in results) == ["ok", "skipped"]
    assert_nothing_lost(stack, sim.handed_out)


def test_the_same_report_twice_changes_nothing(stack, sim, collect):
    reports = make_reports(20)
    sim.add(reports)
    collect()
    before = kept(stack).index
    sim.add(reports[:5])
    result = collect()
    assert result["indexed"] == 0 and result["not_newer"] == 5
    assert kept(stack).index == before


def test_an_older_report_arriving_after_a_newer_one_does_not_overwrite_it(stack, sim, collect):
    older, newer = make_reports(10), make_reports(10, updates=10)[10:]
    sim.add(newer)
    collect()
    sim.add(older)
    collect()
    state = kept(stack)
    for report in newer:
        rendered = report.render(1)
        assert stored_report(state.index[rendered["messageId"]]) == rendered
    assert_nothing_lost(stack, sim.handed_out)


def test_newer_and_older_in_one_page_keep_the_newest(stack, sim, collect):
    reports = make_reports(10, updates=10)
    sim.add(reports[10:] + reports[:10])  # updates first, originals after, same page
    collect()
    assert_nothing_lost(stack, sim.handed_out)
    assert {stored_report(i)["status"]["groupName"] for i in kept(stack).index.values()} == {"DELIVERED"}


@pytest.mark.parametrize("updates_first", [True, False])
def test_newer_and_older_on_consecutive_pages_keep_the_newest(make_stack, sim, collect, updates_first):
    """Page N+1 is fetched while page N is indexed; pages are still indexed one at a time, in order."""
    stack = make_stack(PageSize="10")
    reports = make_reports(10, updates=10)
    sim.add(reports[10:] + reports[:10] if updates_first else reports)
    assert collect()["pages"] >= 2
    assert_nothing_lost(stack, sim.handed_out)
    assert {stored_report(i)["status"]["groupName"] for i in kept(stack).index.values()} == {"DELIVERED"}


def test_the_next_page_is_fetched_while_the_previous_one_is_indexed(make_stack, sim, collect):
    stack = make_stack(PageSize="100")
    sim.add(make_reports(250))
    requests_seen: list[int] = []

    def hold_the_first_write(request, **_):
        """Hold page 1's first batch write until Infobip sees a second request (5 s at most)."""
        if not requests_seen:
            deadline = time.monotonic() + 5
            while len(sim.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            requests_seen.append(len(sim.requests))

    with on_the_wire(stack.clients("dynamodb"), "BatchWriteItem", hold_the_first_write):
        result = collect()
    assert requests_seen and min(requests_seen) >= 2, "page 2 was not requested while page 1 was being indexed"
    assert result["fetched"] == 250 and result["indexed"] == 250
    assert_nothing_lost(stack, sim.handed_out)


def test_infobip_failing_on_the_next_page_lets_the_page_in_flight_finish(make_stack, sim, collect):
    stack = make_stack(PageSize="100")
    sim.add(make_reports(300))
    sim.inject(Fault("delay", seconds=0), Fault("status", 401, b'{"requestError":{"serviceException":{"messageId":"UNAUTHORIZED"}}}'))
    failure = _fails(collect, "401")
    assert failure.stats.pages == 1 and failure.stats.indexed == 100, "the page in flight was finished, not abandoned"
    (raw_key,) = kept(stack).raw_pages
    state = stack.clients("dynamodb").get_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "collector"}})["Item"]
    assert state["lastRawKey"]["S"] == raw_key
    _next_run_gets_everything(stack, sim, collect, 200)


def test_replaying_the_whole_archive_changes_nothing(stack, sim, collect):
    sim.add(make_reports(300, updates=40))
    collect()
    before = kept(stack)
    from dlr_vault import aws
    from dlr_vault.state import RunState

    RunState(stack.names["StateTable"], aws.client("dynamodb")).reset()
    result = collect()
    assert result["caught_up_pages"] == len(before.raw_pages)
    assert result["indexed"] == 0
    assert kept(stack).index == before.index


# ------------------------------------------------------------------ state table, secret


def test_state_table_down_at_the_start_consumes_nothing(stack, sim, collect):
    sim.add(make_reports(30))
    with aws_failing(stack.clients("dynamodb"), "UpdateItem", status=500, code="InternalServerError"):
        _fails(collect, "state table unavailable, nothing fetched")
    assert sim.requests == []
    _next_run_gets_everything(stack, sim, collect, 30)


def test_checkpoint_failing_after_indexing_is_healed_by_the_next_run(make_stack, sim, collect):
    stack = make_stack(PageSize="20")
    sim.add(make_reports(50))
    ddb = stack.clients("dynamodb")
    with aws_failing(ddb, "UpdateItem", body_contains="lastRawKey") as failures:  # the lease works, the checkpoint does not
        failure = _fails(collect, "InternalServerError|ServiceUnavailable")
    assert failures["failed"] >= 1 and failure.stats.indexed == 20
    result = collect()
    assert result["caught_up_pages"] == 2  # the failed page and the one fetched while it was indexed
    assert result["not_newer"] == 20 and result["indexed"] == 30, "the caught-up page was already indexed: nothing rewritten"
    assert_nothing_lost(stack, sim.handed_out)


def test_secrets_manager_down_fails_before_anything_is_consumed(stack, sim, collect):
    sim.add(make_reports(10))
    with aws_failing(stack.clients("secretsmanager"), "GetSecretValue", status=500, code="InternalServiceError"):
        _fails(collect, "run failed")
    assert sim.requests == []
    _next_run_gets_everything(stack, sim, collect, 10)
