"""The Infobip base URL is https only, in the template and at run time; plain http only for loopback."""

from __future__ import annotations

import re

import pytest

from dlr_vault.config import CollectorSettings, ConfigError
from local.stack import load_template

PATTERN = load_template()["Parameters"]["InfobipBaseUrl"]["AllowedPattern"]
ENV = {"INFOBIP_API_KEY_SECRET": "s", "REPORTS_TABLE": "r", "STATE_TABLE": "s", "ARCHIVE_BUCKET": "b", "FALLBACK_TABLE": "f"}


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://xxxxx.api.infobip.com", True),
        ("https://xxxxx.api.infobip.com/", True),
        ("http://127.0.0.1:43215", True),
        ("http://localhost:3000", True),
        ("http://[::1]:8080", True),
        ("http://xxxxx.api.infobip.com", False),
        ("http://10.0.0.7:8080", False),
        ("http://127.0.0.1.attacker.example", False),
        ("http://localhost.attacker.example", False),
        ("ftp://xxxxx.api.infobip.com", False),
        ("https://", False),
        ("xxxxx.api.infobip.com", False),
    ],
)
def test_https_only_except_loopback_in_the_template_and_at_run_time(url, accepted):
    assert bool(re.fullmatch(PATTERN, url)) is accepted
    if accepted:
        assert CollectorSettings.from_env({**ENV, "INFOBIP_BASE_URL": url}).base_url == url.rstrip("/")
    else:
        with pytest.raises(ConfigError, match="https"):
            CollectorSettings.from_env({**ENV, "INFOBIP_BASE_URL": url})
