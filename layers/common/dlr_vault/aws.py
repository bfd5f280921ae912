"""boto3 clients made once per container, with retries and a connection pool sized for batch writes."""

from __future__ import annotations

import time
from contextlib import suppress
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

from dlr_vault.dynamodb import DynamoDBJson
from dlr_vault.search import NumberHasher

if TYPE_CHECKING:  # boto3-stubs: dev-only, the layer does not ship them
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

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
def _client(service: str) -> Any:
    session: Any = _session()  # boto3's stubs type `client` per literal service name; this one takes any
    return session.client(service, config=_CONFIG)


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
@overload
def client(service: str) -> Any: ...
def client(service: str) -> Any:
    """A shared client for `service` (thread-safe; reused across warm invocations)."""
    return _client(service)


@cache
def dynamodb_batches() -> DynamoDBJson:
    """Batch reads and writes on the shared DynamoDB client's endpoint, credentials and events, retried
    as it retries (its own max attempts, so the two cannot disagree), without its per-item model walk."""
    return DynamoDBJson(client("dynamodb"), _session().get_credentials)


@cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def secret(name: str, max_age: int = 300, *, force: bool = False) -> str:
    """A secret's SecretString, cached by Powertools for `max_age` seconds (key rotation lands within
    it); `force` reads it now and refreshes the cache."""
    value: str = _secrets().get(name, max_age=max_age, force_fetch=force)
    return value


@cache
def _stages_read() -> dict[str, tuple[float, list[str]]]:
    return {}


def secret_stages(name: str, max_age: int = 3600, *, force: bool = False) -> list[str]:
    """A secret's AWSCURRENT value, then its AWSPREVIOUS one if it has been rotated, cached for
    `max_age` seconds (Powertools' cache is keyed by name only, so it cannot hold both stages)."""
    read_at, values = _stages_read().get(name, (float("-inf"), []))
    if values and not force and time.monotonic() - read_at < max_age:
        return values
    secrets = client("secretsmanager")
    values = [secrets.get_secret_value(SecretId=name)["SecretString"]]
    with suppress(secrets.exceptions.ResourceNotFoundException):  # not found: never rotated
        values.append(secrets.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
    _stages_read()[name] = (time.monotonic(), values)
    return values


def stack_outputs(stack: str) -> dict[str, str]:
    """A deployed stack's Outputs (the operator commands find its table, bucket and secrets by them)."""
    (described,) = client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def number_hasher(secret_name: str) -> NumberHasher | None:
    """The destination index's keyed hash, its key read from `secret_name` when first used (None: search is off).
    Cached an hour like the cursor key; the key never changes (a new key would orphan every stored hash)."""
    return NumberHasher(lambda: secret(secret_name, max_age=3600)) if secret_name else None
