"""PutEvents to the stack's bus: in order per message, failed entries retried, nothing dropped silently.

EventBridge accepts up to 10 entries and 256 KB per call, and may refuse some entries of a call
(`FailedEntryCount`, e.g. `ThrottlingException`, `InternalFailure`) or the whole call. Entries
go out in rounds: a round sends each message's oldest unsent entry, so a later change of a
message never leaves before an earlier one was accepted. After a round with refusals the next
one waits (full-jitter backoff); after the last attempt what is left is handed back to the
caller, which has Lambda redeliver it. botocore's own retries (throttling, 5xx) come first.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it: the UTF-8 bytes of Source, DetailType, Detail
    and each resource, plus 14 for a Time."""
    size = sum(len(entry.get(name, "").encode()) for name in ("Source", "DetailType", "Detail"))
    size += sum(len(resource.encode()) for resource in entry.get("Resources", []))
    return size + (14 if "Time" in entry else 0)


@dataclass(frozen=True)
class Outgoing:
    """One PutEvents entry and the key (messageId) whose entries must leave in order."""

    key: str
    entry: dict[str, Any]
    size: int

    @classmethod
    def of(cls, key: str, bus: str, source: str, detail_type: str, detail: dict[str, Any]) -> Outgoing:
        entry = {
            "EventBusName": bus,
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        }
        return cls(key, entry, entry_size(entry))


@dataclass
class Published:
    """What a `publish` did: entries accepted, entries refused and sent again, and the
    positions (in the order given) still unpublished after the last attempt."""

    accepted: int = 0
    retried: int = 0
    left: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


class EventPublisher:
    def __init__(self, client: Any, sleep: Callable[[float], None] = time.sleep, attempts: int = 6) -> None:
        self._client = client
        self.sleep = sleep  # between rounds with refusals (tests replace it)
        self._attempts = attempts

    def publish(self, items: Sequence[Outgoing]) -> Published:
        """Publish `items` (in stream order); whatever is left unpublished is in `.left`."""
        if any(item.size > MAX_REQUEST_BYTES for item in items):
            raise ValueError("an entry over 256 KB cannot be published; shrink its detail first")
        result = Published()
        pending = list(range(len(items)))
        refusals = 0
        while pending:
            round_ = self._round(items, pending)
            sent, refused = set(round_), set()
            for call in self._calls(items, round_):
                refused.update(self._put(items, call, result))
            result.accepted += len(sent) - len(refused)
            pending = [i for i in pending if i in refused or i not in sent]
            if refused:
                refusals += 1
                if refusals >= self._attempts:
                    break
                result.retried += len(refused)
                self.sleep(random.uniform(0, min(2.0, 0.1 * 2**refusals)))  # noqa: S311 - jitter, not crypto
        result.left = pending
        return result

    @staticmethod
    def _round(items: Sequence[Outgoing], pending: list[int]) -> list[int]:
        """Each key's oldest pending entry, in order: one entry per message and round."""
        seen: set[str] = set()
        chosen = []
        for i in pending:
            if items[i].key not in seen:
                seen.add(items[i].key)
                chosen.append(i)
        return chosen

    @staticmethod
    def _calls(items: Sequence[Outgoing], chosen: list[int]) -> list[list[int]]:
        """`chosen` cut into PutEvents calls of at most 10 entries and 256 KB."""
        calls: list[list[int]] = []
        size = 0
        for i in chosen:
            if not calls or len(calls[-1]) == MAX_ENTRIES or size + items[i].size > MAX_REQUEST_BYTES:
                calls.append([])
                size = 0
            calls[-1].append(i)
            size += items[i].size
        return calls

    def _put(self, items: Sequence[Outgoing], call: list[int], result: Published) -> list[int]:
        """One PutEvents call; returns the positions it refused (all of them if the call failed)."""
        try:
            answer = self._client.put_events(Entries=[items[i].entry for i in call])
        except (ClientError, BotoCoreError) as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown") if isinstance(exc, ClientError) else type(exc).__name__
            result.errors[code] = result.errors.get(code, 0) + len(call)
            return call
        if not answer.get("FailedEntryCount"):
            return []
        refused = []
        for i, outcome in zip(call, answer["Entries"], strict=True):
            if outcome.get("ErrorCode"):
                refused.append(i)
                result.errors[outcome["ErrorCode"]] = result.errors.get(outcome["ErrorCode"], 0) + 1
        return refused
