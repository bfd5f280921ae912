"""`make erase NUMBER=<msisdn> STACK=<name>`: erase every report sent to one phone number (GDPR article 17).

Reads the stack's ReportsTableName, ArchiveBucketName, SearchKeySecretArn and FallbackTableName
outputs; run it with the stack's ErasureRole (docs/operations.md, "Erasing one person's data").
`STACK=local` erases from the demo's stack while `make demo` is serving (its moto server).
Prints counts only, never the number; the audit record in the bucket keeps its keyed hash.
Safe to run again: a stopped run is completed, a finished one finds nothing more.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, timedelta
from getpass import getpass
from pathlib import Path

import ops  # noqa: F401 - puts the layer's dlr_vault on the path
from dlr_vault.erasure import Erasure

LOCAL_STACK = Path(__file__).resolve().parent.parent / ".local-stack"
OUTPUTS = ("ReportsTableName", "ArchiveBucketName", "SearchKeySecretArn", "FallbackTableName")


def _local_outputs() -> dict[str, str]:
    """The demo's stack (`make demo` writes .local-stack/stack.json), reached on its moto server."""
    try:
        described = json.loads((LOCAL_STACK / "stack.json").read_text())
    except FileNotFoundError:
        raise SystemExit("no local stack: start `make demo` first, then run this while it serves") from None
    os.environ.update(AWS_ENDPOINT_URL=described["endpoint"], AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")  # noqa: S106 - moto
    os.environ.pop("AWS_PROFILE", None)
    outputs: dict[str, str] = described["outputs"]
    return outputs


def _days(since: date | None, until: date | None) -> list[date]:
    if since is None:
        return []
    last = until or date.today()
    return [since + timedelta(days=n) for n in range((last - since).days + 1)]


def build(outputs: dict[str, str]) -> Erasure:
    """The erasure of the stack these outputs describe, with the caller's credentials."""
    from dlr_vault import aws
    from dlr_vault.archive import Archive
    from dlr_vault.fallback import FallbackStore
    from dlr_vault.index import ReportIndex
    from dlr_vault.logs_index import LogsIndex
    from dlr_vault.search import NumberHasher

    key = aws.client("secretsmanager").get_secret_value(SecretId=outputs["SearchKeySecretArn"])["SecretString"]
    table, dynamodb = outputs["ReportsTableName"], aws.client("dynamodb")
    return Erasure(
        ReportIndex(table, dynamodb, aws.dynamodb_batches()),
        LogsIndex(table, dynamodb),
        Archive(outputs["ArchiveBucketName"], aws.client("s3")),
        NumberHasher(lambda: key),
        FallbackStore(outputs["FallbackTableName"], dynamodb).pending(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="stack name (reads its outputs); `local` for the demo's")
    parser.add_argument(
        "--number",
        help="the phone number in international format, any spelling (+41 79 302 67 31, 0041793026731, ...); "
        "without it: $ERASE_NUMBER, or typed unseen at a prompt (keeps it out of the process list)",
    )
    parser.add_argument("--since", type=date.fromisoformat, help="also read every archive day from this one (YYYY-MM-DD)")
    parser.add_argument("--until", type=date.fromisoformat, help="... up to this day (default today)")
    args = parser.parse_args(argv)
    number = args.number or os.environ.get("ERASE_NUMBER") or (getpass("phone number to erase: ") if sys.stdin.isatty() else "")
    if not number.strip():
        print("no number: give --number, set ERASE_NUMBER, or run it in a terminal to type it")
        return 2

    outputs = _local_outputs() if args.stack == "local" else None
    from dlr_vault import aws
    from dlr_vault.erasure import NotErasable, StillArriving

    outputs = outputs or aws.stack_outputs(args.stack)
    if "SearchKeySecretArn" not in outputs:
        print("erasure finds a number's reports through the destination index:")
        print("deploy with SearchIndexes=destination or all, run `make backfill`, then this")
        return 2
    erasure = build(outputs)
    table = outputs["ReportsTableName"]
    try:
        done, record = erasure.erase(number, extra_days=_days(args.since, args.until))
    except (NotErasable, StillArriving) as refused:
        print(f"not erased: {refused}")
        return 2
    print(
        f"erased: {done.reports_deleted} report(s) deleted from {table}, {done.objects_rewritten} archive object(s) rewritten, "
        f"{done.versions_deleted} older version(s) deleted, {done.objects_read} read over {len(done.days)} day(s) in {done.passes} pass(es)"
    )
    if not done.days:
        print("the destination index names no report to this number, so no archive day was read. If its reports may be")
        print("older than the table keeps them (RetentionDays) or were never indexed, run again with --since YYYY-MM-DD")
    for unreadable in done.unreadable:
        print(f"not readable as Infobip JSON, left as it is (check it by hand): {unreadable}")
    print(f"audit record: s3://{outputs['ArchiveBucketName']}/{record}")
    if args.stack == "local" and (LOCAL_STACK / "archive").exists():
        from local.demo import _save_archive

        _save_archive(aws.client("s3"), outputs["ArchiveBucketName"], LOCAL_STACK / "archive")
        print("the archive copy for `make report` is refreshed")
    return 1 if done.unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
