"""Logs carry counts, keys and ids: never a phone number (`to`), a report or an API key."""

from datetime import UTC, datetime, timedelta

import requests

from local.infobip_sim import Fault, make_reports
from local.stack import load_handler
from tests.conftest import LOCAL_API_KEY
from tests.kit import FakeLambdaContext, aws_failing, load_event


def test_no_phone_number_or_key_reaches_the_logs(make_stack, sim, collect, api, log_lines, capsys):
    stack = make_stack(PageSize="40")
    sim.add(make_reports(150, start=datetime.now(UTC) - timedelta(hours=2)))
    sim.inject(Fault("garbage"), Fault("drop"), Fault("status", 503))
    collect()
    load_handler("collector").lambda_handler(load_event("reconcile.json"), FakeLambdaContext())
    first = sim.handed_out[0]
    searches = (
        f"/sms/3/logs?destination={first['to']}",
        f"/sms/1/logs?to={first['to']}&limit=0",
        f"/sms/3/logs?destination={first['to']}x",
    )
    for path in (
        f"/reports/{first['messageId']}",
        f"/sms/1/reports?bulkId={first['bulkId']}&limit=100",
        "/sms/1/reports?limit=0",
        *searches,
    ):
        assert requests.get(api.url + path, headers={"x-api-key": LOCAL_API_KEY}, timeout=10).status_code in (200, 400, 404)
    with aws_failing(stack.clients("dynamodb"), "GetItem", status=500, code="InternalServerError"):
        assert requests.get(f"{api.url}/reports/x", headers={"x-api-key": LOCAL_API_KEY}, timeout=10).status_code == 500

    text = "\n".join(log_lines) + capsys.readouterr().out
    assert "page stored" in text and "lookup failed unexpectedly" in text  # the logs were captured
    phones = {r.fields["to"] for r in sim.sent}
    assert not [p for p in phones if p in text]
    for secret in (sim.api_key, LOCAL_API_KEY):
        assert secret not in text
