"""Scheduled collector: pulls Infobip delivery reports into S3 and DynamoDB, losing none.

`{"mode": "collect"}` (the default) pulls `/reports`; `{"mode": "reconcile"}` checks
`/sms/3/logs` for reports that were consumed but lost in transit.

The run itself lives in `dlr_vault.ingest`; this handler wires settings, observability and
the Lambda's time budget, and turns a failed run into a failed invocation (alarm, retries).
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from dlr_vault.config import CollectorSettings
from dlr_vault.ingest import Collector, build_collector, seconds_behind
from dlr_vault.observability import logger, metrics, publish_run
from dlr_vault.run import CollectorFailed, RunStats

tracer = Tracer()


@cache
def collector() -> Collector:
    return build_collector(CollectorSettings.from_env())


def _report(stats: RunStats) -> dict[str, Any]:
    figures = stats.as_dict()
    publish_run(figures, seconds_behind(stats))
    return figures


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        mode = "reconcile" if event.get("mode") == "reconcile" else "collect"
        stats = collector().run(lambda: context.get_remaining_time_in_millis() / 1000, mode)
    except CollectorFailed as exc:
        logger.error("collector run failed", extra={"reason": str(exc), "stats": _report(exc.stats)})
        raise
    figures = _report(stats)
    logger.info("collector run finished", extra={"stats": figures})
    return figures
