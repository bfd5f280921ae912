"""What a report costs over its life: ingested once, kept for a year, in dollars per million reports.

The model is arithmetic over two inputs, both read rather than assumed:
- a `StorageConfig` read from a template (table class, the table's key, every global secondary
  index with its projection, point-in-time recovery, the archive's lifecycle rule, the collector's
  memory, and whether event resources exist), with the template's parameter defaults;
- a `Measured` made by the bench after a real ingest (a sample of the table's items as stored,
  the BatchGetItem keys and BatchWriteItem puts the collector sent per report, the S3 objects it
  wrote per prefix, and its Lambda seconds per report).

Each row belongs to a capability ("core" or an optional one), so each option shows its own
marginal cost. Prices are written down below with their date; they are not fetched.
"""

from __future__ import annotations

import base64
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dlr_vault.stored_form import report_text, report_value
from local.stack import Resolver

GIB = 1024**3
DAYS_PER_MONTH = 365 / 12
S3_DEFAULT_MIN_TRANSITION_BYTES = 128 * 1024  # since September 2024: smaller objects do not transition by default
DYNAMODB_ITEM_OVERHEAD = 100  # bytes of storage per item, table and index alike

# us-east-1 list prices in USD, as published by AWS and written down on 2026-11-23 (not fetched at
# run time). Checked with the search tool against AWS's pricing and developer-guide pages where
# they were found: DynamoDB on-demand $0.625/M WRU and $0.125/M RRU (Standard), item-size rules
# and the 100-byte overhead, S3's 128 KB default minimum for lifecycle transitions, Glacier IR's
# 128 KB minimum billable size. The Standard-IA request and storage figures, PITR, EventBridge,
# Pipes and Lambda figures are AWS's published list prices as the project wrote them down; the
# search corpus held no page to check them against.
PRICES: dict[str, float] = {
    "dynamodb_wru_per_million:STANDARD": 0.625,
    "dynamodb_wru_per_million:STANDARD_INFREQUENT_ACCESS": 0.78,
    "dynamodb_rru_per_million:STANDARD": 0.125,
    "dynamodb_rru_per_million:STANDARD_INFREQUENT_ACCESS": 0.155,
    "dynamodb_storage_per_gb_month:STANDARD": 0.25,
    "dynamodb_storage_per_gb_month:STANDARD_INFREQUENT_ACCESS": 0.10,
    "dynamodb_pitr_per_gb_month": 0.20,
    "s3_put_per_thousand": 0.005,  # PUT, COPY, POST, LIST
    "s3_standard_per_gb_month": 0.023,
    "s3_glacier_ir_per_gb_month": 0.004,
    "s3_transition_glacier_ir_per_thousand": 0.02,
    "eventbridge_events_per_million": 1.00,  # custom events, per 64 KB chunk
    "eventbridge_api_destinations_per_million": 0.20,
    "eventbridge_pipes_per_million": 0.40,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "lambda_per_million_requests": 0.20,
}
PRICES_DATE = "2026-11-23"


# --------------------------------------------------------------------------- sizes
def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire form, by the developer guide's rules."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))  # wire form: base64 text
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """An item's size as DynamoDB bills writes and reads: names plus values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class IndexSpec:
    name: str
    keys: tuple[str, ...]  # the index's own key attributes
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    non_key: tuple[str, ...] = ()
    enabled: bool = True  # on with the template's parameter defaults

    def entry(self, item: dict[str, Any], table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """What the index stores for `item`; None when the item lacks a key attribute (sparse)."""
        if any(k not in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return item
        kept = {*table_keys, *self.keys, *(self.non_key if self.projection == "INCLUDE" else ())}
        return {k: v for k, v in item.items() if k in kept}


@dataclass(frozen=True)
class Lifecycle:
    transition_days: int | None = None  # to Glacier Instant Retrieval
    min_transition_bytes: int = S3_DEFAULT_MIN_TRANSITION_BYTES
    noncurrent_days: int | None = None


@dataclass(frozen=True)
class StorageConfig:
    label: str
    table_class: str = "STANDARD"
    table_keys: tuple[str, ...] = ("messageId",)
    indexes: tuple[IndexSpec, ...] = ()
    pitr: bool = False
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    memory_mb: int = 1024
    archive: bool = True  # raw/ and reports/ in S3 (the naive way keeps none)
    reads: bool = True  # the newest-wins BatchGetItem before each write
    event_bus: bool | None = None  # None: not in the template; else on with the defaults?
    api_destinations: bool | None = None
    pipes: bool | None = None
    report_form: str = "json"  # StoredReportForm: how the table keeps the report's JSON (json before it existed)


def in_form(item: dict[str, Any], form: str) -> dict[str, Any]:
    """`item` as a configuration with `form` stores it: the same report text, compressed or plain."""
    text = report_text(item.get("report"))
    return item if text is None else {**item, "report": report_value(text, compressed=form == "compressed")}


class _LogicalNames(dict[str, str]):
    """Resource references resolve to their logical ids (only parameters matter here)."""

    def __missing__(self, key: str) -> str:
        return key


class _NoValue:
    pass


NO_VALUE = _NoValue()


class TemplateReader:
    """Reads settings from a template with its parameter defaults, conditions included
    (`Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, `AWS::NoValue`)."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str] | None = None) -> None:
        self.template = template
        self.resolver = Resolver(template, parameters or {}, _LogicalNames())

    def condition(self, name: str) -> bool:
        return self.truth(self.template.get("Conditions", {})[name])

    def truth(self, expression: Any) -> bool:
        if isinstance(expression, bool):
            return expression
        if isinstance(expression, str):
            return expression.lower() == "true"
        ((function, args),) = expression.items()
        if function == "Fn::Equals":
            left, right = (self.value(a) for a in args)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.truth(args[0])
        if function == "Fn::And":
            return all(self.truth(a) for a in args)
        if function == "Fn::Or":
            return any(self.truth(a) for a in args)
        if function == "Condition":
            return self.condition(args)
        return self.truth(self.value(expression))

    def value(self, node: Any) -> Any:
        """`node` with conditions decided and references resolved (NO_VALUE for AWS::NoValue)."""
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return self.value(yes if self.condition(name) else no)
        if set(node) == {"Ref"} and node["Ref"] == "AWS::NoValue":
            return NO_VALUE
        if set(node) == {"Condition"}:
            return self.condition(node["Condition"])
        if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::GetAtt", "Fn::Sub"):
            return self.resolver(node)
        return {k: v for k, v in ((k, self.value(n)) for k, n in node.items()) if v is not NO_VALUE}

    def resource_enabled(self, logical: str) -> bool:
        condition = self.template["Resources"][logical].get("Condition")
        return True if condition is None else self.condition(condition)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if isinstance(v, dict) and v.get("Type") == kind}

    def indexes(self, table: dict[str, Any]) -> tuple[IndexSpec, ...]:
        """Every GSI the table can have; one behind `Fn::If` is listed with whether it is on by default."""
        out = []
        for node in table["Properties"].get("GlobalSecondaryIndexes", []):
            enabled, spec = True, node
            if isinstance(node, dict) and set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                chosen_if_on = yes if yes != {"Ref": "AWS::NoValue"} else no
                enabled = self.condition(name) == (chosen_if_on is yes)
                spec = chosen_if_on
            spec = self.value(spec)
            projection = spec.get("Projection", {})
            out.append(
                IndexSpec(
                    name=spec["IndexName"],
                    keys=tuple(k["AttributeName"] for k in spec["KeySchema"]),
                    projection=projection.get("ProjectionType", "ALL"),
                    non_key=tuple(projection.get("NonKeyAttributes", ())),
                    enabled=enabled,
                )
            )
        return tuple(out)

    def storage_config(self, label: str, table: str = "ReportsTable", bucket: str = "ArchiveBucket") -> StorageConfig:
        resource = self.template["Resources"][table]
        props = self.value(resource["Properties"])
        pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False)
        rules = self.value(self.template["Resources"][bucket]["Properties"].get("LifecycleConfiguration", {})).get("Rules", [])
        lifecycle = Lifecycle()
        for rule in rules:  # the rule for the whole bucket (no prefix filter) sets raw/ and reports/ tiers
            if rule.get("Status") != "Enabled" or rule.get("Prefix") or rule.get("Filter", {}).get("Prefix"):
                continue
            to_ir = [t for t in rule.get("Transitions", []) if t.get("StorageClass") == "GLACIER_IR"]
            above = rule.get("ObjectSizeGreaterThan")
            lifecycle = Lifecycle(
                transition_days=int(to_ir[0]["TransitionInDays"]) if to_ir else None,
                min_transition_bytes=int(above) + 1 if above is not None else S3_DEFAULT_MIN_TRANSITION_BYTES,
                noncurrent_days=int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
                if "NoncurrentVersionExpiration" in rule
                else None,
            )
        memory = self.value(self.template["Resources"]["CollectorFunction"]["Properties"].get("MemorySize")) or self.value(
            self.template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
        )

        variables = self.template["Resources"]["CollectorFunction"]["Properties"].get("Environment", {}).get("Variables", {})
        form = variables.get("STORED_REPORT_FORM")

        def present(kind: str) -> bool | None:
            found = self.resources(kind)
            return any(self.resource_enabled(k) for k in found) if found else None

        return StorageConfig(
            label=label,
            table_class=str(props.get("TableClass", "STANDARD")),
            table_keys=tuple(k["AttributeName"] for k in props["KeySchema"]),
            indexes=self.indexes(resource),
            pitr=str(pitr).lower() == "true",
            lifecycle=lifecycle,
            memory_mb=int(memory),
            event_bus=present("AWS::Events::EventBus"),
            api_destinations=present("AWS::Events::ApiDestination"),
            pipes=present("AWS::Pipes::Pipe"),
            report_form="json" if form is None else str(self.value(form)),
        )


def naive_config(memory_mb: int) -> StorageConfig:
    """One PutItem per report into a Standard table with no index, nothing archived, nothing read first."""
    return StorageConfig(label="naive", memory_mb=memory_mb, archive=False, reads=False, lifecycle=Lifecycle())


# --------------------------------------------------------------------------- measured inputs
@dataclass(frozen=True)
class Objects:
    """The S3 objects one prefix got for `reports` reports (current versions) and its noncurrent versions."""

    reports: int
    sizes: tuple[int, ...]
    noncurrent_sizes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Measured:
    reports: int
    items: tuple[dict[str, Any], ...]  # a sample of the table's items as stored
    puts_per_report: float  # BatchWriteItem put requests per report
    read_keys_per_report: float  # BatchGetItem keys per report
    consistent_reads: bool
    s3: dict[str, Objects]  # prefix -> objects
    lambda_seconds_per_report: float
    invocations_per_report: float


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class CostRow:
    capability: str  # "core" or an optional capability
    part: str
    usd: float  # per million reports, ingested and kept `months`
    included: bool  # on in this configuration (off rows show what switching it on would add)
    detail: str = ""


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.fmean(values) if values else 0.0


def life_cost(config: StorageConfig, measured: Measured, prices: dict[str, float] = PRICES, months: float = 12) -> list[CostRow]:
    """Rows of the cost of a million reports ingested once and each kept `months` months.

    Storage is counted per report over its own life: a report stored for `months` months costs
    size x `months` GB-months, whenever in the year it arrived. (A steady ingest's first calendar
    year holds on average half its year's reports, so that year's bill shows half the storage
    rows; in a steady state with a year's retention the two agree.)"""
    million, rows = 1_000_000, []
    cls = config.table_class
    wru, rru = prices[f"dynamodb_wru_per_million:{cls}"], prices[f"dynamodb_rru_per_million:{cls}"]
    gb_month = prices[f"dynamodb_storage_per_gb_month:{cls}"]
    items = [in_form(i, config.report_form) for i in measured.items]
    sizes = [item_size(i) for i in items]
    puts = measured.puts_per_report

    def row(capability: str, part: str, usd: float, detail: str, included: bool = True) -> None:
        rows.append(CostRow(capability, part, usd, included, detail))

    units = _mean(math.ceil(s / 1024) for s in sizes)
    row(
        "core",
        "table writes",
        puts * units * wru,
        f"{puts:.2f} puts/report x {units:.2f} WRU ({_mean(sizes):.0f} B/item, report {config.report_form}), {cls}",
    )
    table_gb = _mean(s + DYNAMODB_ITEM_OVERHEAD for s in sizes) * million / GIB
    row("core", "table storage", table_gb * months * gb_month, f"{table_gb:.3f} GB x {months:g} months")
    for index in config.indexes:
        entries = [index.entry(i, config.table_keys) for i in items]
        kept = [item_size(e) for e in entries if e is not None]
        share = len(kept) / len(entries) if entries else 0.0
        capability = "core" if index.name == _core_index() else f"index {index.name}"
        index_units = share * _mean(math.ceil(s / 1024) for s in kept)
        detail = f"{index.projection}, {share:.0%} of items, {_mean(kept):.0f} B/entry"
        row(capability, f"index {index.name} writes", puts * index_units * wru, detail + f", {index_units:.2f} WRU/report", index.enabled)
        index_gb = share * _mean(s + DYNAMODB_ITEM_OVERHEAD for s in kept) * million / GIB
        storage = index_gb * months * gb_month
        row(capability, f"index {index.name} storage", storage, f"{index_gb:.3f} GB x {months:g} months", index.enabled)
    if config.reads:
        per_key = (1.0 if measured.consistent_reads else 0.5) * _mean(max(1, math.ceil(s / 4096)) for s in sizes)
        reads = measured.read_keys_per_report * per_key
        kind = "strongly consistent" if measured.consistent_reads else "eventually consistent"
        row("core", "reads (newest-wins BatchGetItem)", reads * rru, f"{measured.read_keys_per_report:.2f} keys/report, {kind}")
    row(
        "point-in-time recovery",
        "PITR (table size)",
        table_gb * months * prices["dynamodb_pitr_per_gb_month"],
        f"{table_gb:.3f} GB x {months:g} months",
        config.pitr,
    )
    if config.archive:
        for prefix, objects in sorted(measured.s3.items()):
            _s3_rows(row, prefix, objects, config.lifecycle, prices, months)
    lambda_gb_s = measured.lambda_seconds_per_report * config.memory_mb / 1024 * million
    row(
        "core",
        "Lambda (collector)",
        lambda_gb_s * prices["lambda_arm64_per_gb_second"] + measured.invocations_per_report * prices["lambda_per_million_requests"],
        f"{measured.lambda_seconds_per_report * 1e6:.0f} µs/report at {config.memory_mb} MB",
    )
    events = [
        ("events (EventBridge)", config.event_bus, "eventbridge_events_per_million", "one event per stored change"),
        ("API destinations (webhooks)", config.api_destinations, "eventbridge_api_destinations_per_million", "one call per event"),
        ("EventBridge Pipes", config.pipes, "eventbridge_pipes_per_million", "one request per stream record"),
    ]
    for name, present, price, detail in events:
        if present is not None:
            row(name, name, puts * prices[price], detail, present)
    return rows


def _core_index() -> str:
    """The bulk index the lookup reads: part of the core pair; any other index is an option."""
    from dlr_vault.index import BULK_INDEX

    return BULK_INDEX


def _s3_rows(row: Any, prefix: str, objects: Objects, lifecycle: Lifecycle, prices: dict[str, float], months: float) -> None:
    """PUTs, storage over the lifecycle tiers and transitions of one prefix, per million reports."""
    scale = 1_000_000 / objects.reports
    life_days = months * DAYS_PER_MONTH
    moves = lifecycle.transition_days is not None and life_days > lifecycle.transition_days
    moving = [s for s in objects.sizes if moves and s >= lifecycle.min_transition_bytes]
    staying = [s for s in objects.sizes if not (moves and s >= lifecycle.min_transition_bytes)]
    standard_days = lifecycle.transition_days if moving else 0
    gb = scale / GIB
    standard = (sum(staying) * life_days + sum(moving) * standard_days) / DAYS_PER_MONTH * gb
    glacier = sum(moving) * (life_days - standard_days) / DAYS_PER_MONTH * gb
    noncurrent = sum(objects.noncurrent_sizes) * (lifecycle.noncurrent_days or life_days) / DAYS_PER_MONTH * gb
    puts = len(objects.sizes) * scale
    each = f"{puts:,.0f} objects a million reports, {_mean(objects.sizes) / 1024:.0f} KB each"
    row("core", f"S3 {prefix} PUTs", puts * prices["s3_put_per_thousand"] / 1000, each)
    row(
        "core",
        f"S3 {prefix} storage",
        (standard + noncurrent) * prices["s3_standard_per_gb_month"] + glacier * prices["s3_glacier_ir_per_gb_month"],
        f"{sum(objects.sizes) * gb:.3f} GB; {len(moving)}/{len(objects.sizes)} objects >= {lifecycle.min_transition_bytes // 1024} KB "
        f"move to Glacier IR after {lifecycle.transition_days} days"
        + (f"; {len(objects.noncurrent_sizes)} noncurrent versions" if objects.noncurrent_sizes else ""),
    )
    if moving:
        row(
            "core",
            f"S3 {prefix} transitions",
            len(moving) * scale * prices["s3_transition_glacier_ir_per_thousand"] / 1000,
            f"{len(moving) * scale:,.0f} lifecycle transitions",
        )


def totals(rows: list[CostRow]) -> tuple[float, float]:
    """(the core's cost, the cost with every capability this configuration switches on)."""
    core = sum(r.usd for r in rows if r.capability == "core" and r.included)
    return core, sum(r.usd for r in rows if r.included)
