"""bench/ still runs end to end on small counts (every option, one scheduled period of freshness,
a 3,000-report backlog); its figures are not asserted here."""

import os
import subprocess
import sys

from local.stack import ROOT

ROWS = (
    "ingest speed-up over the baseline",
    "DynamoDB BatchWriteItem per 10,000 reports",
    "cost per million reports",
    "cost per million reports kept a year, core",
    "collector CPU per report",
    "collector CPU per report: what the HTTP requests alone cost",
    "peak RSS",
    "lookup warm latency, messageId",
    "lookup warm latency, bulk page",
    "cold import, lookup handler",
    "notifier throughput",
    "added cost per million reports, fan-out",
    "bulk summary, one bulk of 1,000 reports",
    "local ceiling",
    "ingest as a fraction of the local ceiling",
    "freshness, PollIntervalSeconds 0 ",
    "freshness, PollIntervalSeconds 5 ",
    "freshness, PollIntervalSeconds 5, INFOBIP_READ_TIMEOUT 1",
    "idle cost per month, PollIntervalSeconds 0",
    "idle cost per month, PollIntervalSeconds 5",
    "backlog drain, 3,000 reports waiting (PageSize 1000",
    "backlog drain, 3,000 reports waiting (PageSize 10000",
    "backlog peak RSS",
    "backlog that drains within 48 h, v1",
    "backlog that drains within 48 h, v3",
)
LIFE_ROWS = ("| core | table writes |", "| core | table storage |", "| point-in-time recovery |", "| core | S3 raw/ PUTs |", "| **core**")


def test_bench_runs_every_option_on_small_counts_and_prints_every_row():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    args = ["--reports", "1000", "--baseline-reports", "200", "--count-reports", "1000", "--lookups", "5", "--no-write", "--skip-build"]
    args += ["--freshness-runs", "1", "--freshness-poll", "5", "--freshness-read-timeout", "1", "--backlog-reports", "3000"]
    done = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    measures, _, life = done.stdout.partition("## A report's life")
    table = [line for line in measures.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in table), row
    assert all(line.count("|") == 5 for line in table)
    for row in LIFE_ROWS:
        assert any(line.startswith(row) for line in life.splitlines()), row
