"""`python -m smoke`: run the smoke suite against the stack named by STACK, or say in one line why not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
import pytest


def main() -> int:
    if not os.environ.get("STACK"):
        print("smoke: name the deployed stack: make smoke STACK=<stack name>")
        return 2
    if boto3.session.Session().get_credentials() is None:
        print(f"smoke: skipped, no AWS credentials here (set a profile or keys for the account of stack {os.environ['STACK']})")
        return 0
    return int(pytest.main(["-q", "-p", "no:cacheprovider", str(Path(__file__).parent)]))


if __name__ == "__main__":
    sys.exit(main())
