"""Request validation in AIML's words: zod-style issue lines (API_SPEC.md 4.4).

AIML answers a bad body with HTTP 400, ``"Body validation error"`` and one line per issue, e.g.
``Invalid enum value. Expected 'a' | 'b', received 'c'``. :func:`parse_body` validates a body
against its model's schema and raises :class:`BodyIssues` (an ``InvalidRequest``) whose message
is those lines; every line but the model one ends with the field's path (``at "prompt"``), and
``limit`` names the first broken limit.

Example
-------
>>> parse_body({"model": "minimax/music-1.5", "prompt": "short", "lyrics": "la la la la la"})
Traceback (most recent call last):
songforge.api.aimlapi.issues.BodyIssues: String must contain at least 10 character(s) at "prompt"
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from songforge.api.aimlapi.wire import BODIES, MODEL_NAMES, GenerationBody
from songforge.errors import InvalidRequest

__all__ = ["parse_body", "issue", "issue_lines", "js_repr", "BodyIssues"]

_TYPE_NAMES = {
    "string_type": "string", "bool_type": "boolean", "int_type": "number", "float_type": "number",
    "model_type": "object", "dict_type": "object", "model_attributes_type": "object",
}


def parse_body(body: Any) -> GenerationBody:
    """The per-model wire body of ``body`` (a decoded JSON value, or the raw bytes of a body sent
    without a JSON content type, decoded here); raises ``InvalidRequest``."""
    if isinstance(body, bytes):
        body = _json_of(body)
    if not isinstance(body, dict):
        raise issue(f"Expected object, received {_js_type(body)}", limit="a JSON object")
    model = body.get("model")
    if model is None:
        raise issue('Required at "model"', field="model", limit=_expected(MODEL_NAMES))
    if model not in BODIES:
        raise issue(f"Invalid enum value. Expected {_expected(MODEL_NAMES)}, received {js_repr(model)}",
                    field="model", limit=_expected(MODEL_NAMES))
    try:
        parsed: GenerationBody = BODIES[model].model_validate(body)  # type: ignore[assignment]
    except ValidationError as exc:
        lines, limit = issue_lines(exc)
        raise issue("\n".join(lines), limit=limit) from None
    return parsed


class BodyIssues(InvalidRequest):
    """An ``InvalidRequest`` whose message is already zod-style issue lines that name their
    fields, so the envelope shows it as it is."""


def _json_of(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise issue("the request body is not valid JSON", limit="a JSON object") from None


def issue(text: str, *, field: str | None = None, limit: str | None = None) -> BodyIssues:
    """A :class:`BodyIssues` error for the zod-style issue ``text``."""
    return BodyIssues(text, field=field, limit=limit)


def issue_lines(exc: ValidationError) -> tuple[list[str], str | None]:
    """One zod-style line per pydantic error, and the first broken limit."""
    lines: list[str] = []
    limit: str | None = None
    for error in exc.errors(include_url=False):
        text, broken = _wording(error)
        path = ".".join(str(part) for part in error["loc"])
        lines.append(f'{text} at "{path}"' if path else text)
        limit = limit or broken
    return lines, limit


def _wording(error: Any) -> tuple[str, str | None]:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "Required", "required"
    if kind == "string_too_short":
        return f"String must contain at least {ctx['min_length']} character(s)", f"at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"String must contain at most {ctx['max_length']} character(s)", f"at most {ctx['max_length']} characters"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", " | ").replace(", ", " | ")
        return f"Invalid enum value. Expected {expected}, received {js_repr(value)}", expected
    if kind in _TYPE_NAMES:
        return f"Expected {_TYPE_NAMES[kind]}, received {_js_type(value)}", _TYPE_NAMES[kind]
    return str(error["msg"]), None


def _expected(values: tuple[str, ...]) -> str:
    return " | ".join(js_repr(v) for v in values)


def js_repr(value: Any) -> str:
    """A value as zod prints it: strings in single quotes, JSON literals bare."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
