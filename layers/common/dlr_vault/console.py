"""The support console: its page and files with strict security headers, and its read routes.

ConsoleApi (template.yaml) serves the page without sign-in and puts the lookup routes the page
needs under `/console/api`, behind a Cognito user-pool authorizer. `mirrored` maps such an event
back to the lookup route it mirrors, so people and machines get the very same answers. Only the
API Gateway *resource* decides that (never the path a caller typed), so no route that is not
guarded by the authorizer can reach a report through this prefix. docs/console.md has the why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response

WEB = Path(__file__).with_name("console_web")
API_PREFIX = "/console/api"
# The lookup routes the page calls; ConsoleApi has exactly these under API_PREFIX (a test holds it).
MIRRORED = ("/sms/3/reports", "/bulks/{bulkId}/summary", "/sms/3/logs")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_FILES = ("console.js", "console.css", "icon.svg")


@dataclass(frozen=True)
class ConsoleSettings:
    """The user pool the page signs people in with; its ids are public (every sign-in sends them)."""

    user_pool_id: str
    client_id: str
    cognito_endpoint: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ConsoleSettings | None:
        """None where the console is not configured (LookupFunction): its pages are then 404."""
        values = [env.get(name, "").strip() for name in ("CONSOLE_USER_POOL_ID", "CONSOLE_CLIENT_ID", "CONSOLE_COGNITO_ENDPOINT")]
        return cls(*values) if all(values) else None

    @property
    def cognito_origin(self) -> str:
        url = urlsplit(self.cognito_endpoint)
        return f"{url.scheme}://{url.netloc}"

    def page_config(self) -> dict[str, str]:
        return {
            "userPoolId": self.user_pool_id,
            "clientId": self.client_id,
            "cognitoEndpoint": self.cognito_origin,
            "region": self.user_pool_id.split("_", 1)[0],
        }


def security_headers(settings: ConsoleSettings) -> dict[str, str]:
    """No inline script or style, no third-party origin: the page talks to itself and to Cognito only."""
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {settings.cognito_origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Strict-Transport-Security": "max-age=31536000",
    }


@cache
def _file(name: str) -> str:
    return (WEB / name).read_text()


def _answer(settings: ConsoleSettings, status: int, content_type: str, body: str, cache_control: str) -> Response[Any]:
    headers = {**security_headers(settings), "Cache-Control": cache_control}
    return Response(status_code=status, content_type=content_type, body=body, headers=headers)


def not_found() -> Response[Any]:
    body = {"requestError": {"serviceException": {"messageId": "NOT_FOUND", "text": "no such resource"}}}
    return Response(status_code=404, content_type="application/json", body=json.dumps(body))


def page(settings: ConsoleSettings | None) -> Response[Any]:
    if settings is None:
        return not_found()
    return _answer(settings, 200, _TYPES[".html"], _file("index.html"), "no-cache")


def asset(settings: ConsoleSettings | None, name: str) -> Response[Any]:
    """The page's script, style and icon (a fixed list, never a path), and its config.json."""
    if settings is None:
        return not_found()
    if name == "config.json":
        return _answer(settings, 200, "application/json", json.dumps(settings.page_config()), "no-cache")
    if name not in _FILES:
        return _answer(settings, 404, "text/plain; charset=utf-8", "not found", "no-cache")
    return _answer(settings, 200, _TYPES[Path(name).suffix], _file(name), "no-cache")


def mirrored(event: dict[str, Any]) -> dict[str, Any]:
    """A `/console/api/...` resource's event as the lookup route it mirrors; any other event unchanged."""
    resource = event.get("resource") or ""
    if not resource.startswith(API_PREFIX + "/"):
        return event
    path = event.get("path") or ""
    return {**event, "path": path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path}


def api_headers(event: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """Answers to people's browsers hold reports: never stored by the browser or a proxy."""
    if (event.get("resource") or "").startswith(API_PREFIX + "/"):
        answer.setdefault("multiValueHeaders", {})["Cache-Control"] = ["no-store"]
        answer["multiValueHeaders"]["X-Content-Type-Options"] = ["nosniff"]
    return answer
