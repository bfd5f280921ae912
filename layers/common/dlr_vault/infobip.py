"""Infobip client for `GET /sms/{1|3}/reports`: one pooled session, bounded retries, loud failures.

Every successful GET may have consumed reports at Infobip, so the client returns the body
bytes untouched and never retries a request whose answer it already received.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

CONNECT_TIMEOUT = 3.05
MAX_BACKOFF = 20.0


class InfobipError(Exception):
    """Infobip did not hand out a page; nothing was consumed unless `possible_gap` says so."""

    def __init__(self, message: str, *, retries: int = 0, possible_gaps: int = 0) -> None:
        super().__init__(message)
        self.retries = retries
        self.possible_gaps = possible_gaps


class InfobipAuthError(InfobipError):
    """401/403: the key is wrong or lacks the scope; retrying cannot help."""


class InfobipRequestError(InfobipError):
    """Another 4xx: the request itself is wrong (bad limit, unknown path)."""


class InfobipUnavailable(InfobipError):
    """429, 5xx or network errors persisted for as long as the time budget allowed."""


@dataclass
class Page:
    """One answered GET: the body exactly as received, and what it took to get it."""

    body: bytes
    fetched_at: datetime
    retries: int = 0
    possible_gaps: int = 0
    deprecation: dict[str, str] = field(default_factory=dict)


def _request_was_sent(exc: requests.RequestException) -> bool:
    """False only when the connection was never made, so Infobip cannot have consumed anything."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    cause = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(cause, (NewConnectionError, ConnectTimeoutError))


class InfobipClient:
    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str],
        version: int,
        *,
        reread_key: Callable[[], str] | None = None,
        read_timeout: float = 20.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self._api_key = api_key
        self._reread_key = reread_key  # bypasses the key's cache: after a rotation the cached key gets a 401
        self.read_timeout = read_timeout
        self._session = session or requests.Session()
        self._sleep = sleep

    @property
    def worst_case_seconds(self) -> float:
        """How long one GET can take before it gives up: what the run loop must keep in reserve."""
        return CONNECT_TIMEOUT + self.read_timeout

    def fetch_reports(self, limit: int, time_left: Callable[[], float]) -> Page:
        """GET one page of unread reports (each is handed out once)."""
        return self._get(f"/sms/{self.version}/reports", {"limit": limit}, time_left)

    def fetch_logs(self, params: dict[str, str | int], time_left: Callable[[], float]) -> Page:
        """GET one page of `/sms/3/logs` (not consumed on read; 48 hours; cursor paging)."""
        return self._get("/sms/3/logs", params, time_left)

    def _get(self, path: str, params: dict[str, str | int], time_left: Callable[[], float]) -> Page:
        """GET `path`, retrying only what cannot have consumed anything (or, for read timeouts,
        what is lost anyway), while `time_left()` allows it."""
        retries = gaps = 0
        attempt = 0
        reread = False
        while True:
            attempt += 1
            try:
                key = self._api_key()
                response = self._session.get(
                    self.base_url + path,
                    params=params,
                    headers={"Authorization": f"App {key}", "Accept": "application/json"},
                    timeout=(CONNECT_TIMEOUT, self.read_timeout),
                )
                if response.status_code == 401 and not reread and self._reread_key is not None:
                    reread = True  # once: a rotated key replaces the cached one; the same key again cannot help
                    if self._reread_key() != key:
                        retries += 1
                        continue
                reason = self._classify(response, retries, gaps)
                if reason is None:
                    return Page(
                        body=response.content,
                        fetched_at=datetime.now(UTC),
                        retries=retries,
                        possible_gaps=gaps,
                        deprecation={k: v for k, v in response.headers.items() if k.lower() in ("deprecation", "sunset")},
                    )
                wait = self._retry_after(response) if response.status_code == 429 else None
            except requests.RequestException as exc:
                if not _request_was_sent(exc):
                    reason, wait = f"cannot connect: {exc.__class__.__name__}", None
                else:
                    # The request went out; Infobip may have marked a page read that never reached us.
                    gaps += 1
                    reason, wait = f"possible gap, answer lost in transit: {exc.__class__.__name__}", None
            if wait is None:  # full jitter (not a secret: plain random is right)
                wait = random.uniform(0, min(MAX_BACKOFF, 0.5 * 2**attempt))  # noqa: S311  # nosec B311
            if wait + self.worst_case_seconds > time_left():
                raise InfobipUnavailable(f"giving up after {attempt} attempts: {reason}", retries=retries, possible_gaps=gaps)
            retries += 1
            self._sleep(wait)

    @staticmethod
    def _classify(response: requests.Response, retries: int, gaps: int) -> str | None:
        """None for a page to keep; a reason to retry; raises for answers retrying cannot fix."""
        code = response.status_code
        if code == 200:
            return None
        summary = f"HTTP {code} from Infobip: {response.text[:300]!r}"
        if code in (401, 403):
            raise InfobipAuthError(summary + " (check the API key secret and its scopes)", retries=retries, possible_gaps=gaps)
        if code == 429 or code >= 500:
            return summary
        raise InfobipRequestError(summary, retries=retries, possible_gaps=gaps)

    @staticmethod
    def _retry_after(response: requests.Response) -> float | None:
        """Seconds from a `Retry-After` header (delta-seconds or HTTP date); None if absent or bad."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None
