"""Key rotation: a 401 re-reads the Infobip key once; cursors signed before a rotation keep working."""

from __future__ import annotations

import json
import secrets

import pytest

from dlr_vault import aws
from dlr_vault.cursor import CursorCodec
from dlr_vault.ingest import CollectorFailed
from dlr_vault.lookup import bulk_scope
from local.infobip_sim import make_reports
from local.stack import reset_runtime
from tests.kit import FakeLambdaContext, assert_nothing_lost, load_event


def test_a_401_after_the_key_rotated_rereads_it_once_and_the_run_succeeds(stack, sim, collect):
    sim.add(make_reports(40))
    assert collect()["outcome"] == "ok"  # this warm container now caches the key for 5 minutes
    secret = stack.resolver.parameter("InfobipApiKeySecret")
    sim.api_key = "rotated-" + secrets.token_hex(8)  # Infobip now wants the new key ...
    stack.clients("secretsmanager").put_secret_value(SecretId=secret, SecretString=sim.api_key)  # ... which is stored
    sim.add(make_reports(30, seed=9))
    requests_before = len(sim.requests)
    result = collect()
    assert result["outcome"] == "ok" and result["fetched"] == 30
    assert len(sim.requests) - requests_before == 2, "one 401 with the cached key, then the page with the re-read one"
    assert_nothing_lost(stack, sim.handed_out)


def test_a_key_that_is_simply_wrong_is_read_again_once_and_still_fails_without_consuming(stack, sim, collect):
    sim.add(make_reports(20))
    stack.clients("secretsmanager").put_secret_value(SecretId=stack.resolver.parameter("InfobipApiKeySecret"), SecretString="wrong")
    with pytest.raises(CollectorFailed, match="HTTP 401"):
        collect()
    assert len(sim.requests) == 1 and len(sim.pending) == 20, "the re-read key is the same: no second request"


def _page(handler, bulk_id: str, cursor: str | None = None) -> dict:
    event = load_event("lookup_bulk_v3.json")
    event["multiValueQueryStringParameters"] = {"bulkId": [bulk_id], "limit": ["20"], **({"cursor": [cursor]} if cursor else {})}
    event["queryStringParameters"] = {k: v[0] for k, v in event["multiValueQueryStringParameters"].items()}
    answer = handler(event, FakeLambdaContext(seconds=10))
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def _rotate(stack) -> None:
    """What `aws secretsmanager put-secret-value` does: a new AWSCURRENT, the old one becomes AWSPREVIOUS."""
    stack.clients("secretsmanager").put_secret_value(SecretId=stack.names["CursorKeySecret"], SecretString=secrets.token_urlsafe(48))


def test_cursors_signed_before_a_rotation_verify_until_the_next_one(stack, sim, collect, lookup_handler):
    sim.add(make_reports(100, bulks=1, seed=2))
    collect()
    bulk_id = sim.handed_out[0]["bulkId"]
    first = _page(lookup_handler, bulk_id)
    old_cursor = first["nextCursor"]
    expected_next = _page(lookup_handler, bulk_id, old_cursor)["results"]

    _rotate(stack)
    reset_runtime()  # a cold container: it signs with the new key
    after = _page(lookup_handler, bulk_id, old_cursor)
    assert after["status"] == 200 and after["results"] == expected_next, "the previous key still verifies"
    assert after["nextCursor"].split(".")[0] != old_cursor.split(".")[0], "new cursors carry the new key's id"

    _rotate(stack)
    reset_runtime()
    assert _page(lookup_handler, bulk_id, old_cursor)["status"] == 400, "two rotations later the old key is gone"
    assert _page(lookup_handler, bulk_id, after["nextCursor"])["status"] == 200


def test_a_warm_container_rereads_the_keys_for_a_cursor_signed_with_a_newer_one(stack, sim, collect, lookup_handler):
    sim.add(make_reports(100, bulks=1, seed=2))
    collect()
    bulk_id = sim.handed_out[0]["bulkId"]
    warm_cursor = _page(lookup_handler, bulk_id)["nextCursor"]  # this container caches the keys for an hour
    expected_next = _page(lookup_handler, bulk_id, warm_cursor)["results"]
    _rotate(stack)
    # another (cold) container hands out a cursor for the same position under the new key
    name, secrets = stack.names["CursorKeySecret"], stack.clients("secretsmanager")
    stages = [secrets.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"] for stage in ("AWSCURRENT", "AWSPREVIOUS")]
    cold = CursorCodec(lambda fresh: stages)  # read past this process's cache, which the warm container keeps
    assert aws.secret_stages(name)[0] == stages[1], "the warm container's cache still holds the old key first"
    start = cold.decode(warm_cursor, bulk_scope(bulk_id))
    newer_cursor = cold.encode(bulk_scope(bulk_id), start)
    assert newer_cursor.split(".")[0] != warm_cursor.split(".")[0]
    answer = _page(lookup_handler, bulk_id, newer_cursor)  # the warm container has never seen that key
    assert answer["status"] == 200 and answer["results"] == expected_next
