"""Runs the collector's handler in this process and SIGKILLs the process at a chosen point, the
way a Lambda timeout, an out-of-memory kill or a lost host would end it: no `finally`, no
lease release, no log line. Used by tests/moto_server/test_killed_runs.py.

    python -m tests.kill_runner fetch|archive|index|checkpoint

The function's environment (resources, endpoint, Infobip URL) comes from the caller. Each point
kills at its second occurrence, so one page has gone through whole before the kill.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import requests.adapters

from local.stack import load_handler
from tests.kit import FakeLambdaContext, load_event

KILL_AT_OCCURRENCE = 2


def _text(body: bytes | str | None) -> str:
    return body.decode() if isinstance(body, bytes) else body or ""


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _counting(matches: Callable[[Any], bool]) -> Callable[..., None]:
    """A botocore before-send hook that kills the process at the matching request's second occurrence."""
    seen = 0

    def hook(request: Any, **_: Any) -> None:
        nonlocal seen
        if matches(request):
            seen += 1
            if seen == KILL_AT_OCCURRENCE:
                _die()

    return hook


def _kill_mid_fetch() -> None:
    """Kill after Infobip has sent the second page's headers and part of its body: it is consumed."""
    send = requests.adapters.HTTPAdapter.send
    seen = 0

    def send_and_die(self: Any, request: Any, **kwargs: Any) -> Any:
        nonlocal seen
        if "/reports" not in request.url:
            return send(self, request, **kwargs)
        seen += 1
        if seen < KILL_AT_OCCURRENCE:
            return send(self, request, **kwargs)
        response = send(self, request, **{**kwargs, "stream": True})
        response.raw.read(64)
        _die()

    requests.adapters.HTTPAdapter.send = send_and_die  # type: ignore[method-assign]


def main(point: str) -> None:
    from dlr_vault import aws

    if point == "fetch":
        _kill_mid_fetch()
    elif point == "archive":  # the page was fetched (consumed), its raw put never goes out
        aws.client("s3").meta.events.register("before-send.s3.PutObject", _counting(lambda r: "/raw/" in r.url))
    elif point == "index":  # the page is in raw/, part of it in the table
        aws.client("dynamodb").meta.events.register("before-send.dynamodb.BatchWriteItem", _counting(lambda r: True))
    elif point == "checkpoint":  # indexed and copied; the checkpoint write never goes out
        aws.client("dynamodb").meta.events.register("before-send.dynamodb.UpdateItem", _counting(lambda r: "lastRawKey" in _text(r.body)))
    else:
        raise SystemExit(f"unknown kill point {point!r}")
    load_handler("collector").lambda_handler(load_event("schedule.json"), FakeLambdaContext(seconds=60))
    raise SystemExit("the run ended before reaching its kill point")


if __name__ == "__main__":
    main(sys.argv[1])
