"""Schemathesis against the console's HTTP API, as documented by the edge's own OpenAPI
document, logged in as a call taker (session cookie and CSRF token) on a running stack:
no request it generates, valid or not, gets a 5xx or a response outside the schema
(status codes, content types and bodies as documented, problem+json for refusals).

One check is left out: "positive data acceptance" (a schema-valid request must not get
400/422). The console refuses some schema-valid requests on purpose, with a problem
naming the field: rules across fields (a caller's number for a call from a person), the
jurisdiction's bounds, a unit picked twice. JSON Schema cannot say these; every other
check runs, including that schema-violating requests are refused.

The operations are driven one by one from a plain test (schemathesis's pytest loader
for a schema that only exists once a fixture has started the stack does not run on this
pytest), each with Hypothesis, for valid and for invalid requests.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.conftest import share_one_stack_per_module
from tests.e2e.console_pages import ConsoleApi
from tools.stack import Stack

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()
EXAMPLES = 30  # per operation and mode: about 1,500 requests in all


def test_the_console_api_keeps_to_its_schema_and_never_fails(stack: Stack) -> None:
    person = ConsoleApi(stack, "ct-01")
    headers = {"X-CSRF-Token": person.csrf}
    cookies = dict(person.http.cookies)
    # The console's API. Left out: log-in and log-out (the fuzzer would end its own
    # session; their refusals have their own tests) and the live stream (never ends).
    schema = (
        schemathesis.openapi.from_url(f"http://{stack.address('edge')}/openapi.json")
        .include(path_regex=r"^/api/")
        .exclude(path_regex=r"^/api/(session|live)$")
    )
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case) -> None:  # type: ignore[no-untyped-def]
                case.call_and_validate(
                    headers=headers, cookies=cookies, excluded_checks=[positive_data_acceptance]
                )

            try:
                call()
                tried += 1
            except Unsatisfiable:
                continue  # nothing to get wrong: no parameters, no body (negative mode)
            except (Exception, BaseExceptionGroup) as exc:  # one report per operation
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    person.close()
    assert tried >= 30, f"only {tried} operation-modes were fuzzed: is the API documented?"
    assert failures == [], "\n\n".join(failures)
