"""The cost-of-a-report's-life table: measured inputs from a bench run, priced three ways.

- naive: one PutItem per report into a Standard table, no index, nothing else (sizes from the
  naive baseline's own table);
- before issue 17: template.yaml as it was at BEFORE_COMMIT (read with `git show`), priced with
  this run's measured sizes;
- this template: template.yaml in the work tree, as it is now.
Re-run with `python -m bench` after a storage change and the last column follows the template.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.cost import PRICES, PRICES_DATE, CostRow, Measured, Objects, StorageConfig, TemplateReader, life_cost, naive_config, totals
from local.stack import ROOT, load_template

BEFORE_COMMIT = "9a04073518963cf3e80bd66cb849464ca9d481fe"  # main before issue 17: bulk index ALL, PITR on, Standard
PREFIXES = ("raw/", "reports/")


NOTES = "\n".join(
    [
        "How it counts. Each report is kept 12 months from its ingest, so its storage costs its",
        "size x 12 GB-months (GB = 2^30 bytes) whenever in the year it arrived. A steady ingest's first",
        "calendar year holds half its year's reports on average (the table grows linearly), so that",
        "year's bill shows half of each storage row; with a year's retention, a steady state pays them",
        "in full. Item sizes are measured on this run's table (DynamoDB's rules: names + values, plus",
        "100 bytes of storage per item in the table and per entry in each index); an index write costs",
        "the WRU of its projected entry (ALL: the whole item; KEYS_ONLY: the table's and the index's",
        "keys; INCLUDE: those + its attributes), only for items that carry the index's keys. Reads are",
        "the BatchGetItem keys the collector sent per report (strongly consistent: 1 RRU per 4 KB, 1 at",
        "least). PITR is priced on the table's size (not its indexes). S3: the objects this run wrote",
        "per prefix; those >= the lifecycle rule's minimum (S3's default: 128 KB) move to Glacier",
        "Instant Retrieval after ArchiveTransitionDays, smaller ones stay in Standard. Lambda: the",
        "collector's measured wall time per report at the template's MemorySize (moto, not AWS). The",
        "schedule's own fixed cost (idle runs) is per month, not per report: see the idle rows above.",
        "'(x if on)' is an option the configuration has off: what switching it on adds.",
    ]
)


def config_now() -> StorageConfig:
    return TemplateReader(load_template()).storage_config("this template")


def config_before() -> StorageConfig | None:
    """The configuration before issue 17, from git history (None without that history, e.g. a shallow clone)."""
    shown = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:template.yaml"], cwd=ROOT, capture_output=True)
    if shown.returncode:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.yaml"
        path.write_bytes(shown.stdout)
        return TemplateReader(load_template(path)).storage_config(f"before issue 17 ({BEFORE_COMMIT[:7]})")


def scan_items(ddb: Any, table: str, limit: int = 1000) -> tuple[dict[str, Any], ...]:
    """Up to `limit` items as stored (the preflight's never-written key cannot appear)."""
    return tuple(ddb.scan(TableName=table, Limit=limit)["Items"])


def s3_objects(s3: Any, bucket: str, reports: int) -> dict[str, Objects]:
    """Per prefix: current objects' sizes and noncurrent versions' sizes."""
    out = {}
    for prefix in PREFIXES:
        current, noncurrent = [], []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                (current if version["IsLatest"] else noncurrent).append(version["Size"])
        out[prefix] = Objects(reports, tuple(current), tuple(noncurrent))
    return out


def measured_collector(run: dict[str, Any], lambda_seconds_per_report: float) -> Measured:
    """The cost model's inputs from a collector run made with BENCH_DETAIL (`bench.__main__.ingest`)."""
    clients, names, reports = run["clients"], run["stack"].names, run["reports"]
    detail = run["detail"]
    return Measured(
        reports=reports,
        items=scan_items(clients("dynamodb"), names["ReportsTable"]),
        puts_per_report=detail.get("puts", 0) / reports,
        read_keys_per_report=detail.get("get_keys", 0) / reports,
        consistent_reads=detail.get("consistent_gets", 0) > 0,
        s3=s3_objects(clients("s3"), names["ArchiveBucket"], reports),
        lambda_seconds_per_report=lambda_seconds_per_report,
        invocations_per_report=1 / reports,
    )


def measured_naive(run: dict[str, Any]) -> Measured:
    reports = run["reports"]
    return Measured(
        reports=reports,
        items=scan_items(run["clients"]("dynamodb"), run["stack"].names["ReportsTable"]),
        puts_per_report=run["requests"].get("dynamodb:PutItem", 0) / reports,
        read_keys_per_report=0.0,
        consistent_reads=False,
        s3={},
        lambda_seconds_per_report=run["wall"] / reports,
        invocations_per_report=1 / reports,
    )


def ingest_only(rows: list[CostRow]) -> dict[str, float]:
    """The parts paid once per report (no storage), by kind, for the bench's per-million row."""
    kinds = {"writes": 0.0, "reads": 0.0, "PUTs": 0.0, "Lambda": 0.0}
    for row in rows:
        if row.included and row.capability == "core":
            for kind in kinds:
                if kind in row.part:
                    kinds[kind] += row.usd
    return kinds


def table(now: Measured, naive: Measured) -> tuple[str, dict[str, float]]:
    """Markdown: one row per part, one column per configuration; and the totals for the summary rows."""
    configs: list[tuple[StorageConfig, Measured]] = [(naive_config(config_now().memory_mb), naive)]
    before = config_before()
    if before is not None:
        configs.append((before, now))
    configs.append((config_now(), now))
    priced = [(config, life_cost(config, measured)) for config, measured in configs]
    parts: list[tuple[str, str]] = []
    for _, rows in priced:
        parts += [(r.capability, r.part) for r in rows if (r.capability, r.part) not in parts]
    header = "| capability | part | " + " | ".join(c.label for c, _ in priced) + " | what it is (this template) |"
    lines = [header, "|---|---|" + "---|" * len(priced) + "---|"]
    last = {(r.capability, r.part): r for r in priced[-1][1]}
    for capability, part in parts:
        cells = []
        for _, rows in priced:
            found = next((r for r in rows if (r.capability, r.part) == (capability, part)), None)
            cells.append("" if found is None else (f"{found.usd:.3f}" if found.included else f"({found.usd:.3f} if on)"))
        detail = last[(capability, part)].detail if (capability, part) in last else ""
        lines.append(f"| {capability} | {part} | " + " | ".join(cells) + f" | {detail} |")
    summary: dict[str, float] = {}
    core_cells, all_cells = [], []
    for config, rows in priced:
        core, everything = totals(rows)
        summary[f"{config.label}: core"], summary[f"{config.label}: with its options"] = core, everything
        core_cells.append(f"**{core:.2f}**")
        all_cells.append(f"**{everything:.2f}**")
    lines.append("| **core** (collector + lookup, options off) | total | " + " | ".join(core_cells) + " | target <= 2.50 |")
    lines.append("| **as configured** (options on by default) | total | " + " | ".join(all_cells) + " | |")
    return "\n".join(lines), summary


def prices_text() -> list[str]:
    return [f"Prices (USD, us-east-1 list prices written down {PRICES_DATE}; see bench/cost.py for their sources):"] + [
        f"- `{k}`: {v:g}" for k, v in PRICES.items()
    ]
