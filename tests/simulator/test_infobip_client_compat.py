"""Compatibility: Infobip's own Python client reads reports from the lookup API unchanged."""

from infobip_api_client.api.sms_api import SmsApi
from infobip_api_client.api_client import ApiClient
from infobip_api_client.configuration import Configuration

from local.infobip_sim import make_reports
from tests.conftest import LOCAL_API_KEY
from tests.kit import expected_latest

# The client's models are closed enums; a group Infobip adds later (the simulator sends one)
# would break the client itself, so this test uses the groups the client knows.
KNOWN_TO_CLIENT = {"PENDING", "UNDELIVERABLE", "DELIVERED", "EXPIRED", "REJECTED"}


def test_official_client_reads_the_same_values_back(stack, sim, collect, api):
    sim.add([r for r in make_reports(48, bulks=2, seed=5, updates=5) if r.fields["status"]["groupName"] in KNOWN_TO_CLIENT])
    collect()
    latest = expected_latest(sim.handed_out)
    config = Configuration(host=api.url, api_key="unused-by-dlr-vault", api_key_prefix="App")
    client = ApiClient(config, header_name="x-api-key", header_value=LOCAL_API_KEY)
    sms = SmsApi(client)
    for message_id, sent in list(latest.items())[:12]:
        answer = sms.get_outbound_sms_message_delivery_reports(message_id=message_id, limit=10)
        (report,) = answer.results
        assert report.message_id == sent["messageId"] and report.bulk_id == sent["bulkId"]
        assert report.to == sent["to"] and report.sender == sent["from"]
        assert report.message_count == sent["smsCount"]
        assert report.status.group_name == sent["status"]["groupName"] and report.status.id == sent["status"]["id"]
        assert report.error.name == sent["error"]["name"] and report.error.permanent == sent["error"]["permanent"]
        assert float(report.price.price_per_message) == sent["price"]["pricePerMessage"]
        assert report.price.currency == sent["price"]["currency"]
        assert report.callback_data == sent.get("callbackData")
        assert report.mcc_mnc == sent.get("mccMnc")
        if "entityId" in sent:
            assert report.platform.entity_id == sent["entityId"]
        assert report.sent_at is not None and report.done_at is not None
    bulk = next(iter(latest.values()))["bulkId"]
    listed = sms.get_outbound_sms_message_delivery_reports(bulk_id=bulk, limit=1000).results
    assert sorted(r.message_id for r in listed) == sorted(m for m, r in latest.items() if r["bulkId"] == bulk)
    assert len(listed) > 10
