"""Headless Chromium from Debian's packages, driven by Selenium through Debian's chromium-driver.

Used by tests/browser and the bench. Nothing is downloaded: Selenium Manager is told to stay
offline and both binaries are given by path. Where they are missing, callers skip and say how
to install them (`make browser` does it as root).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
INSTALL = "headless Chromium is missing: apt-get install -y chromium chromium-driver (make test does it when run as root)"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def launch(profile: Path, downloads: Path | None = None) -> Any:
    """A fresh headless Chromium (profile folder `profile`) logging DevTools network events."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver or a browser
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    if downloads is not None:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.execute_cdp_cmd("Network.enable", {})
    return driver
