"""The lookup API on 127.0.0.1, served the way `sam local start-api` would, without Docker.

Routes come from the template's `Api` events of LookupFunction (and ConsoleFunction, when the
console is served: both run the same handler code); each request becomes an API Gateway REST
proxy event for the real handler. Each route is guarded as its API says: with `ApiKeyRequired`,
a request without the right `x-api-key` is refused before the function runs (403); behind a
Cognito authorizer, one without a valid ID token of the pool is (401), and the token's claims
reach the function as `requestContext.authorizer.claims`. In AWS the console is an API of its
own (another host); here its routes share the port, as their paths do not overlap. A request
whose Host header is not this server's loopback address is refused too (a web page on another
origin that rebinds its DNS name to 127.0.0.1 still sends its own name as Host).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.cognito import UserPoolAuthorizer
from local.context import LocalLambdaContext
from local.httpd import LoopbackServer
from local.stack import load_template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _route_regex(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(pattern)


def route_guard(template: dict[str, Any], event: dict[str, Any]) -> str:
    """How API Gateway guards an `Api` event: "api_key", "cognito" or "none" (its API's Auth,
    overridden by the event's own)."""
    api = template["Resources"][event["Properties"]["RestApiId"]["Ref"]]["Properties"].get("Auth", {})
    own = event["Properties"].get("Auth", {})
    if own.get("ApiKeyRequired", api.get("ApiKeyRequired", False)):
        return "api_key"
    authorizer = own.get("Authorizer", api.get("DefaultAuthorizer", "NONE"))
    if authorizer != "NONE" and "UserPoolArn" in api.get("Authorizers", {}).get(authorizer, {}):
        return "cognito"
    return "none"


class ProxyEvents:
    """Builds API Gateway REST proxy events for the template's routes of the given functions."""

    def __init__(self, stage: str = "v1", functions: tuple[str, ...] = ("LookupFunction",)) -> None:
        self.stage = stage
        template = load_template()
        self.routes = []  # (method, path, regex, guard)
        for function in functions:
            for event in template["Resources"][function]["Properties"].get("Events", {}).values():
                if event["Type"] == "Api":
                    method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
                    self.routes.append((method, path, _route_regex(path), route_guard(template, event)))

    def match(self, method: str, path: str) -> tuple[str, dict[str, str], str] | None:
        """The template resource answering `method path` (specific routes before the proxies),
        its path parameters and its guard."""
        candidates = sorted(self.routes, key=lambda r: "+}" in r[1])
        for route_method, resource, regex, guard in candidates:
            found = regex.fullmatch(path)
            if found and route_method in (method, "ANY"):
                return resource, found.groupdict(), guard
        return None

    def event(self, method: str, raw_path: str, headers: dict[str, str]) -> dict[str, Any] | None:
        url = urlsplit(raw_path)
        path = unquote(url.path)
        matched = self.match(method, path)
        if matched is None:
            return None
        resource, path_parameters, _ = matched
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
    """The handler behind an HTTP server that checks `x-api-key` (and, for the console's routes,
    Cognito ID tokens) the way API Gateway would."""

    name = "local-api"

    def __init__(
        self,
        handler: Handler,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 3000,
        stage: str = "v1",
        console: UserPoolAuthorizer | None = None,
    ) -> None:
        self.handler = handler
        self.api_key = api_key
        self.console = console
        self.events = ProxyEvents(stage, ("LookupFunction", "ConsoleFunction") if console else ("LookupFunction",))
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
                matched = api.events.match(self.command, unquote(urlsplit(self.path).path))
                if matched is None:
                    self._gateway_error(403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
                    return
                guard = matched[2]
                if guard == "api_key" and headers.get("x-api-key") != api.api_key:
                    self._gateway_error(403, "INVALID_API_KEY", "Forbidden")
                    return
                claims = api.console.claims(headers.get("authorization", "")) if guard == "cognito" and api.console else None
                if guard == "cognito" and claims is None:
                    self._gateway_error(401, "UNAUTHORIZED", "Unauthorized")
                    return
                event = api.events.event(self.command, self.path, headers)
                assert event is not None
                if claims is not None:
                    event["requestContext"]["authorizer"] = {"claims": claims}
                answer = api.handler(event, LocalLambdaContext(seconds=10))
                body = answer.get("body") or ""
                data = body.encode() if isinstance(body, str) else body
                headers = {k: str(v) for k, v in (answer.get("headers") or {}).items()}
                headers.update({k: ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()})
                self._send(answer["statusCode"], data, headers)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any

        return Http
