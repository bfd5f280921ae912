"""The Infobip client against the simulator over real HTTP."""

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from dlr_vault.infobip import InfobipAuthError, InfobipClient, InfobipRequestError, InfobipUnavailable
from local.infobip_sim import Fault, make_reports


def client(sim, version=1, key=None, sleeps=None, read_timeout=2.0):
    return InfobipClient(
        sim.base_url,
        lambda: key or sim.api_key,
        version,
        read_timeout=read_timeout,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def plenty() -> float:
    return 120.0


def test_sends_the_app_key_and_the_limit_and_returns_the_exact_bytes(sim):
    sim.add(make_reports(3))
    page = client(sim).fetch_reports(2, plenty)
    assert sim.requests == ["/sms/1/reports?limit=2"]
    assert page.body.startswith(b'{"results": [') and page.body.count(b'"messageId"') == 2
    assert page.retries == 0 and page.possible_gaps == 0


def test_wrong_key_is_an_auth_error_without_retry(sim):
    sleeps = []
    with pytest.raises(InfobipAuthError, match="401"):
        client(sim, key="wrong", sleeps=sleeps).fetch_reports(10, plenty)
    assert sleeps == [] and len(sim.requests) == 1


def test_403_is_an_auth_error_too(sim):
    sim.inject(Fault("status", 403, b'{"errorCode":"E403"}'))
    with pytest.raises(InfobipAuthError):
        client(sim, version=3).fetch_reports(10, plenty)


def test_a_bad_limit_is_a_request_error_not_retried(sim):
    with pytest.raises(InfobipRequestError, match="400"):
        client(sim, version=3).fetch_reports(5000, plenty)
    assert len(sim.requests) == 1


def test_retry_after_as_http_date_is_honoured(sim):
    sleeps = []
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    sim.inject(Fault("status", 429, b"{}", {"Retry-After": when}))
    client(sim, sleeps=sleeps).fetch_reports(10, plenty)
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_backoff_is_bounded_by_the_time_left(sim):
    sim.inject(*[Fault("status", 503)] * 50)
    with pytest.raises(InfobipUnavailable, match="503") as raised:
        client(sim).fetch_reports(10, lambda: 10.0)
    assert raised.value.retries < 50


def test_connection_refused_is_not_a_possible_gap():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = InfobipClient(f"http://127.0.0.1:{port}", lambda: "k", 1, sleep=lambda s: None)
    with pytest.raises(InfobipUnavailable, match="cannot connect") as raised:
        unreachable.fetch_reports(10, lambda: 10.0)
    assert raised.value.possible_gaps == 0


def test_a_read_timeout_is_a_possible_gap_then_the_next_page_comes(sim):
    sim.add(make_reports(20))
    sim.inject(Fault("delay", seconds=1.5))
    page = client(sim, read_timeout=0.5).fetch_reports(10, plenty)
    assert page.possible_gaps == 1 and page.retries == 1
    assert page.body.count(b'"messageId"') == 10
    time.sleep(1.5)  # let the slow request finish on the simulator's side
    assert len(sim.handed_out) == 20, "the timed-out answer consumed its page at Infobip"


def test_deprecation_headers_are_passed_on(sim):
    sim.extra_headers = {"Deprecation": "@1767225600", "Sunset": "Wed, 01 Jul 2027 00:00:00 GMT"}
    page = client(sim).fetch_reports(10, plenty)
    assert page.deprecation == sim.extra_headers
