"""The ingest run: take the lease, preflight, catch up from the raw archive, then collect or reconcile.

The raw archive is the log; the index and the JSON Lines copy are derived from it, so a run that
died after archiving is healed by the next run's catch-up. A run that died before archiving a
page it had fetched (killed mid-page) leaves its lease unreleased: the next run to take it over
records a possible gap from that run's start, and reconciliation then reads Infobip's logs as
far back as they go. Modules: `storing` (one page), `pull` (collect mode), `reconcile`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from dlr_vault.archive import Archive
from dlr_vault.config import CollectorSettings
from dlr_vault.fallback import FallbackStore
from dlr_vault.index import ReportIndex
from dlr_vault.infobip import InfobipClient
from dlr_vault.observability import logger
from dlr_vault.pages import ReportsPage, kind_named
from dlr_vault.pull import pull
from dlr_vault.reconcile import reconcile
from dlr_vault.reports import infobip_time
from dlr_vault.run import FOLLOW_STEP, CollectorFailed, Run, RunStats, TimeLeft
from dlr_vault.state import DeadRun, Lease, ReconcileState, RunState
from dlr_vault.storing import PageStore

# A lease lasts the run's time budget plus this grace (clock skew between hosts, the last
# moments of an invocation), so a killed run's lease is taken over at most this long after
# its Lambda timeout: with the template's 60 s timeout, by the second scheduled run after it
# (with polling, 120 s: by the follower waiting for it, or the run after).
LEASE_GRACE_SECONDS = 30.0


class Collector:
    def __init__(
        self,
        infobip: InfobipClient,
        archive: Archive,
        index: ReportIndex,
        state: RunState,
        reconcile_state: ReconcileState,
        fallback: FallbackStore,
        *,
        version: int,
        page_size: int,
        retention_days: int = 0,
        poll_interval: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.infobip, self.archive, self.index, self.state = infobip, archive, index, state
        self.reconcile_state = reconcile_state
        self.kind, self.page_size = ReportsPage(version), page_size
        self.store = PageStore(archive, index, state, fallback, retention_days=retention_days, sleep=sleep)
        self.poll_interval = poll_interval
        self._sleep, self._clock = sleep, clock

    def run(self, time_left: TimeLeft, mode: str = "collect") -> RunStats:
        """One run: `collect` pulls `/reports`; `reconcile` checks `/sms/3/logs` for reports lost in transit."""
        run = Run(owner=uuid.uuid4().hex, time_left=time_left, stats=RunStats(mode=mode))
        try:
            lease = self._acquire(run, mode)
            if lease is None and self.poll_interval:
                lease = self._follow(run, mode)
        except Exception as exc:
            run.stats.outcome = "failed"
            raise run.failed(f"state table unavailable, nothing fetched: {exc.__class__.__name__}: {exc}") from exc
        if lease is None:
            logger.warning("another collector run holds the lease; this one does nothing")
            run.stats.outcome = "skipped"
            return run.stats
        try:
            if lease.took_over is not None:
                self._after_killed_run(run, lease.took_over)
            self._preflight(run)
            self._catch_up(run)
            if mode == "reconcile":
                reconcile(run, self.infobip, self.store, self.reconcile_state, self._sleep)
            else:
                pull(
                    run,
                    self.infobip,
                    self.store,
                    self.kind,
                    self.page_size,
                    poll_interval=self.poll_interval,
                    sleep=self._sleep,
                    successor_waiting=partial(self.state.successor_waiting, run.owner),
                )
        except CollectorFailed:
            run.stats.outcome = "failed"
            raise
        except Exception as exc:
            run.stats.outcome = "failed"
            raise run.failed(f"run failed: {exc.__class__.__name__}: {exc}") from exc
        finally:
            if run.stats.possible_gaps:
                self._note_gap(datetime.now(UTC))
            self.state.release(run.owner)
        return run.stats

    def _acquire(self, run: Run, mode: str) -> Lease | None:
        now = self._clock()
        return self.state.acquire(run.owner, now, now + run.time_left() + LEASE_GRACE_SECONDS, mode)

    def _follow(self, run: Run, mode: str) -> Lease | None:
        """With a poll interval the schedule starts this run while the last one still polls: ask it
        to hand over, and take the lease when it does (it checks between two polls). Gives up, and
        withdraws the request, when too little time would be left to pull a page."""
        if not self.state.follow(run.owner, self._clock()):
            return self._acquire(run, mode)  # the holder let go in the meantime
        logger.info("asked the polling run for the lease; waiting for it to hand over")
        while run.time_left() > run.reserve(self.infobip.worst_case_seconds):
            self._sleep(FOLLOW_STEP)
            lease = self._acquire(run, mode)
            if lease is not None:
                self.state.unfollow(run.owner)  # granted: no request of ours may stop the next holder
                run.stats.followed = 1
                return lease
        self.state.unfollow(run.owner)
        return None

    def _after_killed_run(self, run: Run, dead: DeadRun) -> None:
        """A collect run that died holding the lease may have consumed a page it never archived:
        record a possible gap from its start, so reconciliation reads back as far as logs go."""
        run.stats.killed_runs += 1
        started = datetime.fromtimestamp(dead.started, UTC)
        logger.error(
            "the previous run was killed holding the lease",
            extra={
                "started": infobip_time(started),
                "lease_until": infobip_time(datetime.fromtimestamp(dead.until, UTC)),
                "mode": dead.mode,
            },
        )
        if dead.mode != "reconcile":  # logs are never consumed: a killed reconciliation loses nothing
            try:
                self.reconcile_state.note_gap(infobip_time(started))
            except Exception as exc:
                raise run.failed(f"could not record the killed run's possible gap (from {infobip_time(started)}): {exc}") from exc

    def _note_gap(self, when: datetime) -> None:
        try:
            self.reconcile_state.note_gap(infobip_time(when))
        except Exception:
            logger.exception("could not record the possible gap for reconciliation")

    def _preflight(self, run: Run) -> None:
        """Prove both stores take writes before consuming anything at Infobip."""
        try:
            self.archive.probe_writable()
            self.index.probe_writable()
        except Exception as exc:
            raise run.failed(f"preflight failed, nothing fetched: {exc.__class__.__name__}: {exc}") from exc

    def _catch_up(self, run: Run) -> None:
        """Store raw pages archived after the checkpoint (a previous run stopped before indexing them)."""
        for key in self.archive.raw_keys_after(self.state.checkpoint()):
            if run.time_left() < run.page_cost:
                logger.warning("time budget reached during catch-up; the next run resumes", extra={"raw_key": key})
                return
            self.store.replay(run, key, kind_named(self.archive.kind_of(key)))
            run.stats.caught_up_pages += 1
            logger.info("caught up raw page", extra={"raw_key": key})


def build_collector(
    settings: CollectorSettings, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> Collector:
    """Wire the collector from settings with the container's shared AWS clients (`clock` and `sleep`
    are the run's own: tests move the clock past a dead run's lease, or act between polls)."""
    from dlr_vault import aws

    api_key = lambda: aws.secret(settings.api_key_secret)  # noqa: E731 - read per request, cached by Powertools
    reread_key = lambda: aws.secret(settings.api_key_secret, force=True)  # noqa: E731 - once, after a 401
    return Collector(
        InfobipClient(settings.base_url, api_key, settings.api_version, reread_key=reread_key, read_timeout=settings.read_timeout),
        Archive(settings.archive_bucket, aws.client("s3")),
        ReportIndex(
            settings.reports_table,
            aws.client("dynamodb"),
            aws.dynamodb_batches(),
            search=aws.number_hasher(settings.search_key_secret),
            compress=settings.compress_reports,
        ),
        RunState(settings.state_table, aws.client("dynamodb")),
        ReconcileState(settings.state_table, aws.client("dynamodb")),
        FallbackStore(settings.fallback_table, aws.client("dynamodb")),
        version=settings.api_version,
        page_size=settings.page_size,
        retention_days=settings.retention_days,
        poll_interval=settings.poll_interval,
        sleep=sleep,
        clock=clock,
    )


def seconds_behind(stats: RunStats, now: datetime | None = None) -> float | None:
    """Now minus the newest `doneAt` seen in this run: how far behind real time the archive is."""
    if not stats.newest_done_at:
        return None
    newest = datetime.strptime(stats.newest_done_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - newest).total_seconds()
