"""The lookup API over real HTTP: round trips through the collector, paging, hostile inputs."""

from __future__ import annotations

import json

import pytest
import requests

from local.infobip_sim import make_reports
from tests.conftest import LOCAL_API_KEY
from tests.kit import expected_latest, load_event

H = {"x-api-key": LOCAL_API_KEY}


def get(api, path: str, **params) -> requests.Response:
    return requests.get(api.url + path, params=params, headers=H, timeout=10)


def infobip_error(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"requestError"} and set(body["requestError"]["serviceException"]) == {"messageId", "text"}
    assert "Traceback" not in response.text
    return body["requestError"]["serviceException"]


@pytest.fixture
def collected(sim, collect, stack):
    """Reports of both API versions, pulled by the real collector into the stack."""
    sim.add(make_reports(120, bulks=3, seed=1, updates=20))
    collect()
    return expected_latest(sim.handed_out)


def test_round_trip_by_message_id_in_both_shapes(api, collected):
    for message_id, report in list(collected.items())[:40]:
        v1 = get(api, "/sms/1/reports", messageId=message_id)
        v3 = get(api, "/sms/3/reports", messageId=message_id)
        one = get(api, f"/reports/{message_id}")
        assert v1.status_code == v3.status_code == one.status_code == 200
        assert v1.json() == {"results": [report]}
        assert one.json() == report
        assert v3.json()["results"][0]["sender"] == report["from"]
        assert v3.json()["results"][0]["messageCount"] == report["smsCount"]
        assert v3.json()["results"][0].get("platform", {}).get("entityId") == report.get("entityId")


def test_v3_collected_reports_come_back_value_equal_through_v3(make_stack, sim, collect, lookup_handler):
    from local.api import LocalApi

    make_stack(InfobipApiVersion="3")
    sim.add(make_reports(30, seed=3, updates=10))
    collect()
    with LocalApi(lookup_handler, LOCAL_API_KEY, port=0) as api:
        for message_id, report in expected_latest(sim.handed_out).items():
            assert get(api, "/sms/3/reports", messageId=message_id).json() == {"results": [report]}


def test_unknown_message_is_empty_results_and_404_by_path(api, collected):
    assert get(api, "/sms/1/reports", messageId="nope").json() == {"results": []}
    response = get(api, "/reports/nope")
    assert response.status_code == 404 and infobip_error(response)["messageId"] == "NOT_FOUND"


def test_repeated_requests_give_identical_answers(api, collected):
    bulk = next(iter(collected.values()))["bulkId"]
    answers = {get(api, "/sms/1/reports", bulkId=bulk, limit="7").text for _ in range(5)}
    assert len(answers) == 1


def test_paging_a_2500_report_bulk_returns_each_report_once_in_sent_order(make_stack, sim, collect, lookup_handler):
    from local.api import LocalApi

    make_stack(PageSize="1000")
    sim.add(make_reports(2_500, bulks=1, seed=9))
    collect()
    bulk = sim.handed_out[0]["bulkId"]
    seen, cursor, pages = [], None, 0
    with LocalApi(lookup_handler, LOCAL_API_KEY, port=0) as api:
        while True:
            params = {"bulkId": bulk, "limit": "1000", **({"cursor": cursor} if cursor else {})}
            body = get(api, "/sms/1/reports", **params).json()
            seen.extend(body["results"])
            pages += 1
            cursor = body.get("nextCursor")
            if not cursor:
                break
    assert pages == 3
    assert len(seen) == 2_500 and {r["messageId"] for r in seen} == {r["messageId"] for r in sim.handed_out}
    from datetime import datetime

    sent = [datetime.strptime(r["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in seen]
    assert sent == sorted(sent)


def test_next_cursor_only_when_more_remain(api, collected):
    bulk = next(iter(collected.values()))["bulkId"]
    size = sum(1 for r in collected.values() if r["bulkId"] == bulk)
    exact = get(api, "/sms/1/reports", bulkId=bulk, limit=str(size)).json()
    assert len(exact["results"]) == size and "nextCursor" not in exact
    short = get(api, "/sms/1/reports", bulkId=bulk, limit=str(size - 1)).json()
    assert "nextCursor" in short


def _cursor(api, collected):
    bulk = next(iter(collected.values()))["bulkId"]
    return bulk, get(api, "/sms/1/reports", bulkId=bulk, limit="2").json()["nextCursor"]


def test_forged_and_foreign_cursors_are_400(api, collected):
    bulk, cursor = _cursor(api, collected)
    other = next(r["bulkId"] for r in collected.values() if r["bulkId"] != bulk)
    key_id, body, tag = cursor.split(".")
    flipped = f"{key_id}.{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{tag}"
    unknown_key = f"{'A' if key_id[0] != 'A' else 'B'}{key_id[1:]}.{body}.{tag}"
    cases = [(flipped, bulk), (unknown_key, bulk), (cursor, other), ("abc", bulk), ("a.b.c", bulk), ("." * 2000, bulk)]
    for bad, target in [*cases, (cursor + "x", bulk)]:
        response = get(api, "/sms/1/reports", bulkId=target, cursor=bad)
        assert response.status_code == 400, bad
        assert infobip_error(response)["messageId"] == "BAD_REQUEST"


HOSTILE = [
    ({}, 400),
    ({"messageId": ""}, 400),
    ({"bulkId": ""}, 400),
    ({"messageId": "x" * 201}, 400),
    ({"messageId": "x" * 200}, 200),
    ({"messageId": "bad\x00id"}, 400),
    ({"messageId": "line\nbreak"}, 400),
    ({"bulkId": "tab\tbulk"}, 400),
    ({"bulkId": "B", "limit": "0"}, 400),
    ({"bulkId": "B", "limit": "-1"}, 400),
    ({"bulkId": "B", "limit": "1e3"}, 400),
    ({"bulkId": "B", "limit": "abc"}, 400),
    ({"bulkId": "B", "limit": "1000000"}, 400),
    ({"bulkId": "B", "limit": "1001"}, 400),
    ({"bulkId": "B", "limit": " 5"}, 400),
    ({"bulkId": "B", "limit": ""}, 400),
    ({"bulkId": "B", "limit": "1000"}, 200),
    ({"messageId": "m", "cursor": "abc"}, 400),
    ({"messageId": "' OR 1=1 --"}, 200),
    ({"bulkId": '{"$ne": null}'}, 200),
    ({"messageId": "../../etc/passwd"}, 200),
    ({"messageId": "<script>alert(1)</script>"}, 200),
    ({"bulkId": "B", "unknown": "ignored", "from": "x"}, 200),
    ({"messageId": "ünïcödé-✓"}, 200),
]


def test_hostile_query_strings(api, collected):
    wrong = []
    for version in (1, 3):
        for params, status in HOSTILE:
            response = get(api, f"/sms/{version}/reports", **params)
            if response.status_code != status:
                wrong.append((version, params, response.status_code, response.text[:200]))
            elif status == 400:
                assert infobip_error(response)["messageId"] == "BAD_REQUEST"
            else:
                assert isinstance(response.json()["results"], list)
    assert not wrong


def test_repeated_parameters_are_400(api, collected):
    for query in ["messageId=a&messageId=b", "bulkId=a&bulkId=a", "bulkId=a&limit=1&limit=2"]:
        response = requests.get(f"{api.url}/sms/1/reports?{query}", headers=H, timeout=10)
        assert response.status_code == 400 and infobip_error(response)


def test_wrong_methods_are_405(api, collected):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/sms/1/reports", "/sms/3/reports", "/reports/abc", "/bulks/abc/summary", "/openapi.json"):
            response = requests.request(method, api.url + path, headers=H, timeout=10, data=b"{}")
            assert response.status_code == 405, (method, path)
            assert infobip_error(response)["messageId"] == "METHOD_NOT_ALLOWED"


def test_unknown_paths_are_404(api, collected):
    for path in ("/", "/sms/2/reports", "/reports", "/reports/a/b", "/openapi", "/sms/1/reports/x"):
        response = get(api, path)
        assert response.status_code == 404, path
        assert infobip_error(response)["messageId"] == "NOT_FOUND"


def test_requests_without_the_api_key_never_reach_the_function(api, collected):
    response = requests.get(api.url + "/sms/1/reports", params={"messageId": "m"}, timeout=10)
    assert response.status_code == 403 and infobip_error(response)["messageId"] == "INVALID_API_KEY"


def test_a_storage_failure_is_a_500_in_infobip_shape_without_internals(api, collected, stack):
    from tests.kit import aws_failing

    with aws_failing(stack.clients("dynamodb"), "GetItem", status=500, code="InternalServerError"):
        response = get(api, "/sms/1/reports", messageId="m")
    assert response.status_code == 500
    assert infobip_error(response) == {"messageId": "GENERAL_ERROR", "text": "Internal error"}
    assert "InternalServerError" not in response.text and "dynamodb" not in response.text.lower()


def test_lookups_never_scan_or_write(api, collected, stack):
    calls = []
    ddb = stack.clients("dynamodb")
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="spy")
    try:
        for params, _ in HOSTILE:
            get(api, "/sms/1/reports", **params)
        bulk, cursor = _cursor(api, collected)
        assert get(api, "/sms/3/reports", bulkId=bulk, limit="2", cursor=cursor).status_code == 200
    finally:
        ddb.meta.events.unregister("before-call.dynamodb", unique_id="spy")
    assert calls and set(calls) <= {"GetItem", "Query"}


SAMPLE_EVENTS = {
    "lookup_by_message_id.json": "results",
    "lookup_bulk_v3.json": "results",
    "lookup_report_by_id.json": "messageId",
    "lookup_bulk_summary.json": "byStatusGroup",
    "lookup_openapi.json": "openapi",
    "lookup_logs_v1.json": "results",
    "lookup_logs_v3.json": "cursor",
}


def test_every_route_has_a_sample_event():
    from local.api import ProxyEvents

    routes = {e[1] for e in ProxyEvents().routes if "proxy" not in e[1] and e[1] != "/"}
    assert routes == {load_event(name)["resource"] for name in SAMPLE_EVENTS}


@pytest.mark.parametrize(("name", "field"), SAMPLE_EVENTS.items())
def test_sample_events_answer_200_with_the_expected_body(collected, lookup_handler, name, field):
    from tests.kit import FakeLambdaContext

    answer = lookup_handler(load_event(name), FakeLambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    assert field in json.loads(answer["body"])
