"""The reconciliation window arithmetic (pure) and the lease's word on killed runs (state table on moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dlr_vault.reconcile import LOGS_LOOKBACK, RECONCILE_OVERLAP, Window, closes_gap, open_window
from dlr_vault.reports import infobip_time
from dlr_vault.state import ReconcileState, RunState

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLOOR = NOW - LOGS_LOOKBACK


def t(moment: datetime) -> str:
    return infobip_time(moment)


def test_the_first_window_reaches_back_as_far_as_logs_go() -> None:
    assert open_window({}, NOW) == Window(FLOOR, NOW, NOW, from_floor=True)


def test_a_window_starts_where_the_last_ended_less_the_overlap() -> None:
    last = NOW - timedelta(hours=1)
    assert open_window({"lastUntil": t(last)}, NOW) == Window(last - RECONCILE_OVERLAP, NOW, NOW, from_floor=False)


def test_a_pending_gap_or_a_long_pause_opens_the_window_at_the_floor() -> None:
    last = NOW - timedelta(hours=1)
    assert open_window({"lastUntil": t(last), "gapSince": t(NOW - timedelta(minutes=5))}, NOW).from_floor
    assert open_window({"lastUntil": t(NOW - timedelta(hours=50))}, NOW) == Window(FLOOR, NOW, NOW, from_floor=True)


def test_an_open_window_resumes_as_it_was_opened() -> None:
    opened = NOW - timedelta(hours=2)
    saved = {
        "windowStart": t(opened - LOGS_LOOKBACK),
        "windowEnd": t(opened),
        "windowOpened": t(opened),
        "windowFromFloor": "true",
        "logsCursor": "2000",
        "gapSince": t(NOW - timedelta(minutes=1)),
    }
    assert open_window(saved, NOW) == Window(opened - LOGS_LOOKBACK, opened, opened, True, "2000")


def test_a_window_saved_before_it_recorded_its_opening_is_assumed_not_to_cover_a_gap() -> None:
    saved = {"windowStart": t(NOW - timedelta(hours=3)), "windowEnd": t(NOW - timedelta(hours=2)), "logsCursor": "1000"}
    window = open_window(saved, NOW)
    assert not window.from_floor and not closes_gap(window, NOW - timedelta(days=3))


@pytest.mark.parametrize(
    ("window", "gap", "closed"),
    [
        (Window(FLOOR, NOW, NOW, True), None, True),
        (Window(FLOOR, NOW, NOW, True), NOW - timedelta(minutes=10), True),  # opened after the gap, from the floor
        (Window(FLOOR, NOW, NOW, True), NOW + timedelta(seconds=1), False),  # the gap came while the window was open
        (Window(NOW - timedelta(hours=1), NOW, NOW, False), NOW - timedelta(minutes=10), False),  # does not reach back
    ],
)
def test_only_a_window_from_the_floor_opened_after_a_gap_closes_it(window: Window, gap: datetime | None, closed: bool) -> None:
    assert closes_gap(window, gap) is closed


def test_a_gap_recorded_while_a_window_is_open_survives_its_end(stack) -> None:
    """The killed-run case: a window opened (and saved with its cursor) before the kill, resumed
    and finished after the dead run's gap was recorded, must leave the gap for the next window."""
    state = ReconcileState(stack.names["StateTable"], stack.clients("dynamodb"))
    opened = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0)  # state keeps milliseconds
    window = Window(opened - timedelta(hours=1), opened, opened, from_floor=False)
    state.save_window(window, "1000")
    state.note_gap(t(opened + timedelta(minutes=5)))
    resumed = open_window(state.load(), datetime.now(UTC))
    assert resumed == Window(window.since, window.until, window.opened, False, "1000")
    state.finish_window(t(resumed.until), t(resumed.opened) if closes_gap(resumed, opened + timedelta(minutes=5)) else None)
    saved = state.load()
    assert saved["gapSince"] == t(opened + timedelta(minutes=5)) and open_window(saved, datetime.now(UTC)).from_floor


def test_the_earliest_gap_is_kept(stack) -> None:
    state = ReconcileState(stack.names["StateTable"], stack.clients("dynamodb"))
    state.note_gap(t(NOW))
    state.note_gap(t(NOW - timedelta(hours=2)))
    state.note_gap(t(NOW + timedelta(hours=2)))
    assert state.load()["gapSince"] == t(NOW - timedelta(hours=2))


def test_a_lease_left_unreleased_names_the_run_that_died(stack) -> None:
    lease = RunState(stack.names["StateTable"], stack.clients("dynamodb"))
    assert lease.acquire("first", 1000.0, 1090.0, "collect").took_over is None
    assert lease.acquire("second", 1050.0, 1140.0, "collect") is None, "a live lease is respected"
    taken = lease.acquire("second", 1091.0, 1180.0, "collect")
    assert taken is not None and taken.took_over is not None
    assert (taken.took_over.started, taken.took_over.until, taken.took_over.mode) == (1000.0, 1090.0, "collect")
    lease.release("second")
    assert lease.acquire("third", 1200.0, 1290.0, "reconcile").took_over is None, "a released lease is no dead run"
    assert lease.acquire("third", 1201.0, 1291.0, "reconcile").took_over is None, "nor is one's own"
