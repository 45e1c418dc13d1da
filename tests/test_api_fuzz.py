"""The OpenAPI schema fuzzed with schemathesis (v4) against a live server: zero 5xx, zero schema-violating answers.

The server is pytest-django's ``live_server`` (a real HTTP server on the test database), filled with the test
world (tests/world.py) so that ids in paths hit real records now and then. Requests carry a researcher's real
token. Every operation of /api/v1/schema/ gets a bounded number of generated cases, valid ones (schemathesis'
positive mode) and invalid ones (negative mode), in a fixed order (derandomised, so CI runs the same cases), without
shrinking; every response goes through schemathesis' checks:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``response_schema_conformance``: a documented status answers with a body that matches its schema;
- ``content_type_conformance``: the answer's content type is one the operation documents.

Failures are collected per operation (not raised at the first), printed with the request that caused them, and
fail the test together. The figures printed: operations, requests, 5xx, schema violations.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.world import build_world

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POSITIVE_EXAMPLES = 6
NEGATIVE_EXAMPLES = 4
#: the token the fuzzer authenticates with gets an id no generated path will guess (revoking it would end the run)
TOKEN_ID = 987_654_321


def _one_line(failure: BaseException) -> str:
    return " | ".join(line.strip() for line in str(failure).splitlines() if line.strip())[:500]


def test_the_api_answers_every_generated_request_without_5xx_and_as_its_schema_says(
    live_server, team, researcher, manager, settings, capsys
):  # type: ignore[no-untyped-def]
    import schemathesis
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hsettings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Err
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    from lims.models import ApiToken

    settings.CELERY_TASK_ALWAYS_EAGER = True
    build_world(team=team, researcher=researcher, manager=manager)
    key = "lims_fuzz-" + "k" * 32
    ApiToken.objects.create(
        pk=TOKEN_ID,
        user=researcher,
        name="schemathesis",
        key_prefix=key[:12],
        key_hash=ApiToken.hash_key(key),
    )
    auth = {"Authorization": f"Token {key}"}

    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    tally: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, list[str]] = {}
    operations = 0

    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read is a schema bug too
            failures.setdefault("the schema", []).append(_one_line(result.err()))
            continue
        operation = result.ok()
        operations += 1
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):

            @hsettings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(base_url=live_server.url, headers=auth, timeout=60)
                tally["requests"] += 1
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    tally["5xx"] += 1
                try:
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as exc:  # every failed check, kept with its request
                    for failure in getattr(exc, "exceptions", None) or [exc]:
                        kind = "5xx" if response.status_code >= 500 else type(failure).__name__
                        tally[f"failed: {kind}"] += 1
                        failures.setdefault(case.operation.label, []).append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: {_one_line(failure)}"
                        )

            try:
                run()
            except Unsatisfiable:  # nothing to negate (an operation without parameters or body)
                tally[f"no {mode.value} cases"] += 1

    violations = sum(n for k, n in tally.items() if k.startswith("failed:") and k != "failed: 5xx")
    with capsys.disabled():
        print(
            f"\nschemathesis {schemathesis.__version__}: operations {operations}, requests {tally['requests']}, "
            f"5xx {tally['5xx']}, schema violations {violations}, statuses {dict(sorted(statuses.items()))}"
        )
    assert operations > 50
    report = "\n".join(f"{label}:\n  " + "\n  ".join(items[:3]) for label, items in sorted(failures.items()))
    assert not failures, (
        f"{sum(map(len, failures.values()))} failed checks in {len(failures)} operations:\n{report}"
    )
