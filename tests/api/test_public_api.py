"""Pins the public names of the HTTP layer and the client (rule 8), and that importing does no work."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

PUBLIC = {
    "songforge.api.app": {"create_app", "load_dialects", "callback_renderers", "JANITOR_INTERVAL_S",
                          "DIALECT_MODULES"},
    "songforge.api.dialect": {"Dialect", "ErrorRenderer", "route_class", "as_songforge_error", "dialect_for_path",
                              "dialects_of"},
    "songforge.api.auth": {"require_key", "ApiKey", "service_of", "owned_job"},
    "songforge.api.errors": {"install_error_handlers", "error_response", "error_body", "validation_error"},
    "songforge.api.files": {"router", "media_type_of"},
    "songforge.api.metrics": {"Metrics", "HttpMetricsMiddleware"},
    "songforge.api.middleware": {"BodyLimitMiddleware", "BodyTooLarge"},
    "songforge.api.native": {"router", "song_view", "SongCreate", "SongView", "SubmitResponse", "LyricsCreate",
                             "LyricsView", "ErrorEnvelope", "SONGWRITER_MODULE"},
    "songforge.api.sse": {"job_events", "follow_job", "AUDIO_EVENT_BYTES"},
    "songforge.service.streaming": {"PARTIAL_NAME", "partial_key", "write_partial", "drop_partial", "read_audio",
                                    "song_key"},
    "songforge.client": {"Client", "SongEvent", "TERMINAL_STATUSES"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_the_client_is_reachable_from_the_package():
    import songforge
    from songforge.client import Client

    assert songforge.Client is Client


def test_importing_does_no_work(tmp_path):
    code = "; ".join(f"import {m}" for m in PUBLIC) + "; import songforge.cli.app"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=60)
    assert list(tmp_path.iterdir()) == []
