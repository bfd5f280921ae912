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


def replay(requests: list[tuple[str, str, dict[str, str], bytes]], workers: int = WORKERS) -> tuple[float, int]:
    """Wall seconds to send every request (one connection each: moto closes them) and how many failed with a 5xx."""
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
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, path, body=body, headers={k: v for k, v in headers.items() if k.lower() not in DROPPED_HEADERS})
            status = connection.getresponse()
            status.read()
            connection.close()
            if status.status >= 500:
                with lock:
                    failures[0] += 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, failures[0]
