"""Erasing one number (make erase) over a vault the real collector filled: nothing yields the number
afterwards, through the API, the archive (every version) or DuckDB, and everything else is unchanged."""

from __future__ import annotations

import gzip
import json
import re

import pytest
import requests

from analytics.engine import connect
from dlr_vault import aws
from dlr_vault.archive import Archive
from dlr_vault.erasure import NotErasable
from dlr_vault.fallback import FallbackStore
from dlr_vault.lookup import ApiError
from local.demo import _save_archive
from local.infobip_sim import Fault, make_reports
from local.stack import load_handler
from local.streams import FeedStats
from ops.erase import OUTPUTS, build
from tests.conftest import FAN_OUT, LOCAL_API_KEY
from tests.kit import FakeLambdaContext, load_event, stack_with_outputs
from tests.simulator.test_bulk_counters import from_the_counters, from_the_index
from tests.simulator.test_logs_api import NUMBER, SPELLINGS, recent

H = {"x-api-key": LOCAL_API_KEY}


def spelled(report: dict) -> bool:
    return report.get("to") in SPELLINGS


@pytest.fixture
def vault(make_stack, sim, collect):
    """v3, pages of 40: the number in many pages (with others), then in a page of its own."""
    stack = make_stack(InfobipApiVersion="3", PageSize="40", **FAN_OUT)
    sim.add(recent(240, hours=30, updates=40))
    collect()
    alone = make_reports(3, bulks=1, seed=44)
    for report in alone:
        report.fields["to"] = SPELLINGS[0]
    sim.add(alone)
    collect()
    return stack


def archive_versions(stack) -> dict[tuple[str, str], bytes]:
    """Every version of every object under raw/ and reports/, decompressed."""
    s3, bucket = aws.client("s3"), stack.names["ArchiveBucket"]
    found = {}
    for prefix in ("raw/", "reports/"):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for v in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                found[(v["Key"], "latest" if v["IsLatest"] else v["VersionId"])] = gzip.decompress(body)
    return found


def answers(api, ids: list[str]) -> dict[str, bytes]:
    return {m: requests.get(f"{api.url}/sms/3/reports", params={"messageId": m}, headers=H, timeout=30).content for m in ids}


def summary(read, stack, bulk: str) -> dict | int:
    try:
        return read(stack, bulk)
    except ApiError as refused:
        return refused.status


def mentions(data: bytes) -> bool:
    return any(s.encode() in data for s in SPELLINGS) or NUMBER.encode() in re.sub(rb"[^0-9]", b"", data)


def test_erasure_leaves_no_trace_of_the_number_and_every_other_report_as_it_was(vault, sim, api, notify, tmp_path):
    handed = sim.handed_out
    mine = sorted({r["messageId"] for r in handed if spelled(r)})
    others = sorted({r["messageId"] for r in handed} - set(mine))
    assert len(mine) == 9 and len(others) > 200
    before, before_answers = archive_versions(vault), answers(api, others)
    feeder = notify(vault)
    feeder.deliver(feeder.read(), FeedStats())  # the counters as the notifier keeps them
    touched = {key for (key, v), data in before.items() if v == "latest" and mentions(data)}
    assert len(touched) >= 4  # raw pages and their JSON Lines, shared ones and the page of its own

    done, record = build(vault.outputs(*OUTPUTS)).erase("+41 79 302 67 31")

    assert done.reports_deleted == len(mine)
    assert done.objects_rewritten == len(touched) and done.versions_deleted >= len(touched) and not done.unreadable
    # the API: by id, by bulk, by number, by time
    for message_id in mine:
        assert requests.get(f"{api.url}/reports/{message_id}", headers=H, timeout=30).status_code == 404
    assert answers(api, others) == before_answers
    for path, params in [("/sms/3/logs", {"destination": NUMBER}), ("/sms/1/logs", {"to": NUMBER}), ("/sms/3/logs", {"limit": "1000"})]:
        body = requests.get(api.url + path, params=params, headers=H, timeout=30)
        assert body.status_code == 200 and not mentions(body.content)
    for bulk in {r["bulkId"] for r in handed}:
        body = requests.get(f"{api.url}/sms/3/reports", params={"bulkId": bulk, "limit": "1000"}, headers=H, timeout=30).content
        assert not mentions(body)
    # the archive: no version anywhere holds the number; every other report keeps its bytes
    after = archive_versions(vault)
    assert not any(mentions(data) for data in after.values())
    for (key, version), data in before.items():
        if version == "latest" and key not in touched:
            assert after[(key, "latest")] == data, key
    for key in touched:
        page, kept = before[(key, "latest")], after[(key, "latest")]
        if key.startswith("raw/"):
            reports = json.loads(page)["results"]
            assert json.loads(kept)["results"] == [r for r in reports if not spelled(r)]
            for r in reports:  # each remaining report's exact bytes, in order
                if not spelled(r):
                    pieces = [
                        json.dumps(r, separators=sep, ensure_ascii=a).encode() for sep in ((", ", ": "), (",", ":")) for a in (True, False)
                    ]
                    piece = next(p for p in pieces if p in page)  # how the simulator wrote it
                    assert piece in kept
        else:
            assert kept.splitlines() == [line for line in page.splitlines() if not mentions(line)]
    # DuckDB over the archive, as `make report` reads it
    db = connect(str(_save_archive(aws.client("s3"), vault.names["ArchiveBucket"], tmp_path / "archive")))
    rows = db.execute('SELECT messageId, "to" FROM reports').fetchall()
    assert {m for m, _ in rows} == set(others) and not any(mentions(str(to).encode()) for _, to in rows)
    # the counters follow the deletions through the stream; nothing is published for them
    removals = feeder.read()
    assert {r["dynamodb"]["Keys"]["messageId"]["S"] for r in removals if r["eventName"] == "REMOVE"} == set(mine)
    feeder.deliver(removals, FeedStats())
    for bulk in {r["bulkId"] for r in handed}:
        assert summary(from_the_counters, vault, bulk) == summary(from_the_index, vault, bulk)
    assert summary(from_the_counters, vault, "BULK-000-44") == 404  # its every report was to the number
    # the audit record: the keyed hash, the time, the counts; never the number
    audit = json.loads(aws.client("s3").get_object(Bucket=vault.names["ArchiveBucket"], Key=record)["Body"].read())
    assert audit["reports_deleted"] == len(mine) and audit["objects_rewritten"] == len(touched)
    assert len(audit["numberHash"]) == 22 and audit["erasedAt"] and not mentions(json.dumps(audit).encode())
    assert "days" not in audit and audit["days_read"] >= 2  # counts only: the days would say when the person got messages

    again, second = build(vault.outputs(*OUTPUTS)).erase(NUMBER)
    assert (again.reports_deleted, again.objects_rewritten, again.versions_deleted) == (0, 0, 0) and second != record
    assert archive_versions(vault) == after


class Stops(Exception):
    pass


def test_a_run_stopped_halfway_is_completed_by_the_next(vault, sim, api, monkeypatch):
    others = sorted({r["messageId"] for r in sim.handed_out if not spelled(r)})
    before_answers = answers(api, others)
    deleted = []
    real = Archive.delete_version

    def stop_after_three(self, key, version_id):
        if len(deleted) == 3:
            raise Stops
        deleted.append(key)
        real(self, key, version_id)

    monkeypatch.setattr(Archive, "delete_version", stop_after_three)
    with pytest.raises(Stops):
        build(vault.outputs(*OUTPUTS)).erase(NUMBER)
    assert any(mentions(data) for data in archive_versions(vault).values())  # it really stopped halfway
    monkeypatch.setattr(Archive, "delete_version", real)

    done, _ = build(vault.outputs(*OUTPUTS)).erase(NUMBER)

    assert done.objects_rewritten > 0 and not any(mentions(data) for data in archive_versions(vault).values())
    assert answers(api, others) == before_answers
    assert requests.get(f"{api.url}/sms/3/logs", params={"destination": NUMBER}, headers=H, timeout=30).json()["results"] == []


def test_pages_waiting_in_the_fallback_table_are_restored_first(vault):
    FallbackStore(vault.names["FallbackTable"], aws.client("dynamodb")).keep("raw/dt=2026-11-22/x.v3.json.gz", b"{}")
    with pytest.raises(NotErasable, match="restore them first"):
        build(vault.outputs(*OUTPUTS)).erase(NUMBER)


def test_v1_pages_and_the_log_pages_of_a_reconciliation_are_erased_too(make_stack, sim, collect, api):
    """The default API version (v1: `to`), and a dropped page that reconciliation recovered from
    /sms/3/logs (v3 logs pages: `destination`); the number spelled with 00."""
    stack = make_stack(PageSize="40")
    sim.add(recent(240, hours=30, updates=40))
    sim.inject(Fault("drop"))
    collect()
    load_handler("collector").lambda_handler(load_event("reconcile.json"), FakeLambdaContext())
    collect()
    before = archive_versions(stack)
    holding = {key.rsplit(".", 3)[-3] for (key, _), data in before.items() if key.startswith("raw/") and mentions(data)}
    assert holding == {"v1", "logs"}, "the number is in both kinds of page"
    others = sorted({r["messageId"] for r in sim.handed_out if not spelled(r)})
    v1 = {m: requests.get(f"{api.url}/sms/1/reports", params={"messageId": m}, headers=H, timeout=30).content for m in others}

    done, _ = build(stack.outputs(*OUTPUTS)).erase("0041 79 302 67 31")

    after = archive_versions(stack)
    assert done.reports_deleted > 0 and not any(mentions(data) for data in after.values())
    assert {m: requests.get(f"{api.url}/sms/1/reports", params={"messageId": m}, headers=H, timeout=30).content for m in others} == v1
    touched = {key for (key, v), data in before.items() if v == "latest" and mentions(data)}
    assert all(after[(key, "latest")] == data for (key, v), data in before.items() if v == "latest" and key not in touched)


def test_reports_the_collector_stores_while_it_runs_are_erased_by_another_pass(vault, sim, collect, api, monkeypatch):
    real, stored = Archive.rewrite, []

    def collect_meanwhile(self, key, data):
        if not stored:  # the first rewrite: the day's listing is already made
            late = make_reports(2, bulks=1, seed=77)
            for report in late:
                report.fields["to"] = SPELLINGS[1]
            sim.add(late)
            collect()
            stored.extend(r["messageId"] for r in sim.handed_out if r["bulkId"].endswith("-77"))
        return real(self, key, data)

    monkeypatch.setattr(Archive, "rewrite", collect_meanwhile)
    done, _ = build(vault.outputs(*OUTPUTS)).erase(NUMBER)

    assert len(stored) == 2 and done.passes >= 2
    assert [requests.get(f"{api.url}/reports/{m}", headers=H, timeout=30).status_code for m in stored] == [404, 404]
    assert not any(mentions(data) for data in archive_versions(vault).values())


def test_a_number_without_its_country_code_is_refused(vault, sim):
    before = archive_versions(vault)
    for national in ("079 302 67 31", "0793026731", "+41 (0)79 302 67 31"):
        with pytest.raises(NotErasable, match="international format"):
            build(vault.outputs(*OUTPUTS)).erase(national)
    assert archive_versions(vault) == before


S3_ACTIONS = {"ListObjectVersions": "s3:ListBucketVersions", "ListObjectsV2": "s3:ListBucket", "HeadObject": "s3:GetObject"}


def iam_action(service: str, operation: str, params: dict) -> str:
    """The IAM action a call needs (S3's differ from its operation names; a version is its own action)."""
    if service == "s3":
        action = S3_ACTIONS.get(operation, f"s3:{operation}")
        return action + "Version" if "VersionId" in params and operation in ("GetObject", "DeleteObject") else action
    return f"{service}:{operation}"


def test_the_erasure_role_may_make_every_call_make_erase_makes(vault, monkeypatch, capsys):
    """Run as `make erase STACK=<name>` runs it (the stack's outputs from CloudFormation), recording
    each AWS call; the ErasureRole in template.yaml must allow every one (moto checks no IAM)."""
    from botocore.client import BaseClient

    from dlr_vault.dynamodb import DynamoDBJson
    from ops.erase import main
    from tests.unit.test_template import role_actions

    outputs = vault.outputs(*OUTPUTS)
    stack_with_outputs(aws.client("cloudformation"), "erasing", outputs)
    calls: set[str] = set()
    api_call, batch_call = BaseClient._make_api_call, DynamoDBJson._call

    def recorded(self, operation, params):
        calls.add(iam_action(self.meta.service_model.signing_name, operation, params))
        return api_call(self, operation, params)

    def recorded_batch(self, operation, params):
        calls.add(f"dynamodb:{operation}")
        return batch_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    monkeypatch.setattr(DynamoDBJson, "_call", recorded_batch)
    assert main(["--stack", "erasing", "--number", NUMBER]) == 0
    monkeypatch.undo()

    assert "erased: 9 report(s)" in capsys.readouterr().out
    assert {"cloudformation:DescribeStacks", "s3:DeleteObjectVersion", "dynamodb:BatchWriteItem"} <= calls
    assert calls <= role_actions("Erasure"), calls - role_actions("Erasure")


def test_the_number_comes_from_the_environment_or_not_at_all_never_from_a_default(vault, monkeypatch, capsys):
    """`make erase` hands the number over in ERASE_NUMBER (not in the arguments, which any user can list)."""
    from ops.erase import main

    outputs = vault.outputs(*OUTPUTS)
    stack_with_outputs(aws.client("cloudformation"), "by-env", outputs)
    monkeypatch.delenv("ERASE_NUMBER", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["--stack", "by-env"]) == 2 and "no number" in capsys.readouterr().out
    assert any(mentions(data) for data in archive_versions(vault).values())
    monkeypatch.setenv("ERASE_NUMBER", "+41 79 302 67 31")
    assert main(["--stack", "by-env"]) == 0
    assert "erased: 9 report(s)" in capsys.readouterr().out
    assert not any(mentions(data) for data in archive_versions(vault).values())
