"""The local stand-in for API Gateway's Cognito authorizer, against moto server's user pool over HTTP:
it must refuse every token API Gateway would refuse, or the browser tests would prove nothing."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from local.cognito import UserPoolAuthorizer, create_user, sign_in
from local.stack import reset_runtime
from tests.conftest import LOCAL_API_KEY


@pytest.fixture
def pool(make_stack, moto_endpoint, aws, monkeypatch):
    stack = make_stack()
    for name, value in stack.environment("ConsoleFunction").items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    pool_id, client_id = stack.names["ConsoleUserPool"], stack.names["ConsoleUserPoolClient"]
    password = create_user(aws("cognito-idp"), pool_id, "support")
    token = sign_in(moto_endpoint, client_id, "support", password)
    return {"stack": stack, "id": pool_id, "client": client_id, "password": password, "token": token}


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_a_fresh_id_token_of_the_pool_passes_with_its_claims_as_strings(pool, moto_endpoint):
    claims = UserPoolAuthorizer(moto_endpoint, pool["id"], pool["client"]).claims(pool["token"])
    assert claims is not None and claims["cognito:username"] == "support" and claims["token_use"] == "id"
    assert all(isinstance(v, str) for v in claims.values())


def test_an_expired_token_is_refused(pool, moto_endpoint):
    exp = _payload(pool["token"])["exp"]
    authorizer = UserPoolAuthorizer(moto_endpoint, pool["id"], pool["client"], now=lambda: exp + 1)
    assert authorizer.claims(pool["token"]) is None
    authorizer.now = lambda: exp - 1
    assert authorizer.claims(pool["token"]) is not None


def test_a_token_for_another_client_or_of_another_pool_is_refused(pool, moto_endpoint, aws):
    cognito = aws("cognito-idp")
    other = cognito.create_user_pool_client(UserPoolId=pool["id"], ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    assert UserPoolAuthorizer(moto_endpoint, pool["id"], other["UserPoolClient"]["ClientId"]).claims(pool["token"]) is None
    # moto signs every pool's tokens with one key: only the issuer tells the pools apart
    second = cognito.create_user_pool(PoolName="second")["UserPool"]["Id"]
    assert UserPoolAuthorizer(moto_endpoint, second, pool["client"]).claims(pool["token"]) is None


def test_an_access_token_a_forged_signature_and_garbage_are_refused(pool, moto_endpoint, aws):
    authorizer = UserPoolAuthorizer(moto_endpoint, pool["id"], pool["client"])
    access = aws("cognito-idp").initiate_auth(
        ClientId=pool["client"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "support", "PASSWORD": pool["password"]}
    )["AuthenticationResult"]["AccessToken"]
    assert authorizer.claims(access) is None  # API Gateway wants the ID token when the method names no scopes
    header, payload, signature = pool["token"].split(".")
    claims = _payload(pool["token"]) | {"cognito:username": "admin"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for token in (f"{header}.{forged}.{signature}", "", "garbage", "a.b.c", f"Bearer {pool['token']}", f"{header}.{payload}."):
        assert authorizer.claims(token) is None, token


def test_the_local_api_answers_401_without_a_valid_token_and_still_403_without_a_key(pool, moto_endpoint, lookup_handler):
    from local.api import LocalApi

    authorizer = UserPoolAuthorizer(moto_endpoint, pool["id"], pool["client"])
    with LocalApi(lookup_handler, LOCAL_API_KEY, port=0, console=authorizer) as api:
        summary = f"{api.url}/console/api/sms/3/reports?messageId=x"
        assert requests.get(summary, timeout=10).status_code == 401
        assert requests.get(summary, headers={"x-api-key": LOCAL_API_KEY}, timeout=10).status_code == 401
        assert requests.get(summary, headers={"Authorization": pool["token"]}, timeout=10).status_code == 200
        assert requests.get(f"{api.url}/console", timeout=10).status_code == 200  # the page itself needs no sign-in
        machine = f"{api.url}/sms/3/reports?messageId=x"
        assert requests.get(machine, headers={"Authorization": pool["token"]}, timeout=10).status_code == 403
        assert requests.get(machine, headers={"x-api-key": LOCAL_API_KEY}, timeout=10).status_code == 200
        authorizer.now = lambda: time.time() + 2 * 3600
        assert requests.get(summary, headers={"Authorization": pool["token"]}, timeout=10).status_code == 401
