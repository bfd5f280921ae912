"""Integration fixtures: moto in server mode over real HTTP on 127.0.0.1 instead of in-process mocks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.stack import reset_runtime, start_moto_server


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
def stack_prefix() -> str:
    """moto server keeps its state across tests: every test gets resources of its own."""
    return f"it-{uuid.uuid4().hex[:8]}"
