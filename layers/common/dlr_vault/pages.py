"""Page kinds: a `/sms/{1,3}/reports` page or a `/sms/3/logs` page. Each owns how it is parsed,
how its reports are counted and which of them go to the JSON Lines copy; raw keys name the
kind (`.v1.`, `.v3.`, `.logs.`), so catch-up knows how to read any archived page."""

from __future__ import annotations

from dataclasses import dataclass

from dlr_vault.index import Entry
from dlr_vault.observability import logger
from dlr_vault.reports import Report, parse_logs_page, parse_page, status_group
from dlr_vault.run import RunStats


@dataclass(frozen=True)
class Parsed:
    """One page's reports and, for a logs page, the cursor to the next one."""

    reports: list[Report]
    next_cursor: str | None = None


class ReportsPage:
    """A page of `/sms/{version}/reports`: every report is new information, all are copied."""

    source = "reports"

    def __init__(self, version: int) -> None:
        self.version = version
        self.name = f"v{version}"

    @staticmethod
    def parse(body: bytes) -> Parsed:
        return Parsed(parse_page(body))

    @staticmethod
    def copied(lines: list[str], written: list[Entry]) -> list[str]:
        return lines

    @staticmethod
    def count(stats: RunStats, reports: list[Report], entries: list[Entry], written: list[Entry], copied: int) -> None:
        stats.fetched += len(reports)
        stats.archived += copied
        stats.by_status_group.update(status_group(r) for r in reports)
        stats.newest_done_at = max([stats.newest_done_at, *(e.done_at for e in entries)])


class LogsPage:
    """A page of `/sms/3/logs` (never consumed at Infobip): its entries only fill what the index
    lacks, final or still pending, so a message Infobip reported on is never a 404."""

    source = "logs"
    version = 3
    name = "logs"

    @staticmethod
    def parse(body: bytes) -> Parsed:
        return Parsed(*parse_logs_page(body))

    @staticmethod
    def copied(lines: list[str], written: list[Entry]) -> list[str]:
        return [e.text for e in written]  # the copy holds only what was missing

    @staticmethod
    def count(stats: RunStats, reports: list[Report], entries: list[Entry], written: list[Entry], copied: int) -> None:
        stats.log_entries += len(reports)
        stats.gaps_recovered += len(written)
        if written:
            logger.warning("recovered reports missing from the index", extra={"count": len(written)})


PageKind = ReportsPage | LogsPage
LOGS = LogsPage()
_KINDS: dict[str, PageKind] = {kind.name: kind for kind in (ReportsPage(1), ReportsPage(3), LOGS)}


def kind_named(name: str) -> PageKind:
    """The kind a raw key names; an unknown name is a key this code did not write."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown raw page kind {name!r}") from None
