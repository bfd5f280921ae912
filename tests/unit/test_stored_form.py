"""The compact stored item: every report text and raw key comes back exactly, from every form a reader meets."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlr_vault.archive import Archive, full_raw_key, short_raw_key
from dlr_vault.config import CollectorSettings, ConfigError
from dlr_vault.reports import log_to_report, to_json
from dlr_vault.stored_form import pack, report_text, report_value, unpack
from local.infobip_sim import make_reports

# Written by this code when the form was introduced. If it stops reading, the dictionary was
# edited and every item stored with it is lost: add a new dictionary instead (stored_form.py).
FIRST_ITEM = (
    "eLv9Q0h4Q4p5p1Afb11gdOgaoqWB3OJ0XUOQDBAYwhKEiaG5paGluYWxiTlGejA01DUyCjGwAMezsZ6RmSH29IBQZ2FlbIqsDh79RoaWYDvR0sDhOXmH1ycf3pZyeKXC"
    "ozmTFV6sW/S0d6rCh/mzGgglD0MjUyJTiBFqDKGXnKDIsoRHFv4GA56cj9p8wJpU0AocjDIf5BIjRMGDo2JFdQO2ahZLYoIWvp55afnBvsEoZa0RSvmeW6kL4WFJZ0A5"
    "oJBSLQA/5MGK"
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30,
)


@given(json_values)
def test_any_report_text_comes_back_byte_for_byte(value):
    text = to_json(value)  # as the collector stores it: lone surrogates escaped, anything else as sent
    assert unpack(pack(text)) == text


@pytest.mark.parametrize("version", [1, 3])
def test_simulated_reports_round_trip_and_the_dictionary_pays(version):
    texts = [to_json(r.render(version)) for r in make_reports(300, seed=3)]
    texts.append(to_json(log_to_report({**json.loads(texts[0]), "destination": "41790000000"})))
    for text in texts:
        assert unpack(pack(text)) == text
        assert len(pack(text)) < len(zlib.compress(text.encode(), 9)) < len(text.encode())


def test_every_form_of_the_attribute_reads_as_the_same_text():
    text = to_json(make_reports(1)[0].render(3))
    wire = report_value(text, compressed=True)  # what the collector sends: base64 in DynamoDB's JSON
    assert set(wire) == {"B"} and report_value(text, compressed=False) == {"S": text}
    blob = base64.b64decode(wire["B"])
    assert report_text(wire) == report_text({"B": blob}) == report_text({"S": text}) == text  # wire, boto3, plain
    assert report_text(None) is None and report_text({"N": "1"}) is None


def test_an_item_written_with_the_first_dictionary_still_reads():
    text = report_text({"B": FIRST_ITEM})
    assert text is not None and json.loads(text)["messageId"] == "msg-1-0000001"
    assert text == to_json(json.loads(text))  # the text the collector wrote, not merely equal JSON


def test_a_damaged_value_is_refused_rather_than_read_wrong():
    blob = bytearray(base64.b64decode(FIRST_ITEM))
    blob[-1] ^= 0xFF  # the Adler-32 of the text
    with pytest.raises(zlib.error):
        unpack(bytes(blob))


@given(st.datetimes(datetime(2000, 1, 1), timezones=st.just(UTC)), st.sampled_from(["v1", "v3", "logs"]), st.text())
def test_a_raw_key_is_kept_by_its_name_and_rebuilt_exactly(moment, kind, other):
    key = Archive.raw_key(moment, kind)
    assert full_raw_key(short_raw_key(key)) == key
    assert len(short_raw_key(key)) == len(key) - len("raw/dt=2026-11-23/") - len(".json.gz")
    assert full_raw_key(short_raw_key("raw/" + other)) == "raw/" + other  # any key under raw/ comes back


def test_the_form_is_a_setting():
    env = {
        "INFOBIP_BASE_URL": "https://api.example.invalid",
        "INFOBIP_API_KEY_SECRET": "k",
        "REPORTS_TABLE": "t",
        "STATE_TABLE": "s",
        "ARCHIVE_BUCKET": "b",
        "FALLBACK_TABLE": "f",
    }
    assert CollectorSettings.from_env(env).compress_reports
    assert CollectorSettings.from_env({**env, "STORED_REPORT_FORM": "compressed"}).compress_reports
    assert not CollectorSettings.from_env({**env, "STORED_REPORT_FORM": "json"}).compress_reports
    with pytest.raises(ConfigError, match="STORED_REPORT_FORM"):
        CollectorSettings.from_env({**env, "STORED_REPORT_FORM": "gzip"})
