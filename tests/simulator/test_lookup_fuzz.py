"""Property-based fuzzing of the lookup API from its OpenAPI document, over real HTTP.

Schemathesis generates requests (valid and invalid) for each operation of the OpenAPI document the API serves (dlr_vault/openapi.json);
every answer must have a documented status and shape, and none may be a 5xx. Two of
schemathesis' checks are left out, on purpose: `positive_data_acceptance` ("messageId or
bulkId is required" cannot be written as OpenAPI parameters, so a schema-valid request can
rightly be a 400) and `negative_data_rejection` (unknown parameters and headers are ignored by
design, as Infobip does; the hostile-input table in test_lookup_api.py pins every refusal).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.generation import GenerationMode

from local.infobip_sim import make_reports
from local.stack import ROOT
from tests.conftest import LOCAL_API_KEY

SCHEMA = schemathesis.openapi.from_path(ROOT / "layers" / "common" / "dlr_vault" / "openapi.json")
OPERATIONS = [(path, method.upper()) for path, methods in SCHEMA.raw_schema["paths"].items() for method in methods]


@pytest.fixture
def served(stack, api, sim, collect):
    sim.add(make_reports(60, bulks=2, seed=1))
    collect()
    return api


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_5xx_and_every_answer_matches_the_document(served, path, method, mode):
    strategy = SCHEMA[path][method].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(max_examples=75, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        response = case.call_and_validate(
            base_url=served.url, headers={"x-api-key": LOCAL_API_KEY}, excluded_checks=[positive_data_acceptance, negative_data_rejection]
        )
        assert response.status_code < 500

    check()


def test_the_document_covers_exactly_the_template_routes():
    from local.stack import function_routes, load_template

    routes = {(m, p) for m, p in function_routes(load_template(), "LookupFunction") if "proxy" not in p and p != "/"}
    assert routes == {(m, p) for p, m in OPERATIONS}


def test_the_api_serves_the_document_it_is_fuzzed_against(served):
    import json

    import requests

    answer = requests.get(f"{served.url}/openapi.json", headers={"x-api-key": LOCAL_API_KEY}, timeout=10)
    assert answer.status_code == 200 and answer.json() == json.loads((ROOT / "layers/common/dlr_vault/openapi.json").read_text())
