"""The worker resolves a request's reference: our own finished songs (their lossless master,
request and analysis) and stored uploads; unknown ids fail with ``reference_not_found``."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from songforge.engine.encode import encode
from songforge.engine.remake._common import master_from_flac
from songforge.errors import GenerationFailed
from songforge.models import Reference, SongRequest
from songforge.service.pipeline import request_to_dict, run_in_child
from songforge.service.sources import resolve_reference
from songforge.storage.blobs import FileBlobStore

RATE = 48000


def _run(job_id: str, request: SongRequest, root: str) -> dict:
    return run_in_child(job_id, request_to_dict(request), "tiny", root, None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished 12 s instrumental job (``job1``) in a blob store."""
    root = str(tmp_path_factory.mktemp("blobs"))
    request = SongRequest(prompt="calm piano and strings", instrumental=True, duration_s=12.0, seed=21, format="wav")
    reply = _run("job1", request, root)
    assert reply["ok"], reply
    return root, reply["result"]


def test_every_job_keeps_its_lossless_master_request_and_analysis(finished) -> None:
    root, result = finished
    blobs = FileBlobStore(root)
    master = master_from_flac(blobs.read("job1/master.flac"))
    assert abs(master.shape[0] / RATE - result["duration_s"]) < 1e-3 and master.shape[1] == 2
    assert encode(master, sample_rate_hz=RATE, format="wav") == blobs.read("job1/song.wav")  # made from it
    source = json.loads(blobs.read("job1/source.json"))
    assert source["request"]["seed"] == result["seed"] == 21 and source["derived"] is False
    analysis = json.loads(blobs.read("job1/analysis.json"))
    assert analysis["tempo_bpm"] > 0 and analysis["key"] and analysis["sections"]
    assert "master" not in result["assets"]  # internal: not a delivered asset


def test_a_source_job_resolves_to_its_exact_master(finished) -> None:
    root, result = finished
    blobs = FileBlobStore(root)
    spec = Reference(mode="extend", source_job_id="job1", continue_at_s=5.0)
    resolved = resolve_reference(SongRequest(reference=spec), blobs=blobs)
    assert resolved.spec == spec and resolved.voice is None and resolved.instrumental is None
    src = resolved.source
    assert np.array_equal(src.audio, master_from_flac(blobs.read("job1/master.flac")))
    assert src.sample_rate_hz == RATE and src.request is not None and src.request.seed == 21
    assert abs(src.analysis.duration_s - result["duration_s"]) < 1e-3


@pytest.mark.parametrize("spec", [
    Reference(mode="extend", source_job_id="no-such-job", continue_at_s=3.0),
    Reference(mode="extend", audio_id="0" * 32, continue_at_s=3.0),
    Reference(mode="add_vocals", instrumental_id="instrumental-" + "1" * 32),
])
def test_unknown_references_fail_as_not_found(finished, spec) -> None:
    root, _ = finished
    with pytest.raises(GenerationFailed) as info:
        resolve_reference(SongRequest(reference=spec), blobs=FileBlobStore(root))
    assert info.value.reason == "reference_not_found"
    reply = _run("job-missing", SongRequest(reference=spec, seed=1), root)
    assert reply == {"ok": False, "reason": "reference_not_found", "message": reply["message"]}


@pytest.mark.heavy
def test_replace_section_job_keeps_the_wav_outside_the_window(finished) -> None:
    root, _ = finished
    spec = Reference(mode="replace_section", source_job_id="job1", infill_start_s=4.0, infill_end_s=7.0)
    reply = _run("job2", SongRequest(reference=spec, seed=3, format="wav"), root)
    assert reply["ok"], reply
    blobs = FileBlobStore(root)
    before, _ = sf.read(io.BytesIO(blobs.read("job1/song.wav")), dtype="int16", always_2d=True)
    after, _ = sf.read(io.BytesIO(blobs.read("job2/song.wav")), dtype="int16", always_2d=True)
    a, b = 4 * RATE, 7 * RATE
    assert after.shape == before.shape
    assert np.array_equal(after[:a], before[:a]) and np.array_equal(after[b:], before[b:])
    assert not np.array_equal(after[a:b], before[a:b])
    derived = json.loads(blobs.read("job2/source.json"))
    assert derived["derived"] is True  # an edited song is extended as audio, not re-composed


def test_our_own_song_uploaded_back_gets_the_exact_analysis_of_its_score(finished, monkeypatch) -> None:
    """A delivered song file given back as reference audio is recognised by its bytes: its
    analysis is the score's (tempo, key, sections exact), not a transcription; other audio is analysed."""
    from songforge.service import references as refs_module
    from songforge.service.references import AudioLimits, ReferenceService

    root, _ = finished
    blobs = FileBlobStore(root)
    service = ReferenceService(None, blobs)
    limits = AudioLimits(min_duration_s=1.0, max_duration_s=60.0)
    analysed: list[str] = []
    monkeypatch.setattr(refs_module, "_run_analysis", lambda path: analysed.append(str(path)) or {"tempo_bpm": 1.0})

    ours = service.intake(data=blobs.read("job1/song.wav"), limits=limits)
    exact = service.analyze(ours.audio_id)
    stored = json.loads(blobs.read("job1/analysis.json"))
    assert exact == {**stored, "extra": {**stored["extra"], "source_job_id": "job1"}}
    assert analysed == []

    other = io.BytesIO()
    sf.write(other, np.zeros((RATE * 2, 2), np.float32) + 0.1, RATE, format="WAV")
    stranger = service.intake(data=other.getvalue(), limits=limits)
    assert service.analyze(stranger.audio_id) == {"tempo_bpm": 1.0} and len(analysed) == 1
