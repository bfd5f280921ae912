"""Lookup API: read-only, Infobip-compatible delivery reports by messageId or bulkId.

Routes are Powertools `APIGatewayRestResolver` handlers; validation and paging live in
`dlr_vault.lookup`, and every refusal is answered in Infobip's error body, never a stack trace.
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
from dlr_vault import aws
from dlr_vault.config import LookupSettings
from dlr_vault.counters import BulkCounters
from dlr_vault.cursor import CursorCodec
from dlr_vault.index import ReportIndex
from dlr_vault.lookup import ApiError, Lookup, error_body, parse_query
from dlr_vault.observability import logger

app = APIGatewayRestResolver()
OPENAPI = Path(dlr_vault.__file__).with_name("openapi.json")
ROUTES = ("/sms/1/reports", "/sms/3/reports", "/openapi.json")
_PATH_ROUTES = re.compile(r"/reports/[^/]+|/bulks/[^/]+/summary")


@cache
def lookup() -> Lookup:
    settings = LookupSettings.from_env()
    cursor_key = settings.cursor_key_secret
    return Lookup(
        ReportIndex(settings.reports_table, aws.client("dynamodb"), aws.dynamodb_batches()),
        CursorCodec(lambda: aws.secret(cursor_key, max_age=3600)),
        BulkCounters(settings.bulk_counters_table, aws.client("dynamodb")) if settings.bulk_counters_table else None,
    )


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=body)


@app.get("/sms/1/reports")
def reports_v1() -> dict[str, Any]:
    return lookup().reports(parse_query(app.current_event.multi_value_query_string_parameters), version=1)


@app.get("/sms/3/reports")
def reports_v3() -> dict[str, Any]:
    return lookup().reports(parse_query(app.current_event.multi_value_query_string_parameters), version=3)


@app.get("/reports/<message_id>")
def report_by_id(message_id: str) -> dict[str, Any]:
    return lookup().one(message_id)


@app.get("/bulks/<bulk_id>/summary")
def bulk_summary(bulk_id: str) -> dict[str, Any]:
    return lookup().bulk_summary(bulk_id)


@cache
def _openapi_text() -> str:
    return OPENAPI.read_text()


@app.get("/openapi.json")
def openapi() -> Response:
    return Response(status_code=200, content_type="application/json", body=_openapi_text())


@app.exception_handler(ApiError)
def refused(error: ApiError) -> Response:
    return _json(error.status, error.body())


@app.not_found
def not_found(_: NotFoundError) -> Response:
    """Unknown paths are 404; a known route asked with another method than GET is 405."""
    path, method = app.current_event.path or "", app.current_event.http_method
    if method != "GET" and (path in ROUTES or _PATH_ROUTES.fullmatch(path)):
        return _json(405, error_body("METHOD_NOT_ALLOWED", "only GET is allowed"))
    return _json(404, error_body("NOT_FOUND", "no such resource"))


@app.exception_handler(Exception)
def unexpected(_: Exception) -> Response:
    logger.exception("lookup failed unexpectedly")
    return _json(500, error_body("GENERAL_ERROR", "Internal error"))


@logger.inject_lambda_context(log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
