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


def test_smoke_reads_a_consumers_key_from_the_per_consumer_outputs():
    import boto3
    import pytest
    from moto import mock_aws

    from smoke.conftest import read_deployed
    from tests.kit import stack_with_outputs

    with mock_aws():
        apigw = boto3.client("apigateway")
        ids = {n: apigw.create_api_key(name=n, enabled=True, value=f"{n}-key-0123456789abcdef")["id"] for n in ("billing", "support")}
        stack_with_outputs(
            boto3.client("cloudformation"), "keys", {"ApiUrl": "https://x.example/v1/", **{f"ApiKeyId{n}": i for n, i in ids.items()}}
        )
        stack_with_outputs(boto3.client("cloudformation"), "iam", {"ApiUrl": "https://y.example/v1"})

        assert read_deployed("keys").api_key == "billing-key-0123456789abcdef"  # the first name, by default
        chosen = read_deployed("keys", "support")
        assert chosen.api_key == "support-key-0123456789abcdef" and chosen.api_url == "https://x.example/v1"
        with pytest.raises(SystemExit, match="no consumer 'ops'"):
            read_deployed("keys", "ops")
        assert read_deployed("iam").api_key is None


def test_smoke_signs_its_requests_to_an_iam_stack_and_sends_the_key_to_a_keyed_one(monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from smoke.conftest import Deployed

    seen: list[dict[str, str]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        Deployed("s", {}, url, None).get("/sms/1/reports", {"messageId": "m-1"})
        Deployed("s", {}, url, "k-123").get("/sms/1/reports", {"messageId": "m-1"})
        Deployed("s", {}, url, "k-123").get("/sms/1/reports", authorized=False)
    finally:
        server.shutdown()
    signed, keyed, bare = seen
    assert signed["path"] == "/v1/sms/1/reports?messageId=m-1"
    authorization = signed["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/eu-west-1/execute-api/" in authorization
    assert keyed["x-api-key"] == "k-123" and "authorization" not in keyed
    assert "x-api-key" not in bare and "authorization" not in bare
