"""The bulk index keys-only (the default) or projecting everything: the same answers, byte for byte."""

from __future__ import annotations

import json

from dlr_vault import aws
from dlr_vault.index import BULK_INDEX
from local.infobip_sim import make_reports
from tests.kit import api_answers as answers


def projected(stack, bulk: str) -> dict:
    return aws.client("dynamodb").query(
        TableName=stack.names["ReportsTable"],
        IndexName=BULK_INDEX,
        KeyConditionExpression="bulkId = :b",
        ExpressionAttributeValues={":b": {"S": bulk}},
        Limit=1,
    )["Items"][0]


def test_bulk_pages_summaries_and_logs_are_the_same_with_either_projection(make_stack, sim, collect, api):
    reports = make_reports(180, bulks=3, seed=5, updates=25)
    got = {}
    for projection in ("ALL", "KEYS_ONLY"):
        stack = make_stack(prefix=f"vault-{projection.lower().replace('_', '-')}", InfobipApiVersion="3", BulkIndexProjection=projection)
        sim.add(reports)
        collect()
        bulks = sorted({r.fields["bulkId"] for r in reports})
        assert ("report" in projected(stack, bulks[0])) == (projection == "ALL")  # the index is what the parameter says
        got[projection] = answers(api, bulks)
    assert got["KEYS_ONLY"] == got["ALL"]
    pages = [
        json.loads(page + b"}") if not page.endswith(b"}") else json.loads(page)
        for k, v in got["ALL"].items()
        if k.endswith("pages")
        for page in v
    ]
    assert sum(len(p["results"]) for p in pages) == 180 and len(pages) >= 180 // 7
