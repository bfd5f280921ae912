"""`make smoke` without AWS credentials says so in one line and succeeds (CI and newcomers have none)."""

import os
import subprocess
import sys

from local.stack import ROOT


def test_smoke_without_credentials_skips_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        STACK="dlr-vault",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = subprocess.run([sys.executable, "-m", "smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = "smoke: skipped, no AWS credentials here (set a profile or keys for the account of stack dlr-vault)"
    assert done.stdout.splitlines() == [line]


def test_smoke_without_a_stack_name_asks_for_one():
    env = {k: v for k, v in os.environ.items() if k != "STACK"}
    done = subprocess.run([sys.executable, "-m", "smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "STACK=<stack name>" in done.stdout
