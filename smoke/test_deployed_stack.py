"""What a deployed stack must do: answer lookups with its key, refuse them without, collect."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from smoke.conftest import Deployed

UNKNOWN = f"smoke-{uuid.uuid4().hex}"  # a messageId no report has


def test_a_lookup_with_the_key_answers_in_infobips_shape(deployed: Deployed) -> None:
    answer = deployed.get("/sms/1/reports", {"messageId": UNKNOWN})
    assert answer.status_code == 200 and answer.json() == {"results": []}
    missing = deployed.get(f"/reports/{UNKNOWN}")
    assert missing.status_code == 404 and missing.json()["requestError"]["serviceException"]["messageId"] == "NOT_FOUND"


def test_a_lookup_without_a_key_or_signature_is_refused(deployed: Deployed) -> None:
    assert deployed.get("/sms/1/reports", {"messageId": UNKNOWN}, authorized=False).status_code == 403


def test_the_collector_succeeded_lately(deployed: Deployed) -> None:
    """The heartbeat the stale alarm watches: at least one successful run in the last 15 minutes."""
    now = datetime.now(UTC)
    points = deployed.client("cloudwatch").get_metric_statistics(
        Namespace="DlrVault",
        MetricName="SuccessfulRuns",
        Dimensions=[{"Name": "service", "Value": "dlr-vault"}],
        StartTime=now - timedelta(minutes=15),
        EndTime=now,
        Period=900,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(p["Sum"] for p in points) >= 1, "no successful collector run in the last 15 minutes (docs/operations.md)"


def test_one_collector_invocation_succeeds(deployed: Deployed) -> None:
    answer = deployed.client("lambda").invoke(
        FunctionName=deployed.outputs["CollectorFunctionName"], Payload=json.dumps({"mode": "collect"}).encode()
    )
    payload = json.loads(answer["Payload"].read() or b"{}")
    assert "FunctionError" not in answer, payload
    assert payload["outcome"] in ("ok", "skipped"), payload  # skipped: a scheduled run held the lease
