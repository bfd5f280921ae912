"""API Gateway's Cognito user-pool authorizer, played locally against moto's user pool.

API Gateway accepts a method call with a user-pool authorizer (no OAuth scopes) when the
`Authorization` header holds an ID token of that pool: RS256-signed by one of the pool's keys
(its JWKS), `iss` the pool's issuer URL, `token_use` "id", not expired, `aud` an app client of the
pool. It hands the token's claims to the function as `requestContext.authorizer.claims`. moto
signs its tokens with a key it publishes at `<endpoint>/<pool id>/.well-known/jwks.json`.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from functools import cached_property
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


class UserPoolAuthorizer:
    """Checks ID tokens of one user pool and app client; `now` can be moved (tests of expiry)."""

    def __init__(self, endpoint: str, user_pool_id: str, client_id: str, now: Callable[[], float] = time.time) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.now = now
        region = user_pool_id.split("_", 1)[0]
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"

    @cached_property
    def keys(self) -> KeySet:
        url = f"{self.endpoint}/{self.user_pool_id}/.well-known/jwks.json"
        if not url.startswith(("http://127.0.0.1:", "https://")):
            raise ValueError(f"refusing to fetch keys from {url}")
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - scheme checked above  # nosec B310
            return KeySet.import_key_set(json.load(answer))

    def claims(self, token: str) -> dict[str, Any] | None:
        """The token's claims if API Gateway would let it through, else None (it answers 401)."""
        try:
            decoded = jwt.decode(token, self.keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                now=lambda: int(self.now()),
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                token_use={"essential": True, "value": "id"},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        return {name: value if isinstance(value, str) else json.dumps(value) for name, value in decoded.claims.items()}


def create_user(cognito: Any, user_pool_id: str, username: str = "support") -> str:
    """One console user with a random permanent password (the demo's); returns the password."""
    password = f"Console-{secrets.token_hex(6)}-9x"  # meets the pool's policy: upper, lower, digit, 14+
    cognito.admin_create_user(UserPoolId=user_pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=user_pool_id, Username=username, Password=password, Permanent=True)
    return password


def sign_in(endpoint: str, client_id: str, username: str, password: str) -> str:
    """An ID token, asked for as the console page asks: unsigned InitiateAuth, USER_PASSWORD_AUTH."""
    import requests

    answer = requests.post(
        endpoint.rstrip("/") + "/",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
        json={"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id, "AuthParameters": {"USERNAME": username, "PASSWORD": password}},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["AuthenticationResult"]["IdToken"]
