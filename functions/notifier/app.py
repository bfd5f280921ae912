"""Stream notifier: changes of ReportsTable -> per-bulk counters and events on the stack's bus.

Invoked by the DynamoDB stream's event source mapping (tumbling windows, so every event names
its shard; partial batch responses). The work lives in `dlr_vault.notifier`; this handler wires
settings and observability, and answers with the failed record so Lambda redelivers from it.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dlr_vault import aws
from dlr_vault.config import NotifierSettings
from dlr_vault.counters import BulkCounters
from dlr_vault.events import EventPublisher
from dlr_vault.notifier import Notifier
from dlr_vault.observability import logger, metrics, publish_notifier


@cache
def notifier() -> Notifier:
    settings = NotifierSettings.from_env()
    publisher = EventPublisher(aws.client("events")) if settings.event_bus else None
    counters = BulkCounters(settings.bulk_counters_table, aws.client("dynamodb")) if settings.bulk_counters_table else None
    return Notifier(publisher, settings.event_bus, counters)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = notifier().handle(event.get("Records") or [], event.get("shardId"))
    publish_notifier(outcome)
    figures = {k: v for k, v in vars(outcome).items() if k != "failed_sequence"}
    if outcome.failed_sequence:
        logger.warning(
            "events left unpublished after retries; Lambda redelivers from this record",
            extra={"sequence": outcome.failed_sequence, **figures},
        )
    else:
        logger.info("stream batch handled", extra=figures)
    return outcome.response(event.get("state") or {})
