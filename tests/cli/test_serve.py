"""``songforge serve``, ``songforge keys`` and ``songforge generate --server``."""

from __future__ import annotations

import pytest
import soundfile as sf
from typer.testing import CliRunner

from songforge.cli.app import app
from songforge.cli.serve import load_engine
from songforge.errors import InvalidRequest
from songforge.service.keys import hash_key
from tests.api._server import SCRIPTED, LiveServer

runner = CliRunner()


def _keys(*args: str):
    return runner.invoke(app, ["keys", *args])


def test_keys_create_list_revoke(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    created = _keys("create", "--name", "ci bot", "--tier", "paid", *data)
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("sf_") and len(plaintext) > 30
    listed = _keys("list", *data)
    assert listed.exit_code == 0 and "ci bot" in listed.stdout and "paid" in listed.stdout
    assert plaintext not in listed.stdout and hash_key(plaintext) not in listed.stdout
    from songforge.config import Settings
    from songforge.storage.jobs import SqlJobStore

    [record] = SqlJobStore(Settings(data_dir=tmp_path / "data").database_url_or_default()).list_keys()
    assert record.key_hash == hash_key(plaintext)
    revoked = _keys("revoke", record.id, *data)
    assert revoked.exit_code == 0 and record.id in revoked.stdout
    assert _keys("revoke", "nope", *data).exit_code == 2
    bad = _keys("create", "--tier", "gold", *data)
    assert bad.exit_code == 2 and "unknown tier" in bad.output


def test_engine_option_loads_module_functions():
    assert load_engine(SCRIPTED).__name__ == "scripted_song"
    with pytest.raises(InvalidRequest):
        load_engine("no_colon")
    with pytest.raises(InvalidRequest):
        load_engine("songforge.nothing:here")


def test_generate_on_a_server_downloads_the_song(tmp_path):
    live = LiveServer(tmp_path / "data", args=("--dev", "--engine", SCRIPTED, "--workers", "1")).start()
    try:
        out = tmp_path / "remote.wav"
        result = runner.invoke(app, ["generate", "paced song", "-o", str(out), "--server", live.url,
                                     "--seed", "4", "--midi", str(tmp_path / "s.mid"), "--quiet"])
        assert result.exit_code == 0, result.output
        assert sf.info(str(out)).samplerate == 48000 and (tmp_path / "s.mid").read_bytes().startswith(b"MThd")
        bad = runner.invoke(app, ["generate", "x", "-o", str(out), "--server", live.url, "--duration", "3"])
        assert bad.exit_code == 2 and "duration_s" in bad.output
    finally:
        live.stop()
