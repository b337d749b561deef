"""Pins the public names of the service foundations (rule 8: a test pins the public API)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

PUBLIC = {
    "songforge.config": {"Settings", "get_settings", "SECRET_FILENAME"},
    "songforge.storage.jobs": {"Job", "ApiKeyRecord", "JobStore", "SqlJobStore", "new_job_id", "utc_now",
                               "ACTIVE_STATUSES"},
    "songforge.storage.blobs": {"BlobStore", "FileBlobStore", "BlobSource", "TEMP_PREFIX", "S3BlobStore",
                                "blob_spec", "open_blob_store"},
    "songforge.queue.broker": {"JobMessages", "BrokerQueue", "BrokerWorker", "LeaseHeld", "make_broker"},
    "songforge.service.relay": {"RedisEventRelay", "event_to_wire", "event_from_wire", "CHANNEL"},
    "songforge.storage.urls": {"UrlSigner", "FILES_PREFIX"},
    "songforge.queue.base": {"Queue"},
    "songforge.queue.local": {"LocalQueue"},
    "songforge.queue.retry": {"Retry"},
    "songforge.queue.worker": {"WorkerPool", "JobRunner", "Task", "Outcome", "emit", "DONE", "ERROR", "CRASH",
                               "TIMEOUT", "CANCELLED", "SHUTDOWN"},
    "songforge.service.lifecycle": {"Lifecycle", "is_legal", "EventBus", "JobEvent", "IllegalTransition",
                                    "TRANSITIONS", "MAX_ATTEMPTS", "EVENT_STATUS", "EVENT_PROGRESS",
                                    "EVENT_CHUNK"},
    "songforge.service.pipeline": {"Pipeline", "Generate", "run_in_child", "store_assets", "request_to_dict",
                                   "request_from_dict", "failure_of", "ENGINE_MODULE"},
    "songforge.service.sources": {"put_source", "resolve_reference", "own_song_analysis", "SOURCE_MASTER",
                                  "SOURCE_REQUEST", "SOURCE_ANALYSIS", "SONGS_BY_HASH"},
    "songforge.service.callbacks": {"resolve_host", "CallbackSender", "CallbackDispatcher", "Renderer", "check_callback_url",
                                    "is_forbidden_address", "CALLBACK_STATUSES"},
    "songforge.service.keys": {"KeyService", "Tier", "TIERS", "DEV_KEY", "KEY_PREFIX", "hash_key"},
    "songforge.service.songs": {"SongService", "build_service", "apply_defaults", "JanitorReport", "SEED_LIMIT"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_importing_does_no_work(tmp_path):
    code = "; ".join(f"import {m}" for m in PUBLIC)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=60)
    assert list(tmp_path.iterdir()) == []  # no data dir, database or secret created on import
