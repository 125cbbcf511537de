"""The botocore event hook that refuses, as AWS would, a request moto would accept.

Registered on a session's or a client's events, it sees every request before it is serialized
(`before-parameter-build`), checks it against the model's constraints and the documented rules,
and answers a violation with the ValidationException AWS sends. It also keeps every violation,
because code under test may catch the error: whoever registered it asks `assert_clean()` at the
end, so a refused request fails the test or the demo even when the caller swallowed it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from botocore.hooks import BaseEventHooks
from botocore.model import OperationModel

from local.request_checks.documented_rules import rule_problems
from local.request_checks.shape_constraints import shape_problems

# Every operation of every service: the emitter matches registered names as prefixes.
EVENT = "before-parameter-build"


@dataclass(frozen=True)
class RequestViolation:
    """A refused request: the operation and what was wrong with it."""

    service: str
    operation: str
    problems: tuple[str, ...]

    def message(self) -> str:
        """The ValidationException message: every problem, the rule quoted where one applies."""
        count = len(self.problems)
        return f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(self.problems)}"


class RequestViolationsError(AssertionError):
    """Requests were refused (and perhaps swallowed by the code that made them)."""


class RequestChecker:
    """Checks requests against the botocore model and AWS's documented rules; keeps what it refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._violations: list[RequestViolation] = []

    def register(self, events: BaseEventHooks) -> None:
        """Check every request made through `events` (`session.events` or `client.meta.events`)."""
        events.register(EVENT, self._check, unique_id=f"request-checks-{id(self)}")

    def _check(self, params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        service = model.service_model.service_name
        problems = [*shape_problems(params, model.input_shape), *rule_problems(service, model.name, params)]
        if not problems:
            return
        violation = RequestViolation(service, model.name, tuple(problems))
        with self._lock:
            self._violations.append(violation)
        raise ClientError({"Error": {"Code": "ValidationException", "Message": violation.message()}}, model.name)

    def take_violations(self) -> list[RequestViolation]:
        """The violations so far, forgotten once returned (a test that provokes one takes it)."""
        with self._lock:
            taken, self._violations = self._violations, []
        return taken

    def assert_clean(self) -> None:
        """Raise `RequestViolationsError` naming every refused request since the last call."""
        violations = self.take_violations()
        if violations:
            lines = [f"{v.service} {v.operation}: {v.message()}" for v in violations]
            raise RequestViolationsError("AWS would refuse these requests:\n" + "\n".join(lines))
