"""template.yaml, as written and as the SAM transform expands it: the contract of DESIGN.md."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from dlr_vault.config import CollectorSettings, LookupSettings
from dlr_vault.index import BULK_INDEX
from dlr_vault.search import DESTINATION_INDEX, TIME_INDEX
from local.stack import ROOT, Resolver, expand_template, function_environment, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


@cache
def _expanded(parameters: frozenset[tuple[str, str]]) -> dict[str, Any]:
    return expand_template(dict(parameters))


def expanded(**parameters: str) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` would create: AWS::LanguageExtensions (as sam's
    --language-extensions expands it), then the SAM transform, run offline."""
    return _expanded(frozenset(parameters.items()))


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement a role's inline policies can hold (both branches of a conditional one)."""
    return [s for policy in role.get("Policies", []) for s in _statements(policy["PolicyDocument"]["Statement"])]


def _statements(listed: list[Any]) -> list[dict[str, Any]]:
    """Policy statements, those under `Fn::If` included (the branch that is not AWS::NoValue)."""
    out = []
    for statement in listed:
        if set(statement) == {"Fn::If"}:
            out.extend(s for s in statement["Fn::If"][1:] if s != {"Ref": "AWS::NoValue"})
        else:
            out.append(statement)
    return out


def role_actions(function: str, **parameters: str) -> set[str]:
    role = expanded(**parameters)["Resources"][f"{function}Role"]["Properties"]
    actions = set()
    for policy in role.get("Policies", []):
        for statement in _statements(policy["PolicyDocument"]["Statement"]):
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_parameters_are_exactly_the_designs_with_its_defaults():
    params = TEMPLATE["Parameters"]
    assert "Default" not in params["InfobipBaseUrl"] and "Default" not in params["InfobipApiKeySecret"]
    assert params["InfobipApiVersion"]["Default"] == "1" and params["InfobipApiVersion"]["AllowedValues"] == ["1", "3"]
    assert params["ScheduleExpression"]["Default"] == "rate(1 minute)"
    assert params["PageSize"]["Default"] == 1000 and params["PageSize"]["MinValue"] == 1
    assert params["RetentionDays"]["Default"] == 0


def test_every_setting_the_code_reads_is_wired_by_the_template(monkeypatch):
    resolver = Resolver(TEMPLATE, {"InfobipBaseUrl": "https://x.api.infobip.com", "InfobipApiKeySecret": "s"})
    resolver.names.update({k: k for k in RESOURCES})
    for function, settings in (("CollectorFunction", CollectorSettings), ("LookupFunction", LookupSettings)):
        env = function_environment(resolver, function)
        settings.from_env(env)  # raises ConfigError for anything missing
        source = (ROOT / "layers/common/dlr_vault/config.py").read_text()
        for name in re.findall(r'"([A-Z_]+)"', source):
            if name.startswith(("INFOBIP", "PAGE", "RETENTION", "REPORTS", "STATE", "ARCHIVE")) and function == "CollectorFunction":
                assert name in env or name == "INFOBIP_READ_TIMEOUT", name
    assert "INFOBIP_API_KEY" not in str(RESOURCES["CollectorFunction"]["Properties"]["Environment"]).replace("INFOBIP_API_KEY_SECRET", "")


def test_collector_is_scheduled_with_retries_and_a_dead_letter_queue_one_at_a_time_unless_polling():
    props = RESOURCES["CollectorFunction"]["Properties"]
    schedule = props["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert schedule["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["CollectorDeadLetterQueue", "Arn"]}
    assert any(r["Type"] == "AWS::Scheduler::Schedule" for r in expanded()["Resources"].values())
    one_at_a_time = Resolver(TEMPLATE, {})
    assert (one_at_a_time(props["ReservedConcurrentExecutions"]), one_at_a_time(props["Timeout"])) == (1, 60)
    # Polling runs overlap: one polls past the next tick while the next waits for the hand-over.
    polling = Resolver(TEMPLATE, {"PollIntervalSeconds": "5"})
    assert (polling(props["ReservedConcurrentExecutions"]), polling(props["Timeout"])) == (2, 120)


def test_globals_runtime_arm64_tracing_json_logs():
    function = TEMPLATE["Globals"]["Function"]
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active" and function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["Environment"]["Variables"]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    layer = RESOURCES["CommonLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}  # layers/common/Makefile


def test_table_key_index_pitr_sse_ttl_and_retention():
    table = RESOURCES["ReportsTable"]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "messageId", "KeyType": "HASH"}]
    gsi = props["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == BULK_INDEX
    assert gsi["KeySchema"] == [{"AttributeName": "bulkId", "KeyType": "HASH"}, {"AttributeName": "sentAt", "KeyType": "RANGE"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] == {"Fn::If": ["KeepsPointInTimeRecovery", True, False]}
    assert props["SSESpecification"]["SSEEnabled"] is True and props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_bucket_versioned_encrypted_private_tls_only_tiered_and_retained():
    bucket = RESOURCES["ArchiveBucket"]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert bucket["DeletionPolicy"] == "Retain"
    rule = props["LifecycleConfiguration"]["Rules"][0]
    assert rule["Transitions"][0]["TransitionInDays"] == {"Ref": "ArchiveTransitionDays"}
    statement = next(s for s in RESOURCES["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "TlsOnly")
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lookup_role_can_only_read_the_table_its_indexes_and_its_two_keys():
    assert role_actions("LookupFunction") == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "secretsmanager:GetSecretValue",
    }
    statements = {s["Sid"]: s for s in _statements(RESOURCES["LookupFunction"]["Properties"]["Policies"][0]["Statement"])}
    assert statements["ReadReports"]["Resource"][1:] == [
        {"Fn::Sub": "${ReportsTable.Arn}/index/" + name} for name in (BULK_INDEX, DESTINATION_INDEX, TIME_INDEX)
    ]
    assert statements["ReadCursorKey"]["Resource"] == {"Ref": "CursorKeySecret"}
    assert statements["ReadSearchKey"]["Resource"] == {"Ref": "SearchKeySecret"}


def _resolved(search_indexes: str) -> Resolver:
    resolver = Resolver(
        TEMPLATE, {"InfobipBaseUrl": "https://x.api.infobip.com", "InfobipApiKeySecret": "s", "SearchIndexes": search_indexes}
    )
    resolver.names.update({k: k for k in RESOURCES})
    return resolver


@pytest.mark.parametrize(
    ("search_indexes", "indexes"),
    [("all", [DESTINATION_INDEX, TIME_INDEX]), ("destination", [DESTINATION_INDEX]), ("none", [])],
)
def test_search_indexes_are_keys_only_and_switched_by_one_parameter(search_indexes, indexes):
    resolver = _resolved(search_indexes)
    table = resolver(RESOURCES["ReportsTable"]["Properties"])
    gsis = {g["IndexName"]: g for g in table["GlobalSecondaryIndexes"]}
    assert list(gsis) == [BULK_INDEX, *indexes]  # with "none", the table of the original pair
    assert all(gsis[name]["Projection"] == {"ProjectionType": "KEYS_ONLY"} for name in indexes)
    assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == {
        k["AttributeName"] for g in gsis.values() for k in g["KeySchema"]
    } | {"messageId"}
    on = search_indexes != "none"
    assert resolver.condition(RESOURCES["SearchKeySecret"]["Condition"]) is on
    assert RESOURCES["SearchKeySecret"]["DeletionPolicy"] == "Retain"  # a new key orphans every stored hash
    for function in ("CollectorFunction", "LookupFunction"):
        assert bool(function_environment(resolver, function)["SEARCH_KEY_SECRET"]) is on
        statements = resolver(RESOURCES[function]["Properties"]["Policies"][0]["Statement"])
        assert ("ReadSearchKey" in {s["Sid"] for s in statements}) is on
    assert TEMPLATE["Parameters"]["SearchIndexes"]["Default"] == "all"


def test_collector_role_writes_only_its_table_prefixes_and_state_and_reads_its_secrets():
    actions = role_actions("CollectorFunction")
    assert actions == {
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
    }
    statements = {s["Sid"]: s for s in _statements(RESOURCES["CollectorFunction"]["Properties"]["Policies"][0]["Statement"]) if "Sid" in s}
    assert [r["Fn::Sub"] for r in statements["WriteArchive"]["Resource"]] == [
        "${ArchiveBucket.Arn}/raw/*",
        "${ArchiveBucket.Arn}/reports/*",
        "${ArchiveBucket.Arn}/health/*",
    ]
    assert not any(str(s.get("Resource")) == "*" for s in statements.values())
    reads = [
        s for s in _statements(RESOURCES["CollectorFunction"]["Properties"]["Policies"][0]["Statement"]) if s["Sid"] == "ReadSearchKey"
    ]
    assert [s["Resource"] for s in reads] == [{"Ref": "SearchKeySecret"}]  # the search key, nothing more


def test_api_requires_a_key_per_consumer_with_a_throttled_usage_plan_and_outputs_url_and_key_ids():
    resources = expanded(ApiConsumers="billing,support")["Resources"]
    for consumer in ("billing", "support"):
        plan = resources[f"UsagePlan{consumer}"]["Properties"]
        defaults = {name: TEMPLATE["Parameters"][name]["Default"] for name in ("ApiRateLimit", "ApiBurstLimit", "ApiDailyQuota")}
        assert plan["Throttle"] == {"RateLimit": defaults["ApiRateLimit"], "BurstLimit": defaults["ApiBurstLimit"]}
        assert plan["Quota"] == {"Limit": defaults["ApiDailyQuota"], "Period": "DAY"}
        assert resources[f"UsagePlanKey{consumer}"]["Properties"]["KeyId"] == {"Ref": f"ApiKey{consumer}"}
        assert resources[f"ApiKey{consumer}"]["Type"] == "AWS::ApiGateway::ApiKey"
    assert RESOURCES["LookupApi"]["Properties"]["StageName"] == {"Ref": "ApiStageName"}
    assert {"ApiUrl", "ApiKeyIdbilling", "ApiKeyIdsupport"} <= set(expanded(ApiConsumers="billing,support")["Outputs"])


@pytest.mark.parametrize(
    ("alarm", "metric"),
    [
        ("CollectorErrorsAlarm", "Errors"),
        ("CollectorStaleAlarm", "SuccessfulRuns"),
        ("ScheduleDeadLetterAlarm", "ApproximateNumberOfMessagesVisible"),
        ("QuarantinedPagesAlarm", "QuarantinedPages"),
        ("LookupServerErrorsAlarm", "5XXError"),
        ("TableThrottlingAlarm", "ThrottledRequests"),
        ("GapsPersistAlarm", "GapsRecovered"),
    ],
)
def test_alarms_exist_and_notify(alarm, metric):
    props = RESOURCES[alarm]["Properties"]
    assert props["MetricName"] == metric
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_stale_alarm_treats_missing_heartbeats_as_breaching():
    props = RESOURCES["CollectorStaleAlarm"]["Properties"]
    assert props["TreatMissingData"] == "breaching"
    assert props["EvaluationPeriods"] == {"Ref": "StaleAfterMinutes"} and props["Period"] == 60


def test_every_function_has_its_own_log_group_with_retention():
    for function in ("CollectorFunction", "LookupFunction"):
        group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_checkov_skips_all_carry_a_reason():
    for name, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []) if isinstance(resource, dict) else []:
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"


def test_dashboard_shows_status_groups_delivery_rate_lag_pages_and_lookup_health():
    import json

    from local.stack import Resolver

    resolver = Resolver(TEMPLATE, {"InfobipBaseUrl": "https://x", "InfobipApiKeySecret": "s"})
    body = json.loads(resolver(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]))
    titles = " | ".join(w["properties"]["title"] for w in body["widgets"])
    for wanted in ("status group", "Delivery rate", "Seconds behind", "retries", "Lookup latency and errors", "gaps recovered"):
        assert wanted in titles
    names = json.dumps(body)
    for metric in ("ReportsByStatusGroup", "SecondsBehind", "Pages", "Retries", "Latency", "5XXError"):
        assert metric in names


def test_reconciliation_has_its_own_schedule_input_and_can_be_disabled():
    reconcile = RESOURCES["CollectorFunction"]["Properties"]["Events"]["Reconcile"]["Properties"]
    assert reconcile["Input"] == '{"source": "dlr-vault.schedule", "mode": "reconcile"}'
    assert TEMPLATE["Parameters"]["ReconcileExpression"]["Default"] == "rate(1 hour)"
    assert reconcile["State"] == {"Fn::If": ["ReconcileEnabled", "ENABLED", "DISABLED"]}
    assert TEMPLATE["Conditions"]["ReconcileEnabled"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReconcileExpression"}, "disabled"]}]}
    assert reconcile["DeadLetterConfig"] and reconcile["RetryPolicy"]


def test_the_lookup_apis_5xx_alarm_watches_the_name_the_api_is_given():
    alarm = RESOURCES["LookupServerErrorsAlarm"]["Properties"]
    assert {"Name": "ApiName", "Value": RESOURCES["LookupApi"]["Properties"]["Name"]} in alarm["Dimensions"]


@pytest.mark.parametrize("table_class", [None, "STANDARD"])
def test_the_reports_table_is_infrequent_access_unless_asked(table_class):
    """moto keeps no table class, so this reads what CloudFormation would be given."""
    resolver = Resolver(
        TEMPLATE, {"InfobipBaseUrl": "https://x", "InfobipApiKeySecret": "s", **({"TableClass": table_class} if table_class else {})}
    )
    resolver.names.update({k: k for k in RESOURCES})
    assert resolver(RESOURCES["ReportsTable"]["Properties"])["TableClass"] == (table_class or "STANDARD_INFREQUENT_ACCESS")


@pytest.mark.parametrize("asked", [None, "true"])
def test_point_in_time_recovery_of_the_reports_table_is_off_unless_asked(make_stack, asked):
    stack = make_stack(**({"PointInTimeRecovery": asked} if asked else {}))
    backups = stack.clients("dynamodb").describe_continuous_backups(TableName=stack.names["ReportsTable"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == ("ENABLED" if asked else "DISABLED")
