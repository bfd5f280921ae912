"""raw/ is write-once: an overwrite is refused, and a retried put that had already landed is not a failure."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from dlr_vault.archive import Archive, RawKeyTaken
from dlr_vault.fallback import FallbackStore
from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost, kept, on_the_wire


def _versions(stack, key: str) -> list[dict]:
    listed = stack.clients("s3").list_object_versions(Bucket=stack.names["ArchiveBucket"], Prefix=key)
    return listed.get("Versions", [])


def test_an_overwrite_of_a_raw_page_is_refused_and_the_original_stays(stack):
    archive = Archive(stack.names["ArchiveBucket"], stack.clients("s3"))
    key = "raw/dt=2026-11-23/20261123T120000000000Z-abcdefabcdef.v1.json.gz"
    archive.put_raw(key, b'{"results":[{"messageId":"original"}]}')
    with pytest.raises(RawKeyTaken):
        archive.put_raw(key, b'{"results":[]}')
    assert archive.get_raw(key) == b'{"results":[{"messageId":"original"}]}'
    assert len(_versions(stack, key)) == 1, "the refused put left no version behind"


def test_putting_the_same_bytes_again_counts_as_stored(stack):
    archive = Archive(stack.names["ArchiveBucket"], stack.clients("s3"))
    key = "raw/dt=2026-11-23/20261123T120000000000Z-000000000001.v1.json.gz"
    archive.put_raw(key, b'{"results":[]}')
    archive.put_raw(key, b'{"results":[]}')  # no exception: it is there, byte for byte
    assert len(_versions(stack, key)) == 1


def test_a_raw_put_whose_answer_was_lost_after_it_landed_is_archived_not_failed(make_stack, sim, collect):
    """The first PutObject of each raw page reaches S3, then its answer times out; botocore retries
    with If-None-Match: *, S3 answers 412, and the archive finds its own bytes there."""
    stack = make_stack(PageSize="50")
    sim.add(make_reports(120))
    s3 = stack.clients("s3")
    landed = []

    def lands_then_times_out(request, event_name, **_):
        if "/raw/" not in request.url or request.url in landed:
            return None
        botocore_stubber(event_name=event_name, request=request)  # the request really lands in S3 (moto) ...
        landed.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)  # ... and its answer never comes back

    with on_the_wire(s3, "PutObject", lands_then_times_out):
        result = collect()
    assert len(landed) == 3, "every raw put's first attempt landed and lost its answer"
    assert result["outcome"] == "ok" and result["archived"] == 120
    state = assert_nothing_lost(stack, sim.handed_out)
    for key in state.raw_pages:
        assert len(_versions(stack, key)) == 1, "the retry did not write a second version"


def test_the_next_run_after_a_refused_overwrite_loses_nothing(stack, sim, collect):
    """Write-once does not cost a report: catch-up and new pages keep working around existing keys."""
    sim.add(make_reports(80))
    assert collect()["outcome"] == "ok"
    archive = Archive(stack.names["ArchiveBucket"], stack.clients("s3"))
    (key,) = kept(stack).raw_pages
    with pytest.raises(RawKeyTaken):
        archive.put_raw(key, b"{}")
    sim.add(make_reports(40, seed=7))
    assert collect()["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out)


def test_with_object_lock_a_raw_version_cannot_be_deleted_without_bypassing_governance(make_stack, sim, collect):
    from botocore.exceptions import ClientError

    stack = make_stack(ObjectLockDays="3")
    sim.add(make_reports(30))
    assert collect()["outcome"] == "ok"
    (key,) = kept(stack).raw_pages
    (version,) = _versions(stack, key)
    s3, bucket = stack.clients("s3"), stack.names["ArchiveBucket"]
    assert s3.head_object(Bucket=bucket, Key=key)["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    assert_nothing_lost(stack, sim.handed_out)


def test_a_page_whose_fresh_key_is_already_taken_goes_under_another_at_once(stack, sim, collect, monkeypatch):
    """Keys are unique by construction (time and a random part), so this is a bug elsewhere: the
    page is stored under a new key straight away, nothing waits in the fallback table, nothing is lost."""
    sim.add(make_reports(60))
    assert collect()["outcome"] == "ok"
    ((taken, first),) = kept(stack).raw_pages.items()
    keys = iter([taken])
    fresh = Archive.raw_key
    monkeypatch.setattr(Archive, "raw_key", staticmethod(lambda at, kind: next(keys, None) or fresh(at, kind)))
    sim.add(make_reports(40, seed=7))
    result = collect()
    assert result["outcome"] == "ok" and result["retries"] == 0
    assert kept(stack).raw_pages[taken] == first and len(kept(stack).raw_pages) == 2
    assert not list(FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb")).pending())
    assert_nothing_lost(stack, sim.handed_out)


def test_a_taken_key_met_on_the_last_archive_attempt_is_not_an_attempt(stack, sim, collect, monkeypatch):
    """S3 refuses three puts, and the fourth meets a key other bytes hold: the page still goes under
    a fresh key in this run, instead of to the fallback table with S3 working."""
    from botocore.exceptions import ClientError

    sim.add(make_reports(60))
    assert collect()["outcome"] == "ok"
    ((taken, first),) = kept(stack).raw_pages.items()
    keys, fresh, put, calls = iter([taken]), Archive.raw_key, Archive.put_raw, []
    monkeypatch.setattr(Archive, "raw_key", staticmethod(lambda at, kind: next(keys, None) or fresh(at, kind)))

    def s3_down_three_times(self, key, body):
        calls.append(key)
        if len(calls) <= 3:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "PutObject")
        return put(self, key, body)

    monkeypatch.setattr(Archive, "put_raw", s3_down_three_times)
    sim.add(make_reports(40, seed=7))
    result = collect()
    assert calls[:4] == [taken] * 4 and calls[4] != taken, "three refusals, the taken key, then a fresh one"
    assert result["outcome"] == "ok" and kept(stack).raw_pages[taken] == first
    assert not list(FallbackStore(stack.names["FallbackTable"], stack.clients("dynamodb")).pending())
    assert_nothing_lost(stack, sim.handed_out)
