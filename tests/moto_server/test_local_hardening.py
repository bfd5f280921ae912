"""The local demo stack is reachable by anything on this machine: it must not also be reachable from web pages."""

from __future__ import annotations

import boto3
import pytest
import requests

from local.demo import _save_archive
from local.stack import REGION
from tests.conftest import LOCAL_API_KEY


def test_moto_server_does_not_reflect_a_foreign_origin(moto_endpoint):
    origin = {"Origin": "http://attacker.example"}
    preflight = requests.options(moto_endpoint + "/", headers={**origin, "Access-Control-Request-Method": "GET"}, timeout=10)
    answer = requests.get(moto_endpoint + "/", headers=origin, timeout=10)
    for response in (preflight, answer):
        assert "Access-Control-Allow-Origin" not in response.headers, "a page on any site could read the local AWS"


def test_moto_server_refuses_a_foreign_host_header(moto_endpoint):
    port = moto_endpoint.rsplit(":", 1)[1]
    rebound = requests.get(moto_endpoint + "/", headers={"Host": f"attacker.example:{port}"}, timeout=10)
    assert rebound.status_code == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert requests.get(moto_endpoint + "/", headers={"Host": host}, timeout=10).status_code != 403


def test_the_local_api_refuses_a_foreign_host_header_even_with_the_key(stack, api):
    path = "/sms/1/reports?messageId=x"
    rebound = requests.get(api.url + path, headers={"x-api-key": LOCAL_API_KEY, "Host": "attacker.example:3000"}, timeout=10)
    assert rebound.status_code == 403 and rebound.json()["requestError"]["serviceException"]["messageId"] == "FORBIDDEN_HOST"
    port = api.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert requests.get(api.url + path, headers={"x-api-key": LOCAL_API_KEY, "Host": host}, timeout=10).status_code == 200


def test_archive_copy_refuses_a_key_that_leaves_its_folder(moto_endpoint, tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    bucket = "escape-test-" + tmp_path.name.lower().replace("_", "-")[-20:]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/ok.json.gz", Body=b"fine")
    s3.put_object(Bucket=bucket, Key="../../escaped.txt", Body=b"outside")
    folder = tmp_path / "deep" / "archive"
    with pytest.raises(ValueError, match="outside"):
        _save_archive(s3, bucket, folder)
    assert not list(tmp_path.rglob("escaped.txt"))
