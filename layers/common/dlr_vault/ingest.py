"""The ingest run: preflight, catch up from the raw archive, then pull pages while time allows.

Order per page: archive the exact bytes -> parse -> index -> JSON Lines -> checkpoint. The raw
archive is the log; the index and the JSON Lines copy are derived, so a run that died after
archiving is healed by the next run's catch-up.
"""

from __future__ import annotations

import base64
import gzip
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from dlr_vault.archive import Archive
from dlr_vault.config import CollectorSettings
from dlr_vault.index import ReportIndex, make_entry
from dlr_vault.infobip import InfobipClient, InfobipError
from dlr_vault.observability import logger
from dlr_vault.reports import PageParseError, Report, parse_page, status_group, to_json
from dlr_vault.state import RunState

TimeLeft = Callable[[], float]
ARCHIVE_ATTEMPTS = 4
GARBAGE_STREAK_LIMIT = 3


@dataclass
class RunStats:
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
    newest_done_at: str = ""
    by_status_group: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {**asdict(self), "by_status_group": dict(self.by_status_group)}


class CollectorFailed(RuntimeError):
    """The run must fail loudly (Lambda error, alarm); `stats` says how far it got."""

    def __init__(self, message: str, stats: RunStats) -> None:
        super().__init__(message)
        self.stats = stats


class Collector:
    def __init__(
        self,
        infobip: InfobipClient,
        archive: Archive,
        index: ReportIndex,
        state: RunState,
        *,
        version: int,
        page_size: int,
        retention_days: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.infobip, self.archive, self.index, self.state = infobip, archive, index, state
        self.version, self.page_size, self.retention_days = version, page_size, retention_days
        self._sleep = sleep
        self._page_cost = 5.0  # seconds reserved for storing one page; raised to the worst seen

    def run(self, time_left: TimeLeft) -> RunStats:
        stats = RunStats()
        now = time.time()
        owner = uuid.uuid4().hex  # per run: containers (and test threads) reuse one Collector
        if not self.state.acquire(owner, now, now + time_left() + 60):
            logger.warning("another collector run holds the lease; this one does nothing")
            stats.outcome = "skipped"
            return stats
        try:
            self._preflight(stats)
            self._catch_up(owner, stats, time_left)
            self._pull(owner, stats, time_left)
        except CollectorFailed:
            stats.outcome = "failed"
            raise
        except Exception as exc:
            stats.outcome = "failed"
            raise CollectorFailed(f"run failed: {exc.__class__.__name__}: {exc}", stats) from exc
        finally:
            self.state.release(owner)
        return stats

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
            self._store(key, self.archive.get_raw(key), stats, version=self.archive.version_of(key))
            self.state.advance(owner, key)
            stats.caught_up_pages += 1
            logger.info("caught up raw page", extra={"raw_key": key})

    def _pull(self, owner: str, stats: RunStats, time_left: TimeLeft) -> None:
        garbage_streak = 0
        while time_left() > self._reserve():
            try:
                page = self.infobip.fetch_reports(self.page_size, lambda: time_left() - self._page_cost)
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
            key = self.archive.raw_key(page.fetched_at, self.version)
            self._archive_or_fail(key, page.body, stats, time_left)
            reports = self._store(key, page.body, stats, version=self.version)
            self.state.advance(owner, key)
            self._page_cost = max(self._page_cost, time.monotonic() - started)
            logger.info("page stored", extra={"raw_key": key, "page": stats.pages, "reports_so_far": stats.fetched})
            if reports is None:
                garbage_streak += 1
                if garbage_streak >= GARBAGE_STREAK_LIMIT:
                    logger.error("several unparseable pages in a row; stopping this run's pulls")
                    return
                continue
            garbage_streak = 0
            if len(reports) < self.page_size:
                return
        logger.info("time budget reached; the next run continues", extra={"time_left": round(time_left(), 1)})

    def _archive_or_fail(self, key: str, body: bytes, stats: RunStats, time_left: TimeLeft) -> None:
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
        try:
            self._store(key, body, stats, version=self.version, jsonl=False)
        except Exception:
            logger.exception("indexing the unarchived page failed too; replay it from the body above")
        raise CollectorFailed(f"archiving {key} failed after retries: {last.__class__.__name__}: {last}", stats)

    def _store(self, key: str, body: bytes, stats: RunStats, *, version: int, jsonl: bool = True) -> list[Report] | None:
        """Parse, index and copy one page; None (and counted as quarantined) if it is not a report page."""
        try:
            reports = parse_page(body)
        except PageParseError as exc:
            stats.quarantined += 1
            logger.error("quarantined unparseable page (kept in raw/)", extra={"raw_key": key, "reason": str(exc), "bytes": len(body)})
            return None
        expires_at = int(time.time()) + self.retention_days * 86400 if self.retention_days else None
        entries, lines = [], [to_json(r) for r in reports]
        for report, text in zip(reports, lines, strict=True):
            entry = make_entry(report, version=version, raw_key=key, source="reports", expires_at=expires_at, text=text)
            if entry is not None:
                entries.append(entry)
            stats.by_status_group[status_group(report)] += 1
            stats.newest_done_at = max(stats.newest_done_at, entry.done_at if entry else "")
        if len(entries) < len(reports):
            stats.unindexable += len(reports) - len(entries)
            logger.warning("reports without a messageId stay only in raw/", extra={"raw_key": key, "count": len(reports) - len(entries)})
        written, not_newer = self.index.put(entries)
        if jsonl and reports:  # an empty page has nothing to copy (a run usually ends on one)
            self.archive.put_jsonl(key, lines)
            stats.archived += len(reports)
        stats.fetched += len(reports)
        stats.indexed += written
        stats.not_newer += not_newer
        return reports


def build_collector(settings: CollectorSettings) -> Collector:
    """Wire the collector from settings with the container's shared AWS clients."""
    from dlr_vault import aws

    api_key = lambda: aws.secret(settings.api_key_secret)  # noqa: E731 - read per request, cached by Powertools
    return Collector(
        InfobipClient(settings.base_url, api_key, settings.api_version, read_timeout=settings.read_timeout),
        Archive(settings.archive_bucket, aws.client("s3")),
        ReportIndex(settings.reports_table, aws.client("dynamodb")),
        RunState(settings.state_table, aws.client("dynamodb")),
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
