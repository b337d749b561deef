"""Schemathesis against the app's OpenAPI: every operation of every dialect, checked for 5xx and
for errors outside the dialect's own envelope. Used by ``test_schema_fuzz.py`` (a bounded run)
and ``bench/api_fuzz.py`` (a longer one).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from songforge.api.dialect import dialect_for_path, dialects_of

AUTH = {"Authorization": "Bearer sf_fuzz"}


def _native(body: Any, status: int) -> bool | None:
    """``True``: an error in the envelope; ``False``: an error outside it; ``None``: not an error."""
    if status < 400:
        return None
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)


def _dashscope(body: Any, status: int) -> bool | None:
    if status < 400:
        return None
    return isinstance(body, dict) and {"code", "message", "request_id"} <= body.keys()


def _minimax(body: Any, status: int) -> bool | None:
    base = body.get("base_resp") if isinstance(body, dict) else None
    if status < 400 and not (isinstance(base, dict) and base.get("status_code")):
        return None
    return isinstance(base, dict) and isinstance(base.get("status_code"), int) and base["status_code"] != 0 \
        and isinstance(base.get("status_msg"), str)


def _suno(body: Any, status: int) -> bool | None:
    code = body.get("code") if isinstance(body, dict) else None
    if status < 400 and (code is None or code == 200):
        return None
    return isinstance(code, int) and code != 200 and isinstance(body.get("msg"), str)


def _aimlapi(body: Any, status: int) -> bool | None:
    if status < 400:
        return None
    return isinstance(body, dict) and {"message", "path", "statusCode"} <= body.keys() \
        and body["statusCode"] == status


ENVELOPES: dict[str, Callable[[Any, int], bool | None]] = {
    "native": _native, "dashscope": _dashscope, "minimax": _minimax, "suno": _suno, "aimlapi": _aimlapi,
}


def dialect_name(app: Any, path: str) -> str:
    dialect = dialect_for_path(dialects_of(app), path)
    return dialect.name if dialect else "native"


def envelope_ok(app: Any, path: str, status: int, content: bytes, content_type: str) -> bool | None:
    """Is a response an error in its dialect's envelope (``None``: not an error)?"""
    if "json" not in content_type:
        return None if status < 400 else False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return ENVELOPES[dialect_name(app, path)](body, status)


@dataclass
class OperationReport:
    """What one operation answered: counts by outcome, and the problems seen."""

    method: str
    path: str
    dialect: str
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the first few error bodies, to read

    @property
    def cases(self) -> int:
        return sum(self.outcomes.values())

    @property
    def accepted(self) -> int:
        return self.outcomes["ok"]


def fuzz_operation(app: Any, operation: Any, *, max_examples: int, seed: int = 0) -> OperationReport:
    """Run ``max_examples`` generated cases of ``operation``; record outcome and problems.

    A problem is a response >= 500, or an error response outside the dialect's envelope.
    """
    report = OperationReport(operation.method.upper(), operation.path, dialect_name(app, operation.path))

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(headers=AUTH, timeout=120)
        status = response.status_code
        content_type = response.headers.get("content-type", "")
        if isinstance(content_type, list):  # schemathesis' Response keeps every value
            content_type = ",".join(content_type)
        verdict = envelope_ok(app, case.formatted_path, status, response.content, content_type)
        if status >= 500:
            report.problems.append(f"{status} on {case.formatted_path}: {response.text[:200]}")
        elif verdict is False:
            report.problems.append(f"{status} outside the {report.dialect} envelope: {response.text[:200]}")
        report.outcomes["ok" if verdict is None else ("error" if status < 500 else "5xx")] += 1
        if verdict is not None and len(report.errors) < 5:
            report.errors.append(response.text[:160])

    run()
    return report


def all_operations(app: Any) -> list[Any]:
    import schemathesis

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]
