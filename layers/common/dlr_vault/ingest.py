"""The ingest run: preflight, catch up from the raw archive, then pull pages while time allows.

Order per page: archive the exact bytes -> parse -> index -> JSON Lines -> checkpoint. The raw
archive is the log; the index and the JSON Lines copy are derived, so a run that died after
archiving is healed by the next run's catch-up. While one page is indexed the next is fetched
(see `Collector._pull`); pages are still indexed one at a time, in order.
"""

from __future__ import annotations

import base64
import gzip
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from dlr_vault.archive import Archive
from dlr_vault.config import CollectorSettings
from dlr_vault.index import ReportIndex, make_entry
from dlr_vault.infobip import InfobipClient, InfobipError, Page
from dlr_vault.observability import logger
from dlr_vault.reports import (
    FINAL_GROUPS,
    PageParseError,
    Report,
    infobip_time,
    parse_infobip_time,
    parse_logs_page,
    parse_page,
    status_group,
    to_json,
)
from dlr_vault.state import ReconcileState, RunState

TimeLeft = Callable[[], float]
ARCHIVE_ATTEMPTS = 4
GARBAGE_STREAK_LIMIT = 3
LOGS_PAGE_SIZE = 1000
LOGS_PER_MINUTE = 120  # Infobip's rate limit for /sms/3/logs
LOGS_LOOKBACK = timedelta(hours=47, minutes=30)  # logs (like reports) are kept 48 hours
RECONCILE_OVERLAP = timedelta(minutes=30)


@dataclass
class RunStats:
    mode: str = "collect"
    outcome: str = "ok"
    pages: int = 0
    caught_up_pages: int = 0
    fetched: int = 0
    archived: int = 0
    indexed: int = 0
    not_newer: int = 0
    unindexable: int = 0
    quarantined: int = 0
    retries: int = 0
    possible_gaps: int = 0
    deprecation_notices: int = 0
    log_entries: int = 0
    gaps_recovered: int = 0
    newest_done_at: str = ""
    by_status_group: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {**asdict(self), "by_status_group": dict(self.by_status_group)}


class CollectorFailed(RuntimeError):
    """The run must fail loudly (Lambda error, alarm); `stats` says how far it got."""

    def __init__(self, message: str, stats: RunStats) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass
class Stored:
    """One page parsed and stored: its reports and, for a logs page, the cursor to the next one."""

    reports: list[Report]
    next_cursor: str | None = None


class Collector:
    def __init__(
        self,
        infobip: InfobipClient,
        archive: Archive,
        index: ReportIndex,
        state: RunState,
        reconcile_state: ReconcileState,
        *,
        version: int,
        page_size: int,
        retention_days: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.infobip, self.archive, self.index, self.state = infobip, archive, index, state
        self.reconcile_state = reconcile_state
        self.version, self.page_size, self.retention_days = version, page_size, retention_days
        self._sleep = sleep
        self._page_cost = 5.0  # seconds reserved for storing one page; raised to the worst seen
        self._last_logs_request = float("-inf")
        self._in_flight: Future | None = None  # the page on the storer thread (collect mode)

    def run(self, time_left: TimeLeft, mode: str = "collect") -> RunStats:
        """One run: `collect` pulls `/reports`; `reconcile` checks `/sms/3/logs` for reports lost in transit."""
        stats = RunStats(mode=mode)
        now = time.time()
        owner = uuid.uuid4().hex  # per run: containers (and test threads) reuse one Collector
        try:
            acquired = self.state.acquire(owner, now, now + time_left() + 60)
        except Exception as exc:
            stats.outcome = "failed"
            raise CollectorFailed(f"state table unavailable, nothing fetched: {exc.__class__.__name__}: {exc}", stats) from exc
        if not acquired:
            logger.warning("another collector run holds the lease; this one does nothing")
            stats.outcome = "skipped"
            return stats
        try:
            self._preflight(stats)
            self._catch_up(owner, stats, time_left)
            if mode == "reconcile":
                self._reconcile(owner, stats, time_left)
            else:
                self._pull(owner, stats, time_left)
        except CollectorFailed:
            stats.outcome = "failed"
            raise
        except Exception as exc:
            stats.outcome = "failed"
            raise CollectorFailed(f"run failed: {exc.__class__.__name__}: {exc}", stats) from exc
        finally:
            if stats.possible_gaps:
                self._note_gap()
            self.state.release(owner)
        return stats

    def _note_gap(self) -> None:
        try:
            self.reconcile_state.note_gap(infobip_time(datetime.now(UTC)))
        except Exception:
            logger.exception("could not record the possible gap for reconciliation")

    def _preflight(self, stats: RunStats) -> None:
        """Prove both stores take writes before consuming anything at Infobip."""
        try:
            self.archive.probe_writable()
            self.index.probe_writable()
        except Exception as exc:
            raise CollectorFailed(f"preflight failed, nothing fetched: {exc.__class__.__name__}: {exc}", stats) from exc

    def _reserve(self) -> float:
        return self.infobip.worst_case_seconds + self._page_cost

    def _catch_up(self, owner: str, stats: RunStats, time_left: TimeLeft) -> None:
        """Process raw pages archived after the checkpoint (a previous run stopped before indexing them)."""
        for key in self.archive.raw_keys_after(self.state.checkpoint()):
            if time_left() < self._page_cost:
                logger.warning("time budget reached during catch-up; the next run resumes", extra={"raw_key": key})
                return
            self._store(key, self.archive.get_raw(key), stats, kind=self.archive.kind_of(key))
            self.state.advance(owner, key)
            stats.caught_up_pages += 1
            logger.info("caught up raw page", extra={"raw_key": key})

    def _fetch_page(
        self, stats: RunStats, time_left: TimeLeft, fetch: Callable[[TimeLeft], Page], kind: str
    ) -> tuple[str, Stored | None, float]:
        """GET one page, archive its exact bytes (from here on the page is safe: raw/ is the log),
        parse it. Returns its raw key, the parsed page (None: quarantined) and when it arrived."""
        try:
            page = fetch(lambda: time_left() - self._page_cost)
        except InfobipError as exc:
            stats.retries += exc.retries
            stats.possible_gaps += exc.possible_gaps
            raise CollectorFailed(str(exc), stats) from exc
        started = time.monotonic()
        stats.pages += 1
        stats.retries += page.retries
        stats.possible_gaps += page.possible_gaps
        if page.possible_gaps:
            logger.error("possible gap: an Infobip answer was lost in transit", extra={"count": page.possible_gaps})
        if page.deprecation:
            stats.deprecation_notices += 1
            logger.warning("Infobip marks this endpoint deprecated", extra={"headers": page.deprecation})
        key = self.archive.raw_key(page.fetched_at, kind)
        self._archive_or_fail(key, page.body, stats, time_left, kind)
        return key, self._parse(key, page.body, stats, kind), started

    def _index_and_advance(self, owner: str, key: str, parsed: Stored | None, stats: RunStats, kind: str, started: float) -> None:
        """Index and copy a parsed page (nothing for a quarantined one), then move the checkpoint past it.
        `started`: when the page arrived, so the cost measured covers archiving it too."""
        if parsed is not None:
            self._index_and_copy(key, parsed, stats, kind=kind)
        self.state.advance(owner, key)
        seconds = time.monotonic() - started
        self._page_cost = max(self._page_cost, seconds)
        logger.info("page stored", extra={"raw_key": key, "reports_so_far": stats.fetched, "seconds": round(seconds, 3)})

    def _pull(self, owner: str, stats: RunStats, time_left: TimeLeft) -> None:
        """Pull pages while time allows, one page indexed while the next is fetched.

        Page N+1 is fetched, archived and parsed while page N is indexed, copied and
        checkpointed on the storer thread. That overlap is safe because a page's raw bytes are in
        S3 before anything else happens to it, and stays correct because the storer takes pages
        one at a time in order (later reports can never be overtaken by earlier ones). Whatever
        ends the run, the page in flight is finished (or has failed) before the run returns."""
        kind, fetch = f"v{self.version}", partial(self.infobip.fetch_reports, self.page_size)
        garbage_streak = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storer") as storer:
            try:
                while time_left() > self._reserve():
                    key, parsed, started = self._fetch_page(stats, time_left, fetch, kind)
                    self._settle()
                    self._in_flight = storer.submit(self._index_and_advance, owner, key, parsed, stats, kind, started)
                    if parsed is None:
                        garbage_streak += 1
                        if garbage_streak >= GARBAGE_STREAK_LIMIT:
                            logger.error("several unparseable pages in a row; stopping this run's pulls")
                            break
                        continue
                    garbage_streak = 0
                    if len(parsed.reports) < self.page_size:
                        break
                else:
                    logger.info("time budget reached; the next run continues", extra={"time_left": round(time_left(), 1)})
            except BaseException:
                self._settle(quietly=True)
                raise
            self._settle()

    def _settle(self, *, quietly: bool = False) -> None:
        """Wait for the page on the storer thread; raise its failure unless the run is failing already."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is None:
            return
        try:
            in_flight.result()
        except Exception:
            if not quietly:
                raise
            logger.exception("storing the page in flight failed too; the next run's catch-up replays it from raw/")

    def _reconcile(self, owner: str, stats: RunStats, time_left: TimeLeft) -> None:
        """Page through `/sms/3/logs` for the open window (or a new one) and index final reports the
        index lacks. Resumes by cursor next run when time runs out; paced under the rate limit."""
        saved = self.reconcile_state.load()
        now = datetime.now(UTC)
        started = infobip_time(now)
        if saved.get("logsCursor"):
            since, until, cursor = saved["windowStart"], saved["windowEnd"], saved["logsCursor"]
        else:
            floor = now - LOGS_LOOKBACK
            last = parse_infobip_time(saved.get("lastUntil"))
            begin = floor if saved.get("gapSince") or last is None else max(floor, last - RECONCILE_OVERLAP)
            since, until, cursor = infobip_time(begin), started, None
        logger.info("reconciling against /sms/3/logs", extra={"since": since, "until": until, "resuming": cursor is not None})
        while time_left() > self._reserve():
            self._sleep(max(0.0, self._last_logs_request + 60 / LOGS_PER_MINUTE - time.monotonic()))
            self._last_logs_request = time.monotonic()
            params = {
                "sentSince": since,
                "sentUntil": until,
                "limit": LOGS_PAGE_SIZE,
                "useCursor": "true",
                **({"cursor": cursor} if cursor else {}),
            }
            key, stored, arrived = self._fetch_page(stats, time_left, partial(self.infobip.fetch_logs, params), "logs")
            self._index_and_advance(owner, key, stored, stats, "logs", arrived)
            if stored is None:
                logger.error("unparseable logs page; the next reconciliation resumes from the saved cursor")
                return
            cursor = stored.next_cursor
            if cursor is None:
                self.reconcile_state.finish_window(until, started)
                logger.info("reconciliation window finished", extra={"gaps_recovered": stats.gaps_recovered})
                return
            self.reconcile_state.save_window(since, until, cursor)
        logger.info("time budget reached during reconciliation; the next run resumes by cursor")

    def _archive_or_fail(self, key: str, body: bytes, stats: RunStats, time_left: TimeLeft, kind: str) -> None:
        """Put the raw bytes, retrying; if S3 will not take them, index anyway, log the body, fail."""
        for attempt in range(ARCHIVE_ATTEMPTS):
            try:
                self.archive.put_raw(key, body)
                return
            except Exception as exc:
                last = exc
                wait = min(4.0, 0.25 * 2**attempt)
                if attempt + 1 == ARCHIVE_ATTEMPTS or time_left() < wait + self._page_cost:
                    break
                stats.retries += 1
                self._sleep(wait)
        logger.critical(
            "raw page NOT archived: body follows (gzip+base64) so it can be replayed",
            extra={"raw_key": key, "body_gzip_b64": base64.b64encode(gzip.compress(body, mtime=0)).decode()},
        )
        self._settle(quietly=True)  # one writer at a time: the page before this one first
        try:
            self._store(key, body, stats, kind=kind, jsonl=False)
        except Exception:
            logger.exception("indexing the unarchived page failed too; replay it from the body above")
        raise CollectorFailed(f"archiving {key} failed after retries: {last.__class__.__name__}: {last}", stats)

    def _store(self, key: str, body: bytes, stats: RunStats, *, kind: str, jsonl: bool = True) -> Stored | None:
        """Parse, index and copy one page; None (and counted as quarantined) if it is not a page of `kind`."""
        stored = self._parse(key, body, stats, kind)
        if stored is not None:
            self._index_and_copy(key, stored, stats, kind=kind, jsonl=jsonl)
        return stored

    def _parse(self, key: str, body: bytes, stats: RunStats, kind: str) -> Stored | None:
        try:
            return Stored(*parse_logs_page(body)) if kind == "logs" else Stored(parse_page(body))
        except PageParseError as exc:
            stats.quarantined += 1
            logger.error("quarantined unparseable page (kept in raw/)", extra={"raw_key": key, "reason": str(exc), "bytes": len(body)})
            return None

    def _index_and_copy(self, key: str, stored: Stored, stats: RunStats, *, kind: str, jsonl: bool = True) -> None:
        expires_at = int(time.time()) + self.retention_days * 86400 if self.retention_days else None
        reports = stored.reports
        if kind == "logs":  # only final outcomes can stand in for a report that was lost
            stats.log_entries += len(reports)
            reports = [r for r in reports if status_group(r) in FINAL_GROUPS]
        source, version = ("logs", 3) if kind == "logs" else ("reports", int(kind.removeprefix("v")))
        entries, lines = [], [to_json(r) for r in reports]
        for report, text in zip(reports, lines, strict=True):
            entry = make_entry(
                report, version=version, raw_key=key, source=source, expires_at=expires_at, text=text, search=self.index.search
            )
            if entry is not None:
                entries.append(entry)
            if kind != "logs":
                stats.by_status_group[status_group(report)] += 1
                stats.newest_done_at = max(stats.newest_done_at, entry.done_at if entry else "")
        if len(entries) < len(reports):
            stats.unindexable += len(reports) - len(entries)
            logger.warning("reports without a messageId stay only in raw/", extra={"raw_key": key, "count": len(reports) - len(entries)})
        written, not_newer = self.index.put(entries)
        if kind == "logs":
            stats.gaps_recovered += len(written)
            lines = [e.text for e in written]  # the copy holds only what was missing
            if written:
                logger.warning("recovered reports missing from the index", extra={"raw_key": key, "count": len(written)})
        else:
            stats.fetched += len(reports)
        if jsonl and lines:
            self.archive.put_jsonl(key, lines)
            stats.archived += len(lines) if kind != "logs" else 0
        stats.indexed += len(written)
        stats.not_newer += not_newer


def build_collector(settings: CollectorSettings) -> Collector:
    """Wire the collector from settings with the container's shared AWS clients."""
    from dlr_vault import aws

    api_key = lambda: aws.secret(settings.api_key_secret)  # noqa: E731 - read per request, cached by Powertools
    return Collector(
        InfobipClient(settings.base_url, api_key, settings.api_version, read_timeout=settings.read_timeout),
        Archive(settings.archive_bucket, aws.client("s3")),
        ReportIndex(
            settings.reports_table, aws.client("dynamodb"), aws.dynamodb_batches(), search=aws.number_hasher(settings.search_key_secret)
        ),
        RunState(settings.state_table, aws.client("dynamodb")),
        ReconcileState(settings.state_table, aws.client("dynamodb")),
        version=settings.api_version,
        page_size=settings.page_size,
        retention_days=settings.retention_days,
    )


def seconds_behind(stats: RunStats, now: datetime | None = None) -> float | None:
    """Now minus the newest `doneAt` seen in this run: how far behind real time the archive is."""
    if not stats.newest_done_at:
        return None
    newest = datetime.strptime(stats.newest_done_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - newest).total_seconds()
