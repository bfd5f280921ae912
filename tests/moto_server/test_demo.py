"""`make demo`'s stack end to end, non-interactively, in a fresh process as a newcomer runs it."""

import gzip
import json
import os
import re
import socket
import subprocess
import sys

from local.stack import ROOT


def run_demo(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    return subprocess.run(
        [sys.executable, "-m", "local.demo", "--no-serve", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_pulls_archives_indexes_and_serves_the_reports_back():
    done = run_demo("--reports", "600", "--page-size", "250", "--api-port", "0")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "630 reports pulled, 630 archived, 630 indexed in 3 pages" in out
    assert re.search(r"\s630 reports so far, page stored [0-9.]+ s after its fetch -> raw/", out)
    assert out.count("curl -s -H 'x-api-key:") == 5
    key = re.search(r"\(x-api-key: (\S+), made for this run\)", out)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", key) and out.count(f"curl -s -H 'x-api-key: {key}'") == 5
    assert not any(key in path.read_text() for path in (ROOT / "local").glob("*.py")), "made for the run, not written down"
    assert re.findall(r"checked GET (\S+): (\d+)", out) == [
        ("/sms/1/reports?messageId=msg-1-0000000", "200"),
        ("/sms/3/reports?bulkId=BULK-000-1&limit=2", "200"),
        ("/reports/msg-1-0000000", "200"),
        ("/sms/3/logs?destination=41793026731", "200"),
        ("/bulks/BULK-000-1/summary", "200"),
    ]
    password = re.search(r"support console on http://127\.0\.0\.1:\d+/console; sign in as support with password (\S+)", out)
    assert password and len(password.group(1)) >= 14
    assert re.findall(r"checked GET (\S+) signed in as support: (\d+)", out) == [
        ("/console", "200"),
        ("/console/api/bulks/BULK-000-1/summary", "200"),
    ]
    assert re.search(r"checked GET /sms/3/logs\?destination=41793026731: 200, \d+ bytes, 3 results", out)
    erased = re.search(r"erased: (\d+) report\(s\) deleted from \S+, (\d+) archive object\(s\) rewritten, (\d+) older version", out)
    assert erased and int(erased[1]) == 3 and int(erased[2]) >= 2 and int(erased[3]) >= int(erased[2])
    assert "checked GET /sms/3/logs?destination=41793026731 after the erasure: 0 results" in out
    copied = [gzip.decompress(p.read_bytes()) for p in (ROOT / ".local-stack" / "archive").rglob("*.gz")]
    assert copied and not any(b"41793026731" in data for data in copied)  # `make report` reads this copy
    assert re.search(
        r"events: 630 stream records in 7 batches -> 630 events published on dlr-vault-local-reports \(\d+ PutEvents retries, 0 failed", out
    )
    forwarded = int(re.search(r"webhook: (\d+) final reports forwarded to http://127\.0\.0\.1:\d+ in Infobip's push shape", out)[1])
    assert 0 < forwarded < 630
    body = json.loads(re.search(r"  POST application/json; charset=utf-8 (.+)", out)[1])
    assert list(body) == ["results"] and body["results"][0]["status"]["groupName"] in {"DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED"}
    assert '{"_aws"' not in out and "Traceback" not in done.stderr
    report = subprocess.run([sys.executable, "-m", "analytics"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr[-2000:]
    for name in ("bulk_summary", "delivery_rate_by_day", "delivery_rate_by_mccmnc", "latency_percentiles", "price_per_day", "top_errors"):
        assert f"## {name}" in report.stdout
    assert re.search(r"\| DELIVERED\s+\| \d+", report.stdout)


def test_a_busy_port_gets_a_clear_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_demo("--api-port", str(port))
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is busy" in done.stderr
