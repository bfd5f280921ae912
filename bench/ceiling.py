"""The local ceiling: the DynamoDB and S3 requests one collector run made, replayed by a bare client.

The run's requests are captured as sent (method, URL, headers, signed body; `bench.measure`
with BENCH_CAPTURE) and replayed here with `http.client` from the same number of threads the
collector's index writes use, against the same moto server, in the same bench run. No SDK, no
parsing, no gzip, no Infobip: what moto on this machine can take at most. The collector's
ingest rate over the replay's is the fraction of that ceiling the collector reaches.
"""

from __future__ import annotations

import http.client
import pickle
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

WORKERS = 8  # the collector's index thread pool (dlr_vault.index.ReportIndex)
DROPPED_HEADERS = {"expect", "content-length"}  # http.client sends the body at once and sets its length


def load(path: Path) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The requests our own child process pickled (a file in our own temporary directory)."""
    captured: list[tuple[str, str, dict[str, str], bytes]] = pickle.loads(path.read_bytes())  # nosec B301
    return captured


def retarget(requests: list[tuple[str, str, dict[str, str], bytes]], names: dict[str, str]) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The same requests aimed at fresh resources (`names`: old -> new, of equal length), so the replay
    writes into empty tables and reads keys that are not there yet, as the collector's run did.
    DynamoDB bodies are JSON and name their table; S3 requests name their bucket in the URL only.
    moto does not check signatures, so the signed headers may stay as they were."""

    def swap(text: str) -> str:
        for old, new in names.items():
            text = text.replace(old, new)
        return text

    out = []
    for method, url, headers, body in requests:
        dynamodb = any(k.lower() == "x-amz-target" for k in headers)
        out.append((method, swap(url), headers, swap(body.decode()).encode() if dynamodb else body))
    return out


def replay(requests: list[tuple[str, str, dict[str, str], bytes]], workers: int = WORKERS) -> tuple[float, int]:
    """Wall seconds to send every request (one connection each: moto closes them) and how many were refused (4xx or 5xx)."""
    pending = iter(requests)
    lock = threading.Lock()
    failures = [0]

    def work() -> None:
        while True:
            with lock:
                request = next(pending, None)
            if request is None:
                return
            method, url, headers, body = request
            parts = urlsplit(url)
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
            connection.connect()  # http.client sends headers and body in two writes: without TCP_NODELAY (urllib3's
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # default) Nagle holds the body for an ACK
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, path, body=body, headers={k: v for k, v in headers.items() if k.lower() not in DROPPED_HEADERS})
            status = connection.getresponse()
            status.read()
            connection.close()
            if status.status >= 400:
                with lock:
                    failures[0] += 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, failures[0]
