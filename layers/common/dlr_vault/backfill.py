"""Give reports indexed before the search indexes existed what those indexes are keyed by.

A one-off operator command (`make backfill STACK=<stack>`, or
`python -m dlr_vault.backfill --stack <stack>`): it pages through the reports table with Scan
(an operator's one-off; the lookup never scans), works out each item's `sentAt`, `sentDay` and
`toHash` exactly as the collector writes them now (`index.make_entry`), and writes only those
attributes with a conditional UpdateItem:

- **Idempotent**: an item that already holds the right values is not written.
- **Safe beside the collector**: the update applies only while the item is still the version
  that was read (same `rawKey` and `doneAt`); a report the collector replaced meanwhile already
  carries the attributes.
- **`report` untouched**: it is never written, so the stored JSON stays byte for byte what it
  was (and a stream consumer that looks at `report`/`source` sees no change).
- **Resumable**: after every page the Scan position is saved in a local state file; running the
  command again continues from there. `--restart` scans from the start again.
Progress lines carry counts only, never a number.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from dlr_vault.index import SEARCH_ATTRIBUTES, make_entry
from dlr_vault.search import NumberHasher
from dlr_vault.stored_form import report_text


@dataclass
class Progress:
    table: str
    position: dict[str, Any] | None = None  # the Scan's LastEvaluatedKey: where the next page starts
    done: bool = False
    pages: int = 0
    scanned: int = 0
    updated: int = 0
    already_right: int = 0
    replaced_meanwhile: int = 0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path, table: str) -> Progress:
        if not path.exists():
            return cls(table)
        saved = cls(**json.loads(path.read_text()))
        if saved.table != table:
            raise SystemExit(f"{path} belongs to table {saved.table}, not {table}: pass another --state")
        return saved


class Backfill:
    def __init__(self, table: str, dynamodb: Any, hasher: NumberHasher, *, page_size: int = 500, workers: int = 8) -> None:
        self.table, self._ddb, self._hasher = table, dynamodb, hasher
        self.page_size, self.workers = page_size, workers

    def run(self, state: Path, *, max_pages: int | None = None, restart: bool = False, say: Any = print) -> Progress:
        """Scan from the saved position (or the start) until the table is done or `max_pages` pages are."""
        progress = Progress(self.table) if restart else Progress.load(state, self.table)
        if progress.done:
            say(f"{self.table}: already finished ({progress.updated} items updated); --restart scans again")
            return progress
        pages = 0
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="backfill") as pool:
            while max_pages is None or pages < max_pages:
                kwargs: dict[str, Any] = {"TableName": self.table, "Limit": self.page_size}
                if progress.position:
                    kwargs["ExclusiveStartKey"] = progress.position
                answer = self._ddb.scan(**kwargs)
                outcomes = list(pool.map(self._fill, answer.get("Items", [])))
                progress.pages, pages = progress.pages + 1, pages + 1
                progress.scanned += len(outcomes)
                progress.updated += outcomes.count("updated")
                progress.already_right += outcomes.count("right")
                progress.replaced_meanwhile += outcomes.count("replaced")
                progress.position = answer.get("LastEvaluatedKey")
                progress.done = progress.position is None
                progress.save(state)
                say(
                    f"page {progress.pages}: {progress.scanned} items scanned, {progress.updated} updated, "
                    f"{progress.already_right} already right, {progress.replaced_meanwhile} replaced meanwhile"
                )
                if progress.done:
                    break
        return progress

    def _fill(self, item: dict[str, Any]) -> str:
        """Write one item's search attributes if they differ: `updated`, `right` or `replaced`."""
        text = report_text(item.get("report"))
        entry = None
        if text is not None and "rawKey" in item:
            report = json.loads(text)
            if isinstance(report, dict):
                entry = make_entry(
                    report,
                    raw_key=item["rawKey"]["S"],
                    source=item.get("source", {}).get("S", "reports"),
                    expires_at=None,
                    text=text,
                    search=self._hasher,
                    compress=False,  # only its search attributes are used: no need to pack the report
                )
        if entry is None:
            return "right"  # nothing the search indexes could key it by (not a report the collector wrote)
        wanted = {name: entry.item[name] for name in SEARCH_ATTRIBUTES if name in entry.item}
        stale = [name for name in SEARCH_ATTRIBUTES if name in item and name not in wanted]
        if all(item.get(name) == value for name, value in wanted.items()) and not stale:
            return "right"
        values = {f":{name}": value for name, value in wanted.items()}
        condition = "rawKey = :rawKey AND " + ("doneAt = :doneAt" if "doneAt" in item else "attribute_not_exists(doneAt)")
        values[":rawKey"] = item["rawKey"]
        if "doneAt" in item:
            values[":doneAt"] = item["doneAt"]
        expression = "SET " + ", ".join(f"{name} = :{name}" for name in wanted) + (" REMOVE " + ", ".join(stale) if stale else "")
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"messageId": item["messageId"]},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return "replaced"
        return "updated"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="the stack's name: its ReportsTableName and SearchKeySecretArn outputs are used")
    parser.add_argument("--table", help="the reports table (instead of --stack)")
    parser.add_argument("--key-secret", help="name or ARN of the search key secret (instead of --stack)")
    parser.add_argument("--state", type=Path, help="progress file (default .backfill-<table>.json); rerun to resume")
    parser.add_argument("--restart", action="store_true", help="scan from the start again (items already right are not written)")
    parser.add_argument("--page-size", type=int, default=500, help="items per Scan page (default 500)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent UpdateItem requests (default 8)")
    parser.add_argument("--max-pages", type=int, help="stop after this many pages (resume later)")
    args = parser.parse_args(argv)
    from dlr_vault import aws

    table, key_secret = args.table, args.key_secret
    if args.stack:
        outputs = aws.stack_outputs(args.stack)
        table = table or outputs.get("ReportsTableName")
        key_secret = key_secret or outputs.get("SearchKeySecretArn")
    if not table or not key_secret:
        parser.error("give --stack (deployed with SearchIndexes all or destination), or --table and --key-secret")
    key = aws.client("secretsmanager").get_secret_value(SecretId=key_secret)["SecretString"]
    backfill = Backfill(table, aws.client("dynamodb"), NumberHasher(lambda: key), page_size=args.page_size, workers=args.workers)
    progress = backfill.run(args.state or Path(f".backfill-{table}.json"), max_pages=args.max_pages, restart=args.restart)
    print("finished" if progress.done else "stopped; run the same command again to continue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
