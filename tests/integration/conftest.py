"""Integration fixtures: moto in server mode over real HTTP on 127.0.0.1 instead of in-process mocks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.infobip_sim import InfobipSimulator
from local.stack import LocalStack, build_stack, reset_runtime, start_moto_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto_server()
    yield endpoint
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """The package's client factory, pointed at moto server through AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    reset_runtime()
    from dlr_vault import aws as aws_clients

    yield aws_clients.client
    reset_runtime()


@pytest.fixture
def make_stack(aws: Callable[[str], Any], sim: InfobipSimulator, monkeypatch: pytest.MonkeyPatch) -> Callable[..., LocalStack]:
    def make(**parameters: str) -> LocalStack:
        prefix = f"it-{uuid.uuid4().hex[:8]}"
        secret = f"{prefix}/infobip-api-key"
        stack = build_stack(aws, {"InfobipBaseUrl": sim.base_url, "InfobipApiKeySecret": secret, **parameters}, sim.api_key, prefix)
        for function in ("CollectorFunction", "LookupFunction"):
            for name, value in stack.environment(function).items():
                monkeypatch.setenv(name, value)
        reset_runtime()
        return stack

    return make
