"""queries/ in DuckDB over an archive written by the real collector, checked against figures
computed here independently; the Glue table and Athena named queries against the same files."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from analytics.engine import connect, duckdb_type, glue_columns, queries, run
from local.demo import _save_archive
from local.infobip_sim import make_reports
from local.stack import load_template, resources_of
from tests.conftest import LOCAL_API_KEY
from tests.kit import expected_latest


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.fixture
def archive(make_stack, sim, collect, tmp_path):
    """v1 and v3 pages, several reports per message, written by the collector, copied out of moto."""
    stack = make_stack(PageSize="400")
    sim.add(make_reports(900, bulks=4, seed=21, updates=120))
    collect()
    folder = _save_archive(stack.clients("s3"), stack.names["ArchiveBucket"], tmp_path / "archive")
    latest = list(expected_latest(sim.handed_out).values())
    return connect(str(folder)), latest


def test_delivery_rate_by_day_and_group(archive):
    db, latest = archive
    counts = Counter((_when(r["sentAt"]).astimezone(UTC).date(), r["status"]["groupName"].upper()) for r in latest)
    per_day = Counter(day for day, _ in counts.elements())
    columns, rows = run(db, queries()["delivery_rate_by_day"])
    assert columns == ["day", "status_group", "messages", "percent"]
    assert {(r[0], r[1]): r[2] for r in rows} == dict(counts)
    for day, _group, messages, percent in rows:
        assert percent == pytest.approx(round(100 * messages / per_day[day], 2))


def test_delivery_rate_by_mccmnc(archive):
    db, latest = archive
    total, delivered = Counter(), Counter()
    for r in latest:
        key = r.get("mccMnc") or "unknown"
        total[key] += 1
        delivered[key] += r["status"]["groupName"].upper() == "DELIVERED"
    _, rows = run(db, queries()["delivery_rate_by_mccmnc"])
    assert {r[0]: (r[1], r[2]) for r in rows} == {k: (total[k], delivered[k]) for k in total}


def test_price_per_day_and_currency(archive):
    db, latest = archive
    expected: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in latest:
        parts = r.get("smsCount", r.get("messageCount", 1))
        expected[(_when(r["sentAt"]).astimezone(UTC).date(), r["price"]["currency"])] += Decimal(str(r["price"]["pricePerMessage"])) * parts
    _, rows = run(db, queries()["price_per_day"])
    assert {(r[0], r[1]): r[4] for r in rows} == pytest.approx({k: float(round(v, 4)) for k, v in expected.items()})


def test_top_errors_with_permanent_split(archive):
    db, latest = archive
    expected = Counter((r["error"]["name"], r["error"]["permanent"]) for r in latest if r["error"]["name"] != "NO_ERROR")
    _, rows = run(db, queries()["top_errors"])
    assert {(r[0], r[1]): r[2] for r in rows} == dict(expected)


def test_latency_percentiles(archive):
    import statistics

    db, latest = archive
    by_day = defaultdict(list)
    for r in latest:
        by_day[_when(r["sentAt"]).astimezone(UTC).date()].append((_when(r["doneAt"]) - _when(r["sentAt"])).total_seconds())
    _, rows = run(db, queries()["latency_percentiles"])
    for day, messages, p50, _p90, _p99 in rows:
        assert messages == len(by_day[day])
        assert p50 == pytest.approx(statistics.median(by_day[day]), abs=0.05)


def test_bulk_summary_sql_and_the_summary_route_agree_with_a_count(archive, api):
    import requests

    db, latest = archive
    bulk = sorted({r["bulkId"] for r in latest})[1]
    mine = [r for r in latest if r["bulkId"] == bulk]
    groups = Counter(r["status"]["groupName"].upper() for r in mine)
    _, rows = run(db, queries()["bulk_summary"], [bulk])
    assert {r[0]: r[1] for r in rows} == dict(groups)
    answer = requests.get(f"{api.url}/bulks/{bulk}/summary", headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["messages"] == len(mine) and body["byStatusGroup"] == dict(sorted(groups.items()))
    assert body["deliveryRate"] == round(groups["DELIVERED"] / len(mine), 4)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in mine:
        totals[r["price"]["currency"]] += Decimal(str(r["price"]["pricePerMessage"])) * r.get("smsCount", 1)
    assert body["totalPrice"] == pytest.approx({k: float(v) for k, v in totals.items()})
    missing = requests.get(f"{api.url}/bulks/nope/summary", headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    assert missing.status_code == 404 and "requestError" in missing.json()


def test_glue_columns_cover_every_field_of_both_versions():
    columns = {c["Name"]: c["Type"] for c in glue_columns()}
    for report in make_reports(200, updates=20):
        for version in (1, 3):
            rendered = report.render(version)
            assert set(rendered) <= set(columns), set(rendered) - set(columns)
            for field, value in rendered.items():
                if isinstance(value, dict):
                    assert all(f"{key}:" in columns[field] for key in value), (field, value)


def test_glue_types_become_duckdb_types():
    assert duckdb_type("string") == "VARCHAR"
    assert duckdb_type("struct<a:int,b:struct<c:boolean,d:double>>") == 'STRUCT("a" INTEGER, "b" STRUCT("c" BOOLEAN, "d" DOUBLE))'


def test_athena_named_queries_hold_exactly_the_files():
    named = {
        r["Properties"]["Name"]: r["Properties"]["QueryString"] for r in resources_of(load_template(), "AWS::Athena::NamedQuery").values()
    }
    assert named == queries()


def test_partition_projection_needs_no_crawler():
    (glue_table,) = resources_of(load_template(), "AWS::Glue::Table").values()
    table = glue_table["Properties"]["TableInput"]
    params = table["Parameters"]
    assert params["projection.enabled"] == "true" and params["projection.dt.type"] == "date"
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert not resources_of(load_template(), "AWS::Glue::Crawler")
    json.dumps(table, default=str)


def test_an_archive_path_with_a_quote_is_read_not_executed(tmp_path):
    import gzip

    folder = tmp_path / "it's; DROP VIEW reports; --" / "reports" / "dt=2026-11-23"
    folder.mkdir(parents=True)
    report = make_reports(1)[0].render(1)
    (folder / "page.jsonl.gz").write_bytes(gzip.compress((json.dumps(report) + "\n").encode()))
    db = connect(str(tmp_path / "it's; DROP VIEW reports; --"))
    assert run(db, "SELECT messageId FROM reports")[1] == [(report["messageId"],)]
