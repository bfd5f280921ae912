"""A collector process killed (SIGKILL) mid-run loses no report.

The page in flight at the kill may be consumed at Infobip and never archived. The next run that
takes over the dead run's lease records a possible gap from that run's start, and the next
reconciliation reads `/sms/3/logs` as far back as Infobip keeps them, so every report comes
back: final ones, and pending ones too (a message Infobip reported on is never a 404). The
messages were sent three hours before, and a reconciliation finished after they were sent and
before the kill: without the recorded gap, the next window would start half an hour before
that one ended and miss them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from dlr_vault.config import CollectorSettings
from dlr_vault.ingest import build_collector
from dlr_vault.reports import parse_timestamp
from local.infobip_sim import STATUSES, SimReport
from local.stack import ROOT, load_handler
from tests.kit import FakeLambdaContext, kept, load_event, recent, stored_report

MESSAGES = 240
PAGE_SIZE = 50
PENDING = dict(zip(("groupId", "groupName", "id", "name", "description"), STATUSES[0], strict=True))


def _versions(n: int) -> tuple[list[SimReport], list[SimReport]]:
    """A pending report for each of `n` messages, and the later final report of each (v3 semantics:
    several reports per message). Final statuses are spread over every final group."""
    finals = [r for r in recent(n * 2, bulks=4) if r.fields["status"]["groupName"] not in ("PENDING", "SCHEDULED_FOR_LATER")][:n]
    pending = [SimReport({**r.fields, "status": dict(PENDING), "doneAt": r.fields["sentAt"]}) for r in finals]
    return pending, finals


def _invoke(event: str) -> dict[str, Any]:
    return load_handler("collector").lambda_handler(load_event(event), FakeLambdaContext(seconds=120))


def _group(report: dict[str, Any]) -> str:
    return report["status"]["groupName"].upper()


@pytest.mark.parametrize(
    ("point", "taken_over_by"),
    [("fetch", "collect"), ("archive", "reconcile"), ("index", "collect"), ("checkpoint", "reconcile")],
)
def test_a_killed_run_loses_no_report(point: str, taken_over_by: str, make_stack: Any, sim: Any) -> None:
    stack = make_stack(PageSize=str(PAGE_SIZE))
    pending, finals = _versions(MESSAGES)
    sim.add(pending)
    assert _invoke("schedule.json")["indexed"] == MESSAGES
    assert _invoke("reconcile.json")["outcome"] == "ok"  # a finished window ending after every send

    sim.add(finals)
    consumed_before = len(sim.handed_out)
    killed = subprocess.run(
        [sys.executable, "-m", "tests.kill_runner", point],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])},
        capture_output=True,
        timeout=180,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    consumed = sim.handed_out[consumed_before:]
    raw_ids = {r["messageId"] for r in kept(stack).raw_reports if _group(r) != "PENDING"}
    assert consumed
    if point in ("fetch", "archive"):  # later points may also catch the next page in hand, or not
        assert {r["messageId"] for r in consumed} - raw_ids, "the kill left a consumed page unarchived"

    # The next run finds the lease expired (its clock is past the dead run's lease) and takes it over.
    after_kill = build_collector(CollectorSettings.from_env(), clock=lambda: time.time() + 3600).run(lambda: 120.0, taken_over_by)
    assert after_kill.killed_runs == 1 and after_kill.outcome == "ok"
    if taken_over_by == "collect":
        recovered = _invoke("reconcile.json")["gaps_recovered"]
    else:
        recovered = after_kill.gaps_recovered
        assert _invoke("reconcile.json")["outcome"] == "ok"
    _invoke("schedule.json")  # whatever Infobip still holds unread

    index = {m: stored_report(item) for m, item in kept(stack).index.items()}
    lost = [
        r.fields["messageId"]
        for r in finals
        if r.fields["messageId"] not in index
        or _group(index[r.fields["messageId"]]) != r.fields["status"]["groupName"].upper()
        or parse_timestamp(index[r.fields["messageId"]]["doneAt"]) != parse_timestamp(r.fields["doneAt"])
    ]
    unarchived = [r for r in consumed if r["messageId"] not in raw_ids]
    print(
        f"\nkilled at {point}: {len(consumed)} reports consumed by the killed run, {len(consumed) - len(unarchived)} archived, "
        f"{len(unarchived)} never archived; {recovered} recovered from logs; {len(lost)} final reports lost"
    )
    assert not lost, f"{len(lost)} final reports lost: {lost[:5]}"
    assert all(index[r["messageId"]].get("recoveredFromLogs") for r in unarchived), "the unarchived ones came back from logs"
    assert recovered >= len(unarchived)
