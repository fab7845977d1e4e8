"""Schemathesis, stateful: sequences of calls that follow the links between operations (inferred from the
schema's ids and paths: create a notification, then read, change and delete it), in process over WSGI, with
the same checks as the per-operation run: no 5xx and every response as the schema documents it.

SCHEMATHESIS_STATEFUL_EXAMPLES sets how many sequences run (default 10), SCHEMATHESIS_STATEFUL_STEPS their
longest length (default 10).
"""

import os

from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from test_api_schemathesis import CHECKS, _keep_test_connection, schema, token_headers  # noqa: F401 (fixtures)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "10"))
STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_STEPS", "10"))


def test_api_sequences_conform_to_the_schema(token_headers):  # noqa: F811 (the fixture imported above)
    failures: dict[str, str] = {}
    calls: list[str] = []
    workflow = schema.as_state_machine()
    assert workflow.bundles, "no links between operations: nothing stateful to test"

    class Workflow(workflow):
        # Each sequence starts from the same state: its writes are rolled back when it ends, and the API's
        # throttle counts (in the cache) start again, so a long run does not turn into 429s.
        def setup(self):
            cache.clear()
            self._savepoint = transaction.atomic()
            self._savepoint.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._savepoint.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": token_headers}

        def validate_response(self, response, case, **kwargs):
            # Collected rather than raised: a sequence depends on the database, so Hypothesis could not replay
            # it to shrink it; every distinct failure is reported at the end with the request that caused it.
            calls.append(case.operation.label)
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as error:  # one failure, or a FailureGroup of them
                failures.setdefault(f"{case.method} {case.path}: {str(error)[:300]}", case.as_curl_command())

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,  # random sequences (Hypothesis cannot derandomize schemathesis's state machine)
            phases=[Phase.generate],  # no shrinking: a failure is reported as found, with its whole sequence
        ),
    )
    assert len(calls) >= EXAMPLES and len(set(calls)) > 5, calls
    assert not failures, "\n\n".join(f"{what}\n  {curl}" for what, curl in failures.items())
