"""StoredReportForm compressed (the default) or json: the table holds what the parameter says, and
every answer is the same, byte for byte, in either form and in a table that holds both."""

from __future__ import annotations

import requests

from dlr_vault import aws
from dlr_vault.stored_form import report_text
from local.infobip_sim import make_reports
from tests.kit import LOCAL_API_KEY, api_answers, kept, stored_report


def by_message_id(api, message_ids: list[str]) -> dict[str, bytes]:
    headers = {"x-api-key": LOCAL_API_KEY}
    return {m: requests.get(f"{api.url}/sms/3/reports", params={"messageId": m}, headers=headers, timeout=30).content for m in message_ids}


def test_every_answer_is_the_same_bytes_in_either_form_and_in_a_mixed_table(make_stack, sim, collect, api):
    reports = make_reports(120, bulks=3, seed=9, updates=20)
    bulks = sorted({r.fields["bulkId"] for r in reports})
    message_ids = sorted({r.fields["messageId"] for r in reports})
    got, items = {}, {}
    for form in ("json", "compressed"):
        stack = make_stack(prefix=f"vault-{form}", InfobipApiVersion="3", StoredReportForm=form)
        sim.add(reports)
        collect()
        items[form] = kept(stack).index
        assert {kind for item in items[form].values() for kind in item["report"]} == {"S" if form == "json" else "B"}
        got[form] = {**api_answers(api, bulks), **by_message_id(api, message_ids)}
    assert got["compressed"] == got["json"]
    texts = {form: {m: report_text(item["report"]) for m, item in stored.items()} for form, stored in items.items()}
    assert texts["compressed"] == texts["json"]  # the collector stored the same text; only its form differs
    latest = {r["messageId"]: r for r in sim.handed_out}  # updates come after the report they replace
    assert {m: stored_report(item) for m, item in items["compressed"].items()} == latest

    # An upgrade: items written before the form existed sit beside compressed ones in one table.
    ddb, table = aws.client("dynamodb"), stack.names["ReportsTable"]
    for message_id in message_ids[::2]:
        ddb.put_item(TableName=table, Item={**items["compressed"][message_id], "report": {"S": texts["json"][message_id]}})
    assert {kind for item in kept(stack).index.values() for kind in item["report"]} == {"S", "B"}
    assert {**api_answers(api, bulks), **by_message_id(api, message_ids)} == got["json"]
