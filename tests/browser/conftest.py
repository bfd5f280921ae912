"""The support console in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromium-driver (nothing is downloaded), against the local stack over real HTTP: moto
server (AWS and the Cognito user pool), the Infobip simulator, the real collector and the real
lookup handler behind the local API Gateway stand-in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import browser as browser_kit
from local.cognito import UserPoolAuthorizer, create_user
from local.infobip_sim import InfobipSimulator, make_reports
from local.stack import LocalStack, reset_runtime
from tests.conftest import LOCAL_API_KEY
from tests.moto_server.conftest import aws, moto_endpoint, stack_prefix  # noqa: F401 - moto server, as tests/moto_server uses it

USER = "support"
WAIT = 15


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the browser, its tests skip with one line (pytest folds marked skips per file)."""
    if not browser_kit.available():
        for item in items:
            if "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=browser_kit.INSTALL))


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    """One headless Chromium for the session, with a fresh profile; each test gets a new origin."""
    driver = browser_kit.launch(tmp_path_factory.mktemp("chromium-profile"), downloads)
    yield driver
    driver.quit()


@dataclass
class Console:
    """The console of one local stack: its URL, its user, the reports the collector stored."""

    url: str
    api_url: str
    cognito: str
    password: str
    authorizer: UserPoolAuthorizer
    reports: list[dict[str, Any]]
    user: str = USER

    @property
    def origin(self) -> str:
        return origin(self.url)

    def lookup(self, path: str, **params: str) -> Any:
        """What the machine API (x-api-key) answers: the console must show the same."""
        import requests

        return requests.get(self.api_url + path, params=params, headers={"x-api-key": LOCAL_API_KEY}, timeout=10).json()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def console(
    make_stack: Callable[..., LocalStack],
    sim: InfobipSimulator,
    collect: Callable[..., dict[str, Any]],
    lookup_handler: Callable[..., dict[str, Any]],
    aws: Callable[[str], Any],  # noqa: F811 - the moto server fixture imported above
    moto_endpoint: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Console]:
    """A v3 stack with 150 reports in 5 bulks collected, one console user, the API on a free port."""
    from local.api import LocalApi

    stack = make_stack(InfobipApiVersion="3")
    for name, value in stack.environment("ConsoleFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONSOLE_COGNITO_ENDPOINT", moto_endpoint)  # moto plays cognito-idp.<region>.amazonaws.com
    reset_runtime()
    sim.add(make_reports(150, bulks=5, seed=5))
    assert collect()["outcome"] == "ok"
    pool, client = stack.names["ConsoleUserPool"], stack.names["ConsoleUserPoolClient"]
    password = create_user(aws("cognito-idp"), pool, USER)
    authorizer = UserPoolAuthorizer(moto_endpoint, pool, client)
    with LocalApi(lookup_handler, LOCAL_API_KEY, port=0, console=authorizer) as api:
        yield Console(f"{api.url}/console", api.url, moto_endpoint, password, authorizer, list(sim.handed_out))


def requests_seen(driver: Any) -> list[dict[str, Any]]:
    """Requests the page sent since the last call (Chromium's performance log, DevTools events)."""
    sent = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            sent.append(message["params"]["request"])
    return sent


@pytest.fixture
def page(browser: Any, console: Console, downloads: Path) -> Iterator[Any]:
    """The browser with an empty performance log and download folder, for this test's console."""
    requests_seen(browser)
    browser.get_log("browser")
    for old in downloads.iterdir():
        old.unlink()
    yield browser
    browser.get("about:blank")


def screenshot_path() -> Path:
    """Where the bulk test saves its screenshot: docs/img/console.png with `make screenshot`."""
    from local.stack import ROOT

    target = Path(os.environ.get("CONSOLE_SCREENSHOT", ROOT / ".local-stack" / "console.png"))
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
