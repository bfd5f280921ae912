"""boto3 clients made once per container, with retries and a connection pool sized for batch writes."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from dlr_vault.dynamodb import DynamoDBJson
from dlr_vault.search import NumberHasher

_CONFIG = Config(
    retries={"mode": "standard"},  # attempts from AWS_MAX_ATTEMPTS (the template sets 5)
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=16,
    tcp_keepalive=True,
    parameter_validation=False,  # requests are built by this package; validation was a third of the collector's CPU
)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """A shared client for `service` (thread-safe; reused across warm invocations)."""
    return _session().client(service, config=_CONFIG)


@cache
def dynamodb_batches() -> DynamoDBJson:
    """Batch reads and writes on the shared DynamoDB client's endpoint, credentials and events, without its per-item model walk."""
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "3"))  # botocore standard mode's default is 3
    return DynamoDBJson(client("dynamodb"), _session().get_credentials, max_attempts=attempts)


@cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def secret(name: str, max_age: int = 300) -> str:
    """A secret's SecretString, cached by Powertools for `max_age` seconds (key rotation lands within it)."""
    return _secrets().get(name, max_age=max_age)


def number_hasher(secret_name: str) -> NumberHasher | None:
    """The destination index's keyed hash, its key read from `secret_name` when first used (None: search is off).
    Cached an hour like the cursor key; the key never changes (a new key would orphan every stored hash)."""
    return NumberHasher(lambda: secret(secret_name, max_age=3600)) if secret_name else None
