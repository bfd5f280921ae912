"""template.yaml's fan-out: optional by parameters, least privilege, bounded retries, alarms."""

from __future__ import annotations

import json

import pytest

from dlr_vault.config import LookupSettings, NotifierSettings
from local.stack import Resolver, function_environment
from tests.unit.test_template import RESOURCES, TEMPLATE, expanded, statements

REQUIRED = {"InfobipBaseUrl": "https://x.api.infobip.com", "InfobipApiKeySecret": "s"}
ALL_ON = {
    "EventsEnabled": "true",
    "EventsQueueEnabled": "true",
    "BulkCountersEnabled": "true",
    "WebhookUrl": "https://hooks.example.com/dlr",
}
FAN_OUT_CONDITIONS = {"EventsOn", "CountersOn", "NotifierOn", "EventsQueueOn", "WebhookOn"}


def resolver(**parameters: str) -> Resolver:
    found = Resolver(TEMPLATE, {**REQUIRED, **parameters})
    found.names.update({k: k for k in RESOURCES})
    return found


def present(**parameters: str) -> set[str]:
    found = resolver(**parameters)
    return {logical for logical, resource in RESOURCES.items() if isinstance(resource, dict) and found.exists(logical)}


def test_with_everything_off_the_stack_is_the_original_pair():
    off = present(ConsoleEnabled="false")
    fan_out = {k for k, v in RESOURCES.items() if isinstance(v, dict) and v.get("Condition") in FAN_OUT_CONDITIONS}
    assert fan_out and not off & fan_out
    assert {k for k in off if RESOURCES[k]["Type"] == "AWS::Serverless::Function"} == {"CollectorFunction", "LookupFunction"}
    assert not {RESOURCES[k]["Type"] for k in off} & {"AWS::Events::EventBus", "AWS::Events::ApiDestination", "AWS::Events::Connection"}
    found = resolver(SearchIndexes="none")
    assert "StreamSpecification" not in found(RESOURCES["ReportsTable"]["Properties"]), "no stream, no cost"
    assert function_environment(found, "LookupFunction")["BULK_COUNTERS_TABLE"] == ""
    lookup_statements = found(RESOURCES["LookupFunction"]["Properties"]["Policies"][0]["Statement"])
    assert [s["Sid"] for s in lookup_statements] == ["ReadReports", "ReadCursorKey"]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"EventsEnabled": "true"}, {"ReportsBus", "NotifierFunction", "NotifierFailedBatchesQueue", "FanOutDashboard"}),
        ({"BulkCountersEnabled": "true"}, {"BulkCountersTable", "NotifierFunction", "NotifierIteratorAgeAlarm"}),
        (ALL_ON, {"WebhookRule", "WebhookDestination", "WebhookConnection", "WebhookDeadLetterQueue", "EventsQueueRule"}),
    ],
)
def test_each_switch_brings_its_resources(parameters, expected):
    assert expected <= present(**parameters)
    assert "StreamSpecification" in resolver(**parameters)(RESOURCES["ReportsTable"]["Properties"])


def test_a_webhook_without_events_is_refused_at_deploy():
    rule = TEMPLATE["Rules"]["WebhookNeedsEvents"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookUrl"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "EventsEnabled"}, "true"]}
    assert "WebhookRule" not in present(WebhookUrl="https://hooks.example.com/dlr")


def test_the_notifier_role_publishes_to_its_bus_and_updates_the_counters_and_nothing_else():
    role = expanded(EventsEnabled="true", BulkCountersEnabled="true")["Resources"]["NotifierFunctionRole"]["Properties"]
    by_sid = {s["Sid"]: s for s in statements(role)}
    plumbing = {  # what any stream consumer needs: read its stream, log, trace, park failed batches
        "ReadReportsStream": (
            {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
            "${ReportsTable.Arn}/stream/*",  # language extensions leave a Sub without variables as its text
        ),
        "FailedBatches": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["NotifierFailedBatchesQueue", "Arn"]}),
        "OwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, {"Fn::GetAtt": ["NotifierLogGroup", "Arn"]}),
        "Tracing": ({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, "*"),
    }
    granted = {
        "PublishToItsBus": ({"events:PutEvents"}, {"Fn::GetAtt": ["ReportsBus", "Arn"]}),
        "UpdateBulkCounters": ({"dynamodb:UpdateItem"}, {"Fn::GetAtt": ["BulkCountersTable", "Arn"]}),
    }
    assert {sid: (set(s["Action"]), s["Resource"]) for sid, s in by_sid.items()} == {**plumbing, **granted}
    assert not role.get("ManagedPolicyArns"), "no managed policy widens it"
    only_events = resolver(EventsEnabled="true")(TEMPLATE["Resources"]["NotifierFunctionRole"]["Properties"])
    sids = [s["Sid"] for s in only_events["Policies"][0]["PolicyDocument"]["Statement"]]
    assert "PublishToItsBus" in sids and "UpdateBulkCounters" not in sids


def test_the_stream_mapping_bisects_retries_a_bounded_number_of_times_and_keeps_failed_batches():
    stream = RESOURCES["NotifierFunction"]["Properties"]["Events"]["Stream"]["Properties"]
    assert stream["Stream"] == {"Fn::GetAtt": ["ReportsTable", "StreamArn"]} and stream["StartingPosition"] == "TRIM_HORIZON"
    assert stream["BisectBatchOnFunctionError"] is True and 0 < stream["MaximumRetryAttempts"] <= 20
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["ParallelizationFactor"] == 1, "one batch per shard at a time: order per message, valid watermarks"
    assert stream["TumblingWindowInSeconds"] > 0, "events then name their shard (the counters' idempotency key)"
    assert stream["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["NotifierFailedBatchesQueue", "Arn"]}}
    assert RESOURCES["ReportsTable"]["Properties"]["StreamSpecification"]["Fn::If"][1] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    mapping = next(v for v in expanded()["Resources"].values() if v["Type"] == "AWS::Lambda::EventSourceMapping")
    assert mapping["Condition"] == "NotifierOn" and mapping["Properties"]["TumblingWindowInSeconds"] == stream["TumblingWindowInSeconds"]


def test_the_webhook_is_infobips_push_shape_with_retries_a_dead_letter_queue_and_its_own_role():
    (target,) = RESOURCES["WebhookRule"]["Properties"]["Targets"]
    assert target["InputTransformer"]["InputTemplate"] == '{"results":[<report>]}'
    assert target["InputTransformer"]["InputPathsMap"]["report"] == {"Fn::If": ["WebhookV1", "$.detail.reportV1", "$.detail.report"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0 and target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    }
    assert resolver(**ALL_ON)(RESOURCES["WebhookRule"]["Properties"]["EventPattern"])["detail"] == {"isFinal": [True]}
    assert "detail" not in resolver(**ALL_ON, WebhookReports="all")(RESOURCES["WebhookRule"]["Properties"]["EventPattern"])
    invoke = RESOURCES["WebhookInvokeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert invoke == [
        {"Effect": "Allow", "Action": ["events:InvokeApiDestination"], "Resource": {"Fn::GetAtt": ["WebhookDestination", "Arn"]}}
    ]
    assert RESOURCES["WebhookDestination"]["Properties"]["InvocationRateLimitPerSecond"] == {"Ref": "WebhookRateLimit"}
    for queue in ("WebhookDeadLetterQueue", "EventsQueue", "NotifierFailedBatchesQueue"):
        assert resolver(**ALL_ON)(RESOURCES[queue]["Properties"]["SqsManagedSseEnabled"]) is True  # KmsKey empty


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("NotifierErrorsAlarm", "Errors"),
        ("NotifierIteratorAgeAlarm", "IteratorAge"),
        ("NotifierFailedBatchesAlarm", "ApproximateNumberOfMessagesVisible"),
        ("WebhookFailedInvocationsAlarm", "FailedInvocations"),
        ("WebhookDeadLetterAlarm", "ApproximateNumberOfMessagesVisible"),
    ],
)
def test_fan_out_alarms_notify(alarm, metric):
    props = RESOURCES[alarm]["Properties"]
    assert props["MetricName"] == metric and props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert RESOURCES[alarm]["Condition"] in FAN_OUT_CONDITIONS


def test_fan_out_dashboard_shows_iterator_age_errors_failed_deliveries_and_the_webhook():
    body = json.loads(resolver(**ALL_ON)(RESOURCES["FanOutDashboard"]["Properties"]["DashboardBody"]))
    text = json.dumps(body)
    for metric in (
        "IteratorAge",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
        "FailedInvocations",
        "InvocationsSentToDlq",
        "EventsPublished",
    ):
        assert metric in text, metric


def test_settings_the_notifier_and_the_lookup_read_are_wired():
    found = resolver(**ALL_ON)
    notifier = NotifierSettings.from_env(function_environment(found, "NotifierFunction"))
    assert notifier.event_bus == "ReportsBus" and notifier.bulk_counters_table == "BulkCountersTable"
    assert (
        LookupSettings.from_env({**function_environment(found, "LookupFunction"), "REPORTS_TABLE": "t"}).bulk_counters_table
        == "BulkCountersTable"
    )
