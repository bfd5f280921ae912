"""`GET /sms/{1,3}/logs` from the vault: Infobip's filters over the whole retention, newest first.

Each request picks the narrowest index for its filters: the messageIds themselves (one
BatchGetItem), a destination's keyed hash (one partition of the destination index), the bulks
(one partition of the bulk index each), or else the days of the range, newest first, each
split into `TIME_SHARDS` partitions of the time index. Partitions are read newest first and
merged by `sentAt`; the keys-only indexes give keys, and each batch of keys is read with one
BatchGetItem. The other filters (status, sender, mcc/mnc, ...) are checked on the reports read.

Every request reads a bounded number of index entries and items (`MAX_QUERIES`, `MAX_READS`):
a broad or very selective filter ends a page early and answers a signed cursor that resumes
exactly where the reading stopped. So does a page of long reports before its answer passes
`MAX_ANSWER_BYTES` (Lambda answers at most 6 MB). Nothing here can scan the table.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dlr_vault.cursor import CursorCodec, InvalidCursor
from dlr_vault.index import BULK_INDEX, Position, ReportIndex, StoredReport
from dlr_vault.logs_index import Hit, LogsIndex, Stream
from dlr_vault.logs_query import LogsQuery
from dlr_vault.lookup import MAX_ANSWER_BYTES, answer_bytes, bad_request
from dlr_vault.reports import Report, as_log, format_utc, in_shape, parse_timestamp
from dlr_vault.search import DESTINATION_INDEX, TIME_INDEX, TIME_SHARDS, NumberHasher, day_key, normalise_number

WINDOW = timedelta(hours=48)  # without sentSince, the last 48 hours, as Infobip does
MAX_QUERIES = 64  # Query requests one logs request may make (empty days cost TIME_SHARDS each)
MAX_READS = 5_000  # index entries plus items one logs request may read (a full unfiltered page of 1000 needs ~3,000)
MAX_CURSOR_LENGTH = 4096  # a page over 20 bulks carries 20 positions
_EPOCH = "1970-01-01T00:00:00.000Z"
_STAMP = len(_EPOCH)  # positions are sentAt (always this long) followed by the messageId
_FINISHED = "~"


@dataclass
class _Lane:
    """One index partition being read: where the page's examination and reading stand."""

    stream: Stream
    after: tuple[str, str] | None = None  # last entry examined: the next page resumes after it
    read: tuple[str, str] | None = None  # last entry read: the next Query resumes after it
    buffer: deque[Hit] = field(default_factory=deque)
    exhausted: bool = False  # the index holds nothing after `read`

    @property
    def finished(self) -> bool:
        return self.exhausted and not self.buffer and self.after == self.read

    def saved(self) -> str | None:
        if self.finished:
            return _FINISHED
        return None if self.after is None else self.after[0] + self.after[1]

    @classmethod
    def restored(cls, stream: Stream, saved: str | None) -> _Lane:
        if saved == _FINISHED:
            return cls(stream, exhausted=True)
        after = (saved[:_STAMP], saved[_STAMP:]) if saved else None
        return cls(stream, after=after, read=after)


@dataclass
class _Found:
    stored: StoredReport
    report: Report
    sent_at: str

    @property
    def position(self) -> tuple[str, str]:
        return self.sent_at, self.stored.message_id


class _Page:
    """One request's reading: the matches so far and what it has spent."""

    def __init__(self, logs: Logs, query: LogsQuery, version: int, since: str, until: str, narrowed_by: str) -> None:
        self.logs, self.query, self.version, self.since, self.until = logs, query, version, since, until
        self.found: list[_Found] = []
        self.results: list[dict[str, Any]] = []  # the matches in the answer's shape
        self.answer_bytes = 0
        self.out_of_room = False  # the next match would take the answer past MAX_ANSWER_BYTES
        self.queries = self.reads = 0
        self.progressed = False  # an entry examined or a day finished: until then the budget does not stop the page
        checked = ("general_status", "sender", "mcc", "entity_id", "application_id", "campaign_reference_ids", "bulk_ids", "destination")
        self.filtered = any(getattr(query, name) for name in checked if name != narrowed_by)

    @property
    def full(self) -> bool:
        return len(self.found) >= self.query.limit or self.out_of_room

    def take(self, found: _Found) -> bool:
        """Add a match unless it would take the answer past MAX_ANSWER_BYTES (a page's first match
        always goes: one report fits). False: the page is full; this match starts the next one."""
        shaped = as_log(found.report, self.version)
        size = answer_bytes(shaped)
        if self.found and self.answer_bytes + size > MAX_ANSWER_BYTES:
            self.out_of_room = True
            return False
        self.found.append(found)
        self.results.append(shaped)
        self.answer_bytes += size
        return True

    @property
    def budget_left(self) -> bool:
        """Whether to read on. A page always gets as far as its first examined entry (or finished day),
        so every page moves the cursor forward: that costs at most one read of each lane and one batch."""
        return not self.progressed or (self.queries < MAX_QUERIES and self.reads < MAX_READS)

    def check(self, stored: StoredReport) -> _Found | None:
        """The report as found, if it passes every filter of the query (the index's own ones too)."""
        report = json.loads(stored.report)
        if not isinstance(report, dict):
            return None
        sent_at = stored.sent_at or parse_timestamp(report.get("sentAt")) or stored.done_at or _EPOCH
        q, v3 = self.query, in_shape(report, 3)
        raw_platform, raw_mcc_mnc = v3.get("platform"), v3.get("mccMnc")
        platform = raw_platform if isinstance(raw_platform, dict) else {}
        mcc_mnc = raw_mcc_mnc if isinstance(raw_mcc_mnc, str) else ""
        wanted = (
            self.since <= sent_at <= self.until,
            q.destination is None or normalise_number(v3.get("to")) == q.destination,
            q.sender is None or v3.get("sender") == q.sender,
            not q.bulk_ids or v3.get("bulkId") in q.bulk_ids,
            not q.message_ids or stored.message_id in q.message_ids,
            q.general_status is None or stored.status_group == q.general_status,
            q.mcc is None or mcc_mnc[:3] == q.mcc,
            q.mnc is None or mcc_mnc[3:] == q.mnc,
            q.entity_id is None or platform.get("entityId") == q.entity_id,
            q.application_id is None or platform.get("applicationId") == q.application_id,
            not q.campaign_reference_ids or v3.get("campaignReferenceId") in q.campaign_reference_ids,
        )
        return _Found(stored, report, sent_at) if all(wanted) else None

    def fill(self, lanes: list[_Lane]) -> None:
        """Examine the lanes' entries newest first until the page is full, they are finished or the budget is spent."""
        chunk = min(1000, max(25, math.ceil(self.query.limit / len(lanes)) + 1))
        while not self.full:
            needed = self.query.limit - len(self.found)
            wanted = min(1000, max(needed, 100)) if self.filtered else needed
            room = MAX_READS - self.reads if self.progressed else wanted
            if room <= 0:
                return
            batch = self._next(lanes, min(wanted, room), chunk)
            if not batch:
                return
            missing = [hit.message_id for _, hit in batch if hit.stored is None]
            stored = self.logs.reports.get_many(missing) if missing else {}
            self.reads += len(missing)
            for lane, hit in batch:
                if len(self.found) >= self.query.limit:  # filled by this batch: the rest is read again next page
                    return
                item = hit.stored or stored.get(hit.message_id)
                found = self.check(item) if item is not None else None
                if found is not None and not self.take(found):
                    return  # no room for it: the next page starts with it
                lane.after = hit.position
                self.progressed = True

    def _next(self, lanes: list[_Lane], wanted: int, chunk: int) -> list[tuple[_Lane, Hit]]:
        """Up to `wanted` entries across the lanes, newest first (a lane is read when it runs dry)."""
        batch: list[tuple[_Lane, Hit]] = []
        while len(batch) < wanted:
            for lane in lanes:
                if not lane.buffer and not lane.exhausted:
                    if not self.budget_left:
                        return batch  # an unread lane may hold newer entries: stop here
                    self._read(lane, chunk)
            ready = [lane for lane in lanes if lane.buffer]
            if not ready:
                return batch
            lane = max(ready, key=lambda lane: lane.buffer[0].sent_at)
            batch.append((lane, lane.buffer.popleft()))
        return batch

    def _read(self, lane: _Lane, chunk: int) -> None:
        hits, more = self.logs.index.newest(lane.stream, self.since, self.until, lane.read, chunk)
        self.queries += 1
        self.reads += len(hits)
        lane.buffer.extend(hits)
        lane.exhausted = not more
        if hits:
            lane.read = hits[-1].position


class Logs:
    def __init__(
        self,
        reports: ReportIndex,
        index: LogsIndex,
        cursors: CursorCodec,
        hasher: NumberHasher | None,
        *,
        by_time: bool,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reports, self.index, self.cursors, self.hasher = reports, index, cursors, hasher
        self.by_time = by_time  # the time index exists (SearchIndexes=all)
        self._now = now

    def search(self, query: LogsQuery, version: int) -> dict[str, Any]:
        """One page of logs in API `version`'s shape, newest first, with a cursor while more may remain."""
        scope = query.scope()
        saved = self._resume(query, scope)
        now = self._now()
        until = saved.get("until") or query.sent_until or format_utc(now)
        since = (
            saved.get("since")
            or query.sent_since
            or format_utc(max(datetime.fromisoformat(until) - WINDOW, datetime(1970, 1, 1, tzinfo=UTC)))
        )
        if since > until:  # sentSince after now with no sentUntil: nothing was sent in that window
            page, left = _Page(self, query, version, since, until, ""), None
        elif query.message_ids:
            page = _Page(self, query, version, since, until, "message_ids")
            left = self._by_ids(page, saved)
        elif query.destination is not None:
            page = _Page(self, query, version, since, until, "destination")
            left = self._by_streams(page, [Stream(DESTINATION_INDEX, "toHash", self._hasher().of(query.destination))], saved)
        elif query.bulk_ids:
            page = _Page(self, query, version, since, until, "bulk_ids")
            left = self._by_streams(page, [Stream(BULK_INDEX, "bulkId", b) for b in query.bulk_ids], saved)
        else:
            if not self.by_time:
                raise bad_request("this vault has no time index (SearchIndexes is not all): filter by destination, bulkId or messageId")
            page = _Page(self, query, version, since, until, "")
            left = self._by_days(page, saved, now)
        results = page.results
        cursor = self.cursors.encode(scope, Position.of({"since": since, "until": until, **left})) if left is not None else None
        if version == 3:
            return {"results": results, "cursor": {"limit": query.limit, **({"nextCursor": cursor} if cursor else {})}}
        return {"results": results, **({"nextCursor": cursor} if cursor else {})}

    def _resume(self, query: LogsQuery, scope: str) -> dict[str, str]:
        if query.cursor is None:
            return {}
        try:
            saved = self.cursors.decode(query.cursor, scope, max_length=MAX_CURSOR_LENGTH).as_dict()
        except InvalidCursor as exc:
            raise bad_request(str(exc)) from None
        if len(saved.get("since", "")) != _STAMP or len(saved.get("until", "")) != _STAMP:
            raise bad_request("cursor is not valid")
        return saved

    def _hasher(self) -> NumberHasher:
        if self.hasher is None:
            raise bad_request("this vault has no destination index (SearchIndexes is none): filter by bulkId or messageId")
        return self.hasher

    def _by_ids(self, page: _Page, saved: dict[str, str]) -> dict[str, str] | None:
        """The named messages (one BatchGetItem), newest first, after the saved position."""
        stored = self.reports.get_many(list(page.query.message_ids))
        page.reads += len(page.query.message_ids)
        found = sorted((f for f in map(page.check, stored.values()) if f is not None), key=lambda f: f.position, reverse=True)
        if "last" in saved:
            last = (saved["last"][:_STAMP], saved["last"][_STAMP:])
            found = [f for f in found if f.position < last]
        for match in found:
            if page.full or not page.take(match):
                break
        if len(page.found) == len(found):
            return None
        return {"last": "".join(page.found[-1].position)}

    def _by_streams(self, page: _Page, streams: list[Stream], saved: dict[str, str]) -> dict[str, str] | None:
        """Partitions read side by side; the saved position of each lane, or None when all are finished."""
        lanes = [_Lane.restored(stream, saved.get(str(n))) for n, stream in enumerate(streams)]
        page.fill(lanes)
        return _saved(lanes)

    def _by_days(self, page: _Page, saved: dict[str, str], now: datetime) -> dict[str, str] | None:
        """Day by day, newest first (no later than tomorrow: nothing is sent in the future), each
        day's shards side by side; the day and its lanes' positions, or None when the range is done."""
        first = page.since[:10]
        last = min(page.until, format_utc(now + timedelta(days=1)))[:10]
        for day in _days(saved.get("day") or last, first):
            lanes = [_Lane.restored(Stream(TIME_INDEX, "sentDay", day_key(day, s)), saved.get(str(s))) for s in range(TIME_SHARDS)]
            saved = {}
            page.fill(lanes)
            left = _saved(lanes)
            if left is not None:
                return {"day": day, **left}
            page.progressed = True
            if day > first and (page.full or not page.budget_left):
                return {"day": (date.fromisoformat(day) - timedelta(days=1)).isoformat()}
        return None


def _saved(lanes: list[_Lane]) -> dict[str, str] | None:
    if all(lane.finished for lane in lanes):
        return None
    return {str(n): value for n, lane in enumerate(lanes) if (value := lane.saved()) is not None}


def _days(newest: str, oldest: str) -> Iterator[str]:
    day, stop = date.fromisoformat(newest), date.fromisoformat(oldest)
    while day >= stop:
        yield day.isoformat()
        day -= timedelta(days=1)
