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


def test_official_client_reads_logs_by_destination_time_and_cursor(stack, sim, collect, api):
    from datetime import UTC, datetime, timedelta

    from infobip_api_client.models.message_general_status import MessageGeneralStatus

    def sent_at(fields: dict) -> datetime:
        return datetime.strptime(fields["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z")

    start = datetime.now(UTC) - timedelta(hours=30)
    reports = [
        r for r in make_reports(90, bulks=3, seed=6, start=start, spacing=1000) if r.fields["status"]["groupName"] in KNOWN_TO_CLIENT
    ]
    mine = reports[::9]
    for report in mine:
        report.fields["to"] = "41793026731"
    sim.add(reports)
    collect()
    sms = SmsApi(ApiClient(Configuration(host=api.url), header_name="x-api-key", header_value=LOCAL_API_KEY))

    answer = sms.get_outbound_sms_message_logs(destination="41793026731")
    expected = sorted((r.fields for r in mine), key=sent_at, reverse=True)
    assert [log.message_id for log in answer.results] == [f["messageId"] for f in expected]
    for log, sent in zip(answer.results, expected, strict=True):
        assert log.destination == "41793026731" and log.sender == sent["sender"] and log.bulk_id == sent["bulkId"]
        assert log.message_count == sent["count"] and log.mcc_mnc == sent["mccMnc"]
        assert log.status.group_name == sent["status"]["groupName"] and log.error.name == sent["error"]["name"]
        assert float(log.price.price_per_message) == sent["price"]["pricePerMessage"]
        assert log.sent_at == sent_at(sent)
        assert (log.platform.entity_id if log.platform else None) == sent["entityId"]
    assert answer.cursor.limit == 50 and answer.cursor.next_cursor is None

    seen, cursor, until = [], None, datetime.now(UTC)
    while True:  # the client's own cursor paging, over a time range, for two bulks, delivered only
        page = sms.get_outbound_sms_message_logs(
            bulk_id=["BULK-000-6", "BULK-002-6"],
            general_status=MessageGeneralStatus.DELIVERED,
            sent_since=start - timedelta(minutes=1),
            sent_until=until,
            limit=4,
            use_cursor=True,
            cursor=cursor,
        )
        seen.extend(log.message_id for log in page.results)
        cursor = page.cursor.next_cursor
        if cursor is None:
            break
    wanted = [
        r.fields for r in reports if r.fields["bulkId"] in ("BULK-000-6", "BULK-002-6") and r.fields["status"]["groupName"] == "DELIVERED"
    ]
    assert seen == [f["messageId"] for f in sorted(wanted, key=sent_at, reverse=True)] and len(seen) > 4
