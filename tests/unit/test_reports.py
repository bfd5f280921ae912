"""The report model: strict timestamps, page parsing, both API shapes."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlr_vault.reports import PageParseError, in_shape, parse_page, parse_timestamp, status_group, to_v1, to_v3
from local.infobip_sim import infobip_time, make_reports


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-11-09T16:00:00.000+0000", "2019-11-09T16:00:00.000Z"),
        ("2019-11-09T18:30:00.123+0230", "2019-11-09T16:00:00.123Z"),
        ("2019-11-09T00:30:00.999-0100", "2019-11-09T01:30:00.999Z"),
        ("2019-12-31T23:59:59.500-0100", "2020-01-01T00:59:59.500Z"),
    ],
)
def test_timestamps_are_normalised_to_utc(raw, expected):
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2019-11-09T16:00:00.000+0060",
        "2019-02-30T16:00:00.000+0000",
        "2019-11-09T24:00:00.000+0000",
        "2019-11-09T16:00:00.000+00:00",
        "2019-11-09T16:00:00Z",
        "2019-11-09 16:00:00.000+0000",
        "2019-13-09T16:00:00.000+0000",
        "",
        None,
        5,
    ],
)
def test_timestamps_in_other_formats_are_rejected(raw):
    assert parse_timestamp(raw) is None


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2),
        max_value=datetime(2099, 12, 30),
        timezones=st.sampled_from([timezone(timedelta(minutes=m)) for m in (-720, -330, 0, 60, 345, 840)]),
    )
)
def test_any_instant_in_any_offset_normalises_to_the_same_utc_text(moment):
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    utc = moment.astimezone(UTC)
    expected = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )
    assert parse_timestamp(infobip_time(moment)) == expected


@pytest.mark.parametrize(
    "body",
    [b"<html>502</html>", b'{"results": [', b"[]", b'{"results": {}}', b'{"results": [1]}', b"\xff\xfe", b""],
)
def test_bodies_that_are_not_pages_are_refused(body):
    with pytest.raises(PageParseError):
        parse_page(body)


def test_empty_page_and_unknown_fields_pass_through():
    assert parse_page(b'{"results": []}') == []
    report = {"messageId": "m", "brandNewField": {"x": 1}, "status": {"groupName": "SOMETHING_NEW"}}
    assert parse_page(json.dumps({"results": [report]}).encode()) == [report]
    assert status_group(report) == "SOMETHING_NEW"


def test_status_group_is_case_insensitive_and_never_rejects():
    assert status_group({"status": {"groupName": "Delivered"}}) == "DELIVERED"
    assert status_group({}) == "UNKNOWN"
    assert status_group({"status": "weird"}) == "UNKNOWN"


@pytest.mark.parametrize("report", [r for r in make_reports(60)], ids=lambda r: r.fields["messageId"])
def test_shapes_convert_both_ways_like_the_simulator_renders_them(report):
    v1, v3 = report.render(1), report.render(3)
    assert to_v1(v3) == {**v1, "error": {**v1["error"], "groupName": v1["error"]["groupName"].upper()}}  # "Ok" is "OK" in v3
    assert ("campaignReferenceId" in v3) == (report.fields["campaignReferenceId"] is not None)
    assert to_v3(v1) == {k: v for k, v in v3.items() if k != "campaignReferenceId"}  # v1 never had it
    assert in_shape(v1, 1) == v1 and in_shape(v3, 3) == v3
