"""The support console in headless Chromium against the local stack: what a first visit costs in
bytes, and how long a search takes from its start to the first result drawn (`make bench`)."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

from local import browser
from local.infobip_sim import InfobipSimulator, make_reports

TITLE = "return document.getElementById('view-title')?.textContent"
FIRST_LOAD = """
const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
return entries.map(e => [e.name, e.transferSize, e.encodedBodySize]);
"""


def measure(moto_url: str, env: dict[str, str], searches: int) -> dict[str, Any]:
    """A v3 stack with 2,000 reports, one console user, the local API; then the browser."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    from local.api import LocalApi
    from local.cognito import UserPoolAuthorizer, create_user
    from local.context import LocalLambdaContext
    from local.stack import build_stack, load_handler, reset_runtime
    from tests.kit import load_event

    os.environ.update(env)
    from dlr_vault import aws

    with InfobipSimulator() as sim, tempfile.TemporaryDirectory() as profile:
        prefix = f"bench-console-{uuid.uuid4().hex[:6]}"
        parameters = {"InfobipBaseUrl": sim.base_url, "InfobipApiKeySecret": f"{prefix}/key", "InfobipApiVersion": "3"}
        reset_runtime()
        stack = build_stack(aws.client, parameters, sim.api_key, prefix)
        for function in ("CollectorFunction", "LookupFunction", "ConsoleFunction"):
            os.environ.update(stack.environment(function))
        os.environ["CONSOLE_COGNITO_ENDPOINT"] = moto_url
        reset_runtime()
        sim.add(make_reports(2000, bulks=10, seed=3))
        with contextlib.redirect_stdout(io.StringIO()):  # the collector's log and metric lines
            load_handler("collector").lambda_handler(load_event("schedule.json"), LocalLambdaContext(seconds=120))
        pool, client = stack.names["ConsoleUserPool"], stack.names["ConsoleUserPoolClient"]
        password = create_user(aws.client("cognito-idp"), pool, "support")
        authorizer = UserPoolAuthorizer(moto_url, pool, client)
        with LocalApi(load_handler("lookup").lambda_handler, "bench-key", port=0, console=authorizer) as api:
            driver = browser.launch(Path(profile))
            try:
                wait = WebDriverWait(driver, 30)
                driver.get(f"{api.url}/console")
                wait.until(seen.visibility_of_element_located((By.ID, "username")))
                loaded = driver.execute_script(FIRST_LOAD)
                driver.find_element(By.ID, "username").send_keys("support")
                driver.find_element(By.ID, "password").send_keys(password, Keys.ENTER)
                wait.until(seen.visibility_of_element_located((By.ID, "app")))
                timings: dict[str, list[float]] = {"messageId": [], "bulkId": []}
                reports = sim.handed_out
                bulks = sorted({r["bulkId"] for r in reports})
                for i in range(searches):
                    for kind, value in (("messageId", reports[i * 7]["messageId"]), ("bulkId", bulks[i % len(bulks)])):
                        box = driver.find_element(By.ID, "q")
                        box.clear()
                        box.send_keys(value, Keys.ENTER)
                        wait.until(lambda d, v=value: v in (d.execute_script(TITLE) or ""))
                        duration = driver.execute_script(
                            "const m = performance.getEntriesByName('dlr-search-to-result'); return m[m.length - 1].duration"
                        )
                        timings[kind].append(duration)
                        driver.execute_script("performance.clearMeasures('dlr-search-to-result')")
            finally:
                driver.quit()
    return {"first_load": loaded, "timings": timings}


def rows(moto_url: str, env: dict[str, str], searches: int) -> list[tuple[str, str]]:
    if not browser.available():
        return [("support console in Chromium", f"not measured: {browser.INSTALL}")]
    result = measure(moto_url, env, searches)
    loaded = result["first_load"]
    transferred = sum(size for _, size, _ in loaded)
    bodies = sum(body for _, _, body in loaded)
    out = [
        (
            "console first load (sign-in screen, empty cache)",
            f"{transferred / 1000:.1f} kB transferred in {len(loaded)} requests ({bodies / 1000:.1f} kB of bodies, uncompressed; "
            "no third-party origin)",
        )
    ]
    for kind, label in (("messageId", "a messageId (1 request)"), ("bulkId", "a bulkId (summary + a page of 20: 3 requests)")):
        samples = sorted(result["timings"][kind])
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        out.append(
            (
                f"console search to first result drawn, {label}",
                f"median {statistics.median(samples):.0f} ms, p95 {p95:.0f} ms ({len(samples)} searches, Chromium + local API + moto)",
            )
        )
    return out
