"""The native event stream of a real server with the real engine starts as the first audio is made.

The song is made block by block (:mod:`songforge.engine.stream`): its first encoded piece is
written to the job's ``stream.part`` seconds before the song is done. A watcher thread notes when
that file appears; the stream's first ``audio`` event must follow within 0.5 s, arrive while the
job is still running, and the streamed pieces must be the final file.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from songforge import Client
from tests.api._server import LiveServer

pytestmark = pytest.mark.heavy


def _watch_for(root: Path, name: str, found: dict[str, float], stop: threading.Event) -> None:
    """Note in ``found["at"]`` when a non-empty file called ``name`` first exists under ``root``."""
    while not stop.is_set():
        for path in root.rglob(name):
            try:
                if path.stat().st_size > 0:
                    found["at"] = time.monotonic()
                    return
            except FileNotFoundError:
                continue
        time.sleep(0.005)


def test_native_stream_starts_within_half_a_second_of_the_first_audio(tmp_path):
    live = LiveServer(tmp_path / "data", args=("--dev", "--preset", "tiny", "--workers", "1")).start(timeout_s=120)
    found: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_for, args=(tmp_path / "data", "stream.part", found, stop), daemon=True)
    try:
        with Client(live.url) as client:
            [job] = client.submit("pop", instrumental=True, duration_s=40, seed=2, format="mp3")
            watcher.start()
            audio, first_audio_at, statuses_at_audio, status = bytearray(), None, [], "queued"
            for event in client.events(job["id"]):
                if event.event == "progress":
                    status = event.data["status"]
                elif event.event == "audio":
                    first_audio_at = first_audio_at or time.monotonic()
                    statuses_at_audio.append(status)
                    assert event.data["offset"] == len(audio)
                    audio += event.audio
            view = client.get(job["id"])
            assert view["status"] == "succeeded", view["error"]
            assert client.download(view, tmp_path / "song.mp3").read_bytes() == bytes(audio)
    finally:
        stop.set()
        live.stop()
    assert "at" in found and first_audio_at is not None
    assert first_audio_at - found["at"] <= 0.5
    assert statuses_at_audio[0] == "first_ready"  # heard before the song was done
