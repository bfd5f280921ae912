"""GET /sms/1/logs and /sms/3/logs over real HTTP: searches by number, time and filters, paging, refusals.

Expected answers are computed from the simulator's own reports (its fields and its rendering),
never from the project's code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.infobip_sim import SimReport, make_reports
from tests.conftest import LOCAL_API_KEY
from tests.kit import on_the_wire

H = {"x-api-key": LOCAL_API_KEY}
NUMBER = "41793026731"
SPELLINGS = ["41793026731", "+41793026731", "0041793026731", "+41 79 302 67 31"]


def get(api, path: str, params=None) -> requests.Response:
    return requests.get(api.url + path, params=params, headers=H, timeout=30)


def infobip_error(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"requestError"} and set(body["requestError"]["serviceException"]) == {"messageId", "text"}
    assert "Traceback" not in response.text
    return body["requestError"]["serviceException"]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def when(fields: dict) -> datetime:
    return datetime.strptime(fields["sentAt"], "%Y-%m-%dT%H:%M:%S.%f%z")


def as_log(fields: dict, version: int) -> dict:
    """What Infobip's logs would say for this message: the simulator's rendering, no callbackData;
    v3 names the number `destination`."""
    rendered = SimReport(fields).render(version)
    rendered.pop("callbackData", None)
    if version == 3:
        rendered["destination"] = rendered.pop("to")
    return rendered


def newest_first(fields: list[dict]) -> list[dict]:
    return sorted(fields, key=when, reverse=True)


def all_pages(api, path: str, params: dict, key: str = "cursor") -> tuple[list[dict], int]:
    """Every result of a paged logs search, following the cursor; and how many pages it took."""
    results, cursor, pages = [], None, 0
    while True:
        body = get(api, path, {**params, **({"cursor": cursor} if cursor else {})}).json()
        results.extend(body["results"])
        pages += 1
        cursor = body["cursor"].get("nextCursor") if key == "cursor" else body.get("nextCursor")
        if not cursor:
            return results, pages
        assert pages < 500


def done(fields: dict) -> datetime:
    return datetime.strptime(fields["doneAt"], "%Y-%m-%dT%H:%M:%S.%f%z")


def vault(make_stack, sim, collect, version: int, reports: list[SimReport], **parameters: str) -> list[dict]:
    """A stack collecting with API `version`; returns the newest fields of each message (later doneAt wins)."""
    make_stack(InfobipApiVersion=str(version), **parameters)
    sim.add(reports)
    collect()
    latest: dict[str, dict] = {}
    for report in reports:
        f = report.fields
        if f["messageId"] not in latest or done(f) > done(latest[f["messageId"]]):
            latest[f["messageId"]] = f
    return list(latest.values())


def recent(n: int, *, hours: float, seed: int = 3, updates: int = 0, bulks: int = 4) -> list[SimReport]:
    """`n` reports sent over the last `hours` (oldest first), six of the messages to NUMBER in four spellings."""
    start = datetime.now(UTC) - timedelta(hours=hours)
    reports = make_reports(n, bulks=bulks, seed=seed, start=start, spacing=hours * 3600 / (n + 1), updates=updates)
    to = {r.fields["messageId"]: SPELLINGS[i % len(SPELLINGS)] for i, r in enumerate(reports[: n : n // 6][:6])}
    for report in reports:  # the later reports of a message (updates) go to the same number
        report.fields["to"] = to.get(report.fields["messageId"], report.fields["to"])
    return reports


@pytest.fixture
def v3(make_stack, sim, collect):
    return vault(make_stack, sim, collect, 3, recent(300, hours=40, updates=30))


def test_destination_search_finds_every_spelling_newest_first_in_the_v3_logs_shape(api, v3):
    body = get(api, "/sms/3/logs", {"destination": "+41 79 302 67 31"}).json()
    mine = newest_first([f for f in v3 if f["to"] in SPELLINGS])
    assert len(mine) == 6
    assert body == {"results": [as_log(f, 3) for f in mine], "cursor": {"limit": 50}}
    assert {r["destination"] for r in body["results"]} == set(SPELLINGS)  # the number as Infobip sent it
    assert all("callbackData" not in r and "to" not in r and "sender" in r for r in body["results"])


def test_v1_logs_speak_v1(make_stack, sim, collect, api):
    fields = vault(make_stack, sim, collect, 1, recent(120, hours=30))
    body = get(api, "/sms/1/logs", {"to": NUMBER}).json()
    assert body == {"results": [as_log(f, 1) for f in newest_first([f for f in fields if f["to"] in SPELLINGS])]}
    assert all("from" in r and "to" in r and "callbackData" not in r for r in body["results"])


def test_destination_pages_with_a_cursor_each_message_once(api, v3):
    results, pages = all_pages(api, "/sms/3/logs", {"destination": NUMBER, "limit": "2"})
    assert pages == 3 and [r["messageId"] for r in results] == [
        f["messageId"] for f in newest_first([f for f in v3 if f["to"] in SPELLINGS])
    ]


def test_an_hour_by_time_alone_merges_the_shards_newest_first(api, v3):
    newest = max(when(f) for f in v3)
    since, until = newest - timedelta(hours=1), newest
    expected = newest_first([f for f in v3 if since <= when(f) <= until])
    assert len(expected) > 5
    body = get(api, "/sms/3/logs", {"sentSince": stamp(since), "sentUntil": stamp(until), "limit": "1000"}).json()
    assert body["results"] == [as_log(f, 3) for f in expected]
    results, pages = all_pages(api, "/sms/3/logs", {"sentSince": stamp(since), "sentUntil": stamp(until), "limit": "3"})
    assert results == body["results"] and pages >= len(expected) // 3


def test_the_whole_retention_over_several_days_in_small_pages(make_stack, sim, collect, api):
    start = datetime.now(UTC) - timedelta(days=6)
    fields = vault(make_stack, sim, collect, 3, make_reports(200, seed=8, start=start, spacing=6 * 86400 / 201))
    results, _ = all_pages(api, "/sms/3/logs", {"sentSince": stamp(start - timedelta(days=1)), "limit": "17"})
    assert [r["messageId"] for r in results] == [f["messageId"] for f in newest_first(fields)]
    cutoff = datetime.now(UTC) - timedelta(hours=48)
    default = get(api, "/sms/3/logs", {"limit": "1000"}).json()["results"]  # no sentSince: the last 48 hours
    near = {f["messageId"] for f in fields if abs(when(f) - cutoff) < timedelta(minutes=1)}  # either side of the edge
    assert [r["messageId"] for r in default if r["messageId"] not in near] == [
        f["messageId"] for f in newest_first(fields) if when(f) >= cutoff and f["messageId"] not in near
    ]
    assert 50 < len(default) < 100


FILTERS = [
    ({"generalStatus": "DELIVERED"}, lambda f: f["status"]["groupName"] == "DELIVERED"),
    ({"generalStatus": "rejected"}, lambda f: f["status"]["groupName"] == "REJECTED"),
    ({"sender": "InfoSMS"}, lambda f: f["sender"] == "InfoSMS"),
    ({"mcc": "228"}, lambda f: (f["mccMnc"] or "").startswith("228")),
    ({"mcc": "310", "mnc": "260"}, lambda f: f["mccMnc"] == "310260"),
    ({"entityId": "my-entity", "applicationId": "my-app"}, lambda f: f["entityId"] == "my-entity"),
    ({"campaignReferenceId": "campaign-2,campaign-0"}, lambda f: f["campaignReferenceId"] in ("campaign-0", "campaign-2")),
    ({"bulkId": ["BULK-001-3", "BULK-002-3"]}, lambda f: f["bulkId"] in ("BULK-001-3", "BULK-002-3")),
    ({"bulkId": "BULK-002-3", "generalStatus": "PENDING"}, lambda f: f["bulkId"] == "BULK-002-3" and f["status"]["groupName"] == "PENDING"),
    ({"destination": NUMBER, "generalStatus": "DELIVERED"}, lambda f: f["to"] in SPELLINGS and f["status"]["groupName"] == "DELIVERED"),
]


def test_filters_narrow_the_range(api, v3):
    for params, wanted in FILTERS:
        expected = newest_first([f for f in v3 if wanted(f)])
        assert expected, params
        results, _ = all_pages(api, "/sms/3/logs", {**params, "limit": "25"})
        assert results == [as_log(f, 3) for f in expected], params


def test_several_message_ids_and_their_paging(api, v3):
    chosen = [f["messageId"] for f in v3[10:40:3]]
    expected = newest_first([f for f in v3 if f["messageId"] in chosen])
    results, pages = all_pages(api, "/sms/3/logs", {"messageId": chosen, "limit": "4"})
    assert results == [as_log(f, 3) for f in expected] and pages == 3
    assert get(api, "/sms/3/logs", {"messageId": ",".join(chosen[:3])}).json()["results"] == [
        as_log(f, 3) for f in expected if f["messageId"] in chosen[:3]
    ]


def test_a_cursor_only_continues_the_query_it_came_from(api, v3):
    cursor = get(api, "/sms/3/logs", {"destination": NUMBER, "limit": "2"}).json()["cursor"]["nextCursor"]
    for params in ({"destination": "41793026700"}, {"destination": NUMBER, "generalStatus": "DELIVERED"}, {"bulkId": "BULK-001-3"}):
        response = get(api, "/sms/3/logs", {**params, "limit": "2", "cursor": cursor})
        assert response.status_code == 400 and infobip_error(response)["messageId"] == "BAD_REQUEST"
    key_id, body, tag = cursor.split(".")
    forged = f"{key_id}.{body[:-2]}{'AA' if body[-2:] != 'AA' else 'BB'}.{tag}"
    assert get(api, "/sms/3/logs", {"destination": NUMBER, "cursor": forged}).status_code == 400
    assert get(api, "/sms/3/logs", {"destination": NUMBER, "limit": "3", "cursor": cursor}).status_code == 200  # another limit is fine


BAD = [
    {"sentSince": "yesterday"},
    {"sentSince": "2026-11-22"},
    {"sentSince": "2026-13-22T10:00:00.000+0000"},
    {"sentSince": "2026-11-22T10:00:00.000+0000", "sentUntil": "2026-11-22T09:00:00.000+0000"},
    {"generalStatus": "SCHEDULED_FOR_LATER"},
    {"generalStatus": "OK"},
    {"limit": "0"},
    {"limit": "1001"},
    {"limit": "abc"},
    {"limit": "-5"},
    {"limit": ["5", "6"]},
    {"destination": [NUMBER, NUMBER]},
    {"sentSince": ["2026-11-22T10:00:00.000+0000"] * 2},
    {"mnc": "01"},
    {"mcc": "22", "mnc": "01"},
    {"mcc": "228", "mnc": "1"},
    {"destination": "x" * 10_240},
    {"bulkId": "b" * 10_240},
    {"sender": "s" * 10_240},
    {"destination": "41 79 CALL ME"},
    {"destination": "+"},
    {"destination": "4179302673l"},
    {"messageId": [f"m-{i}" for i in range(101)]},
    {"messageId": ",".join(f"message-{i:04d}" for i in range(200))},
    {"bulkId": [f"b-{i}" for i in range(21)]},
    {"messageId": "bad\x00id"},
    {"useCursor": "yes"},
    {"cursor": "abc"},
    {"cursor": "a" * 5000 + ".b"},
]


def test_bad_input_is_a_400_in_infobips_error_body(api, v3):
    wrong = []
    for params in BAD:
        for version in (1, 3):
            named = {({"destination": "to", "sender": "from"}.get(k, k) if version == 1 else k): v for k, v in params.items()}
            if version == 1 and "useCursor" in named:
                continue  # not a v1 parameter
            response = get(api, f"/sms/{version}/logs", named)
            if response.status_code != 400 or infobip_error(response)["messageId"] != "BAD_REQUEST":
                wrong.append((version, str(named)[:80], response.status_code, response.text[:200]))
    assert not wrong


def test_v1_takes_one_bulk_id_and_v3_several(api, v3):
    assert get(api, "/sms/1/logs", {"bulkId": ["BULK-001-3", "BULK-002-3"]}).status_code == 400
    assert get(api, "/sms/3/logs", {"bulkId": ["BULK-001-3", "BULK-002-3"]}).status_code == 200


def test_a_window_that_starts_after_now_is_empty(api, v3):
    tomorrow = stamp(datetime.now(UTC) + timedelta(days=1))
    for params in ({"destination": NUMBER}, {"bulkId": "BULK-001-3"}, {}, {"messageId": v3[0]["messageId"]}):
        assert get(api, "/sms/3/logs", {**params, "sentSince": tomorrow}).json() == {"results": [], "cursor": {"limit": 50}}


def test_timestamps_in_other_spellings_are_accepted(api, v3):
    for since in (
        "2026-11-22T10:00:00.000+0000",
        "2026-11-22T10:00:00Z",
        "2026-11-22T12:00:00.000000+02:00",
        "2026-11-22T10:00:00.000 0000",
    ):
        assert get(api, "/sms/3/logs", {"sentSince": since}).status_code == 200, since


def test_logs_never_scan_and_each_request_reads_a_bounded_number_of_items(api, v3, monkeypatch):
    from dlr_vault import aws, logs
    from dlr_vault.search import TIME_SHARDS

    monkeypatch.setattr(logs, "MAX_READS", 100)
    monkeypatch.setattr(logs, "MAX_QUERIES", 8)
    ddb = aws.client("dynamodb")  # the lookup's own client (its batch reads go out through the same events)
    calls: list[tuple[str, int]] = []

    def spy(request, **_):
        target = request.headers["X-Amz-Target"]
        body = json.loads(request.body)
        keys = sum(len(t["Keys"]) for t in body.get("RequestItems", {}).values())
        calls.append(((target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1], body.get("Limit", keys)))

    per_request = []
    since = stamp(datetime.now(UTC) - timedelta(days=3))
    hooks = {op: (lambda request, **kw: spy(request, **kw)) for op in ("Query", "BatchGetItem", "Scan")}  # one hook object each
    with (
        on_the_wire(ddb, "Query", hooks["Query"]),
        on_the_wire(ddb, "BatchGetItem", hooks["BatchGetItem"]),
        on_the_wire(ddb, "Scan", hooks["Scan"]),
    ):
        for params in ({"generalStatus": "ACCEPTED"}, {"sender": "nobody", "limit": "20"}, {"destination": NUMBER, "limit": "1"}):
            cursor, pages = None, 0
            while True:
                calls.clear()
                body = get(api, "/sms/3/logs", {**params, "sentSince": since, **({"cursor": cursor} if cursor else {})}).json()
                per_request.append(list(calls))
                cursor, pages = body["cursor"].get("nextCursor"), pages + 1
                if not cursor:
                    break
                assert pages < 100
            assert pages > 1, params  # 300 reports cannot be searched within one request's reads
        calls.clear()
        for version in (1, 3):
            for params, _ in FILTERS:
                get(api, f"/sms/{version}/logs", params)
        everything_else = list(calls)
    assert {op for made in [*per_request, everything_else] for op, _ in made} == {"Query", "BatchGetItem"}  # never a Scan
    # Each request reads at most the budget, plus what a page needs to move on at all: one read
    # of each day's shard (25 keys each for these limits) and one batch of 100 reports.
    most = 100 + TIME_SHARDS * 25 + 100
    assert max(sum(n for _, n in made) for made in per_request) <= most < 2 * len(v3)


def test_without_search_indexes_only_ids_are_searchable(make_stack, sim, collect, api):
    fields = vault(make_stack, sim, collect, 3, recent(40, hours=5), SearchIndexes="none")
    for params in ({"destination": NUMBER}, {"generalStatus": "DELIVERED"}):
        response = get(api, "/sms/3/logs", params)
        assert response.status_code == 400 and "SearchIndexes" in infobip_error(response)["text"]
    assert get(api, "/sms/3/logs", {"messageId": fields[0]["messageId"]}).json()["results"] == [as_log(fields[0], 3)]
    bulk = fields[0]["bulkId"]
    assert get(api, "/sms/3/logs", {"bulkId": bulk, "limit": "1000"}).json()["results"] == [
        as_log(f, 3) for f in newest_first([f for f in fields if f["bulkId"] == bulk])
    ]


def test_with_the_destination_index_only_a_number_is_searchable_but_time_alone_is_not(make_stack, sim, collect, api):
    fields = vault(make_stack, sim, collect, 3, recent(40, hours=5), SearchIndexes="destination")
    assert len(get(api, "/sms/3/logs", {"destination": NUMBER}).json()["results"]) == sum(f["to"] in SPELLINGS for f in fields)
    assert get(api, "/sms/3/logs", {}).status_code == 400


def test_wrong_methods_are_405(api, v3):
    for path in ("/sms/1/logs", "/sms/3/logs"):
        response = requests.post(api.url + path, headers=H, timeout=10, data=b"{}")
        assert response.status_code == 405 and infobip_error(response)["messageId"] == "METHOD_NOT_ALLOWED"
