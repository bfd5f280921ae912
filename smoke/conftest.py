"""The deployed stack's outputs, how to call its API, and clients, read once per smoke run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

KEY_OUTPUT = "ApiKeyId"  # ApiKeyId<consumer>, one per name in ApiConsumers (none when ApiAuth is Iam)


@dataclass(frozen=True)
class Deployed:
    name: str
    outputs: dict[str, str]
    api_url: str
    api_key: str | None  # None: the API takes AWS Signature V4 (ApiAuth=Iam)

    def client(self, service: str) -> Any:
        return boto3.client(service)

    def get(self, path: str, params: dict[str, str] | None = None, *, authorized: bool = True) -> requests.Response:
        """GET a route as a consumer does: with its API key, or signed with this session's credentials."""
        url = self.api_url + path
        if not authorized:
            return requests.get(url, params=params, timeout=15)
        if self.api_key is not None:
            return requests.get(url, params=params, headers={"x-api-key": self.api_key}, timeout=15)
        session = boto3.session.Session()
        signed = AWSRequest(method="GET", url=url, params=params or {})
        SigV4Auth(session.get_credentials(), "execute-api", session.region_name).add_auth(signed)
        prepared = signed.prepare()
        return requests.get(prepared.url, headers=dict(prepared.headers), timeout=15)


def read_deployed(name: str, consumer: str | None = None) -> Deployed:
    """The stack's outputs and one consumer's API key (`consumer`, or the first listed); no key on an IAM stack."""
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    keys = sorted(k for k in outputs if k.startswith(KEY_OUTPUT))
    if consumer is not None and f"{KEY_OUTPUT}{consumer}" not in keys:
        raise SystemExit(f"stack {name} has no consumer {consumer!r}: it has {[k.removeprefix(KEY_OUTPUT) for k in keys]}")
    chosen = f"{KEY_OUTPUT}{consumer}" if consumer else (keys[0] if keys else None)
    key = boto3.client("apigateway").get_api_key(apiKey=outputs[chosen], includeValue=True)["value"] if chosen else None
    return Deployed(name, outputs, outputs["ApiUrl"].rstrip("/"), key)


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    return read_deployed(os.environ["STACK"], os.environ.get("SMOKE_CONSUMER") or None)
