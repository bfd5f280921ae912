"""DynamoDBJson against botocore's own client, for the same calls: the same requests, the same retries.

Both are made by the package's own factory (`dlr_vault.aws`) under the same environment, and both
are answered from their client's `before-send` hook: no server. The clock, uuid4 and the backoff's
random draw are frozen the same way for both, so method, URL, headers, body bytes and SigV4
signature must be equal (User-Agent aside: `dlr_vault/dynamodb.py` says why it is its own), and
so must the attempts, their `amz-sdk-request` headers, the pauses (DynamoDBJson caps them at 2 s)
and how the call ends: the same answer, or the same exception with the same `response`.

The two clients run the examples in lockstep, so the retry quota each keeps drains and refills the
same way on both. The retry test runs with botocore's default attempts, with AWS_MAX_ATTEMPTS and
with botocore's coming retry behaviour (AWS_NEW_RETRIES_2026). Items are generated typed values (S with
any code point, lone surrogates included, N, BOOL, NULL, L, M, SS, NS). Not B: botocore takes
bytes and base64-encodes them, DynamoDBJson takes the wire form already encoded.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import os
import random
import string
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.retries import standard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlr_vault import aws
from dlr_vault.dynamodb import DynamoDBJson, UntrustedAnswer
from local.stack import reset_runtime
from tests.kit import on_the_wire, wire_answer

NOW = datetime.datetime(2026, 5, 4, 3, 2, 1, tzinfo=datetime.UTC)
LAMBDA = {
    "AWS_LAMBDA_FUNCTION_NAME": "dlr-vault-collector",
    "_X_AMZN_TRACE_ID": "Root=1-6817d8a9-0f1e2d3c4b5a69788796a5b4;Parent=53995c3f42cd8ad8;Sampled=1",
}
_CLOCKS = [botocore.auth, botocore.endpoint] + ([botocore.crt.auth] if botocore.auth.HAS_CRT else [])


# ---------------------------------------------------------------- the two sides


@dataclass
class Side:
    """One client's side of an example: what it sent, how long it paused, how the call ended."""

    answers: list[Answer]
    then: Answer  # once `answers` run out
    sent: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)
    served: list[Answer] = field(default_factory=list)
    result: Any = None
    raised: BaseException | None = None

    def answer(self, request: Any, **_: Any) -> Any:
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        self.sent.append({"method": request.method, "url": request.url, "headers": headers, "body": request.body})
        answer = self.answers.pop(0) if self.answers else self.then
        self.served.append(answer)
        if answer.fails is not None:
            raise answer.fails(endpoint_url=request.url)
        return wire_answer(request, answer.status, dict(answer.headers), answer.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()
    fails: type[Exception] | None = None

    @property
    def checksum_mismatch(self) -> bool:
        sent = dict(self.headers).get("x-amz-crc32")
        return self.fails is None and sent is not None and int(sent) != zlib.crc32(self.body)


@dataclass
class Pair:
    botocore: Any  # botocore's own client
    ours: DynamoDBJson
    ours_client: Any  # the client DynamoDBJson sends through
    our_pauses: list[float]


@pytest.fixture
def pair(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """Both sides, each from the package's factory, under the tests' environment plus `request.param`
    (AWS_MAX_ATTEMPTS unset unless it names one)."""
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    for name, value in request.param.items():
        monkeypatch.setenv(name, value)
    # botocore reads AWS_NEW_RETRIES_2026 (its coming retry behaviour) once, at import: switch what it set.
    monkeypatch.setattr(standard, "NEW_RETRIES_ENABLED", request.param.get("AWS_NEW_RETRIES_2026") == "true")
    # botocore writes the max attempts it resolves into the Config it is given, so the package's
    # shared Config keeps the first client's for the whole process: each pair starts from a fresh one.
    monkeypatch.setattr(aws, "_CONFIG", aws._CONFIG.merge(Config(retries={"mode": aws._CONFIG.retries["mode"]})))
    pauses: list[float] = []
    reset_runtime()
    wrapped = aws.client("dynamodb")
    ours = DynamoDBJson(wrapped, aws._session().get_credentials, sleep=pauses.append)  # as aws.dynamodb_batches makes it
    reset_runtime()
    yield Pair(aws.client("dynamodb"), ours, wrapped, pauses)
    reset_runtime()


@contextmanager
def frozen() -> Iterator[list[float]]:
    """The clock (signing, botocore's ttl) and botocore's sleep; yields botocore's pauses."""

    def now(remove_tzinfo: bool = True) -> datetime.datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    pauses: list[float] = []
    with contextlib.ExitStack() as stack:
        for module in _CLOCKS:
            stack.enter_context(mock.patch.object(module, "get_current_datetime", now))
        stack.enter_context(mock.patch("time.sleep", pauses.append))
        yield pauses


def call(target: Any, wire: Any, method: str, params: dict[str, Any], answers: list[Answer], then: Answer, pauses: list[float]) -> Side:
    """`target.<method>(**params)`, answered on `wire`'s before-send with `answers`, then `then`; uuid4 and random seeded alike."""
    side = Side(list(answers), then)
    ids = (uuid.UUID(int=n, version=4) for n in itertools.count(1))
    random.seed(7)
    before = len(pauses)
    with mock.patch("uuid.uuid4", lambda: next(ids)), on_the_wire(wire, OPERATIONS[method], side.answer):
        try:
            side.result = getattr(target, method)(**params)
        except Exception as exc:  # both sides' exceptions are compared
            side.raised = exc
    side.pauses = pauses[before:]
    return side


OPERATIONS = {"batch_write_item": "BatchWriteItem", "batch_get_item": "BatchGetItem"}


def both(pair: Pair, method: str, params: dict[str, Any], answers: list[Answer], body: bytes) -> tuple[Side, Side]:
    """Both sides of one call, answered with `answers` and then a 200 with `body`."""
    then = Answer(200, body, (("x-amz-crc32", str(zlib.crc32(body))), ("x-amzn-requestid", "R1")))
    with frozen() as botocore_pauses:
        theirs = call(pair.botocore, pair.botocore, method, params, answers, then, botocore_pauses)
        mine = call(pair.ours, pair.ours_client, method, params, answers, then, pair.our_pauses)
    return theirs, mine


def assert_same_requests(theirs: Side, mine: Side) -> None:
    assert len(mine.sent) == len(theirs.sent)
    for sent, expected in zip(mine.sent, theirs.sent, strict=True):
        for request in (sent, expected):  # botocore's CRT signer sets Host; without it urllib3 sends the same one
            assert request["headers"].pop("host", urlsplit(request["url"]).netloc) == urlsplit(request["url"]).netloc
            assert request["headers"].pop("user-agent")
        assert sent["body"] == expected["body"]
        assert json.loads(sent["body"]) == json.loads(expected["body"])
        assert sent == expected


def assert_same_ending(theirs: Side, mine: Side) -> None:
    assert mine.pauses == [min(pause, 2.0) for pause in theirs.pauses]
    last = theirs.served[-1]
    if theirs.raised is None and last.status == 200 and last.checksum_mismatch:  # botocore uses it: see dynamodb.py
        assert isinstance(mine.raised, UntrustedAnswer)
    elif isinstance(theirs.raised, ClientError):
        assert type(mine.raised).__name__ == type(theirs.raised).__name__
        assert isinstance(mine.raised, ClientError)
        assert (mine.raised.response, mine.raised.operation_name) == (theirs.raised.response, theirs.raised.operation_name)
    elif theirs.raised is not None:
        assert (type(mine.raised), str(mine.raised)) == (type(theirs.raised), str(theirs.raised))
    else:
        assert mine.raised is None
        assert mine.result == theirs.result


# ---------------------------------------------------------------- generated items and answers

_char = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029\ufeff'))
text = st.text(_char, max_size=12)
name = st.text(_char, min_size=1, max_size=8)
number = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1).map(str),
    st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False).map(str),
)
scalar = st.one_of(
    text.map(lambda s: {"S": s}),
    number.map(lambda n: {"N": n}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(text, min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
    st.lists(number, min_size=1, max_size=4, unique=True).map(lambda v: {"NS": v}),
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: {"L": v}), st.dictionaries(name, inner, max_size=3).map(lambda v: {"M": v})
    ),
    max_leaves=6,
)
key = name.map(lambda m: {"messageId": {"S": m}})
item = st.builds(lambda k, rest: {**k, **rest}, key, st.dictionaries(name, value, max_size=5))
table = st.text(string.ascii_letters + string.digits + "_.-", min_size=3, max_size=40)
write = st.one_of(item.map(lambda i: {"PutRequest": {"Item": i}}), key.map(lambda k: {"DeleteRequest": {"Key": k}}))


@st.composite
def batch_write(draw: st.DrawFn, most: int) -> tuple[str, dict[str, Any], bytes]:
    """BatchWriteItem's parameters (up to `most` requests a table) and a 200 body leaving some unprocessed."""
    requests = draw(st.dictionaries(table, st.lists(write, min_size=1, max_size=most), min_size=1, max_size=2))
    unprocessed = {t: draw(st.lists(st.sampled_from(r), max_size=3)) for t, r in requests.items()}
    return (
        "batch_write_item",
        {"RequestItems": requests},
        json.dumps({"UnprocessedItems": {t: r for t, r in unprocessed.items() if r}}).encode(),
    )


@st.composite
def batch_get(draw: st.DrawFn, most: int, found: int) -> tuple[str, dict[str, Any], bytes]:
    """BatchGetItem's parameters as index.py sends them (up to `most` keys a table) and a 200 body with up to `found` items."""
    names = draw(st.lists(table, min_size=1, max_size=2, unique=True))
    request = {
        t: {
            "Keys": draw(st.lists(key, min_size=1, max_size=most)),
            "ProjectionExpression": "messageId, doneAt, #src",
            "ExpressionAttributeNames": {"#src": "source"},
            "ConsistentRead": draw(st.booleans()),
        }
        for t in names
    }
    answered = {t: draw(st.lists(item, max_size=found)) for t in names}
    return "batch_get_item", {"RequestItems": request}, json.dumps({"Responses": answered, "UnprocessedKeys": {}}).encode()


COUNTED = {"examples": 0, "items written": 0, "keys read": 0, "items answered": 0}


def count(params: dict[str, Any], body: bytes) -> None:
    """What one example sent through both clients, for the summary `-s` prints."""
    COUNTED["examples"] += 1
    for request in params["RequestItems"].values():
        if isinstance(request, dict):
            COUNTED["keys read"] += len(request["Keys"])
        else:
            COUNTED["items written"] += len(request)
    COUNTED["items answered"] += sum(map(len, json.loads(body).get("Responses", {}).values()))


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    print("\ndifferential:", ", ".join(f"{n} {what}" for what, n in COUNTED.items()))


def _date(seconds: int) -> str:
    return (NOW + datetime.timedelta(seconds=seconds)).strftime("%a, %d %b %Y %H:%M:%S GMT")


@st.composite
def answer(draw: st.DrawFn, ok_body: bytes) -> Answer:
    """One attempt's answer: throttled, refused, a server error, a bad checksum, a lost connection or fine."""
    kind = draw(st.sampled_from(["throttled", "refused", "5xx", "ok", "lost"]))
    if kind == "lost":
        return Answer(fails=draw(st.sampled_from([EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError])))
    status, body = 200, ok_body
    if kind in ("throttled", "refused"):
        codes = (
            [
                "ThrottlingException",
                "ProvisionedThroughputExceededException",
                "RequestLimitExceeded",
                "TransactionInProgressException",
                "RequestTimeout",
            ]
            if kind == "throttled"
            else ["ValidationException", "ResourceNotFoundException", "AccessDeniedException", "ItemCollectionSizeLimitExceededException"]
        )
        status = 400
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{draw(st.sampled_from(codes))}", "message": draw(text)}).encode()
    elif kind == "5xx":
        status = draw(st.sampled_from([500, 502, 503, 504]))
        body = draw(
            st.sampled_from(
                [
                    b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"x"}',
                    b"<html><body>Service Unavailable</body></html>",
                    b"",
                ]
            )
        )
    headers = {"x-amzn-requestid": f"{draw(st.integers(0, 2**40)):010X}"}
    checksum = draw(st.sampled_from(["good", "bad", "none"]))
    if checksum != "none":
        headers["x-amz-crc32"] = str((zlib.crc32(body) + (checksum == "bad")) % 2**32)
    date = draw(st.one_of(st.none(), st.integers(-90, 90).map(_date), st.just("yesterday")))
    if date is not None:
        headers["Date"] = date
    return Answer(status, body, tuple(headers.items()))


def _error(status: int, code: str) -> Answer:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
    return Answer(status, body, (("x-amz-crc32", str(zlib.crc32(body))),))


ONE_PUT = {"RequestItems": {"reports": [{"PutRequest": {"Item": {"messageId": {"S": "m1"}}}}]}}

# ---------------------------------------------------------------- the tests

MODES = [{}, {"AWS_MAX_ATTEMPTS": "5"}, {"AWS_NEW_RETRIES_2026": "true"}]
MODE_IDS = ["default-attempts", "AWS_MAX_ATTEMPTS=5", "botocore-preview-retries"]
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], database=None)


@pytest.mark.parametrize("pair", [{}], indirect=True)
@settings(SETTINGS, max_examples=60)
@given(call_=st.one_of(batch_write(25), batch_get(100, found=5)), in_lambda=st.booleans())
def test_the_requests_are_botocores_to_the_byte(pair, call_, in_lambda):
    method, params, body = call_
    with mock.patch.dict(os.environ, LAMBDA if in_lambda else {}):
        theirs, mine = both(pair, method, params, [], body)
    count(params, body)
    assert theirs.raised is None, theirs.raised
    assert ("x-amzn-trace-id" in mine.sent[0]["headers"]) is in_lambda
    assert_same_requests(theirs, mine)
    assert_same_ending(theirs, mine)


@pytest.mark.parametrize("pair", MODES, ids=MODE_IDS, indirect=True)
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_retry_decisions_are_botocores(pair, data):
    method, params, body = data.draw(st.one_of(batch_write(3), batch_get(3, found=1)))
    answers = data.draw(st.lists(answer(body), min_size=1, max_size=6))
    theirs, mine = both(pair, method, params, answers, body)
    count(params, body)
    assert [r["headers"]["amz-sdk-request"] for r in mine.sent] == [r["headers"]["amz-sdk-request"] for r in theirs.sent]
    assert_same_requests(theirs, mine)
    assert_same_ending(theirs, mine)


@pytest.mark.parametrize("pair", MODES, ids=MODE_IDS, indirect=True)
def test_a_lasting_outage_takes_as_many_attempts_as_the_environment_says(pair):
    theirs, mine = both(pair, "batch_write_item", ONE_PUT, [_error(500, "InternalServerError")] * 9, b"{}")
    default = standard._SERVICE_MAX_ATTEMPTS["dynamodb"] if standard.NEW_RETRIES_ENABLED else standard.DEFAULT_MAX_ATTEMPTS
    assert len(mine.sent) == len(theirs.sent) == int(os.environ.get("AWS_MAX_ATTEMPTS", default))
    assert_same_requests(theirs, mine)
    assert_same_ending(theirs, mine)


@pytest.mark.parametrize("pair", [{"AWS_MAX_ATTEMPTS": "5"}], indirect=True)
def test_the_retry_quota_drains_and_refills_as_botocores(pair):
    """An outage long enough to drain botocore's retry quota, then calls that succeed and give it back:
    both stop and resume retrying on the same calls."""
    outage, throttled_once = [_error(503, "ServiceUnavailable")] * 5, [_error(400, "ThrottlingException")]
    rounds = [outage] * 30 + [[]] * 10 + [throttled_once] * 3 + [outage] * 2
    retried = []
    for answers in rounds:
        theirs, mine = both(pair, "batch_write_item", ONE_PUT, answers, b'{"UnprocessedItems": {}}')
        assert_same_requests(theirs, mine)
        assert_same_ending(theirs, mine)
        retried.append(len(theirs.sent) > 1)
    assert retried[0] and not retried[29], "the outage drains the quota"
    assert retried[40:43] == [True] * 3, "the calls that succeed give it back"


@pytest.mark.parametrize("pair", [{}], indirect=True)
@pytest.mark.parametrize("checksum", ["not-a-number", "", "0x1f"])
def test_a_checksum_header_botocore_cannot_read_counts_as_a_mismatch(pair, checksum):
    """Where DynamoDBJson differs on purpose: botocore's check raises ValueError on such a header."""
    body = b'{"UnprocessedItems": {}}'
    theirs, mine = both(pair, "batch_write_item", ONE_PUT, [Answer(200, body, (("x-amz-crc32", checksum),))], body)
    assert isinstance(theirs.raised, ValueError) and len(theirs.sent) == 1
    assert mine.raised is None and len(mine.sent) == 2 and mine.result["UnprocessedItems"] == {}


@pytest.mark.parametrize("pair", [{}], indirect=True)
@pytest.mark.parametrize(
    "last",
    [
        Answer(200, b'{"UnprocessedItems": {}}', (("x-amz-crc32", "1"),)),  # still corrupt on the last attempt
        Answer(200, b"<html>proxy says hello</html>"),  # not JSON: botocore reads it as nothing left unprocessed
    ],
    ids=["checksum", "not-json"],
)
def test_an_answer_botocore_would_use_but_cannot_be_trusted_is_raised(pair, last):
    """Where DynamoDBJson differs on purpose: the same attempts, then UntrustedAnswer where botocore returns."""
    theirs, mine = both(pair, "batch_write_item", ONE_PUT, [last] * 5, b"{}")
    assert theirs.raised is None, "botocore returns it"
    assert isinstance(mine.raised, UntrustedAnswer)
    assert_same_requests(theirs, mine)
    assert mine.pauses == [min(pause, 2.0) for pause in theirs.pauses]
