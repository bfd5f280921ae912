"""DynamoDB's JSON protocol spoken directly, for the collector's BatchGetItem and BatchWriteItem.

botocore walks its service model for every attribute of every item it sends or reads back:
74 µs per report on BatchWriteItem alone, several times what parsing and gzipping the report
costs. `index.py` already builds items in DynamoDB's wire form, so a request body here is one
`json.dumps` and an answer one `json.loads`. Everything else stays botocore's: the client's
endpoint and region, its credentials, SigV4 signing, the urllib3 session with its pool, proxy
and TLS settings, the exception types, and the client's `before-send` event, so moto, request
counters and the tests' fault injection see these requests exactly as they see botocore's own.
Retries follow botocore's standard mode: throttling, 5xx, connection errors, bad checksums.
"""

from __future__ import annotations

import json
import random
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies

_TARGET = "DynamoDB_20120810."
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_RETRY_CODES = frozenset(
    {  # botocore.retries.standard: throttled and transient error codes
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
_BACKOFF_BASE, _BACKOFF_CAP = 0.05, 2.0  # seconds; the collector's time budget is one minute


class UntrustedAnswer(Exception):
    """An answer that cannot be used (checksum mismatch, not JSON): asked again, raised after the last attempt."""


class DynamoDBJson:
    """BatchGetItem/BatchWriteItem with already-typed items, through `client`'s endpoint, credentials and events."""

    def __init__(
        self, client: Any, credentials: Callable[[], Any], *, max_attempts: int, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        meta = client.meta
        self._events, self._url, self._region = meta.events, meta.endpoint_url.rstrip("/") + "/", meta.region_name
        self._config = meta.config
        self._credentials = credentials
        self._attempts = max(1, max_attempts)
        self._sleep = sleep
        self._http: URLLib3Session | None = None  # made on first send: the lookup never needs it
        self._lock = threading.Lock()
        self._agent = f"dlr-vault Botocore/{botocore.__version__}"

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchGetItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchWriteItem", params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
        for attempt in range(self._attempts):
            final = attempt == self._attempts - 1
            try:
                status, answer = self._send(operation, body)
            except (BotocoreConnectionError, HTTPClientError, UntrustedAnswer):
                if final:
                    raise
            else:
                if status == 200:
                    return answer
                error = _client_error(status, answer, operation)
                if final or not (status in _RETRY_STATUS or error.response["Error"]["Code"] in _RETRY_CODES):
                    raise error
            jitter = random.random()  # noqa: S311  # nosec B311
            self._sleep(jitter * min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(self, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
        request = AWSRequest(
            "POST",
            self._url,
            data=body,
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": _TARGET + operation, "User-Agent": self._agent},
        )
        credentials = self._credentials()
        if credentials is None:
            raise NoCredentialsError()
        SigV4Auth(credentials.get_frozen_credentials(), "dynamodb", self._region).add_auth(request)
        prepared = request.prepare()
        _, response = self._events.emit_until_response(f"before-send.dynamodb.{operation}", request=prepared)
        if response is None:
            response = self._session().send(prepared)
        content = response.content
        checksum = response.headers.get("x-amz-crc32")
        if checksum is not None and (not checksum.isdigit() or zlib.crc32(content) != int(checksum)):
            raise UntrustedAnswer(f"{operation}: the answer's CRC32 does not match its header")
        try:
            return response.status_code, json.loads(content) if content else {}
        except ValueError as exc:
            if response.status_code == 200:
                raise UntrustedAnswer(f"{operation}: the answer is not JSON") from exc
            return response.status_code, {}

    def _session(self) -> URLLib3Session:
        with self._lock:  # the index sends from several threads; they share one pool
            if self._http is None:
                config = self._config
                self._http = URLLib3Session(
                    proxies=config.proxies or get_environ_proxies(self._url),
                    timeout=(config.connect_timeout, config.read_timeout),  # type: ignore[arg-type]  # botocore takes (connect, read); its stub says int
                    max_pool_connections=config.max_pool_connections,
                    proxies_config=config.proxies_config,
                )
            return self._http


def _client_error(status: int, answer: dict[str, Any], operation: str) -> ClientError:
    """The ClientError botocore would raise for this answer (`__type` is `namespace#Code`)."""
    code = str(answer.get("__type", status)).rsplit("#", 1)[-1]
    message = answer.get("message") or answer.get("Message") or ""
    error: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }  # botocore's own partial shape
    return ClientError(error, operation)
