"""A stack with a customer managed KMS key (KmsKey=create), built on moto from the template."""

import json

from local.infobip_sim import make_reports
from tests.conftest import FAN_OUT
from tests.kit import FakeLambdaContext, assert_nothing_lost, load_event, queued


def test_with_a_customer_managed_key_on_moto_the_collector_and_lookup_still_work(make_stack, sim, collect, lookup_handler):
    stack = make_stack(KmsKey="create")
    key = stack.names["DataKey"]
    described = stack.clients("dynamodb").describe_table(TableName=stack.names["ReportsTable"])["Table"]["SSEDescription"]
    assert described["SSEType"] == "KMS" and described["KMSMasterKeyArn"] == key
    sim.add(make_reports(60))
    assert collect()["outcome"] == "ok"
    assert_nothing_lost(stack, sim.handed_out)
    raw = stack.clients("s3").list_objects_v2(Bucket=stack.names["ArchiveBucket"], Prefix="raw/")["Contents"][0]["Key"]
    head = stack.clients("s3").head_object(Bucket=stack.names["ArchiveBucket"], Key=raw)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key
    event, bulk_id = load_event("lookup_bulk_v3.json"), sim.handed_out[0]["bulkId"]
    event["multiValueQueryStringParameters"] = {"bulkId": [bulk_id], "limit": ["1000"]}
    event["queryStringParameters"] = {"bulkId": bulk_id, "limit": "1000"}
    answer = lookup_handler(event, FakeLambdaContext(seconds=10))
    served = {r["messageId"] for r in json.loads(answer["body"])["results"]}
    assert answer["statusCode"] == 200 and served == {r["messageId"] for r in sim.handed_out if r["bulkId"] == bulk_id}


def test_with_a_customer_managed_key_the_fan_out_keeps_its_data_under_it_and_still_delivers(make_stack, sim, collect, notify):
    stack = make_stack(KmsKey="create", **FAN_OUT)
    key, clients = stack.names["DataKey"], stack.clients
    for table in ("ReportsTable", "BulkCountersTable"):
        assert clients("dynamodb").describe_table(TableName=stack.names[table])["Table"]["SSEDescription"]["KMSMasterKeyArn"] == key
    for queue in ("EventsQueue", "NotifierFailedBatchesQueue"):
        url = clients("sqs").get_queue_url(QueueName=stack.names[queue])["QueueUrl"]
        attributes = clients("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["KmsMasterKeyId"] == key, queue  # (moto reports SqsManagedSseEnabled whatever it is given)
    assert clients("secretsmanager").describe_secret(SecretId=stack.names["SearchKeySecret"])["KmsKeyId"] == key
    feeder = notify(stack)
    sim.add(make_reports(30, bulks=2, seed=8))
    assert collect()["outcome"] == "ok"
    assert feeder.drain().records == 30
    assert len(queued(stack)) == 30
