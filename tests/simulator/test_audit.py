"""Every lookup leaves one audit record: route, masked path and query, status, caller; never a phone number."""

from __future__ import annotations

import json

import requests

from tests.conftest import LOCAL_API_KEY

PHONE = "4915112345678"


def test_each_lookup_is_audited_with_phone_numbers_masked(stack, api, log_lines):
    for path, params in [
        ("/sms/1/reports", {"messageId": f"+{PHONE}", "bulkId": "B-1"}),
        (f"/reports/00{PHONE}", {}),
        ("/sms/3/reports", {"bulkId": "B-2", "limit": "0"}),
    ]:
        requests.get(api.url + path, params=params, headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    audits = [json.loads(line)["audit"] for line in log_lines if '"lookup audit"' in line]
    assert [(a["resource"], a["status"]) for a in audits] == [
        ("/sms/1/reports", 200),
        ("/reports/{messageId}", 404),
        ("/sms/3/reports", 400),
    ]
    assert audits[0]["query"] == {"messageId": ["+" + "*" * (len(PHONE) - 2) + "78"], "bulkId": ["B-1"]}
    assert audits[1]["path"] == "/reports/" + "*" * (len(PHONE)) + "78"
    assert all(a["requestId"] and a["apiKeyId"] == "local" and a["sourceIp"] == "127.0.0.1" for a in audits)
    assert PHONE[-9:] not in "\n".join(log_lines)


def test_numbers_searched_for_on_the_logs_routes_are_masked_in_every_spelling(stack, api, log_lines):
    spellings = ["+49 151 1234 5678", "0049-151-1234-5678", "(0049) 151.1234.5678", "+49/151/12345678"]  # the last: refused
    for spelled in spellings:
        for path, name in (("/sms/3/logs", "destination"), ("/sms/1/logs", "to")):
            answer = requests.get(api.url + path, params={name: spelled}, headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
            assert answer.status_code == (400 if "/" in spelled else 200), (path, spelled, answer.text)
    audits = [json.loads(line)["audit"] for line in log_lines if '"lookup audit"' in line]
    assert len(audits) == 2 * len(spellings)
    for audit in audits:
        ((name, (value,)),) = audit["query"].items()
        assert value.endswith("78") and sum(c.isdigit() for c in value) == 2, value
    logged = "\n".join(log_lines)
    assert not any(spelled in logged for spelled in spellings) and "15112345678" not in logged
    assert "151.1234" not in logged and "151 1234" not in logged and "151-1234" not in logged


def test_a_number_in_the_path_or_another_parameter_is_masked_however_it_is_separated_and_dates_stay(stack, api, log_lines):
    for path, params in [
        ("/reports/+49-151-1234-5678", {}),
        ("/sms/1/reports", {"messageId": "0049.151.1234.5678"}),
        ("/sms/3/logs", {"bulkId": "(0049) 151/1234 5678", "sentSince": "2026-11-23T10:00:00.000+0000"}),
    ]:
        requests.get(api.url + path, params=params, headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    audits = [json.loads(line)["audit"] for line in log_lines if '"lookup audit"' in line]
    assert audits[0]["path"] == "/reports/+**-***-****-**78"
    assert audits[1]["query"]["messageId"] == ["****.***.****.**78"]
    assert audits[2]["query"] == {"bulkId": ["(****) ***/**** **78"], "sentSince": ["2026-11-23T10:00:00.000+0000"]}
    logged = "\n".join(log_lines)
    assert not any(spelled in logged for spelled in ("151-1234", "151.1234", "151/1234", "1234 5678"))
