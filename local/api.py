"""The lookup API on 127.0.0.1, served the way `sam local start-api` would, without Docker.

Routes come from the template's `Api` events of LookupFunction; each request becomes an API
Gateway REST proxy event for the real handler. Like API Gateway with `ApiKeyRequired`, a
request without the right `x-api-key` is refused before the function runs; so is one whose
Host header is not this server's loopback address (a web page on another origin that rebinds
its DNS name to 127.0.0.1 still sends its own name as Host).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.context import LocalLambdaContext
from local.httpd import LoopbackServer
from local.stack import function_routes, load_template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _route_regex(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(pattern)


class ProxyEvents:
    """Builds API Gateway REST proxy events for the template's routes of LookupFunction."""

    def __init__(self, stage: str = "v1") -> None:
        self.stage = stage
        self.routes = [(method, path, _route_regex(path)) for method, path in function_routes(load_template(), "LookupFunction")]

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The template resource answering `method path` (specific routes before the proxy)."""
        candidates = sorted(self.routes, key=lambda r: "{proxy+}" in r[1])
        for route_method, resource, regex in candidates:
            found = regex.fullmatch(path)
            if found and route_method in (method, "ANY"):
                return resource, found.groupdict()
        return None

    def event(self, method: str, raw_path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        url = urlsplit(raw_path)
        path = unquote(url.path)
        matched = self.match(method, path)
        if matched is None:
            return None
        resource, path_parameters = matched
        multi = parse_qs(url.query, keep_blank_values=True) or None
        return {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} if multi else None,
            "multiValueQueryStringParameters": multi,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "127.0.0.1", "apiKey": headers.get("x-api-key"), "apiKeyId": "local"},
            },
            "body": None,
            "isBase64Encoded": False,
        }


class LocalApi(LoopbackServer):
    """The handler behind an HTTP server that checks `x-api-key` the way API Gateway would."""

    name = "local-api"

    def __init__(self, handler: Handler, api_key: str, host: str = "127.0.0.1", port: int = 3000, stage: str = "v1") -> None:
        self.handler = handler
        self.api_key = api_key
        self.events = ProxyEvents(stage)
        super().__init__(self._http_handler(), host, port)
        bound = self._server.server_address[1]
        self.hosts = {f"{name}:{bound}" for name in ("127.0.0.1", "localhost")}

    def _http_handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Http(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _gateway_error(self, status: int, kind: str, text: str) -> None:
                body = {"requestError": {"serviceException": {"messageId": kind, "text": text}}}
                self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("host") not in api.hosts:
                    self._gateway_error(403, "FORBIDDEN_HOST", "Forbidden")
                    return
                if headers.get("x-api-key") != api.api_key:
                    self._gateway_error(403, "INVALID_API_KEY", "Forbidden")
                    return
                event = api.events.event(self.command, self.path, headers)
                if event is None:
                    self._gateway_error(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
                    return
                answer = api.handler(event, LocalLambdaContext(seconds=10))
                body = answer.get("body") or ""
                data = body.encode() if isinstance(body, str) else body
                headers = {k: str(v) for k, v in (answer.get("headers") or {}).items()}
                headers.update({k: ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()})
                self._send(answer["statusCode"], data, headers)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

        return Http
