"""The direct JSON-protocol client: same results as botocore, signed, retried like botocore's standard mode."""

import json
import socket

import boto3
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from dlr_vault import aws
from dlr_vault.dynamodb import DynamoDBJson
from tests.kit import aws_failing, on_the_wire, wire_answer


def item(n: int) -> dict:
    return {"messageId": {"S": f"m{n}"}, "report": {"S": json.dumps({"to": "Zoë ☎", "n": n}, ensure_ascii=False)}, "apiVersion": {"N": "1"}}


def puts(table: str, n: int) -> dict:
    return {table: [{"PutRequest": {"Item": item(i)}} for i in range(n)]}


@pytest.fixture
def table(stack) -> str:
    return stack.names["ReportsTable"]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def wire(table, sleeps) -> DynamoDBJson:
    return DynamoDBJson(aws.client("dynamodb"), aws._session().get_credentials, max_attempts=4, sleep=sleeps.append)


def test_writes_and_reads_the_same_items_botocore_sees(wire, table):
    assert wire.batch_write_item(RequestItems=puts(table, 25))["UnprocessedItems"] == {}
    stored = aws.client("dynamodb").scan(TableName=table)["Items"]
    assert sorted(stored, key=lambda i: i["messageId"]["S"]) == sorted((item(i) for i in range(25)), key=lambda i: i["messageId"]["S"])
    keys = {table: {"Keys": [{"messageId": {"S": f"m{i}"}} for i in (3, 7, 99)], "ConsistentRead": True}}
    answer = wire.batch_get_item(RequestItems=keys)
    assert sorted(i["messageId"]["S"] for i in answer["Responses"][table]) == ["m3", "m7"]
    assert answer["Responses"][table][0]["report"]["S"] in {item(3)["report"]["S"], item(7)["report"]["S"]}


def test_requests_are_signed_with_the_credentials_it_is_given(table):
    seen = []
    client = aws.client("dynamodb")
    wire = DynamoDBJson(client, lambda: Credentials("AKIDEXAMPLE", "secret", "session-token"), max_attempts=1)
    with on_the_wire(client, "BatchWriteItem", lambda request, **_: seen.append(request)):
        wire.batch_write_item(RequestItems=puts(table, 1))
    headers = seen[0].headers
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.BatchWriteItem"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/dynamodb/aws4_request, SignedHeaders=" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert json.loads(seen[0].body) == {"RequestItems": puts(table, 1)}


def test_no_credentials_is_botocores_error(table):
    with pytest.raises(NoCredentialsError):
        DynamoDBJson(aws.client("dynamodb"), lambda: None, max_attempts=1).batch_write_item(RequestItems=puts(table, 1))


@pytest.mark.parametrize(
    "status,code", [(400, "ProvisionedThroughputExceededException"), (400, "ThrottlingException"), (503, "ServiceUnavailable")]
)
def test_throttling_and_5xx_are_retried_until_the_write_lands(wire, table, sleeps, status, code):
    with aws_failing(aws.client("dynamodb"), "BatchWriteItem", times=3, status=status, code=code) as failures:
        wire.batch_write_item(RequestItems=puts(table, 5))
    assert failures["failed"] == 3 and len(sleeps) == 3
    assert all(0 <= pause <= 2.0 for pause in sleeps)
    assert aws.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"] == 5


def test_a_client_error_is_not_retried_and_keeps_botocores_shape(wire, table, sleeps):
    with (
        aws_failing(aws.client("dynamodb"), "BatchWriteItem", status=400, code="ValidationException") as failures,
        pytest.raises(ClientError) as raised,
    ):
        wire.batch_write_item(RequestItems=puts(table, 5))
    assert failures["failed"] == 1 and sleeps == []
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": "injected"}
    assert raised.value.operation_name == "BatchWriteItem"


def test_a_lasting_outage_fails_after_the_configured_attempts(wire, table, sleeps):
    with (
        aws_failing(aws.client("dynamodb"), "BatchGetItem", status=500, code="InternalServerError") as failures,
        pytest.raises(ClientError) as raised,
    ):
        wire.batch_get_item(RequestItems={table: {"Keys": [{"messageId": {"S": "m1"}}]}})
    assert failures["failed"] == 4 and len(sleeps) == 3
    assert raised.value.response["Error"]["Code"] == "InternalServerError"


@pytest.mark.parametrize("header", ["1", "not-a-number"])
def test_an_answer_whose_checksum_does_not_match_is_asked_again(wire, table, sleeps, header):
    client, state = aws.client("dynamodb"), {"left": 1}

    def corrupt(request, **_):
        if state["left"]:
            state["left"] -= 1
            return wire_answer(request, 200, {"x-amz-crc32": header}, b'{"UnprocessedItems":{}}')
        return None

    with on_the_wire(client, "BatchWriteItem", corrupt):
        wire.batch_write_item(RequestItems=puts(table, 3))
    assert state["left"] == 0 and len(sleeps) == 1
    assert client.scan(TableName=table, Select="COUNT")["Count"] == 3


def test_a_refused_connection_is_retried_then_raised(stack, table, sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{closed}", region_name="us-east-1")
    wire = DynamoDBJson(client, aws._session().get_credentials, max_attempts=3, sleep=sleeps.append)
    with pytest.raises(EndpointConnectionError):
        wire.batch_write_item(RequestItems=puts(table, 1))
    assert len(sleeps) == 2
