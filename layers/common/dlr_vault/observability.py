"""The one place Powertools Logger and Metrics are made; service and namespace come from POWERTOOLS_* env.

Logs carry counts, keys and ids only: never a report, a phone number or an API key.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()


def publish_run(stats: dict[str, Any], seconds_behind: float | None) -> None:
    """Emit one run's figures as CloudWatch metrics (EMF); `SuccessfulRuns` is the heartbeat."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    count = MetricUnit.Count
    for name, key in (
        ("Pages", "pages"),
        ("CaughtUpPages", "caught_up_pages"),
        ("ReportsFetched", "fetched"),
        ("ReportsArchived", "archived"),
        ("ReportsIndexed", "indexed"),
        ("QuarantinedPages", "quarantined"),
        ("Retries", "retries"),
        ("PossibleGaps", "possible_gaps"),
        ("KilledRunsFound", "killed_runs"),
        ("DeprecationNotices", "deprecation_notices"),
        ("LogEntriesChecked", "log_entries"),
        ("GapsRecovered", "gaps_recovered"),
    ):
        metrics.add_metric(name=name, unit=count, value=stats[key])
    metrics.add_metric(name="SuccessfulRuns", unit=count, value=1 if stats["outcome"] == "ok" else 0)
    if seconds_behind is not None:
        metrics.add_metric(name="SecondsBehind", unit=MetricUnit.Seconds, value=seconds_behind)
    for group, value in stats["by_status_group"].items():
        with single_metric(name="ReportsByStatusGroup", unit=count, value=value, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="StatusGroup", value=group)


def publish_notifier(outcome: Any) -> None:
    """Emit one notifier batch's figures (a `dlr_vault.notifier.BatchOutcome`) as metrics (EMF)."""
    from aws_lambda_powertools.metrics import MetricUnit

    for name, value in (
        ("StreamRecords", outcome.records),
        ("ReportChanges", outcome.changes),
        ("EventsPublished", outcome.published),
        ("EventPublishRetries", outcome.retried),
        ("EventsSlimmed", outcome.slimmed),
        ("EventsLeftForRedelivery", outcome.events - outcome.published if outcome.failed_sequence else 0),
        ("CounterRecords", outcome.counted),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
