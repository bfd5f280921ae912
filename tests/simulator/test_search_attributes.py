"""What the search indexes are keyed by: normalised numbers under a keyed hash, sharded days,
written by every path that writes items (collect, reconcile, rebuild from the archive)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dlr_vault.index import make_entry
from dlr_vault.search import TIME_SHARDS, NumberHasher, normalise_number
from dlr_vault.stored_form import report_text
from local.infobip_sim import Fault, make_reports
from local.stack import load_handler
from tests.kit import FakeLambdaContext, kept, load_event, stored_report


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("41793026731", "41793026731"),
        ("+41793026731", "41793026731"),
        ("0041793026731", "41793026731"),
        ("+41 79 302 67 31", "41793026731"),
        ("(+41) 79-302.67.31", "41793026731"),
        ("079 302 67 31", "0793026731"),  # a national number stays national: there is no country to add
        ("+", None),
        ("", None),
        (None, None),
        (41793026731, None),
    ],
)
def test_numbers_are_normalised_to_their_digits(raw, digits):
    assert normalise_number(raw) == digits


def oracle(key: str, number: str) -> str:
    """HMAC-SHA256 of the normalised number, first 128 bits, base64url: computed here from the standard library."""
    return base64.urlsafe_b64encode(hmac.new(key.encode(), number.encode(), hashlib.sha256).digest()[:16]).rstrip(b"=").decode()


def test_the_index_key_is_a_keyed_hash_and_holds_no_number():
    report = {"messageId": "m", "bulkId": "B", "to": "+41 79 302 67 31", "sentAt": "2026-11-22T23:30:00.000-0100"}
    item = make_entry(report, raw_key="raw/k", source="reports", expires_at=None, search=NumberHasher(lambda: "k1")).item
    assert item["toHash"] == {"S": oracle("k1", "41793026731")}
    assert item["sentAt"] == {"S": "2026-11-23T00:30:00.000Z"} and item["sentDay"]["S"].startswith("2026-11-23#")  # the UTC day
    assert stored_report(item)["to"] == "+41 79 302 67 31"  # the report keeps `to` as sent
    assert not [name for name, value in item.items() if name != "report" and "3026731" in json.dumps(value)]
    other = make_entry(report, raw_key="raw/k", source="reports", expires_at=None, search=NumberHasher(lambda: "k2")).item
    assert other["toHash"] != item["toHash"]  # without the key, a hash cannot be matched to a number


def test_without_search_an_item_is_what_it_was_and_without_a_number_it_stays_out_of_the_destination_index():
    report = {"messageId": "m", "to": "41793026731", "doneAt": "2026-11-22T10:00:00.000+0000"}
    assert set(make_entry(report, raw_key="raw/k", source="reports", expires_at=None).item) == {
        "messageId",
        "report",
        "statusGroup",
        "rawKey",
        "doneAt",
    }
    unnumbered = make_entry({**report, "to": "n/a"}, raw_key="raw/k", source="reports", expires_at=None, search=NumberHasher(str))
    assert "toHash" not in unnumbered.item and unnumbered.item["sentAt"] == {"S": "2026-11-22T10:00:00.000Z"}  # sentAt falls back to doneAt


def test_time_shards_spread_messages_evenly():
    hasher = NumberHasher(lambda: "k")
    shards = Counter(
        make_entry(
            {"messageId": f"id-{i}", "sentAt": "2026-11-22T10:00:00.000+0000"},
            raw_key="r",
            source="reports",
            expires_at=None,
            search=hasher,
        ).item["sentDay"]["S"]
        for i in range(20_000)
    )
    assert set(shards) == {f"2026-11-22#{s}" for s in range(TIME_SHARDS)}
    assert max(shards.values()) < 1.05 * 20_000 / TIME_SHARDS  # 2,000 writes/s: ~500 a key, half a partition's limit


def search_key(stack) -> str:
    return stack.clients("secretsmanager").get_secret_value(SecretId=stack.names["SearchKeySecret"])["SecretString"]


def test_collect_reconcile_and_rebuild_from_the_archive_all_write_the_search_attributes(make_stack, sim, collect):
    stack = make_stack(PageSize="50")
    sim.add(make_reports(120, start=datetime.now(UTC) - timedelta(hours=3), seed=4))
    sim.inject(Fault("drop"))  # a page lost in transit: reconciliation recovers its final reports from /sms/3/logs
    collect()
    recovered = load_handler("collector").lambda_handler(load_event("reconcile.json"), FakeLambdaContext())["gaps_recovered"]
    assert recovered > 0

    def check() -> dict:
        index, key = kept(stack).index, search_key(stack)
        for item in index.values():
            report = stored_report(item)
            assert item["toHash"]["S"] == oracle(key, normalise_number(report["to"]))
            assert item["sentDay"]["S"][:10] == item["sentAt"]["S"][:10]
        return index

    index = check()
    assert sum("recoveredFromLogs" in report_text(item["report"]) for item in index.values()) == recovered
    ddb, table = stack.clients("dynamodb"), stack.names["ReportsTable"]
    for message_id in index:  # a restored-empty table, rebuilt from raw/ by resetting the checkpoint
        ddb.delete_item(TableName=table, Key={"messageId": {"S": message_id}})
    ddb.update_item(TableName=stack.names["StateTable"], Key={"pk": {"S": "collector"}}, UpdateExpression="REMOVE lastRawKey")
    collect()
    assert set(check()) == set(index)
