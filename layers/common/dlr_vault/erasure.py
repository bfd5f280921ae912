"""Erasing one person's reports (GDPR article 17): the table, the archive's pages and their older versions.

The destination index (keyed hash of the number) names the messages and the days they were
sent. Every raw/ page and JSON Lines copy of those days (plus the days the operator adds) is
read in all its versions, and each report addressed to the number is cut out of it. Cutting
keeps every other report's bytes exactly: one element of the page's `results` array and one
separator go, nothing else moves.

Order makes it resumable: the days to read are recorded first (`erasure/pending/<hash>.json`);
per object, the clean version is written, then the cut reports' items are deleted, then the old
versions; the indexed items go last, then the audit record. An old version holding the number
outlives everything derived from it, so a run stopped anywhere is completed by running it again.

The collector may store a page with the number while this runs. So the whole pass is repeated,
reading only versions it has not seen, until one finds nothing new in the index or the archive.
See docs/security.md, "Erasing one person's data".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dlr_vault.archive import RAW_PREFIX, REPORTS_PREFIX, Archive, Version, compress
from dlr_vault.index import ReportIndex
from dlr_vault.logs_index import LogsIndex, Stream
from dlr_vault.search import DESTINATION_INDEX, NumberHasher, normalise_number

DAYS_AFTER_SENDING = 3  # reports arrive within Infobip's 48 hours; reconciliation's log pages a little later
PASSES = 5  # a number still receiving reports after this many passes is left to the next run
_LAST = "9999-12-31T23:59:59.999Z"
_WHITESPACE = " \t\r\n"

Drop = Callable[[Any], bool]


class NotErasable(Exception):
    """Nothing is erased: pages wait in the fallback table, or the number is not in international format."""


class StillArriving(Exception):
    """Reports to the number kept landing while it was erased: run again once its traffic stopped."""


class UnreadablePage(ValueError):
    """A stored page is not the JSON object with a `results` array that Infobip sends."""


def addressed_to(number: str) -> Drop:
    """Whether a report (v1/v3 reports or logs: `to`, or v3 logs' `destination`) is sent to `number`."""

    def drops(report: Any) -> bool:
        return isinstance(report, dict) and number in (normalise_number(report.get("to")), normalise_number(report.get("destination")))

    return drops


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def _expect(text: str, at: int, char: str) -> int:
    if at >= len(text) or text[at] != char:
        raise UnreadablePage(f"expected {char!r} at {at}")
    return at + 1


def _results_spans(text: str) -> list[tuple[int, int, Any]]:
    """(start, end, value) of each element of the top-level object's `results` array, as written."""
    decoder = json.JSONDecoder()
    at = _expect(text, _skip(text, 0), "{")
    spans: list[tuple[int, int, Any]] | None = None
    while (at := _skip(text, at)) < len(text) and text[at] != "}":
        try:
            name, at = decoder.raw_decode(text, at)
            at = _skip(text, _expect(text, _skip(text, at), ":"))
            if name == "results" and text.startswith("[", at):
                spans, at = [], _skip(text, at + 1)
                while not text.startswith("]", at):
                    value, end = decoder.raw_decode(text, at)
                    spans.append((at, end, value))
                    at = _skip(text, end)
                    at = _skip(text, at + 1) if text.startswith(",", at) else at
                at += 1
            else:
                _, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise UnreadablePage(str(exc)) from exc
        at = _skip(text, at)
        at = at + 1 if text.startswith(",", at) else at
    if spans is None:
        raise UnreadablePage("no results array")
    return spans


def cut_page(body: bytes, drops: Drop) -> tuple[bytes, list[Any]]:
    """A raw page without the reports `drops` picks, every other byte as it was; and the reports cut."""
    text = body.decode("utf-8")
    spans = _results_spans(text)
    cut = [value for _, _, value in spans if drops(value)]
    if not cut:
        return body, []
    kept = [i for i, (_, _, value) in enumerate(spans) if not drops(value)]
    out = [text[: spans[0][0]]]
    for n, i in enumerate(kept):
        out.append(text[spans[i][0] : spans[i][1]])
        if n + 1 < len(kept):  # the separator this element had after it (it is not the page's last)
            out.append(text[spans[i][1] : spans[i + 1][0]])
    out.append(text[spans[-1][1] :])
    return "".join(out).encode("utf-8"), cut


def cut_lines(body: bytes, drops: Drop) -> tuple[bytes, list[Any]]:
    """JSON Lines without the reports `drops` picks; every other line as it was."""
    kept, cut = [], []
    for line in body.split(b"\n"):
        report = json.loads(line) if line.strip() else None
        if report is not None and drops(report):
            cut.append(report)
        else:
            kept.append(line)
    return (b"\n".join(kept), cut) if cut else (body, [])


@dataclass
class Erased:
    """What one run did; the audit record holds its counts, with the number's keyed hash and the time."""

    reports_deleted: int = 0
    objects_rewritten: int = 0
    versions_deleted: int = 0
    objects_read: int = 0
    passes: int = 0
    days: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def audit(self, hashed: str, when: datetime) -> dict[str, Any]:
        """Counts only: the days read and the unreadable pages' keys would say when the person was sent messages."""
        counts = {k: v for k, v in asdict(self).items() if isinstance(v, int)}
        return {
            "numberHash": hashed,
            "erasedAt": when.isoformat(),
            **counts,
            "days_read": len(self.days),
            "unreadable": len(self.unreadable),
        }


class Erasure:
    def __init__(
        self, index: ReportIndex, logs: LogsIndex, archive: Archive, hasher: NumberHasher, pending_fallback: Iterable[str] = ()
    ) -> None:
        self._index, self._logs, self._archive, self._hasher = index, logs, archive, hasher
        self._pending_fallback = pending_fallback

    def erase(self, number: str, *, extra_days: Iterable[date] = (), now: datetime | None = None) -> tuple[Erased, str]:
        """Erase every report sent to `number` (any international spelling); returns what was done and the audit record's key."""
        digits = normalise_number(number)
        if digits is None or digits.startswith("0") or "(0)" in number.replace(" ", ""):
            raise NotErasable("give the number in international format (+41 79 302 67 31 or 0041 79 302 67 31), as Infobip writes it")
        waiting = list(self._pending_fallback)
        if waiting:
            raise NotErasable(f"{len(waiting)} page(s) wait in the fallback table: restore them first (make restore-fallback)")
        drops, hashed = addressed_to(digits), self._hasher.of(digits)
        pending = f"erasure/pending/{hashed}.json"
        earlier = self._archive.get_record(pending)  # days a stopped run had set out to read
        days = set(extra_days) | {date.fromisoformat(d) for d in json.loads(earlier or "[]")}
        done, seen = Erased(), set[tuple[str, str]]()
        while True:
            found = self._indexed(hashed)
            more = self._days(found) - days
            if more or not done.passes:
                days |= more
                self._archive.put_record(pending, json.dumps(sorted(d.isoformat() for d in days)).encode())
            done.passes += 1
            before = (done.reports_deleted, done.versions_deleted)
            for day in sorted(days):
                for prefix in (RAW_PREFIX, REPORTS_PREFIX):
                    self._erase_day(f"{prefix}dt={day.isoformat()}/", drops, done, seen)
            done.reports_deleted += self._index.delete(list(found))
            if (done.reports_deleted, done.versions_deleted) == before:
                break  # this pass found nothing: nothing landed since the last one
            if done.passes == PASSES:
                raise StillArriving(f"reports to the number still land after {PASSES} passes: run again once its traffic stopped")
        done.days = sorted(d.isoformat() for d in days)
        when = now or datetime.now(UTC)
        key = f"erasure/{when:%Y%m%dT%H%M%S%f}Z-{hashed}.json"
        self._archive.put_record(key, json.dumps(done.audit(hashed, when), indent=1).encode())
        self._archive.delete_record(pending)
        return done, key

    def _indexed(self, hashed: str) -> dict[str, str]:
        """messageId -> sentAt of every report the destination index files under the number's hash."""
        stream, after = Stream(DESTINATION_INDEX, "toHash", hashed), None
        found: dict[str, str] = {}
        while True:
            hits, more = self._logs.newest(stream, "0", _LAST, after, 1000)
            found.update((hit.message_id, hit.sent_at) for hit in hits)
            if not (more and hits):
                return found
            after = hits[-1].position

    def _days(self, found: dict[str, str]) -> set[date]:
        """The days whose pages may hold the reports: each send day and the days after it, and the
        day of the page each stored report came from."""
        days: set[date] = set()
        for sent_at in found.values():
            sent = date.fromisoformat(sent_at[:10])
            days.update(sent + timedelta(days=n) for n in range(DAYS_AFTER_SENDING + 1))
        for stored in self._index.get_many(list(found)).values():
            if stored.raw_key and stored.raw_key.startswith(f"{RAW_PREFIX}dt="):
                days.add(date.fromisoformat(stored.raw_key[len(RAW_PREFIX) + 3 :][:10]))
        return days

    def _erase_day(self, prefix: str, drops: Drop, done: Erased, seen: set[tuple[str, str]]) -> None:
        """Every object of one day, reading only the versions no earlier pass has read or written."""
        by_key: dict[str, list[Version]] = {}
        for version in self._archive.versions(prefix):
            if (version.key, version.version_id) not in seen:
                by_key.setdefault(version.key, []).append(version)
        for key, versions in by_key.items():
            self._erase_object(key, versions, drops, done, seen)

    def _erase_object(self, key: str, versions: list[Version], drops: Drop, done: Erased, seen: set[tuple[str, str]]) -> None:
        """Cut the number's reports out of the current version; delete every older version holding one."""
        cut = cut_lines if key.startswith(REPORTS_PREFIX) else cut_page
        for version in versions:
            seen.add((key, version.version_id))
            if version.deleted:
                continue
            done.objects_read += 1
            try:
                kept, removed = cut(self._archive.read_version(key, version.version_id), drops)
            except (UnreadablePage, UnicodeDecodeError, json.JSONDecodeError):
                done.unreadable.append(f"{key}?versionId={version.version_id}")
                continue
            if not removed:
                continue
            if version.latest:
                seen.add((key, self._archive.rewrite(key, compress(kept))))
                done.objects_rewritten += 1
            done.reports_deleted += self._index.delete([r["messageId"] for r in removed if isinstance(r.get("messageId"), str)])
            self._archive.delete_version(key, version.version_id)
            done.versions_deleted += 1
