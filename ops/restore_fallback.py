"""`make restore-fallback STACK=<name>`: put the pages S3 refused back into raw/.

Reads the stack's FallbackTableName and ArchiveBucketName outputs (or takes --table and
--bucket), restores every page the fallback table holds under its own raw key (write-once:
an identical object already there counts as restored), checks each against its SHA-256, and
removes it from the table only once it is in raw/. Safe to run again. Runs with the operator's
credentials, not the collector's.
"""

from __future__ import annotations

import argparse
import sys

import ops  # noqa: F401 - puts the layer's dlr_vault on the path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="stack name (reads its outputs)")
    parser.add_argument("--table", help="fallback table name (instead of --stack)")
    parser.add_argument("--bucket", help="archive bucket name (instead of --stack)")
    args = parser.parse_args(argv)
    if not args.stack and not (args.table and args.bucket):
        parser.error("give --stack, or both --table and --bucket")

    from dlr_vault import aws
    from dlr_vault.archive import Archive
    from dlr_vault.fallback import FallbackStore, restore

    table, bucket = args.table, args.bucket
    if args.stack:
        outputs = aws.stack_outputs(args.stack)
        table, bucket = table or outputs["FallbackTableName"], bucket or outputs["ArchiveBucketName"]
    restored, refused = restore(FallbackStore(table, aws.client("dynamodb")), Archive(bucket, aws.client("s3")))
    for key in restored:
        print(f"restored {key}")
    for key, why in refused.items():
        print(f"NOT restored, still kept in the fallback table: {key}: {why}")
    left = f"{len(refused)} page(s) stay in it (docs/operations.md)" if refused else "is empty"
    print(f"{len(restored)} page(s) restored to s3://{bucket}/raw/; the fallback table {table} {left}")
    if restored:
        print(f"their reports are indexed already; for their JSON Lines copies see docs/operations.md (checkpoint before {restored[0]})")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
