"""bench/cost.py's arithmetic on a small case worked by hand, and its reading of a template's options.

Expected figures are derived here from the inputs by the rules the model claims to follow
(DynamoDB's item-size rules, 100 bytes of storage per item, S3's 128 KB transition minimum),
with prices chosen so that each product can be followed by eye."""

from __future__ import annotations

import base64

import pytest

from bench.cost import GIB, IndexSpec, Lifecycle, Measured, Objects, StorageConfig, TemplateReader, item_size, life_cost, totals
from dlr_vault.reports import to_json
from dlr_vault.stored_form import pack, report_value
from local.infobip_sim import make_reports

MONTH = 365 / 12
PRICES = {
    "dynamodb_wru_per_million:STANDARD_INFREQUENT_ACCESS": 2.0,
    "dynamodb_rru_per_million:STANDARD_INFREQUENT_ACCESS": 3.0,
    "dynamodb_storage_per_gb_month:STANDARD_INFREQUENT_ACCESS": 0.5,
    "dynamodb_pitr_per_gb_month": 0.25,
    "s3_put_per_thousand": 0.01,
    "s3_standard_per_gb_month": 0.02,
    "s3_glacier_ir_per_gb_month": 0.004,
    "s3_transition_glacier_ir_per_thousand": 0.05,
    "eventbridge_events_per_million": 1.0,
    "eventbridge_api_destinations_per_million": 0.2,
    "eventbridge_pipes_per_million": 0.4,
    "lambda_arm64_per_gb_second": 0.00001,
    "lambda_per_million_requests": 0.2,
}
BULKY = {"messageId": {"S": "m-1"}, "bulkId": {"S": "b"}, "sentAt": {"S": "2026"}, "report": {"S": "x" * 1000}}
LONE = {"messageId": {"S": "m-2"}, "n": {"N": "1200"}, "report": {"S": "é" * 50}}  # no bulkId: not in the bulk index


def by_part(rows):
    return {r.part: r for r in rows}


def test_item_size_follows_dynamodb_rules():
    assert item_size(BULKY) == (9 + 3) + (6 + 1) + (6 + 4) + (6 + 1000)
    # "1200": significant digits "12" -> 1 byte per two digits + 1; "é" is two bytes in UTF-8
    assert item_size(LONE) == (9 + 3) + (1 + 2) + (6 + 100)
    # binary counts its bytes, whether boto3 decoded them or they are base64 text as on the wire
    assert item_size({"z": {"B": b"\x00" * 30}}) == item_size({"z": {"B": base64.b64encode(b"\x00" * 30).decode()}}) == 1 + 30
    nested = {"m": {"M": {"ab": {"L": [{"BOOL": True}, {"NULL": True}]}}}}
    assert item_size(nested) == 1 + 3 + (2 + (3 + (1 + 1) + (1 + 1)) + 1)


def test_a_year_of_two_reports_priced_by_hand():
    config = StorageConfig(
        label="case",
        table_class="STANDARD_INFREQUENT_ACCESS",
        indexes=(
            IndexSpec("bulkId-sentAt-index", ("bulkId", "sentAt"), "KEYS_ONLY"),
            IndexSpec("other", ("report",), "ALL", enabled=False),
        ),
        pitr=True,
        lifecycle=Lifecycle(transition_days=90),
        memory_mb=512,
        event_bus=False,
    )
    measured = Measured(
        reports=2,
        items=(BULKY, LONE),
        puts_per_report=1.0,
        read_keys_per_report=1.0,
        consistent_reads=True,
        s3={"raw/": Objects(reports=1000, sizes=(200 * 1024, 50 * 1024))},
        lambda_seconds_per_report=0.001,
        invocations_per_report=0.0,
    )
    rows = by_part(life_cost(config, measured, PRICES, months=12))
    bulky, lone = item_size(BULKY), item_size(LONE)  # 1035 B (2 WRU) and 121 B (1 WRU)
    assert rows["table writes"].usd == pytest.approx((2 + 1) / 2 * 2.0)
    table_gb = ((bulky + 100) + (lone + 100)) / 2 * 1e6 / GIB
    assert rows["table storage"].usd == pytest.approx(table_gb * 12 * 0.5)
    keys_only = (9 + 3) + (6 + 1) + (6 + 4)  # messageId, bulkId, sentAt of the one item that has a bulkId
    assert rows["index bulkId-sentAt-index writes"].usd == pytest.approx(0.5 * 1 * 2.0)
    assert rows["index bulkId-sentAt-index storage"].usd == pytest.approx(0.5 * (keys_only + 100) * 1e6 / GIB * 12 * 0.5)
    assert rows["index bulkId-sentAt-index writes"].capability == "core"
    assert rows["index other writes"].capability == "index other" and not rows["index other writes"].included
    assert rows["index other writes"].usd == pytest.approx((2 + 1) / 2 * 2.0)  # ALL: both items whole, as in the table
    assert rows["reads (newest-wins BatchGetItem)"].usd == pytest.approx(1 * 1 * 3.0)
    assert rows["PITR (table size)"].usd == pytest.approx(table_gb * 12 * 0.25) and rows["PITR (table size)"].included
    # raw/: 2 objects per 1,000 reports; the 200 KB one moves to Glacier IR after 90 days, the 50 KB one stays
    per_million = 1e6 / 1000
    assert rows["S3 raw/ PUTs"].usd == pytest.approx(2 * per_million * 0.01 / 1000)
    standard = (50 * 1024 * 365 + 200 * 1024 * 90) / MONTH * per_million / GIB
    glacier = 200 * 1024 * (365 - 90) / MONTH * per_million / GIB
    assert rows["S3 raw/ storage"].usd == pytest.approx(standard * 0.02 + glacier * 0.004)
    assert rows["S3 raw/ transitions"].usd == pytest.approx(1 * per_million * 0.05 / 1000)
    assert rows["Lambda (collector)"].usd == pytest.approx(0.001 * 0.5 * 1e6 * 0.00001)
    assert not rows["events (EventBridge)"].included and rows["events (EventBridge)"].usd == pytest.approx(1.0)
    core, everything = totals(list(rows.values()))
    core_parts = [p for p in rows if rows[p].capability == "core"]
    assert core == pytest.approx(sum(rows[p].usd for p in core_parts))
    assert everything == pytest.approx(core + rows["PITR (table size)"].usd)


def test_the_template_reader_decides_conditions_with_the_parameters():
    template = {
        "Parameters": {
            "TableClass": {"Type": "String", "Default": "STANDARD_INFREQUENT_ACCESS"},
            "Search": {"Type": "String", "Default": "false"},
            "Events": {"Type": "String", "Default": "true"},
            "Form": {"Type": "String", "Default": "compressed"},
        },
        "Conditions": {
            "SearchOn": {"Fn::Equals": [{"Ref": "Search"}, "true"]},
            "EventsOn": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Events"}, "false"]}]},
        },
        "Resources": {
            "ReportsTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableClass": {"Ref": "TableClass"},
                    "KeySchema": [{"AttributeName": "messageId", "KeyType": "HASH"}],
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": {"Fn::If": ["SearchOn", True, False]}},
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "bulk",
                            "KeySchema": [{"AttributeName": "bulkId", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "KEYS_ONLY"},
                        },
                        {
                            "Fn::If": [
                                "SearchOn",
                                {
                                    "IndexName": "to",
                                    "KeySchema": [{"AttributeName": "toHash", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doneAt"]},
                                },
                                {"Ref": "AWS::NoValue"},
                            ]
                        },
                    ],
                },
            },
            "ArchiveBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "CollectorFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"MemorySize": 256, "Environment": {"Variables": {"STORED_REPORT_FORM": {"Ref": "Form"}}}},
            },
            "Bus": {"Type": "AWS::Events::EventBus", "Condition": "EventsOn", "Properties": {}},
        },
    }
    config = TemplateReader(template).storage_config("t")
    assert config.table_class == "STANDARD_INFREQUENT_ACCESS" and config.memory_mb == 256 and not config.pitr
    assert [(i.name, i.projection, i.enabled) for i in config.indexes] == [("bulk", "KEYS_ONLY", True), ("to", "INCLUDE", False)]
    assert config.indexes[1].non_key == ("doneAt",)
    assert config.event_bus is True and config.api_destinations is None and config.report_form == "compressed"
    on = TemplateReader(template, {"Search": "true", "Events": "false", "Form": "json"}).storage_config("t")
    assert on.pitr and on.indexes[1].enabled and on.event_bus is False and on.report_form == "json"
    del template["Resources"]["CollectorFunction"]["Properties"]["Environment"]  # a template from before the parameter
    assert TemplateReader(template).storage_config("t").report_form == "json"


def test_each_configuration_prices_the_same_report_text_in_its_own_stored_form():
    text = to_json(make_reports(1)[0].render(3))
    measured = Measured(
        reports=1,
        items=({"messageId": {"S": "m"}, "report": report_value(text, compressed=True)},),  # as the run stored it
        puts_per_report=1.0,
        read_keys_per_report=0.0,
        consistent_reads=False,
        s3={},
        lambda_seconds_per_report=0.0,
        invocations_per_report=0.0,
    )
    for form, report_bytes in (("json", len(text.encode())), ("compressed", len(pack(text)))):
        config = StorageConfig(label=form, table_class="STANDARD_INFREQUENT_ACCESS", report_form=form)
        storage = by_part(life_cost(config, measured, PRICES))["table storage"].usd
        assert storage == pytest.approx(((9 + 1) + (6 + report_bytes) + 100) * 1e6 / GIB * 12 * 0.5)
