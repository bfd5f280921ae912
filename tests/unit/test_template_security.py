"""template.yaml's security options, as the SAM transform expands them (issue 16)."""

from __future__ import annotations

import json

import pytest

from local.stack import load_template
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
    stages = [k for k, v in expanded()["Resources"].items() if v["Type"] == "AWS::ApiGateway::Stage"]
    assert sorted(stages) == ["ConsoleApiv1Stage", "LookupApiv1Stage"], "OpenApiVersion set: SAM makes no extra 'Stage' stage"


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


def _encrypted_with(resources: dict, key: object) -> None:
    for name in ("ReportsTable", "StateTable", "FallbackTable"):
        sse = resources[name]["Properties"]["SSESpecification"]
        assert sse == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}, name
    (rule,) = resources["ArchiveBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert resources["CollectorDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == key
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == key
    assert resources["CursorKeySecret"]["Properties"]["KmsKeyId"] == key
    for group in ("CollectorLogGroup", "LookupLogGroup", "ApiAccessLogGroup"):
        assert resources[group]["Properties"]["KmsKeyId"] == key, group


@pytest.mark.parametrize("kms_key", ["create", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
def test_a_customer_managed_key_encrypts_everything_and_the_roles_get_only_that_key(kms_key):
    resources = expanded(KmsKey=kms_key)["Resources"]
    key = {"Fn::GetAtt": ["DataKey", "Arn"]} if kms_key == "create" else kms_key
    _encrypted_with(resources, key)
    assert resources["DataKey"]["Condition"] == "CreatesKmsKey"  # made only for KmsKey=create
    for function, actions in (("CollectorFunction", ["kms:Decrypt", "kms:GenerateDataKey"]), ("LookupFunction", ["kms:Decrypt"])):
        (statement,) = [
            s
            for p in resources[f"{function}Role"]["Properties"]["Policies"]
            for s in p["PolicyDocument"]["Statement"]
            if s.get("Sid") == "UseDataKey"
        ]
        assert statement["Action"] == actions and statement["Resource"] == key


def test_the_created_keys_policy_admits_only_this_stacks_logs_alarms_and_roles():
    policy = expanded(KmsKey="create")["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    principals = [s["Principal"] for s in policy]
    assert "*" not in principals and {"AWS": "*"} not in principals
    by_sid = {s["Sid"]: s for s in policy}
    assert "kms:EncryptionContext:aws:logs:arn" in by_sid["ThisStacksLogGroups"]["Condition"]["ArnLike"]
    assert by_sid["AlarmsPublishToTheTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert set(by_sid["StackRolesThroughSqs"]["Condition"]) == {"StringEquals", "ArnLike"}
    assert expanded(KmsKey="create")["Resources"]["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_without_a_customer_key_nothing_names_one():
    resources = expanded()["Resources"]
    assert "kms:" not in json.dumps([r for r in resources.values() if r["Type"] == "AWS::IAM::Role"])
    assert "KMSMasterKeyId" not in resources["ReportsTable"]["Properties"]["SSESpecification"]


def test_erasure_is_an_operators_role_with_mfa_and_only_what_the_erasure_does():
    assert RESOURCES["ErasureRole"]["Condition"] == "SearchEnabled"  # with the destination index only
    role = expanded()["Resources"]["ErasureRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert role_actions("Erasure") == {
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
