"""The one-off backfill: items indexed before the search indexes get their attributes, resumably,
idempotently, without touching `report`, and without overwriting what the collector wrote meanwhile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import requests

from dlr_vault import aws
from dlr_vault.backfill import Backfill, Progress, main
from dlr_vault.index import ReportIndex, make_entry
from dlr_vault.search import NumberHasher
from local.infobip_sim import make_reports
from tests.conftest import LOCAL_API_KEY
from tests.kit import kept, on_the_wire, stored_report
from tests.simulator.test_search_attributes import oracle, search_key

NUMBER = "41793026731"


def old_items(stack, n: int = 230) -> list[dict]:
    """Reports written the way the collector wrote them before this change: no search attributes."""
    start = datetime.now(UTC) - timedelta(hours=20)
    reports = [r.render(1) for r in make_reports(n, seed=12, start=start, spacing=200)]
    for report in reports[::40]:
        report["to"] = "+41 79 302 67 31"
    index = ReportIndex(stack.names["ReportsTable"], stack.clients("dynamodb"), aws.dynamodb_batches())
    index.put(make_entry(r, raw_key="raw/dt=2026-11-01/old.v1.json.gz", source="reports", expires_at=None) for r in reports)
    return reports


def test_backfill_resumes_is_idempotent_and_leaves_reports_byte_identical(make_stack, tmp_path, api):
    stack = make_stack()
    reports = old_items(stack)
    before = kept(stack).index
    assert not any("toHash" in item for item in before.values())
    key, state, lines = search_key(stack), tmp_path / "state.json", []
    backfill = Backfill(stack.names["ReportsTable"], stack.clients("dynamodb"), NumberHasher(lambda: key), page_size=50, workers=4)

    first = backfill.run(state, max_pages=2, say=lines.append)  # interrupted after two pages
    assert not first.done and first.scanned == 100 and first.updated == 100
    assert Progress.load(state, stack.names["ReportsTable"]).position == first.position
    rest = backfill.run(state, say=lines.append)  # the same command again continues where it stopped
    assert rest.done and rest.scanned == len(reports) and rest.updated == len(reports) and rest.pages == 5

    after = kept(stack).index
    for message_id, item in after.items():
        old = before[message_id]
        assert item["report"] == old["report"]  # the stored JSON, byte for byte
        assert {k: v for k, v in item.items() if k not in ("sentAt", "sentDay", "toHash")} == {
            k: v for k, v in old.items() if k != "sentAt"
        }
        report = stored_report(item)
        assert item["toHash"]["S"] == oracle(key, report["to"].replace("+", "").replace(" ", ""))
        assert item["sentDay"]["S"][:10] == item["sentAt"]["S"][:10]
    assert not any(NUMBER in line or "3026731" in line for line in lines)

    again = backfill.run(state, restart=True, say=lines.append)
    assert again.done and again.updated == 0 and again.already_right == len(reports)
    assert kept(stack).index == after
    found = requests.get(f"{api.url}/sms/3/logs", params={"destination": NUMBER}, headers={"x-api-key": LOCAL_API_KEY}, timeout=10).json()
    assert len(found["results"]) == len(reports[::40]) and {r["destination"] for r in found["results"]} == {"+41 79 302 67 31"}


def test_an_item_the_collector_replaces_meanwhile_is_left_to_the_collector(make_stack, tmp_path):
    stack = make_stack()
    reports = old_items(stack, 30)
    key = search_key(stack)
    index = ReportIndex(stack.names["ReportsTable"], stack.clients("dynamodb"), aws.dynamodb_batches(), search=NumberHasher(lambda: key))
    newer = {**reports[3], "doneAt": "2030-01-01T00:00:00.000+0000", "to": "41790000000"}
    replaced = []

    def collector_writes_first(request, **_):
        if json.loads(request.body)["Key"]["messageId"]["S"] == newer["messageId"] and not replaced:
            replaced.append(index.put([make_entry(newer, raw_key="raw/new", source="reports", expires_at=None, search=index.search)]))

    ddb = stack.clients("dynamodb")
    with on_the_wire(ddb, "UpdateItem", collector_writes_first):
        progress = Backfill(stack.names["ReportsTable"], ddb, NumberHasher(lambda: key), workers=1).run(tmp_path / "s.json")
    assert replaced and progress.replaced_meanwhile == 1 and progress.updated == len(reports) - 1
    item = kept(stack).index[newer["messageId"]]
    assert stored_report(item) == newer and item["toHash"]["S"] == oracle(key, "41790000000")


def test_the_command_finds_table_and_key_by_name_and_refuses_without(make_stack, tmp_path, capsys):
    stack = make_stack()
    old_items(stack, 12)
    state = tmp_path / "s.json"
    args = ["--table", stack.names["ReportsTable"], "--key-secret", stack.names["SearchKeySecret"], "--state", str(state)]
    assert main(args) == 0
    assert "finished" in capsys.readouterr().out and json.loads(state.read_text())["updated"] == 12
    try:
        main(["--table", stack.names["ReportsTable"]])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a missing key secret must be refused")
