"""The deployed stack's outputs, its API key and clients, read once per smoke run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
import pytest


@dataclass(frozen=True)
class Deployed:
    name: str
    outputs: dict[str, str]
    api_url: str
    api_key: str

    def client(self, service: str) -> Any:
        return boto3.client(service)


@pytest.fixture(scope="session")
def deployed() -> Deployed:
    name = os.environ["STACK"]
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    key = boto3.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    return Deployed(name, outputs, outputs["ApiUrl"].rstrip("/"), key)
