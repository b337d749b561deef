from __future__ import annotations

import os

from songforge.config import SECRET_FILENAME, Settings, get_settings


def test_defaults_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SONGFORGE_PORT", "9001")
    monkeypatch.setenv("SONGFORGE_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.port == 9001 and s.data_dir == tmp_path
    assert s.url_ttl_s == 86400 and s.retention_days == 15 and s.preset == "default"
    assert s.workers == (os.cpu_count() or 1) and not s.dev_mode and not s.allow_private_callbacks
    assert s.database_url_or_default().startswith("sqlite:///")
    get_settings.cache_clear()
    assert get_settings() is get_settings()
    get_settings.cache_clear()


def test_signing_secret_is_generated_once_and_persisted(tmp_path):
    a = Settings(data_dir=tmp_path).signing_key()
    b = Settings(data_dir=tmp_path).signing_key()
    assert a == b and len(a) > 32
    assert (tmp_path / SECRET_FILENAME).stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path, signing_secret="given").signing_key() == b"given"


def test_constructing_settings_touches_nothing(tmp_path):
    Settings(data_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
