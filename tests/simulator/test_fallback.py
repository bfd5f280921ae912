"""A page S3 refused leaves no body in the logs: it is kept whole in the fallback table (a
10,000-report v1 page takes several chunks) and put back into raw/ by the restore command."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from dlr_vault.archive import Archive
from dlr_vault.fallback import CHUNK_BYTES, FallbackCorrupt, FallbackStore, restore
from dlr_vault.ingest import CollectorFailed
from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost, aws_failing, fallback_pages, kept, on_the_wire

CLOUDWATCH_EVENT_LIMIT = 256 * 1024 - 26  # bytes per log event, less CloudWatch's per-event overhead


@pytest.fixture
def big_page(make_stack, sim):
    """The stack pulling one full v1 page of 10,000 reports (about 330 KB of gzip)."""
    stack = make_stack(PageSize="10000")
    sim.add(make_reports(10_000))
    return stack


def _store(stack) -> FallbackStore:
    return FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb"))


@pytest.mark.slow
def test_a_10000_report_page_s3_refused_is_kept_whole_in_chunks_then_restored_and_nothing_is_lost(big_page, sim, collect, log_lines):
    with aws_failing(big_page.clients("s3"), "PutObject", url_contains="/raw/"), pytest.raises(CollectorFailed, match="archiving"):
        collect()
    assert len(sim.handed_out) == 10_000 and not kept(big_page).raw_pages
    store, archive = _store(big_page), Archive(big_page.names["ArchiveBucket"], big_page.clients("s3"))
    (raw_key,) = store.pending()
    items = big_page.clients("dynamodb").query(
        TableName=big_page.names["FallbackTable"],
        KeyConditionExpression="rawKey = :k",
        ExpressionAttributeValues={":k": {"S": raw_key}},
    )["Items"]
    assert len(items) >= 2 and all(len(i["data"]["B"]) <= CHUNK_BYTES for i in items), "split under DynamoDB's item limit"
    assert json.loads(fallback_pages(big_page)[raw_key])["results"] == sim.handed_out, "every report, none cut short"
    text = "\n".join(log_lines)
    assert "body_gzip_b64" not in text and sim.handed_out[0]["to"] not in text
    record = next(json.loads(line) for line in log_lines if "kept in the fallback table" in line)
    assert record["raw_key"] == raw_key and record["chunks"] == len(items)

    kept_bytes = store.load(raw_key)
    assert restore(store, archive) == ([raw_key], {})
    stored = big_page.clients("s3").get_object(Bucket=big_page.names["ArchiveBucket"], Key=raw_key)["Body"].read()
    assert stored == kept_bytes, "raw/ holds the very bytes the page would have had"
    assert list(store.pending()) == [] and restore(store, archive) == ([], {})  # running it again is harmless
    result = collect()  # the restored page is after the checkpoint: catch-up writes its JSON Lines copy
    assert result["outcome"] == "ok" and result["caught_up_pages"] == 1
    assert_nothing_lost(big_page, sim.handed_out)


def test_restore_is_idempotent_when_the_page_already_reached_raw(stack):
    """An operator re-running restore after a timeout: the object is there with the same bytes."""
    store, archive = _store(stack), Archive(stack.names["ArchiveBucket"], stack.clients("s3"))
    key = "raw/dt=2026-11-23/20261123T120000000000Z-fa11bac0ffee.v1.json.gz"
    store.keep(key, b'{"results":[]}')
    archive.put_raw(key, b'{"results":[]}')
    assert restore(store, archive) == ([key], {})
    assert archive.get_raw(key) == b'{"results":[]}' and list(store.pending()) == []


def test_a_page_missing_a_chunk_or_whose_key_is_taken_is_refused_and_stays_kept_and_the_others_are_restored(stack, capsys):
    from ops.restore_fallback import main

    store, archive = (
        FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb"), chunk_bytes=64),
        Archive(stack.names["ArchiveBucket"], stack.clients("s3")),
    )
    torn, taken, whole = (f"raw/dt=2026-11-23/20261123T12000{n}000000Z-0123456789ab.v1.json.gz" for n in range(3))
    for key in (torn, taken, whole):
        store.keep(key, json.dumps({"results": [{"messageId": f"{key[-20:]}-{i}"} for i in range(50)]}).encode())
    stack.clients("dynamodb").delete_item(TableName=stack.names["FallbackTable"], Key={"rawKey": {"S": torn}, "chunk": {"N": "1"}})
    archive.put_raw(taken, b'{"results":[]}')  # other bytes under its key: write-once refuses to replace them

    assert main(["--table", stack.names["FallbackTable"], "--bucket", stack.names["ArchiveBucket"]]) == 1

    out = capsys.readouterr().out
    assert f"restored {whole}" in out and f"NOT restored, still kept in the fallback table: {torn}" in out and f"{taken}: " in out
    assert sorted(store.pending()) == sorted([torn, taken])
    assert set(kept(stack).raw_pages) == {taken, whole} and kept(stack).raw_pages[taken] == b'{"results":[]}'
    with pytest.raises(FallbackCorrupt):
        store.load(torn)


def test_a_page_the_table_took_only_in_part_is_not_left_half_kept(stack, log_lines):
    """The table takes the first chunk and refuses the second: the page goes to the log whole and
    the half in the table is removed, so a restore never meets it."""
    store = FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb"), chunk_bytes=64)
    key = "raw/dt=2026-11-23/20261123T120000000000Z-feedfacecafe.v1.json.gz"
    body = json.dumps({"results": [{"messageId": f"m{i}"} for i in range(50)]}).encode()
    with aws_failing(stack.clients("dynamodb"), "PutItem", body_contains='"chunk": {"N": "1"}', status=500, code="InternalServerError"):
        store.keep(key, body)
    assert list(store.pending()) == []
    parts = [json.loads(line) for line in log_lines if "body_gzip_b64" in line]
    assert gzip.decompress(base64.b64decode("".join(p["body_gzip_b64"] for p in parts))) == body


def test_a_chunk_whose_put_landed_but_failed_is_removed_too(stack, log_lines):
    """The table stores the first chunk, but its answer never comes back: that chunk is removed
    too, so no half page waits in the table (blocking restores and erasures); the log has it whole."""
    from botocore.exceptions import ReadTimeoutError
    from moto.core.models import botocore_stubber

    store = FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb"), chunk_bytes=64)
    key = "raw/dt=2026-11-23/20261123T120000000000Z-0ddba11c0ffe.v1.json.gz"
    body = json.dumps({"results": [{"messageId": f"m{i}"} for i in range(50)]}).encode()

    def lands_then_times_out(request, event_name, **_):
        botocore_stubber(event_name=event_name, request=request)  # the chunk is stored ...
        raise ReadTimeoutError(endpoint_url=request.url)  # ... and the answer is lost

    with on_the_wire(stack.clients("dynamodb"), "PutItem", lands_then_times_out):
        store.keep(key, body)
    left = stack.clients("dynamodb").query(
        TableName=stack.names["FallbackTable"], KeyConditionExpression="rawKey = :k", ExpressionAttributeValues={":k": {"S": key}}
    )["Items"]
    assert left == [] and list(store.pending()) == []
    parts = [json.loads(line) for line in log_lines if "body_gzip_b64" in line]
    assert gzip.decompress(base64.b64decode("".join(p["body_gzip_b64"] for p in parts))) == body


def test_with_s3_and_dynamodb_both_down_the_page_is_logged_in_parts_under_the_event_limit(big_page, sim, collect, log_lines):
    """The last resort: the fallback table (and the index) refuse too, so the log holds the page."""
    ddb = big_page.clients("dynamodb")
    with (
        aws_failing(big_page.clients("s3"), "PutObject", url_contains="/raw/"),
        aws_failing(ddb, "PutItem", body_contains=big_page.names["FallbackTable"], status=500, code="InternalServerError"),
        aws_failing(ddb, "BatchGetItem", status=500, code="InternalServerError"),
        pytest.raises(CollectorFailed),
    ):
        collect()
    parts = [json.loads(line) for line in log_lines if "body_gzip_b64" in line]
    assert len(parts) >= 2, "a 10,000-report page is over one event's worth of base64"
    assert all(len(line.encode()) < CLOUDWATCH_EVENT_LIMIT for line in log_lines)
    assert [p["part"] for p in parts] == list(range(parts[0]["parts"]))
    body = gzip.decompress(base64.b64decode("".join(p["body_gzip_b64"] for p in parts)))
    assert json.loads(body)["results"] == sim.handed_out


def test_the_restore_command_restores_what_the_table_holds(stack, capsys):
    from ops.restore_fallback import main

    key = "raw/dt=2026-11-23/20261123T120000000000Z-c0ffeec0ffee.v1.json.gz"
    _store(stack).keep(key, b'{"results":[{"messageId":"m1"}]}')
    assert main(["--table", stack.names["FallbackTable"], "--bucket", stack.names["ArchiveBucket"]]) == 0
    assert f"restored {key}" in capsys.readouterr().out
    assert kept(stack).raw_pages == {key: b'{"results":[{"messageId":"m1"}]}'} and list(_store(stack).pending()) == []
