"""Settings read once from the environment the template wires; bad values fail at cold start."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_PAGE_SIZE = {1: 10000, 3: 1000}
STORED_REPORT_FORMS = ("compressed", "json")  # the StoredReportForm template parameter (unset: compressed)


class ConfigError(ValueError):
    """A missing or out-of-range setting."""


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is required")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (its first when unset)."""
    value = env.get(name, "").strip() or allowed[0]
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _base_url(env: Mapping[str, str]) -> str:
    """https only: the API key travels in every request. Plain http only to this machine (the local stack, tests)."""
    base_url = _require(env, "INFOBIP_BASE_URL").rstrip("/")
    try:
        parts = urlsplit(base_url)
        host, _ = parts.hostname or "", parts.port  # .port raises ValueError for a malformed port
    except ValueError:
        raise ConfigError("INFOBIP_BASE_URL is not a valid URL") from None
    if parts.scheme == "https" and host:
        return base_url
    if parts.scheme == "http" and (host == "localhost" or _is_loopback(host)):
        return base_url
    raise ConfigError("INFOBIP_BASE_URL must start with https:// (plain http only for a loopback address)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class CollectorSettings:
    base_url: str
    api_key_secret: str
    api_version: int
    page_size: int
    retention_days: int
    reports_table: str
    state_table: str
    archive_bucket: str
    fallback_table: str
    read_timeout: float
    poll_interval: float = 0.0
    search_key_secret: str = ""  # empty: the search indexes are off and items carry no search attributes
    compress_reports: bool = True  # STORED_REPORT_FORM: compressed (the default) or json

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> CollectorSettings:
        version = _integer(env, "INFOBIP_API_VERSION", 1, 1, 3)
        if version not in MAX_PAGE_SIZE:
            raise ConfigError(f"INFOBIP_API_VERSION must be 1 or 3, got {version}")
        return cls(
            base_url=_base_url(env),
            api_key_secret=_require(env, "INFOBIP_API_KEY_SECRET"),
            api_version=version,
            page_size=_integer(env, "PAGE_SIZE", 1000, 1, MAX_PAGE_SIZE[version]),
            retention_days=_integer(env, "RETENTION_DAYS", 0, 0, 36500),
            reports_table=_require(env, "REPORTS_TABLE"),
            state_table=_require(env, "STATE_TABLE"),
            archive_bucket=_require(env, "ARCHIVE_BUCKET"),
            fallback_table=_require(env, "FALLBACK_TABLE"),
            read_timeout=float(_integer(env, "INFOBIP_READ_TIMEOUT", 20, 1, 300)),
            poll_interval=float(_integer(env, "POLL_INTERVAL_SECONDS", 0, 0, 30)),
            search_key_secret=env.get("SEARCH_KEY_SECRET", "").strip(),
            compress_reports=_choice(env, "STORED_REPORT_FORM", STORED_REPORT_FORMS) == "compressed",
        )


SEARCH_INDEXES = ("none", "all", "destination")  # the SearchIndexes template parameter (unset: none)


@dataclass(frozen=True)
class LookupSettings:
    reports_table: str
    cursor_key_secret: str
    search_key_secret: str = ""
    search_indexes: str = "none"
    bulk_counters_table: str = ""  # empty: BulkCountersEnabled is off, summaries are summed from the index

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> LookupSettings:
        indexes = _choice(env, "SEARCH_INDEXES", SEARCH_INDEXES)
        key = env.get("SEARCH_KEY_SECRET", "").strip()
        if indexes != "none" and not key:
            raise ConfigError("SEARCH_KEY_SECRET is required when SEARCH_INDEXES is not none")
        return cls(
            reports_table=_require(env, "REPORTS_TABLE"),
            cursor_key_secret=_require(env, "CURSOR_KEY_SECRET"),
            search_key_secret=key,
            search_indexes=indexes,
            bulk_counters_table=env.get("BULK_COUNTERS_TABLE", "").strip(),
        )


@dataclass(frozen=True)
class NotifierSettings:
    """Either may be empty (its switch is off), not both: the notifier exists only when one is on."""

    event_bus: str
    bulk_counters_table: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> NotifierSettings:
        settings = cls(event_bus=env.get("EVENT_BUS_NAME", "").strip(), bulk_counters_table=env.get("BULK_COUNTERS_TABLE", "").strip())
        if not settings.event_bus and not settings.bulk_counters_table:
            raise ConfigError("EVENT_BUS_NAME or BULK_COUNTERS_TABLE is required")
        return settings
