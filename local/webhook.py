"""The webhook locally: what EventBridge's API destination would POST, posted to a receiver on 127.0.0.1.

moto sends API-destination calls with an empty body, so the local stack points the webhook rule
at a queue instead (local/stack.py), keeping the rule's pattern and its InputTransformer: moto
applies the template's own transformer, and `forward` posts each transformed body to the
destination's InvocationEndpoint with the connection's header, as EventBridge would.
`WebhookReceiver` plays the customer's endpoint: it keeps what arrives.
"""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import requests

from local.httpd import LoopbackServer
from local.stack import LocalStack

DESTINATION = "WebhookDestination"
CONNECTION = "WebhookConnection"


class WebhookReceiver(LoopbackServer):
    """A notifyUrl on 127.0.0.1: answers 200 and keeps every (headers, body) it receives."""

    name = "webhook-receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        super().__init__(self._handler(), host, port)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


def _secret(stack: LocalStack, value: str) -> str:
    """A `{{resolve:secretsmanager:NAME}}` dynamic reference, resolved against the local secrets."""
    if not value.startswith("{{resolve:secretsmanager:"):
        return value
    name = value.removeprefix("{{resolve:secretsmanager:").removesuffix("}}")
    return stack.clients("secretsmanager").get_secret_value(SecretId=name)["SecretString"]


def connection_headers(stack: LocalStack) -> dict[str, str]:
    """The header the template's connection makes EventBridge send (basic or API key)."""
    auth = stack.resolver(stack.resolver.template["Resources"][CONNECTION]["Properties"]["AuthParameters"])
    if "BasicAuthParameters" in auth:
        basic = auth["BasicAuthParameters"]
        token = base64.b64encode(f"{basic['Username']}:{_secret(stack, basic['Password'])}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    key = auth["ApiKeyAuthParameters"]
    return {key["ApiKeyName"]: _secret(stack, key["ApiKeyValue"])}


def forward(stack: LocalStack) -> int:
    """POST every body waiting in the webhook's stand-in queue to the destination; returns how many."""
    sqs = stack.clients("sqs")
    queue = sqs.get_queue_url(QueueName=stack.names[DESTINATION])["QueueUrl"]
    endpoint = stack.resolver(stack.resolver.template["Resources"][DESTINATION]["Properties"]["InvocationEndpoint"])
    headers = {"Content-Type": "application/json; charset=utf-8", **connection_headers(stack)}
    sent = 0
    with requests.Session() as session:
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                session.post(endpoint, data=message["Body"].encode(), headers=headers, timeout=10).raise_for_status()
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=queue, Entries=done)
            sent += len(messages)
    return sent
