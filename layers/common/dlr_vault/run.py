"""What one collector run owns: its lease owner, its figures, its time budget, the cost of a page
and the page on the storer thread. A fresh `Run` per invocation, so nothing leaks into the next
run of a warm container."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any

from dlr_vault.observability import logger

TimeLeft = Callable[[], float]
FIRST_PAGE_COST = 5.0  # seconds reserved for storing one page until a real one has been measured
FOLLOW_STEP = 0.25  # seconds between a following run's attempts to take the lease


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
    empty_pages: int = 0
    retries: int = 0
    possible_gaps: int = 0
    killed_runs: int = 0
    deprecation_notices: int = 0
    log_entries: int = 0
    gaps_recovered: int = 0
    followed: int = 0  # 1: this run took the lease over from a run that was still polling
    handed_over: int = 0  # 1: this run stopped polling because the next run asked for the lease
    newest_done_at: str = ""
    by_status_group: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "by_status_group": dict(self.by_status_group)}


class CollectorFailed(RuntimeError):
    """The run must fail loudly (Lambda error, alarm); `stats` says how far it got."""

    def __init__(self, message: str, stats: RunStats) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass
class Run:
    owner: str
    time_left: TimeLeft
    stats: RunStats
    page_cost: float = FIRST_PAGE_COST  # raised to the slowest page this run has stored
    in_flight: Future[None] | None = None  # the page on the storer thread (collect mode)

    def failed(self, message: str) -> CollectorFailed:
        return CollectorFailed(message, self.stats)

    def fetch_budget(self) -> float:
        """Time a request may take: what is left, less what storing its page will need."""
        return self.time_left() - self.page_cost

    def reserve(self, request_seconds: float) -> float:
        """Time to keep in hand for one more worst-case page: its request, then storing it."""
        return request_seconds + self.page_cost

    def page_stored(self, seconds: float) -> None:
        self.page_cost = max(self.page_cost, seconds)

    def settle(self, *, quietly: bool = False) -> None:
        """Wait for the page on the storer thread; raise its failure unless the run is failing already."""
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is None:
            return
        try:
            in_flight.result()
        except Exception:
            if not quietly:
                raise
            logger.exception("storing the page in flight failed too; the next run's catch-up replays it from raw/")
