"""`make report`: the queries/ SQL in DuckDB over a reports/ archive, printed as tables.

    python -m analytics [ARCHIVE] [--bulk BULK_ID] [--plot DIR]

ARCHIVE is a folder holding `reports/` (default: the one `make demo` leaves in .local-stack/archive)
or an `s3://bucket` (DuckDB's httpfs reads it with your AWS credentials).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analytics.engine import archive_path, connect, queries, run
from local.stack import ROOT

DEFAULT_ARCHIVE = ROOT / ".local-stack" / "archive"


def table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[str(c) for c in columns], *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def plot(db: Any, folder: Path) -> list[Path]:
    """Delivery outcome per day by status group, and latency percentiles per day, as PNG charts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    sql = queries()
    _, rows = run(db, sql["delivery_rate_by_day"])
    days = sorted({r[0] for r in rows})
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bottom = [0.0] * len(days)
    for group in sorted({r[1] for r in rows}):
        share = [next((r[3] for r in rows if r[0] == d and r[1] == group), 0.0) for d in days]
        ax.bar([str(d) for d in days], share, bottom=bottom, label=group)
        bottom = [b + s for b, s in zip(bottom, share, strict=True)]
    ax.set(title="Messages per day by status group (%)", ylabel="% of messages", ylim=(0, 100))
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    fig.tight_layout()
    outcome = folder / "delivery_by_day.png"
    fig.savefig(outcome, dpi=110)
    _, rows = run(db, sql["latency_percentiles"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for index, label in ((2, "p50"), (3, "p90"), (4, "p99")):
        ax.plot([str(r[0]) for r in rows], [r[index] for r in rows], marker="o", label=label)
    ax.set(title="Seconds from sentAt to doneAt", ylabel="seconds")
    ax.legend()
    fig.tight_layout()
    latency = folder / "latency_percentiles.png"
    fig.savefig(latency, dpi=110)
    plt.close("all")
    return [outcome, latency]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", nargs="?", default=str(DEFAULT_ARCHIVE))
    parser.add_argument("--bulk", help="bulkId for bulk_summary (default: the first bulk found)")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="also write PNG charts to DIR")
    args = parser.parse_args(argv)
    archive = archive_path(args.archive)
    if not archive.startswith("s3://") and not any(Path(archive, "reports").rglob("*.jsonl.gz")):
        print(f"no reports/ archive under {archive}: run `make demo` first, or pass a folder or s3:// prefix", file=sys.stderr)
        return 2
    db = connect(archive)
    bulk = args.bulk or run(db, "SELECT min(bulkId) FROM reports")[1][0][0]
    for name, sql in queries().items():
        columns, rows = run(db, sql, [bulk] if "?" in sql else None)
        title = f"{name} (bulkId {bulk})" if "?" in sql else name
        print(f"\n## {title}\n\n{table(columns, rows)}")
    if args.plot:
        for path in plot(db, args.plot):
            print(f"\nchart: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
