"""bench/ still runs end to end (on 1,000 reports); its figures are not asserted here."""

import os
import subprocess
import sys

from local.stack import ROOT

ROWS = (
    "ingest speed-up over the baseline",
    "DynamoDB BatchWriteItem per 10,000 reports",
    "cost per million reports",
    "collector CPU per report",
    "collector CPU per report: what the HTTP requests alone cost",
    "peak RSS",
    "lookup warm latency, messageId",
    "lookup warm latency, bulk page",
    "cold import, lookup handler",
    "notifier throughput",
    "added cost per million reports, fan-out",
    "bulk summary, one bulk of 1,000 reports",
)


def test_bench_runs_on_a_thousand_reports_and_prints_every_row():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    args = ["--reports", "1000", "--baseline-reports", "200", "--count-reports", "1000", "--lookups", "5", "--no-write", "--skip-build"]
    done = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in table), row
    assert all(line.count("|") == 5 for line in table)
