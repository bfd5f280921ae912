"""Reconcile mode: page through `/sms/3/logs` (never consumed at Infobip) and index what the
index lacks — reports consumed but lost in transit, or consumed by a run that was killed.

The window arithmetic is pure (`open_window`, `closes_gap`); `reconcile` runs one window,
resuming by cursor when a run's time runs out, paced under Infobip's logs rate limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from dlr_vault.infobip import InfobipClient
from dlr_vault.observability import logger
from dlr_vault.pages import LOGS
from dlr_vault.reports import infobip_time, parse_infobip_time
from dlr_vault.run import Run
from dlr_vault.state import ReconcileState
from dlr_vault.storing import PageStore

LOGS_PAGE_SIZE = 1000
LOGS_PER_MINUTE = 120  # Infobip's rate limit for /sms/3/logs
LOGS_LOOKBACK = timedelta(hours=47, minutes=30)  # logs (like reports) are kept 48 hours
RECONCILE_OVERLAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Window:
    """A range of `sentAt` to reconcile, when it was opened, and the logs cursor to resume from."""

    since: datetime
    until: datetime
    opened: datetime
    from_floor: bool  # starts as far back as Infobip keeps logs
    cursor: str | None = None


def open_window(saved: dict[str, str], now: datetime) -> Window:
    """The window to work on: the open one (by its cursor), else a new one up to `now` that starts
    where the last one ended (less an overlap), or as far back as Infobip keeps logs when a
    possible gap is pending or nothing was reconciled before."""
    if saved.get("logsCursor"):
        since, until = _time(saved["windowStart"]), _time(saved["windowEnd"])
        opened = _time(saved["windowOpened"]) if saved.get("windowOpened") else since  # older state: assume the least
        return Window(since, until, opened, saved.get("windowFromFloor") == "true", saved["logsCursor"])
    floor, last = now - LOGS_LOOKBACK, parse_infobip_time(saved.get("lastUntil"))
    if saved.get("gapSince") or last is None or last - RECONCILE_OVERLAP <= floor:
        return Window(floor, now, now, True)
    return Window(last - RECONCILE_OVERLAP, now, now, False)


def closes_gap(window: Window, gap_since: datetime | None) -> bool:
    """Whether a finished `window` found everything a possible gap at `gap_since` may have lost.

    Reports lost at `gap_since` belong to messages sent up to 48 hours before it, and show their
    latest status only in logs read after it: the window must reach back to the floor and have
    been opened after the gap. A window opened earlier, or starting later, leaves it pending."""
    return gap_since is None or (window.from_floor and window.opened >= gap_since)


def _time(text: str) -> datetime:
    moment = parse_infobip_time(text)
    if moment is None:
        raise ValueError(f"reconcile state holds a malformed time {text!r}")
    return moment


def reconcile(
    run: Run,
    infobip: InfobipClient,
    store: PageStore,
    state: ReconcileState,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Work on the current window until it is finished or the run's time is spent."""
    saved = state.load()
    window = open_window(saved, datetime.now(UTC))
    since, until, cursor = infobip_time(window.since), infobip_time(window.until), window.cursor
    logger.info("reconciling against /sms/3/logs", extra={"since": since, "until": until, "resuming": cursor is not None})
    last_request = float("-inf")
    while run.time_left() > run.reserve(infobip.worst_case_seconds):
        sleep(max(0.0, last_request + 60 / LOGS_PER_MINUTE - time.monotonic()))
        last_request = time.monotonic()
        params: dict[str, str | int] = {
            "sentSince": since,
            "sentUntil": until,
            "limit": LOGS_PAGE_SIZE,
            "useCursor": "true",
            **({"cursor": cursor} if cursor else {}),
        }
        taken = store.take(run, partial(infobip.fetch_logs, params), LOGS)
        store.finish(run, taken, LOGS)
        if taken.parsed is None:
            logger.error("unparseable logs page; the next reconciliation resumes from the saved cursor")
            return
        cursor = taken.parsed.next_cursor
        if cursor is None:
            gap = parse_infobip_time(saved.get("gapSince"))
            state.finish_window(until, infobip_time(window.opened) if closes_gap(window, gap) else None)
            logger.info("reconciliation window finished", extra={"gaps_recovered": run.stats.gaps_recovered})
            return
        state.save_window(window, cursor)
    logger.info("time budget reached during reconciliation; the next run resumes by cursor")
