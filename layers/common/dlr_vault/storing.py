"""Storing one page: its exact bytes to raw/ first (or fail loudly with the page still indexed),
then parse -> index -> JSON Lines -> checkpoint. Shared by catch-up, pulls and reconciliation.

From the moment its raw put returns, a page is safe: raw/ is the log the index and the JSON
Lines copy are derived from, and the next run's catch-up replays whatever came after the
checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dlr_vault.archive import Archive, RawKeyTaken
from dlr_vault.fallback import FallbackStore
from dlr_vault.index import ReportIndex, make_entry
from dlr_vault.infobip import InfobipError, Page
from dlr_vault.observability import logger
from dlr_vault.pages import PageKind, Parsed
from dlr_vault.reports import PageParseError, to_json
from dlr_vault.run import Run
from dlr_vault.state import RunState

ARCHIVE_ATTEMPTS = 4
Fetch = Callable[[Callable[[], float]], Page]


@dataclass(frozen=True)
class Taken:
    """A page fetched and archived: its raw key (None: an empty page, nothing to keep), its parsed
    form (None: quarantined) and when it arrived."""

    key: str | None
    parsed: Parsed | None
    arrived: float


class PageStore:
    def __init__(
        self,
        archive: Archive,
        index: ReportIndex,
        state: RunState,
        fallback: FallbackStore,
        *,
        retention_days: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.archive, self.index, self.state, self.fallback = archive, index, state, fallback
        self.retention_days = retention_days
        self._sleep = sleep

    def take(self, run: Run, fetch: Fetch, kind: PageKind) -> Taken:
        """GET one page, archive its exact bytes (from here on the page is safe), parse it."""
        stats = run.stats
        try:
            page = fetch(run.fetch_budget)
        except InfobipError as exc:
            stats.retries += exc.retries
            stats.possible_gaps += exc.possible_gaps
            raise run.failed(str(exc)) from exc
        arrived = time.monotonic()
        stats.pages += 1
        stats.retries += page.retries
        stats.possible_gaps += page.possible_gaps
        if page.possible_gaps:
            logger.error("possible gap: an Infobip answer was lost in transit", extra={"count": page.possible_gaps})
        if page.deprecation:
            stats.deprecation_notices += 1
            logger.warning("Infobip marks this endpoint deprecated", extra={"headers": page.deprecation})
        key = self.archive.raw_key(page.fetched_at, kind.name)
        parsed = self.parse(run, key, page.body, kind)
        if parsed is not None and not parsed.reports and parsed.next_cursor is None:
            stats.empty_pages += 1  # holds no report: an idle minute leaves no object behind
            return Taken(None, parsed, arrived)
        key = self._archive_or_fail(run, key, page, kind, parsed)
        return Taken(key, parsed, arrived)

    def finish(self, run: Run, taken: Taken, kind: PageKind) -> None:
        """Index and copy a parsed page (nothing for a quarantined one), then move the checkpoint past it.
        The cost measured from its arrival (archiving included) bounds what the run still fetches."""
        if taken.key is None:
            return
        if taken.parsed is not None:
            self.store(run, taken.key, taken.parsed, kind)
        self.state.advance(run.owner, taken.key)
        seconds = time.monotonic() - taken.arrived
        run.page_stored(seconds)
        logger.info("page stored", extra={"raw_key": taken.key, "reports_so_far": run.stats.fetched, "seconds": round(seconds, 3)})

    def replay(self, run: Run, key: str, kind: PageKind) -> None:
        """Catch-up: store a page that is already in raw/."""
        parsed = self.parse(run, key, self.archive.get_raw(key), kind)
        if parsed is not None:
            self.store(run, key, parsed, kind)
        self.state.advance(run.owner, key)

    def parse(self, run: Run, key: str, body: bytes, kind: PageKind) -> Parsed | None:
        """The page as `kind`; None (counted and logged as quarantined, kept in raw/) if it is not one."""
        try:
            return kind.parse(body)
        except PageParseError as exc:
            run.stats.quarantined += 1
            logger.error("quarantined unparseable page (kept in raw/)", extra={"raw_key": key, "reason": str(exc), "bytes": len(body)})
            return None

    def store(self, run: Run, key: str, parsed: Parsed, kind: PageKind, *, jsonl: bool = True) -> None:
        """Index a page's reports (the newest per messageId wins) and copy them to JSON Lines."""
        stats = run.stats
        expires_at = int(time.time()) + self.retention_days * 86400 if self.retention_days else None
        reports = parsed.reports
        lines = [to_json(r) for r in reports]
        entries = [
            entry
            for report, text in zip(reports, lines, strict=True)
            if (
                entry := make_entry(
                    report,
                    raw_key=key,
                    source=kind.source,
                    expires_at=expires_at,
                    text=text,
                    search=self.index.search,
                    compress=self.index.compress,
                )
            )
        ]
        if len(entries) < len(reports):
            stats.unindexable += len(reports) - len(entries)
            logger.warning("reports without a messageId stay only in raw/", extra={"raw_key": key, "count": len(reports) - len(entries)})
        written, not_newer = self.index.put(entries)
        lines = kind.copied(lines, written) if jsonl else []
        if lines:
            self.archive.put_jsonl(key, lines)
        kind.count(stats, reports, entries, written, len(lines))
        stats.indexed += len(written)
        stats.not_newer += not_newer

    def _archive_or_fail(self, run: Run, key: str, page: Page, kind: PageKind, parsed: Parsed | None) -> str:
        """Put the raw bytes, retrying; returns the key they are under. If S3 will not take them,
        keep them in the fallback table, index anyway, fail."""
        body, attempt, taken = page.body, 0, 0
        while True:
            try:
                self.archive.put_raw(key, body)
                return key
            except RawKeyTaken as exc:  # other bytes hold the key (never overwritten): a fresh one, at once, not an attempt
                last: Exception = exc
                taken += 1
                fresh = self.archive.raw_key(page.fetched_at, kind.name)
                logger.error(
                    "raw key already taken by other bytes: the page goes under a fresh key", extra={"raw_key": key, "fresh_key": fresh}
                )
                key = fresh
                if taken == ARCHIVE_ATTEMPTS:
                    break
            except Exception as exc:
                last = exc
                attempt += 1
                wait = min(4.0, 0.25 * 2 ** (attempt - 1))
                if attempt == ARCHIVE_ATTEMPTS or run.time_left() < wait + run.page_cost:
                    break
                run.stats.retries += 1
                self._sleep(wait)
        self.fallback.keep(key, body)  # logs the key and chunk count (or, if that store fails too, the body in parts)
        run.settle(quietly=True)  # one writer at a time: the page before this one first
        try:
            if parsed is not None:
                self.store(run, key, parsed, kind, jsonl=False)
        except Exception:
            logger.exception("indexing the unarchived page failed too; restore it from the fallback table")
        raise run.failed(f"archiving {key} failed after retries: {last.__class__.__name__}: {last}")
