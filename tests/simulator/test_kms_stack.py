"""A stack with a customer managed KMS key (KmsKey=create), built on moto from the template."""

from local.infobip_sim import make_reports
from tests.kit import assert_nothing_lost


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
