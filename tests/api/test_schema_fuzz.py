"""Schemathesis against the OpenAPI: every operation of every dialect, a bounded number of
generated requests each: no response >= 500, every error in its dialect's own envelope.

The longer run is ``python bench/api_fuzz.py --examples 100``.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from tests.api._engines import scripted_song
from tests.api._fuzz import all_operations, envelope_ok, fuzz_operation
from tests.service._helpers import make_settings

pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency (pip install -e '.[dev]')")

EXAMPLES = 8
# operations that create something and whose schema says enough for generated bodies to pass
CREATING = {
    ("POST", "/v1/songs"), ("POST", "/v1/lyrics"),
    ("POST", "/api/v1/services/audio/music/generation"),
    ("POST", "/api/v1/services/audio/tts/SpeechSynthesizer"), ("POST", "/v1/lyrics_generation"),
    ("POST", "/api/v1/generate"), ("POST", "/api/v1/lyrics"), ("POST", "/v2/generate/audio"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("fuzz"), workers=1, allow_private_callbacks=False)
    application = create_app(settings, generate=scripted_song)
    with TestClient(application):
        yield application


def test_every_operation_answers_below_500_in_its_envelope(app):
    operations = all_operations(app)
    dialects = set()
    reports = []
    for operation in operations:
        report = fuzz_operation(app, operation, max_examples=EXAMPLES)
        dialects.add(report.dialect)
        reports.append(report)
    assert dialects == {"native", "dashscope", "minimax", "suno", "aimlapi"}
    assert len(operations) >= 40
    problems = [f"{r.method} {r.path}: {p}" for r in reports for p in r.problems]
    assert not problems, "\n".join(problems[:20])
    accepted = {(r.method, r.path): r.accepted for r in reports}
    refused = sorted(op for op in CREATING if accepted.get(op, 0) == 0)
    assert not refused, f"no generated body was accepted by {refused}"


def test_the_envelope_check_can_fail(app):
    """A native envelope on a vendor path, or a bare 500, is caught."""
    native = b'{"error": {"code": "invalid_request", "message": "x"}}'
    assert envelope_ok(app, "/v1/songs", 400, native, "application/json") is True
    assert envelope_ok(app, "/api/v1/generate", 400, native, "application/json") is False
    assert envelope_ok(app, "/v2/generate/audio", 500, b"Internal Server Error", "text/plain") is False
    assert envelope_ok(app, "/v1/music_generation", 200, b'{"base_resp": {"status_code": 0, "status_msg": "success"}}',
                       "application/json") is None


def test_documented_minimax_models_are_the_ones_validated():
    from songforge.api.minimax import rules, wire

    assert tuple(rules.MODELS) == wire.TEXT_MODEL_NAMES
