"""Webhook forwarding: the body EventBridge's API destination would POST, built by the template's
own rule (pattern + InputTransformer, applied by moto) and posted to a receiver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
import requests
from infobip_api_client.models.sms_delivery_result import SmsDeliveryResult

from dlr_vault import aws
from dlr_vault.reports import FINAL_GROUPS
from local.infobip_sim import make_reports
from local.webhook import WebhookReceiver, forward
from tests.conftest import LOCAL_API_KEY
from tests.simulator.test_infobip_client_compat import KNOWN_TO_CLIENT


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def served(api, version: int, message_id: str) -> dict:
    answer = requests.get(
        f"{api.url}/sms/{version}/reports", params={"messageId": message_id}, headers={"x-api-key": LOCAL_API_KEY}, timeout=10
    )
    (report,) = answer.json()["results"]
    return report


def test_every_change_reaches_the_webhook_as_infobips_v3_push_and_the_official_client_parses_it(
    make_stack, sim, collect, notify, api, receiver
):
    stack = make_stack(EventsEnabled="true", WebhookUrl=receiver.url, WebhookReports="all")
    feeder = notify(stack)
    sim.add([r for r in make_reports(30, bulks=2, seed=31) if r.fields["status"]["groupName"] in KNOWN_TO_CLIENT])
    collect()
    feeder.drain()
    assert forward(stack) == len(sim.handed_out) == len(receiver.received)
    for headers, body in receiver.received:
        push = json.loads(body)
        assert list(push) == ["results"] and len(push["results"]) == 1
        (report,) = push["results"]
        assert report == served(api, 3, report["messageId"]), "exactly the item GET /sms/3/reports serves"
        assert headers["content-type"].startswith("application/json") and headers["x-dlr-vault-webhook"] == "delivery-report"
        parsed = SmsDeliveryResult.from_json(body.decode())
        (delivered,) = parsed.results
        assert delivered.message_id == report["messageId"] and delivered.bulk_id == report["bulkId"]
        assert delivered.sender == report["sender"] and delivered.message_count == report["messageCount"]
        assert delivered.status.group_name == report["status"]["groupName"] and delivered.status.id == report["status"]["id"]
        assert (
            delivered.error.name == report["error"]["name"]
            and float(delivered.price.price_per_message) == report["price"]["pricePerMessage"]
        )
        assert delivered.done_at is not None and delivered.sent_at is not None


def test_final_only_in_the_v1_shape(make_stack, sim, collect, notify, api, receiver):
    stack = make_stack(EventsEnabled="true", WebhookUrl=receiver.url, WebhookReports="final", WebhookReportVersion="1")
    feeder = notify(stack)
    sim.add(make_reports(36, bulks=2, seed=32))
    collect()
    feeder.drain()
    final = [r for r in sim.handed_out if r["status"]["groupName"].upper() in FINAL_GROUPS]
    assert 0 < forward(stack) == len(final) < len(sim.handed_out)
    for report in (r for push in receiver.bodies() for r in push["results"]):
        assert report == served(api, 1, report["messageId"]), "exactly the item GET /sms/1/reports serves"
        assert "from" in report and "sender" not in report


def test_the_api_key_header_carries_the_secret(make_stack, sim, collect, notify, receiver):
    aws.client("secretsmanager").create_secret(Name="webhook-key", SecretString="s3cr3t-value")
    stack = make_stack(
        EventsEnabled="true", WebhookUrl=receiver.url, WebhookAuth="api-key", WebhookApiKeyHeader="X-Api-Key", WebhookSecret="webhook-key"
    )
    feeder = notify(stack)
    sim.add([r for r in make_reports(12, bulks=1, seed=33) if r.fields["status"]["groupName"] == "DELIVERED"])
    collect()
    feeder.drain()
    assert forward(stack) == len(receiver.received) > 0
    assert {headers["x-api-key"] for headers, _ in receiver.received} == {"s3cr3t-value"}
