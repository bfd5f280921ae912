"""DynamoDB's JSON protocol spoken directly, for the collector's BatchGetItem and BatchWriteItem.

botocore walks its service model for every attribute of every item it sends or reads back:
74 µs per report on BatchWriteItem alone, several times what parsing and gzipping the report
costs. `index.py` already builds items in DynamoDB's wire form, so a request body here is one
`json.dumps` and an answer one `json.loads`. Everything else is the client's own, and
`tests/unit/test_dynamodb_differential.py` proves the two send the same requests and decide the
same way:

- the body is botocore's serialisation (`json.dumps` with its defaults), so bytes, payload hash
  and SigV4 signature are the ones botocore's client sends; endpoint, region, HTTP session,
  `amz-sdk-invocation-id`/`amz-sdk-request` (botocore's own `add_retry_headers`) and, in Lambda,
  `X-Amzn-Trace-Id` (botocore's own handler) as well;
- requests go through the client's `before-send` event, so moto, request counters and the
  tests' fault injection see them as they see botocore's own;
- whether to retry, and after how long, is decided by botocore's standard-mode retry handler,
  made as the client makes its own and with the client's max attempts (`AWS_MAX_ATTEMPTS`, the
  config, or botocore's default): throttling and transient codes, 5xx, connection errors, the
  `x-amz-crc32` check, the backoff and a retry quota (this client's own bucket, as a botocore
  client that only made these calls would have);
- error answers are parsed by botocore's parser and raised as the client's modeled exceptions.

Where it differs, on purpose:
- Pauses are botocore's, capped at 2 s: the collector has a minute, botocore's cap is 20 s.
- An answer that cannot be trusted is raised as `UntrustedAnswer` where botocore would use it:
  a 200 whose checksum still mismatches on the last attempt, or whose body is not JSON
  (botocore reads that as an empty answer: "nothing left unprocessed"). An `x-amz-crc32` that
  is not a number counts as a mismatch (botocore's check raises ValueError on it).
- User-Agent is its own. botocore rebuilds its header on each call with the feature ids its own
  call path records (credential source, endpoint mode, retry mode); this path does not run them,
  and a distinct name lets these requests be told apart. It is not signed.
- Not done: account-ID endpoints (botocore routes to `<account>.ddb.<region>` when the
  credentials carry an account ID; Lambda's do not), the client's `before-call`/`request-created`
  handlers (so no Stubber, no endpoint discovery), retry modes other than standard (`aws.py` sets
  standard), and B values stay base64 text as on the wire.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import NoCredentialsError
from botocore.handlers import add_recursion_detection_header, add_retry_headers
from botocore.hooks import HierarchicalEmitter, first_non_none_response
from botocore.httpsession import URLLib3Session
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.retries import standard
from botocore.utils import get_environ_proxies, lowercase_dict

_TARGET = "DynamoDB_20120810."
_MAX_PAUSE = 2.0  # seconds; botocore's own backoff, capped: the collector's time budget is one minute


class UntrustedAnswer(Exception):
    """A 200 whose checksum does not match or whose body is not a JSON object, after the last attempt."""


class DynamoDBJson:
    """BatchGetItem/BatchWriteItem with already-typed items, through `client`'s endpoint and events,
    retried by botocore's standard-mode handler with `client`'s max attempts (or `max_attempts`)."""

    def __init__(
        self,
        client: Any,
        credentials: Callable[[], Any],
        *,
        max_attempts: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        meta = client.meta
        self._events, self._url, self._region = meta.events, meta.endpoint_url.rstrip("/") + "/", meta.region_name
        self._config, self._model, self._exceptions = meta.config, meta.service_model, client.exceptions
        self._parser = create_parser(self._model.resolved_protocol)
        self._credentials = credentials
        self._sleep = sleep
        self._retries = HierarchicalEmitter()  # botocore's retry handler, made as botocore makes the client's, listens here
        attempts = meta.config.retries.get("total_max_attempts") if max_attempts is None else max_attempts
        shell = SimpleNamespace(meta=SimpleNamespace(service_model=self._model, events=self._retries))
        standard.register_retry_handler(shell, attempts)  # type: ignore[arg-type]  # it reads only meta.service_model and meta.events
        self._http: URLLib3Session | None = None  # made on first send: the lookup never needs it
        self._lock = threading.Lock()
        self._agent = f"dlr-vault Botocore/{botocore.__version__}"

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchGetItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self._call("BatchWriteItem", params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """botocore's `Endpoint._send_request` and `BaseClient._make_api_call`, minus the model walk."""
        model = self._model.operation_model(operation)
        body = json.dumps(params).encode()  # what botocore's JSON serialiser ends with: the same bytes
        retries: dict[str, Any] = {"invocation-id": str(uuid.uuid4())}
        context: dict[str, Any] = {"client_config": self._config, "retries": retries}
        attempt = 0
        while True:
            attempt += 1
            retries["attempt"] = attempt
            answer = self._attempt(operation, model, self._request(operation, body, retries))
            delay = first_non_none_response(
                self._retries.emit(
                    f"needs-retry.dynamodb.{operation}",
                    response=None if answer.response is None else (answer.response, answer.parsed),
                    endpoint=None,
                    operation=model,
                    attempts=attempt,
                    caught_exception=answer.error,
                    request_dict={"context": context},
                )
            )
            if delay is None or delay is False:
                break
            self._sleep(min(delay, _MAX_PAUSE))
            if answer.response is not None and (ttl := _ttl(answer.response, self._config.read_timeout)):
                retries["ttl"] = ttl
        response, parsed = answer.response, answer.parsed
        if response is None:
            raise answer.error or AssertionError("an attempt ends with an answer or an exception")
        parsed["ResponseMetadata"]["RetryAttempts"] = attempt - 1
        self._retries.emit(f"after-call.dynamodb.{operation}", http_response=response, parsed=parsed, model=model, context=context)
        if response.status_code >= 300:
            raise self._exceptions.from_code(parsed.get("Error", {}).get("Code"))(parsed, operation)
        if not answer.readable or not _checksum_matches(response):
            raise UntrustedAnswer(f"{operation}: the answer is not a JSON object, or its CRC32 does not match its header")
        return parsed

    def _request(self, operation: str, body: bytes, retries: dict[str, Any]) -> AWSRequest:
        """This attempt's signed request, with the headers botocore's client adds."""
        headers = {"X-Amz-Target": _TARGET + operation, "Content-Type": "application/x-amz-json-1.0", "User-Agent": self._agent}
        add_recursion_detection_header({"headers": headers})
        request = AWSRequest("POST", self._url, data=body, headers=headers)
        credentials = self._credentials()
        if credentials is None:
            raise NoCredentialsError()
        SigV4Auth(credentials.get_frozen_credentials(), "dynamodb", self._region).add_auth(request)
        request.context["retries"] = retries
        self._retries.emit(f"request-created.dynamodb.{operation}", request=request)  # botocore's preview retries seed `max` here
        add_retry_headers(request)  # type: ignore[arg-type]  # it takes botocore's AWSRequest; its stub says Request
        return request

    def _attempt(self, operation: str, model: OperationModel, request: AWSRequest) -> _Answer:
        """One send, as botocore's Endpoint makes it: a failure to send goes to the retry policy, not up."""
        prepared = request.prepare()
        try:
            response = first_non_none_response(self._events.emit(f"before-send.dynamodb.{operation}", request=prepared))
            if response is None:
                response = self._session().send(prepared)
        except Exception as exc:  # botocore hands every send failure to needs-retry, then raises it
            return _Answer(None, {}, exc)
        checksum = response.headers.get("x-amz-crc32")
        if checksum is not None and not _is_int(checksum):
            response.headers["x-amz-crc32"] = "-1"  # botocore's check would raise ValueError on it; -1 can only mismatch
        if response.status_code >= 300:
            return _Answer(response, self._error(operation, model, response), None)
        return _read(response)

    def _error(self, operation: str, model: OperationModel, response: AWSResponse) -> dict[str, Any]:
        """An error answer as botocore parses it, modeled fields included (small and rare: no walk worth avoiding)."""
        answer = {
            "headers": response.headers,
            "status_code": response.status_code,
            "body": response.content,
            "context": {"operation_name": operation},
        }
        parsed: dict[str, Any] = self._parser.parse(answer, model.output_shape)  # type: ignore[arg-type]  # None is no output; its stub says Shape
        shape = self._model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if shape is not None:
            parsed.update(self._parser.parse(answer, shape))
        return parsed

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


class _Answer(NamedTuple):
    response: AWSResponse | None
    parsed: dict[str, Any]
    error: Exception | None
    readable: bool = True


def _read(response: AWSResponse) -> _Answer:
    """A 2xx answer as botocore reads it, but items stay in wire form; botocore reads a body that
    is not a JSON object as an empty answer, and so is it handed to the retry policy here."""
    try:
        parsed = json.loads(response.content) if response.content else {}
    except ValueError:
        parsed = None
    metadata = {"HTTPStatusCode": response.status_code, "HTTPHeaders": lowercase_dict(response.headers)}
    if "x-amzn-requestid" in response.headers:
        metadata["RequestId"] = response.headers["x-amzn-requestid"]
    if not isinstance(parsed, dict):
        return _Answer(response, {"ResponseMetadata": metadata}, None, readable=False)
    parsed["ResponseMetadata"] = metadata
    return _Answer(response, parsed, None)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _checksum_matches(response: AWSResponse) -> bool:
    checksum = response.headers.get("x-amz-crc32")
    return checksum is None or zlib.crc32(response.content) == int(checksum)


def _ttl(response: AWSResponse, read_timeout: float) -> str | None:
    """botocore's `ttl` for the next attempt: the last answer's Date plus the read timeout."""
    try:
        date = datetime.datetime.strptime(response.headers.get("Date", ""), "%a, %d %b %Y %H:%M:%S %Z")
    except ValueError:
        return None
    return (date + datetime.timedelta(seconds=read_timeout)).strftime("%Y%m%dT%H%M%SZ")
