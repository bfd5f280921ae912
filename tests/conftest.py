"""Fixtures: moto (in-process) with the template's resources, the Infobip simulator, the handlers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Powertools reads these when dlr_vault.observability is first imported, as Lambda's env would have them.
os.environ.update(POWERTOOLS_SERVICE_NAME="dlr-vault", POWERTOOLS_METRICS_NAMESPACE="DlrVault", POWERTOOLS_TRACE_DISABLED="true")

from moto import mock_aws

from local.infobip_sim import InfobipSimulator
from local.stack import LocalStack, build_stack, load_handler, reset_runtime
from tests.kit import LOCAL_API_KEY, FakeLambdaContext, load_event


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DlrVault",
        "POWERTOOLS_SERVICE_NAME": "dlr-vault",
        "AWS_MAX_ATTEMPTS": "2",  # botocore's own retries; the template sets 5 for Lambda
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    if "AWS_ENDPOINT_URL" in os.environ and not os.environ.get("DLR_VAULT_KEEP_ENDPOINT"):
        monkeypatch.delenv("AWS_ENDPOINT_URL")


@pytest.fixture
def sim() -> Iterator[InfobipSimulator]:
    with InfobipSimulator() as simulator:
        yield simulator


@pytest.fixture
def aws() -> Iterator[Callable[[str], Any]]:
    """moto in-process; yields the package's own client factory (the clients the code uses)."""
    with mock_aws():
        reset_runtime()
        from dlr_vault import aws as aws_clients

        yield aws_clients.client
    reset_runtime()


@pytest.fixture
def stack_prefix() -> str:
    """Names of this test's resources (moto in-process starts empty for every test)."""
    return "dlr-vault-local"


@pytest.fixture
def make_stack(
    aws: Callable[[str], Any], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, stack_prefix: str
) -> Callable[..., LocalStack]:
    """Build the template's resources; template parameters can be overridden per test. The
    collector points at the Infobip simulator when the test uses one (`sim`), else at a closed
    loopback port: tests that never fetch start no server."""
    sim: InfobipSimulator | None = request.getfixturevalue("sim") if "sim" in request.fixturenames else None

    def make(prefix: str = stack_prefix, **parameters: str) -> LocalStack:
        """`prefix`: another name for a second stack in the same test."""
        base_url, api_key = (sim.base_url, sim.api_key) if sim else ("http://127.0.0.1:9", "no-simulator")
        parameters = {"InfobipBaseUrl": base_url, "InfobipApiKeySecret": f"{prefix}/infobip-api-key", **parameters}
        stack = build_stack(aws, parameters, api_key, prefix)
        for function in ("CollectorFunction", "LookupFunction", "NotifierFunction"):
            for name, value in stack.environment(function).items():
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("INFOBIP_READ_TIMEOUT", "2")
        reset_runtime()
        return stack

    return make


@pytest.fixture
def stack(make_stack: Callable[..., LocalStack]) -> LocalStack:
    return make_stack()


@pytest.fixture
def collect(aws: Callable[[str], Any]) -> Callable[..., dict[str, Any]]:
    """Invoke the collector handler with events/schedule.json and a fresh Lambda context
    (build the stack first, with `stack` or `make_stack`)."""
    handler = load_handler("collector").lambda_handler

    def run(seconds: float = 120.0) -> dict[str, Any]:
        return handler(load_event("schedule.json"), FakeLambdaContext(seconds=seconds))

    return run


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the functions log (JSON, formatted as in Lambda), collected for assertions."""
    import logging

    from dlr_vault.observability import logger

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.fixture
def lookup_handler(aws: Callable[[str], Any]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return load_handler("lookup").lambda_handler


@pytest.fixture
def api(lookup_handler: Callable[..., dict[str, Any]]) -> Iterator[Any]:
    """The lookup handler behind a local API Gateway stand-in on 127.0.0.1 (real HTTP);
    build the stack with `stack` or `make_stack`."""
    from local.api import LocalApi

    with LocalApi(lookup_handler, LOCAL_API_KEY, port=0) as local_api:
        yield local_api


FAN_OUT = {"EventsEnabled": "true", "EventsQueueEnabled": "true", "BulkCountersEnabled": "true"}


@pytest.fixture
def fan_out(make_stack: Callable[..., LocalStack]) -> LocalStack:
    """The stack with events, the events queue and the bulk counters switched on."""
    return make_stack(**FAN_OUT)


@pytest.fixture
def notify(aws: Callable[[str], Any]) -> Callable[[LocalStack], Any]:
    """A feeder of the stack's ReportsTable stream to the notifier handler, as Lambda's event
    source mapping would (local/streams.py); the publisher's pauses between retries are skipped."""
    from local.streams import StreamFeeder

    module = load_handler("notifier")

    def make(stack: LocalStack) -> StreamFeeder:
        notifier = module.notifier()
        if notifier.publisher is not None:
            notifier.publisher.sleep = lambda _: None
        return StreamFeeder(stack, module.lambda_handler)

    return make
