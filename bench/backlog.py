"""A long outage's backlog: the simulator holds N unread reports and the collector drains them.

Runs are invoked back to back in one child process with the template's Timeout as each run's
budget, as the schedule would fire them once a run ends (a run never outlasts the period when
Timeout <= period, so on the schedule run k starts at k x period). The drain time on the
schedule is therefore (runs - 1) x period + the last run's wall time; the time the runs
actually took is printed beside it. Its own moto server, so the other rows' figures and this
one's state do not mix.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench.freshness import template_schedule
from local.infobip_sim import InfobipSimulator, make_reports
from local.stack import build_stack

PAGE_LIMITS = {"v1": 10_000, "v3": 1_000}  # Infobip's largest `limit` per request
HOURS = 48


def drain(moto_factory: Any, clients_of: Any, env_of: Any, child: Any, reports: int, page_size: int | None = None) -> dict[str, Any]:
    """Drain `reports` waiting at the simulator with the template's schedule and timeout (PageSize: the template's unless given)."""
    period, timeout, memory_mb = template_schedule()
    moto = moto_factory()
    try:
        clients = clients_of(moto)
        with InfobipSimulator() as sim:
            sim.add(make_reports(reports, bulks=max(1, reports // 5000), seed=13))
            prefix = f"backlog-{uuid.uuid4().hex[:6]}"
            params = {"InfobipBaseUrl": sim.base_url, "InfobipApiKeySecret": f"{prefix}/key"}
            if page_size:
                params["PageSize"] = str(page_size)
            stack = build_stack(clients, params, sim.api_key, prefix)
            env = {
                **env_of(moto, stack),
                "BENCH_PERIOD": "0",
                "BENCH_TIMEOUT": str(timeout),
                "BENCH_UNTIL": str(reports),
                "BENCH_RUNS": "500",
            }
            result = child("runs", env)
            left = len(sim.pending)
    finally:
        moto.stop()
    runs = result["runs"]
    fetched = sum(r["fetched"] for r in runs)
    busy = sum(r["wall"] for r in runs)
    on_schedule = (len(runs) - 1) * max(period, timeout) + runs[-1]["wall"]
    full = runs[:-1]  # every run but the last ran out of time, not of reports: what one run can take
    per_run = sum(r["fetched"] for r in full) / len(full) if full else float("nan")
    pages = sum(r["pages"] for r in full) / len(full) if full else float("nan")
    return {
        "reports": reports,
        "page_size": page_size or int(stack.environment("CollectorFunction")["PAGE_SIZE"]),
        "fetched": fetched,
        "left": left,
        "runs": len(runs),
        "busy_seconds": busy,
        "drain_seconds": on_schedule,
        "reports_per_run": per_run,
        "pages_per_run": pages,
        "seconds_per_page": sum(r["wall"] for r in full) / sum(r["pages"] for r in full) if full else float("nan"),
        "run_wall_mean": sum(r["wall"] for r in full) / len(full) if full else float("nan"),
        "gb_seconds": busy * memory_mb / 1024,
        "peak_rss_mb": result["peak_rss_mb"],
        "memory_mb": memory_mb,
        "period": period,
        "timeout": timeout,
    }


def capacity_48h(reports_per_run: float, period: float) -> float:
    """Reports a backlog can hold and still drain within 48 hours, at this many reports per run."""
    return HOURS * 3600 / period * reports_per_run
