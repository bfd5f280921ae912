"""The support console's side of the template and of the lookup handler (no browser here; see tests/browser)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dlr_vault.console import API_PREFIX, MIRRORED, WEB
from local.infobip_sim import make_reports
from local.stack import reset_runtime
from tests.kit import FakeLambdaContext, load_event
from tests.unit.test_template import RESOURCES, TEMPLATE, expanded, role_actions

CONSOLE_RESOURCES = {
    "ConsoleUserPool",
    "ConsoleUserPoolClient",
    "ConsoleApi",
    "ConsoleAccessLogGroup",
    "ConsoleFunction",
    "ConsoleLogGroup",
    "ConsoleServerErrorsAlarm",
}
SAMPLE_EVENTS = {
    "console_page.json": 200,
    "console_reports_v3.json": 200,
    "console_bulk_summary.json": 200,
    "console_logs_v3.json": 200,  # GET /sms/3/logs is issue 14's (another branch): 404 until it is merged
}


def _unwrap(value: Any) -> Any:
    """SAM wraps a conditional function's paths in Fn::If [condition, value, NoValue]."""
    while isinstance(value, dict) and set(value) == {"Fn::If"}:
        value = value["Fn::If"][1]
    return value


def _methods(api: str) -> dict[tuple[str, str], dict[str, Any]]:
    body = expanded()["Resources"][api]["Properties"]["Body"]
    found = {}
    for path, item in body["paths"].items():
        for method, operation in _unwrap(item).items():
            found[path, method] = _unwrap(operation)
    return found


def test_the_console_is_on_by_default_and_every_piece_of_it_hangs_on_one_condition():
    assert TEMPLATE["Parameters"]["ConsoleEnabled"]["Default"] == "true"
    assert TEMPLATE["Conditions"]["HasConsole"] == {"Fn::Equals": [{"Ref": "ConsoleEnabled"}, "true"]}
    assert {name for name, r in RESOURCES.items() if isinstance(r, dict) and r.get("Condition") == "HasConsole"} == CONSOLE_RESOURCES
    assert {name for name, o in TEMPLATE["Outputs"].items() if isinstance(o, dict) and o.get("Condition") == "HasConsole"} == {
        "ConsoleUrl",
        "ConsoleUserPoolId",
    }


def test_with_the_console_off_the_stack_is_the_original_collector_and_lookup_pair():
    kept = {name: r for name, r in expanded()["Resources"].items() if r.get("Condition") not in ("HasConsole", "NotifierOn")}
    kinds = {r["Type"] for r in kept.values()}
    assert not {k for k in kinds if k.startswith("AWS::Cognito::")}
    assert {n for n, r in kept.items() if r["Type"] == "AWS::Lambda::Function"} == {"CollectorFunction", "LookupFunction"}
    assert {n for n, r in kept.items() if r["Type"] == "AWS::ApiGateway::RestApi"} == {"LookupApi"}
    assert not [path for path, _ in _methods("LookupApi") if path.startswith("/console")]
    lookup_env = RESOURCES["LookupFunction"]["Properties"]["Environment"]["Variables"]
    assert not [name for name in lookup_env if name.startswith("CONSOLE_")]


def test_no_route_reads_a_report_without_an_api_key_or_a_user_pool_token():
    definitions = {}
    for api in ("LookupApi", "ConsoleApi"):
        definitions.update(expanded()["Resources"][api]["Properties"]["Body"].get("components", {}).get("securitySchemes", {}))
    pool_authorizers = {name for name, d in definitions.items() if d.get("x-amazon-apigateway-authtype") == "cognito_user_pools"}
    assert pool_authorizers == {"ConsoleUsers"}
    unguarded = []
    for api in ("LookupApi", "ConsoleApi"):
        for (path, method), operation in _methods(api).items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if not schemes & ({"api_key"} | pool_authorizers):
                unguarded.append((api, path, method))
    # The page and its files only: console.asset serves a fixed list of names, never a report.
    assert sorted(unguarded) == [("ConsoleApi", "/console", "get"), ("ConsoleApi", "/console/{asset}", "get")]
    assert RESOURCES["ConsoleApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "ConsoleUsers"


def test_the_console_api_mirrors_exactly_the_lookup_routes_the_page_calls():
    """Fails for /sms/3/logs until issue 14 (GET /sms/3/logs on LookupFunction) is merged."""
    console = {e["Properties"]["Path"] for e in RESOURCES["ConsoleFunction"]["Properties"]["Events"].values()}
    lookup = {e["Properties"]["Path"] for e in RESOURCES["LookupFunction"]["Properties"]["Events"].values()}
    assert {p for p in console if p.startswith(API_PREFIX)} == {API_PREFIX + p for p in MIRRORED}
    called = {re.sub(r"\$\{[^}]+\}", "{}", p) for p in re.findall(r'api\(\s*[`"]([^`"]+)[`"]', (WEB / "console.js").read_text())}
    assert called == {re.sub(r"\{\w+\}", "{}", p) for p in MIRRORED}  # what the page calls, no more, no less
    assert set(MIRRORED) <= lookup


def test_the_console_apis_5xx_alarm_watches_the_name_the_api_is_given():
    alarm = RESOURCES["ConsoleServerErrorsAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": RESOURCES["ConsoleApi"]["Properties"]["Name"]}]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_console_runs_the_lookups_code_with_the_same_read_only_role():
    assert RESOURCES["ConsoleFunction"]["Properties"]["CodeUri"] == RESOURCES["LookupFunction"]["Properties"]["CodeUri"]
    assert RESOURCES["ConsoleFunction"]["Properties"]["Handler"] == RESOURCES["LookupFunction"]["Properties"]["Handler"]
    assert (
        role_actions("ConsoleFunction")
        == role_actions("LookupFunction")
        == {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "secretsmanager:GetSecretValue",
        }
    )


def test_staff_are_invited_and_the_browser_client_has_no_secret():
    pool = RESOURCES["ConsoleUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    client = RESOURCES["ConsoleUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False and client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["IdTokenValidity"] == 60 and client["TokenValidityUnits"]["IdToken"] == "minutes"


# ---------------------------------------------------------------- the handler, as ConsoleFunction runs it


@pytest.fixture
def console_env(stack, monkeypatch):
    for name, value in stack.environment("ConsoleFunction").items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    return stack


@pytest.fixture
def collected(sim, collect, console_env):
    sim.add(make_reports(60, bulks=2, seed=1))
    collect()
    return sim.handed_out


def _answer(handler, event) -> tuple[int, dict[str, str], str]:
    answer = handler(event, FakeLambdaContext())
    headers = {k: ", ".join(v) for k, v in answer.get("multiValueHeaders", {}).items()}
    headers.update(answer.get("headers") or {})
    return answer["statusCode"], headers, answer["body"]


def _event(name: str, **changes: Any) -> dict[str, Any]:
    event = load_event(name)
    event.update(changes)
    return event


def test_the_page_and_its_files_come_with_a_strict_policy(console_env, lookup_handler):
    status, headers, body = _answer(lookup_handler, load_event("console_page.json"))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'; style-src 'self';")
    assert "connect-src 'self' https://cognito-idp.us-east-1.amazonaws.com;" in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert '<script src="console/console.js" defer></script>' in body and "<script>" not in body
    for asset, kind in (("console.js", "text/javascript"), ("console.css", "text/css"), ("icon.svg", "image/svg+xml")):
        event = _event("console_page.json", resource="/console/{asset}", path=f"/console/{asset}", pathParameters={"asset": asset})
        status, headers, _ = _answer(lookup_handler, event)
        assert status == 200 and headers["Content-Type"].startswith(kind) and "Content-Security-Policy" in headers


def test_config_json_names_the_pool_the_client_and_the_cognito_origin_only(console_env, lookup_handler):
    event = _event("console_page.json", resource="/console/{asset}", path="/console/config.json", pathParameters={"asset": "config.json"})
    status, _, body = _answer(lookup_handler, event)
    assert status == 200
    assert json.loads(body) == {
        "userPoolId": console_env.names["ConsoleUserPool"],
        "clientId": console_env.names["ConsoleUserPoolClient"],
        "cognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com",
        "region": "us-east-1",
    }


@pytest.mark.parametrize("asset", ["index.html", "..%2Fconsole.py", "console.py", "openapi.json", "nope.js"])
def test_only_the_pages_own_files_are_served(console_env, lookup_handler, asset):
    event = _event("console_page.json", resource="/console/{asset}", path=f"/console/{asset}", pathParameters={"asset": asset})
    assert _answer(lookup_handler, event)[0] == 404


def test_the_lookup_function_itself_serves_no_console(stack, lookup_handler):
    """LookupFunction has no CONSOLE_* settings: its /{proxy+} route answers /console with 404."""
    event = _event("console_page.json", resource="/{proxy+}", pathParameters={"proxy": "console"})
    assert _answer(lookup_handler, event)[0] == 404


@pytest.mark.parametrize(("name", "status"), SAMPLE_EVENTS.items())
def test_every_console_route_has_a_sample_event_that_answers(collected, lookup_handler, name, status):
    assert _answer(lookup_handler, load_event(name))[0] == status


def test_every_console_route_has_a_sample_event():
    routes = {e["Properties"]["Path"] for e in RESOURCES["ConsoleFunction"]["Properties"]["Events"].values()}
    assert routes - {"/console/{asset}"} == {load_event(name)["resource"] for name in SAMPLE_EVENTS}


def test_a_mirrored_route_answers_exactly_what_the_machine_route_answers_and_is_not_cached(collected, lookup_handler):
    report = collected[3]
    console = _event("console_reports_v3.json", multiValueQueryStringParameters={"messageId": [report["messageId"]]})
    machine = _event("lookup_by_message_id.json", resource="/sms/3/reports", path="/sms/3/reports")
    machine["multiValueQueryStringParameters"] = {"messageId": [report["messageId"]]}
    status, headers, body = _answer(lookup_handler, console)
    assert status == 200 and json.loads(body) == json.loads(_answer(lookup_handler, machine)[2])
    assert json.loads(body)["results"][0]["messageId"] == report["messageId"]
    assert headers["Cache-Control"] == "no-store"


def test_the_prefix_means_nothing_on_a_route_the_authorizer_does_not_guard(collected, lookup_handler):
    """Only a /console/api resource is mapped onto a lookup route: the same path reaching the
    page's unguarded /console/{asset} resource reads nothing."""
    event = _event("console_reports_v3.json", resource="/console/{asset}", pathParameters={"asset": "api"})
    event["requestContext"].pop("authorizer")
    status, _, body = _answer(lookup_handler, event)
    assert status == 404 and "results" not in body
