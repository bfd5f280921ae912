"""Lookup API: read-only, Infobip-compatible delivery reports by messageId or bulkId, and logs searches.

Routes are Powertools `APIGatewayRestResolver` handlers; validation and paging live in
`dlr_vault.lookup`, and every refusal is answered in Infobip's error body, never a stack trace.
The support console (ConsoleFunction) runs this same code: `dlr_vault.console` serves its page
and maps its signed-in `/console/api/...` routes onto the routes below.
"""

import re
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import dlr_vault
from dlr_vault import aws, console
from dlr_vault.audit import audit_record
from dlr_vault.config import LookupSettings
from dlr_vault.counters import BulkCounters
from dlr_vault.cursor import CursorCodec
from dlr_vault.index import ReportIndex
from dlr_vault.logs import Logs
from dlr_vault.logs_index import LogsIndex
from dlr_vault.logs_query import parse_logs_query
from dlr_vault.lookup import ApiError, Lookup, error_body, parse_query
from dlr_vault.observability import logger

app = APIGatewayRestResolver()
OPENAPI = Path(dlr_vault.__file__).with_name("openapi.json")
ROUTES = ("/sms/1/reports", "/sms/3/reports", "/sms/1/logs", "/sms/3/logs", "/openapi.json")
_PATH_ROUTES = re.compile(r"/reports/[^/]+|/bulks/[^/]+/summary")


@cache
def lookup() -> Lookup:
    settings = LookupSettings.from_env()
    cursor_key = settings.cursor_key_secret
    return Lookup(
        ReportIndex(settings.reports_table, aws.client("dynamodb"), aws.dynamodb_batches()),
        CursorCodec(lambda fresh: aws.secret_stages(cursor_key, max_age=3600, force=fresh)),
        BulkCounters(settings.bulk_counters_table, aws.client("dynamodb")) if settings.bulk_counters_table else None,
    )


@cache
def logs() -> Logs:
    settings = LookupSettings.from_env()
    hasher = aws.number_hasher(settings.search_key_secret) if settings.search_indexes != "none" else None
    reads = lookup()
    return Logs(
        reads.index,
        LogsIndex(settings.reports_table, aws.client("dynamodb")),
        reads.cursors,
        hasher,
        by_time=settings.search_indexes == "all",
    )


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=body)


@app.get("/sms/1/reports")
def reports_v1() -> dict[str, Any]:
    return lookup().reports(parse_query(app.current_event.multi_value_query_string_parameters), version=1)


@app.get("/sms/3/reports")
def reports_v3() -> dict[str, Any]:
    return lookup().reports(parse_query(app.current_event.multi_value_query_string_parameters), version=3)


@app.get("/sms/1/logs")
def logs_v1() -> dict[str, Any]:
    return logs().search(parse_logs_query(app.current_event.multi_value_query_string_parameters, 1), version=1)


@app.get("/sms/3/logs")
def logs_v3() -> dict[str, Any]:
    return logs().search(parse_logs_query(app.current_event.multi_value_query_string_parameters, 3), version=3)


@app.get("/reports/<message_id>")
def report_by_id(message_id: str) -> dict[str, Any]:
    return lookup().one(message_id)


@app.get("/bulks/<bulk_id>/summary")
def bulk_summary(bulk_id: str) -> dict[str, Any]:
    return lookup().bulk_summary(bulk_id)


@cache
def console_settings() -> console.ConsoleSettings | None:
    return console.ConsoleSettings.from_env()


@app.get("/console")
def console_page() -> Response[Any]:
    return console.page(console_settings())


@app.get("/console/<asset>")
def console_asset(asset: str) -> Response[Any]:
    return console.asset(console_settings(), asset)


@cache
def _openapi_text() -> str:
    return OPENAPI.read_text()


@app.get("/openapi.json")
def openapi() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=_openapi_text())


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def refused(error: ApiError) -> Response[Any]:
    return _json(error.status, error.body())


@app.not_found
def not_found(_: NotFoundError) -> Response[Any]:
    """Unknown paths are 404; a known route asked with another method than GET is 405."""
    path, method = app.current_event.path or "", app.current_event.http_method
    if method != "GET" and (path in ROUTES or _PATH_ROUTES.fullmatch(path)):
        return _json(405, error_body("METHOD_NOT_ALLOWED", "only GET is allowed"))
    return _json(404, error_body("NOT_FOUND", "no such resource"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(_: Exception) -> Response[Any]:
    logger.exception("lookup failed unexpectedly")
    return _json(500, error_body("GENERAL_ERROR", "Internal error"))


@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = console.api_headers(event, app.resolve(console.mirrored(event), context))
    logger.info("lookup audit", extra={"audit": audit_record(event, answer["statusCode"])})
    return answer
