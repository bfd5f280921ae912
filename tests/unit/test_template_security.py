"""template.yaml's security options, as the SAM transform expands them (issue 16)."""

from __future__ import annotations

import json

import pytest

from local.stack import EVERYTHING_ON, load_template
from tests.unit.test_template import RESOURCES, expanded, role_actions, statements

CALLER_ROUTES = (
    "/sms/1/reports",
    "/sms/3/reports",
    "/sms/1/logs",
    "/sms/3/logs",
    "/reports/{messageId}",
    "/openapi.json",
    "/bulks/{bulkId}/summary",
    "/{proxy+}",
    "/",
)


def _api(**parameters: str) -> dict:
    return expanded(**parameters)["Resources"]["LookupApi"]["Properties"]["Body"]


def _securities(body: dict) -> set[str]:
    return {name for path in body["paths"].values() for method in path.values() for s in method.get("security", []) for name in s}


def test_one_stage_only_no_stray_stage():
    resources = expanded()["Resources"]
    stages = [k for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::Stage"]
    assert sorted(stages) == ["ConsoleApiv1Stage", "LookupApiv1Stage"]
    # SAM makes the stray stage through the deployment (StageName: Stage) unless OpenApiVersion is set
    deployments = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::ApiGateway::Deployment"]
    assert len(deployments) == 2 and not any("StageName" in d for d in deployments)


def test_api_keys_by_default_on_every_route():
    body = _api()
    assert set(body["paths"]) == set(CALLER_ROUTES)
    assert _securities(body) == {"api_key"}
    assert {k for k, v in expanded()["Resources"].items() if v["Type"] == "AWS::ApiGateway::ApiKey"} == {"ApiKeydefault"}


def test_iam_instead_of_keys_on_every_route_and_only_this_accounts_principals():
    body = _api(ApiAuth="Iam")
    assert _securities(body) == {"AWS_IAM"}
    (allow,) = body["x-amazon-apigateway-policy"]["Statement"]
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    resources = expanded(ApiAuth="Iam")["Resources"]
    assert all(r.get("Condition") == "UsesApiKeys" for r in resources.values() if r["Type"].startswith("AWS::ApiGateway::UsagePlan"))
    assert load_template()["Conditions"]["UsesApiKeys"] == {"Fn::Equals": [{"Ref": "ApiAuth"}, "ApiKey"]}


def test_listing_vpc_endpoints_makes_the_api_private_to_them():
    """aws:SourceVpce is set only on a private API's requests: on a regional one the policy would admit nobody."""
    resources = expanded()["Resources"]["LookupApi"]["Properties"]
    assert resources["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    private = expanded(ApiAllowedVpcEndpoints="vpce-0abc,vpce-0def")["Resources"]["LookupApi"]["Properties"]
    assert private["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": ["vpce-0abc", "vpce-0def"]}
    assert private["Parameters"] == {"endpointConfigurationTypes": "PRIVATE"}


def test_resource_policy_limits_callers_to_listed_ranges_or_vpc_endpoints():
    assert len(_api()["x-amazon-apigateway-policy"]["Statement"]) == 1, "no limits: nothing denied"
    statements = _api(ApiAllowedSourceIps="203.0.113.0/24", ApiAllowedVpcEndpoints="vpce-0abc")["x-amazon-apigateway-policy"]["Statement"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}, "StringNotEquals": {"aws:SourceVpce": ["vpce-0abc"]}}
    only_ips = next(
        s for s in _api(ApiAllowedSourceIps="203.0.113.0/24")["x-amazon-apigateway-policy"]["Statement"] if s["Effect"] == "Deny"
    )
    assert only_ips["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}


def test_access_log_names_route_and_caller_never_the_raw_path_or_query():
    fmt = json.loads(RESOURCES["LookupApi"]["Properties"]["AccessLogSetting"]["Format"])
    assert fmt["resource"] == "$context.resourcePath" and fmt["apiKeyId"] == "$context.identity.apiKeyId"
    assert fmt["caller"] == "$context.identity.userArn" and fmt["requestId"] == "$context.requestId"
    assert "$context.path" not in json.dumps(fmt)


def test_raw_is_write_once_for_the_collector_and_old_versions_stay_90_days():
    statements = {s["Sid"]: s for s in RESOURCES["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    create_only = statements["CollectorCreatesRawOnly"]
    assert create_only["Effect"] == "Deny" and create_only["Action"] == "s3:PutObject"
    assert create_only["Condition"]["Null"] == {"s3:if-none-match": "true"}
    assert create_only["Condition"]["ArnEquals"] == {"aws:PrincipalArn": {"Fn::GetAtt": ["CollectorFunctionRole", "Arn"]}}
    never_delete = statements["CollectorNeverDeletesRaw"]
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"} <= set(never_delete["Action"])
    for statement in (create_only, never_delete):
        assert statement["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/raw/*"}
    rule = RESOURCES["ArchiveBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert "Prefix" not in rule and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 90
    assert "s3:DeleteObject" not in role_actions("CollectorFunction")


def test_object_lock_is_off_by_default_and_governance_for_n_days_when_asked():
    assert "ObjectLockConfiguration" not in expanded()["Resources"]["ArchiveBucket"]["Properties"]
    bucket = expanded(ObjectLockDays="30")["Resources"]["ArchiveBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention["Mode"] == "GOVERNANCE" and int(retention["Days"]) == 30


def _key_of(resource: dict) -> object:
    """The key a resource that keeps data is encrypted with (None: not a customer managed one)."""
    p = resource["Properties"]
    match resource["Type"]:
        case "AWS::S3::Bucket":
            (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            sse = rule["ServerSideEncryptionByDefault"]
            return sse.get("KMSMasterKeyID") if sse["SSEAlgorithm"] == "aws:kms" else None
        case "AWS::DynamoDB::Table":
            sse = p["SSESpecification"]
            return sse.get("KMSMasterKeyId") if sse.get("SSEType") == "KMS" else None
        case "AWS::SQS::Queue" | "AWS::SNS::Topic":
            return p.get("KmsMasterKeyId")
        case "AWS::Logs::LogGroup" | "AWS::SecretsManager::Secret":
            return p.get("KmsKeyId")
        case "AWS::Events::EventBus":
            return p.get("KmsKeyIdentifier")
        case "AWS::Athena::WorkGroup":
            encryption = p["WorkGroupConfiguration"]["ResultConfiguration"]["EncryptionConfiguration"]
            return encryption.get("KmsKey") if encryption["EncryptionOption"] == "SSE_KMS" else None
    raise AssertionError(resource["Type"])


KEEPS_DATA = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus",
    "AWS::Athena::WorkGroup",
)


@pytest.mark.parametrize("kms_key", ["create", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
def test_a_customer_managed_key_encrypts_everything_and_every_role_gets_only_that_key(kms_key):
    """Every resource of a kind that keeps data, the optional ones included: a resource added later
    without the key fails here."""
    resources = expanded(KmsKey=kms_key, **EVERYTHING_ON)["Resources"]
    key = {"Fn::GetAtt": ["DataKey", "Arn"]} if kms_key == "create" else kms_key
    keeping = {name: r for name, r in resources.items() if r["Type"] in KEEPS_DATA}
    assert {"ArchiveBucket", "ReportsTable", "BulkCountersTable", "ReportsBus", "EventsQueue", "SearchKeySecret"} <= set(keeping)
    assert {name: _key_of(r) for name, r in keeping.items()} == dict.fromkeys(keeping, key)
    assert resources["DataKey"]["Condition"] == "CreatesKmsKey"  # made only for KmsKey=create
    for queue in ("EventsQueue", "WebhookDeadLetterQueue", "NotifierFailedBatchesQueue"):
        assert "SqsManagedSseEnabled" not in resources[queue]["Properties"], "one encryption per queue"
    # every role that touches data: the key, with no more than the actions its job needs
    uses = {
        "CollectorFunctionRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "LookupFunctionRole": ["kms:Decrypt"],
        "ConsoleFunctionRole": ["kms:Decrypt"],
        "NotifierFunctionRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "CollectorScheduleRole": ["kms:Decrypt", "kms:GenerateDataKey"],
        "ErasureRole": ["kms:Decrypt", "kms:GenerateDataKey"],
    }
    for role, actions in uses.items():
        (statement,) = [s for s in statements(resources[role]["Properties"]) if "kms" in json.dumps(s["Action"])]
        assert statement["Action"] == actions and statement["Resource"] == key, role
    roles = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert roles - set(uses) == {"WebhookInvokeRole"}  # it only invokes the API destination; EventBridge decrypts


def test_the_schedules_run_as_a_role_of_the_stacks_own_that_can_reach_the_dead_letter_queue():
    """SAM's generated schedule role could not be given the key: with a customer managed key the
    schedules' dead letters would be refused."""
    resources = expanded(KmsKey="create")["Resources"]
    schedules = [r["Properties"]["Target"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert len(schedules) == 2
    assert all(t["RoleArn"] == {"Fn::GetAtt": ["CollectorScheduleRole", "Arn"]} for t in schedules)
    by_sid = {s["Sid"]: s for s in statements(resources["CollectorScheduleRole"]["Properties"])}
    assert by_sid["InvokeCollector"]["Resource"] == {"Fn::GetAtt": ["CollectorFunction", "Arn"]}
    assert by_sid["DeadLetters"]["Resource"] == {"Fn::GetAtt": ["CollectorDeadLetterQueue", "Arn"]}
    (trust,) = resources["CollectorScheduleRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_created_keys_policy_admits_only_this_stacks_logs_alarms_and_event_bus():
    policy = expanded(KmsKey="create")["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    by_sid = {s["Sid"]: s for s in policy}
    assert {s["Principal"].get("AWS") for s in policy} == {"arn:aws:iam::123456789012:root", None}, "no wildcard principal"
    (delegates,) = [s for s in policy if "AWS" in s["Principal"]]
    assert "Condition" not in delegates, "the account's IAM policies decide who else uses the key"
    assert by_sid["ThisStacksLogGroups"]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/dlr-vault/*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/dlr-vault/*",
    ]
    assert by_sid["AlarmsPublishToTheTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    events = by_sid["EventBridgeForThisAccountsBusAndRuleTargets"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert expanded(KmsKey="create")["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True
    # every log group this stack makes is one the key's logs statement admits
    for name, group in expanded(KmsKey="create", **EVERYTHING_ON)["Resources"].items():
        if group["Type"] == "AWS::Logs::LogGroup":
            path = group["Properties"]["LogGroupName"]
            assert path.startswith(("/aws/lambda/dlr-vault/", "/aws/apigateway/dlr-vault/")), name


def test_without_a_customer_key_nothing_names_one():
    resources = expanded(**EVERYTHING_ON)["Resources"]
    assert "kms:" not in json.dumps([r for r in resources.values() if r["Type"] == "AWS::IAM::Role"])
    assert {name: _key_of(r) for name, r in resources.items() if r["Type"] in KEEPS_DATA if _key_of(r) is not None} == {
        "CollectorDeadLetterQueue": "alias/aws/sqs",
        "AlarmTopic": "alias/aws/sns",
    }
    for queue in ("EventsQueue", "WebhookDeadLetterQueue", "NotifierFailedBatchesQueue"):
        assert resources[queue]["Properties"]["SqsManagedSseEnabled"] is True


def test_erasure_is_an_operators_role_with_mfa_and_only_what_the_erasure_does():
    assert RESOURCES["ErasureRole"]["Condition"] == "SearchEnabled"  # with the destination index only
    role = expanded()["Resources"]["ErasureRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert role_actions("Erasure") == {
        "cloudformation:DescribeStacks",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Scan",
        "secretsmanager:GetSecretValue",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:BypassGovernanceRetention",
    }
    deletes = [s for s in statements(role) if "s3:DeleteObjectVersion" in s["Action"]]
    assert [str(s["Resource"]) for s in deletes] == [str(["${ArchiveBucket.Arn}/raw/*", "${ArchiveBucket.Arn}/reports/*"])]
    assert not {"s3:PutObject", "s3:DeleteObjectVersion"} & role_actions("LookupFunction")
