"""Reference intake, storage by content hash, ids, analysis caching (issue #8, intake)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from songforge.engine import analyze as engine_analyze
from songforge.engine.analyze import Analysis, Section
from songforge.errors import GenerationFailed, InvalidRequest, NotFound, ReferenceRejected
from songforge.service.audio_probe import sniff_format
from songforge.service.fetch import UrlFetcher
from songforge.service.references import (
    INSTRUMENTAL_ID_PREFIX,
    REF_MIN_KEEP_S,
    VOICE_ID_PREFIX,
    AudioLimits,
    ReferenceService,
)
from songforge.storage.blobs import FileBlobStore
from songforge.storage.urls import UrlSigner
from tests.service._helpers import make_settings

LIMITS = AudioLimits(min_duration_s=0.5, max_duration_s=2.0, max_bytes=1_000_000)
FORMATS = ("wav", "mp3", "flac", "ogg", "m4a")
_CODECS = {"mp3": ["-c:a", "libmp3lame", "-b:a", "64k"], "flac": ["-c:a", "flac"],
           "ogg": ["-c:a", "libvorbis", "-q:a", "2"], "m4a": ["-c:a", "aac", "-b:a", "64k"]}
PUBLIC_IP = "93.184.216.34"


# -- fixtures ------------------------------------------------------------------------------------


def _tone_wav(path: Path, duration_s: float, *, rate_hz: int = 22050) -> Path:
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), rate_hz, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict[str, bytes]:
    """A 1 s 440 Hz tone in every format, plus a 0.3 s and a 3 s wav."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    folder = tmp_path_factory.mktemp("tones")
    wav = _tone_wav(folder / "tone.wav", 1.0)
    out = {"wav": wav.read_bytes()}
    for fmt, codec in _CODECS.items():
        dst = folder / f"tone.{fmt}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), *codec, str(dst)], check=True)
        out[fmt] = dst.read_bytes()
    out["short"] = _tone_wav(folder / "short.wav", 0.3).read_bytes()
    out["long"] = _tone_wav(folder / "long.wav", 3.0).read_bytes()
    return out


@pytest.fixture
def service(settings) -> ReferenceService:
    return ReferenceService(settings, FileBlobStore(settings.blob_root()))


def _refs(service: ReferenceService) -> list[str]:
    folder = service.blobs.root / "refs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients that hang up early are expected
        pass


class _Server:
    """Loopback HTTP server: ``routes`` maps a path to (status, headers, body) or a callable."""

    def __init__(self, routes: dict) -> None:
        self.routes = routes
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                outer.hits.append(self.path)
                route = outer.routes.get(self.path, (404, {}, b"missing"))
                if callable(route):
                    return route(self)
                status, headers, body = route
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def web(audio):
    def endless(handler):  # no Content-Length: the cap must stop the stream
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = audio["wav"][:4096]
        try:
            for _ in range(1000):
                handler.wfile.write(chunk)
        except OSError:
            pass

    def slow(handler):
        time.sleep(2.0)
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = _Server({
        "/tone.wav": (200, {"Content-Type": "audio/wav"}, audio["wav"]),
        "/tone.mp3": (200, {}, audio["mp3"]),
        "/hop": (302, {"Location": "/tone.wav"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/big": (200, {}, audio["long"]),
        "/endless": endless,
        "/slow": slow,
        "/page.html": (200, {"Content-Type": "text/html"}, b"<html>not audio</html>"),
    })
    yield server
    server.close()


# -- intake from bytes ---------------------------------------------------------------------------


def test_identical_bytes_give_the_identical_id_and_one_stored_file(service, audio):
    first = service.intake(data=audio["wav"], limits=LIMITS)
    again = service.intake(data=audio["wav"], limits=LIMITS)
    assert first == again
    assert first.audio_id == hashlib.md5(audio["wav"]).hexdigest()
    assert first.key == f"refs/{first.audio_id}.wav"
    assert _refs(service) == [f"{first.audio_id}.json", f"{first.audio_id}.wav"]
    assert service.path_of(first.audio_id).read_bytes() == audio["wav"]
    record = json.loads(service.blobs.read(f"refs/{first.audio_id}.json"))
    assert record["format"] == "wav" and record["size_bytes"] == len(audio["wav"])
    assert abs(record["duration_s"] - 1.0) < 0.01 and record["created"].endswith("+00:00")


def test_different_audio_gets_a_different_id(service, audio):
    a = service.intake(data=audio["wav"], limits=LIMITS)
    b = service.intake(data=audio["flac"], limits=LIMITS)
    assert a.audio_id != b.audio_id and len(_refs(service)) == 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_sniffed_measured_and_stored(service, audio, fmt):
    stored = service.intake(data=audio[fmt], limits=LIMITS)
    assert stored.format == fmt and stored.key.endswith(f".{fmt}")
    assert stored.size_bytes == len(audio[fmt])
    assert abs(stored.duration_s - 1.0) < 0.08, stored.duration_s  # codec padding is trimmed or small
    assert service.blobs.read(stored.key) == audio[fmt]


@pytest.mark.parametrize(
    "head, fmt",
    [(b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"), (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00", "mp3"),
     (b"\xff\xfb\x90\x64" + bytes(8), "mp3"), (b"fLaC" + bytes(8), "flac"), (b"OggS" + bytes(8), "ogg"),
     (b"\x00\x00\x00\x20ftypM4A " + bytes(4), "m4a"),
     (b"ID3\x04\x00\x00\x00\x00\x00\x04" + bytes(4) + b"fLaC", "flac"),
     (b"\x89PNG\r\n\x1a\n" + bytes(4), None), (b"hello world, not audio", None),
     (b"\xff\xf1\x50\x80" + bytes(8), None),  # ADTS AAC (layer 0): not an MPEG audio frame
     (b"\xff\xfb\xf0\x64" + bytes(8), None)],  # bitrate index 15 is invalid
)
def test_sniffing_reads_magic_numbers(head, fmt):
    assert sniff_format(head) == fmt


def _png() -> bytes:
    return bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(40)


@pytest.mark.parametrize(
    "make, limits, reason, limit",
    [
        (lambda a: a["short"], LIMITS, "too_short", "0.5-2 s"),
        (lambda a: a["long"], LIMITS, "too_long", "0.5-2 s"),
        (lambda a: a["wav"], AudioLimits(0.5, 2.0, max_bytes=1000), "too_large", "1000 bytes"),
        (lambda a: b"just some text, certainly not a song\n" * 50, LIMITS, "not_audio",
         "wav, mp3, flac, ogg, m4a"),
        (lambda a: _png(), LIMITS, "not_audio", "wav, mp3, flac, ogg, m4a"),
        (lambda a: a["wav"][:30], LIMITS, "not_audio", "wav, mp3, flac, ogg, m4a"),  # cut inside the header
        (lambda a: a["wav"][:44], LIMITS, "not_audio", "wav, mp3, flac, ogg, m4a"),  # header, no samples
        (lambda a: a["flac"][:200], LIMITS, "not_audio", "wav, mp3, flac, ogg, m4a"),
        (lambda a: b"", LIMITS, "not_audio", "wav, mp3, flac, ogg, m4a"),
        (lambda a: a["flac"], AudioLimits(0.5, 2.0, formats=("wav", "mp3")), "not_audio", "wav, mp3"),
        (lambda a: b"RIFF\x10\x00\x00\x00WAVE" + os.urandom(2000), LIMITS, "not_audio",
         "wav, mp3, flac, ogg, m4a"),
    ],
    ids=["too_short", "too_long", "too_large", "text", "png", "wav_cut_30", "wav_header_only",
         "flac_cut", "empty", "format_not_accepted", "wav_garbage"],
)
def test_bad_references_are_rejected_and_nothing_is_stored(service, audio, make, limits, reason, limit):
    with pytest.raises(ReferenceRejected) as info:
        service.intake(data=make(audio), limits=limits, field="audio_base64")
    assert (info.value.reason, info.value.field, info.value.limit) == (reason, "audio_base64", limit)
    assert info.value.code == "reference_rejected" and info.value.http_status == 400
    assert _refs(service) == []


def test_limits_are_inclusive(service, audio):
    stored = service.intake(data=audio["wav"], limits=AudioLimits(1.0, 1.0, max_bytes=len(audio["wav"])))
    assert stored.duration_s == 1.0


def test_exactly_one_source_is_required(service, audio):
    for kwargs in ({}, {"data": audio["wav"], "url": "http://x.example/a.wav"}):
        with pytest.raises(InvalidRequest) as info:
            service.intake(limits=LIMITS, field="file", **kwargs)
        assert not isinstance(info.value, ReferenceRejected)
        assert info.value.field == "file" and "exactly one" in (info.value.limit or "")


# -- base64 --------------------------------------------------------------------------------------


def test_base64_intake_matches_byte_intake(service, audio):
    by_bytes = service.intake(data=audio["mp3"], limits=LIMITS)
    text = base64.b64encode(audio["mp3"]).decode()
    assert service.intake(base64_data=text, limits=LIMITS) == by_bytes
    wrapped = "data:audio/mpeg;base64," + "\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    assert service.intake(base64_data=wrapped, limits=LIMITS) == by_bytes
    unpadded_urlsafe = base64.urlsafe_b64encode(audio["mp3"]).decode().rstrip("=")
    assert service.intake(base64_data=unpadded_urlsafe, limits=LIMITS) == by_bytes
    assert len(_refs(service)) == 2


@pytest.mark.parametrize("text", ["this is *not* base64!", "QUJD$$$", "=" * 8])
def test_bad_base64_is_rejected(service, text):
    with pytest.raises(ReferenceRejected) as info:
        service.intake(base64_data=text, limits=LIMITS, field="audio_base64")
    assert info.value.reason == "not_audio" and info.value.field == "audio_base64"
    assert _refs(service) == []


def test_base64_over_the_size_cap_is_rejected_before_decoding(service, audio):
    text = base64.b64encode(audio["long"]).decode()
    with pytest.raises(ReferenceRejected) as info:
        service.intake(base64_data=text, limits=AudioLimits(0.5, 9.0, max_bytes=50_000))
    assert (info.value.reason, info.value.limit) == ("too_large", "50000 bytes")


# -- URLs ----------------------------------------------------------------------------------------


def test_url_intake_from_a_loopback_server(service, audio, web):
    stored = service.intake(url=f"{web.base}/tone.wav", limits=LIMITS, field="audio_url")
    assert stored == service.intake(data=audio["wav"], limits=LIMITS)
    assert service.intake(url=f"{web.base}/hop", limits=LIMITS) == stored
    assert web.hits == ["/tone.wav", "/hop", "/tone.wav"]


def test_url_format_comes_from_the_bytes_not_the_name(service, audio, web):
    web.routes["/song.wav"] = (200, {"Content-Type": "audio/wav"}, audio["mp3"])
    assert service.intake(url=f"{web.base}/song.wav", limits=LIMITS).format == "mp3"
    with pytest.raises(ReferenceRejected) as info:
        service.intake(url=f"{web.base}/page.html", limits=LIMITS, field="audio_url")
    assert info.value.reason == "not_audio"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "path, reason, limit",
    [("/nothing-here", "unreachable", "a reachable http(s) URL"),
     ("/loop", "unreachable", "a reachable http(s) URL"),
     ("/big", "too_large", "100000 bytes"),
     ("/endless", "too_large", "100000 bytes")],
)
def test_url_failures_are_rejected(service, web, path, reason, limit):
    limits = AudioLimits(0.5, 9.0, max_bytes=100_000)
    with pytest.raises(ReferenceRejected) as info:
        service.intake(url=web.base + path, limits=limits, field="audio_url")
    assert (info.value.reason, info.value.field, info.value.limit) == (reason, "audio_url", limit)
    assert _refs(service) == []


@pytest.mark.parametrize(
    "url", [f"http://127.0.0.1:{_closed_port()}/a.wav", "ftp://example.com/a.wav", "file:///etc/passwd",
            "/relative/a.wav", "http://name.invalid/a.wav"],
)
def test_unreachable_urls_are_rejected(service, url):
    with pytest.raises(ReferenceRejected) as info:
        service.intake(url=url, limits=LIMITS, field="audio_url")
    assert (info.value.reason, info.value.field) == ("unreachable", "audio_url")
    assert _refs(service) == []


def test_a_slow_server_times_out(settings, web):
    refs = ReferenceService(settings, FileBlobStore(settings.blob_root()),
                            fetcher=UrlFetcher(allow_private=True, timeout_s=0.5))
    started = time.monotonic()
    with pytest.raises(ReferenceRejected) as info:
        refs.intake(url=f"{web.base}/slow", limits=LIMITS)
    assert info.value.reason == "unreachable" and "0.5 s" in info.value.message
    assert time.monotonic() - started < 1.8


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.0.0.7", "169.254.169.254", "[::1]", "192.168.0.2"],
)
def test_private_addresses_are_refused(tmp_path, web, host):
    settings = make_settings(tmp_path, allow_private_callbacks=False)
    refs = ReferenceService(settings, FileBlobStore(settings.blob_root()))
    with pytest.raises(ReferenceRejected) as info:
        refs.intake(url=f"http://{host}:{web.base.rsplit(':', 1)[1]}/tone.wav", limits=LIMITS, field="audio_url")
    assert (info.value.reason, info.value.field, info.value.limit) == (
        "private_address", "audio_url", "a public http(s) URL")
    assert web.hits == [] and _refs(refs) == []


def test_a_redirect_to_a_private_address_is_refused(tmp_path, audio):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "cdn.example":
            return httpx.Response(302, headers={"Location": "http://10.1.2.3/secret.wav"})
        return httpx.Response(200, content=audio["wav"])

    settings = make_settings(tmp_path, allow_private_callbacks=False)
    public = {"cdn.example": [PUBLIC_IP], "ok.example": [PUBLIC_IP]}
    fetcher = UrlFetcher(allow_private=False, resolve=lambda h, p: public.get(h) or [h],
                         transport=httpx.MockTransport(handler))
    refs = ReferenceService(settings, FileBlobStore(settings.blob_root()), fetcher=fetcher)
    with pytest.raises(ReferenceRejected) as info:
        refs.intake(url="http://cdn.example/a.wav", limits=LIMITS, field="audio_url")
    assert info.value.reason == "private_address" and seen == ["http://cdn.example/a.wav"]
    assert _refs(refs) == []
    assert refs.intake(url="https://ok.example/a.wav", limits=LIMITS).format == "wav"  # the guard lets it by


def test_the_connected_address_is_checked_too(tmp_path, web):
    """A name that resolved public for the check but connects to loopback (DNS rebinding)."""
    settings = make_settings(tmp_path, allow_private_callbacks=False)
    fetcher = UrlFetcher(allow_private=False, resolve=lambda h, p: [PUBLIC_IP])
    refs = ReferenceService(settings, FileBlobStore(settings.blob_root()), fetcher=fetcher)
    with pytest.raises(ReferenceRejected) as info:
        refs.intake(url=f"http://localhost:{web.base.rsplit(':', 1)[1]}/tone.wav", limits=LIMITS)
    assert info.value.reason == "private_address" and _refs(refs) == []


# -- this server's own file links ----------------------------------------------------------------


def _own_link(settings, key: str, **kwargs) -> str:
    return UrlSigner(settings.signing_key(), base_url=settings.base_url()).sign(key, **kwargs)


@pytest.mark.parametrize("allow_private", [True, False])
def test_own_signed_file_links_are_read_locally(tmp_path, audio, allow_private):
    settings = make_settings(tmp_path, allow_private_callbacks=allow_private)  # nothing listens on :8123
    refs = ReferenceService(settings, FileBlobStore(settings.blob_root()))
    refs.blobs.put("uploads/abc/take.flac", audio["flac"])
    url = _own_link(settings, "uploads/abc/take.flac")
    assert url.startswith("http://127.0.0.1:8123/files/uploads/abc/take.flac?")
    stored = refs.intake(url=url, limits=LIMITS, field="audio_url")
    assert stored == refs.intake(data=audio["flac"], limits=LIMITS)
    relative = UrlSigner(settings.signing_key()).sign("uploads/abc/take.flac")
    assert refs.intake(url=relative, limits=LIMITS) == stored


@pytest.mark.parametrize("damage", ["tampered", "expired", "missing"])
def test_bad_own_file_links_are_rejected(service, settings, audio, damage):
    service.blobs.put("uploads/take.wav", audio["wav"])
    url = _own_link(settings, "uploads/take.wav" if damage != "missing" else "uploads/gone.wav",
                    **({"now_s": time.time() - 7200, "ttl_s": 60} if damage == "expired" else {}))
    if damage == "tampered":
        url = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    with pytest.raises(ReferenceRejected) as info:
        service.intake(url=url, limits=LIMITS, field="audio_url")
    assert (info.value.reason, info.value.field) == ("unreachable", "audio_url")
    assert _refs(service) == []


def test_own_file_links_respect_the_size_cap(service, settings, audio):
    service.blobs.put("uploads/long.wav", audio["long"])
    with pytest.raises(ReferenceRejected) as info:
        service.intake(url=_own_link(settings, "uploads/long.wav"), limits=AudioLimits(0.5, 9.0, max_bytes=1000))
    assert (info.value.reason, info.value.limit) == ("too_large", "1000 bytes")


# -- ids -----------------------------------------------------------------------------------------


def test_register_and_resolve_round_trip(service, audio):
    stored = service.intake(data=audio["ogg"], limits=LIMITS)
    ids = service.register(stored.audio_id, "song")
    assert ids.audio_id == stored.audio_id
    assert ids.voice_id == VOICE_ID_PREFIX + stored.audio_id == f"vocal-{stored.audio_id}"
    assert ids.instrumental_id == INSTRUMENTAL_ID_PREFIX + stored.audio_id
    for any_id in (stored.audio_id, ids.voice_id, ids.instrumental_id):
        assert service.resolve(any_id) == stored
        assert service.path_of(any_id).read_bytes() == audio["ogg"]
    assert service.register(stored.audio_id, "song") == ids  # same audio, same ids


def test_each_purpose_makes_only_its_ids(service, audio):
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    voice = service.register(stored.audio_id, "voice")
    assert voice.voice_id == f"vocal-{stored.audio_id}" and voice.instrumental_id is None
    with pytest.raises(NotFound):
        service.resolve(f"instrumental-{stored.audio_id}")  # never issued
    inst = service.register(voice.voice_id, "instrumental")  # any id of the audio works
    assert inst.instrumental_id == f"instrumental-{stored.audio_id}" and inst.voice_id is None
    assert service.resolve(inst.instrumental_id) == service.resolve(voice.voice_id) == stored
    record = json.loads(service.blobs.read(f"refs/{stored.audio_id}.json"))
    assert record["purposes"] == ["instrumental", "voice"]


def test_unknown_purpose_names_the_allowed_values(service, audio):
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    with pytest.raises(InvalidRequest) as info:
        service.register(stored.audio_id, "karaoke")
    assert info.value.field == "purpose" and info.value.limit == "song, voice, instrumental"


@pytest.mark.parametrize(
    "any_id", ["0" * 32, "vocal-" + "0" * 32, "instrumental-" + "f" * 32, "nonsense", "", "../etc/passwd",
               "vocal-", "A" * 32],
)
def test_unknown_ids_are_not_found(service, audio, any_id):
    service.intake(data=audio["wav"], limits=LIMITS)
    with pytest.raises(NotFound):
        service.resolve(any_id)
    with pytest.raises(NotFound):
        service.register(any_id, "song")


def test_expired_references_are_not_found(service, audio):
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    ids = service.register(stored.audio_id, "song")
    service.blobs.path_for(stored.key).unlink()  # what the janitor leaves
    for any_id in (stored.audio_id, ids.voice_id, ids.instrumental_id):
        with pytest.raises(NotFound):
            service.resolve(any_id)
    assert service.intake(data=audio["wav"], limits=LIMITS) == stored  # intake again restores it
    assert service.resolve(ids.voice_id) == stored  # with its purposes


# -- ageing --------------------------------------------------------------------------------------


def _age(service: ReferenceService, age_s: float) -> None:
    old_s = time.time() - age_s
    for path in (service.blobs.root / "refs").iterdir():
        os.utime(path, (old_s, old_s))


def test_use_refreshes_the_age_the_janitor_reads(service, audio):
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    _age(service, 30 * 86400)
    assert set(service.blobs.iter_older_than(86400)) == {stored.key, f"refs/{stored.audio_id}.json"}
    service.resolve(stored.audio_id)
    assert list(service.blobs.iter_older_than(3600)) == []
    _age(service, 30 * 86400)
    service.intake(data=audio["wav"], limits=LIMITS)  # an identical upload counts as use
    assert list(service.blobs.iter_older_than(3600)) == []


def test_sweep_keeps_references_a_day_and_removes_them_whole(service, audio):
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    service.files.write_json(f"refs/{stored.audio_id}.analysis.json", {"tempo_bpm": 120})
    _age(service, REF_MIN_KEEP_S - 600)
    assert service.sweep(60) == 0 and len(_refs(service)) == 3  # younger than a day: kept
    _age(service, REF_MIN_KEEP_S + 600)
    assert service.sweep(60) == 3 and _refs(service) == []
    with pytest.raises(NotFound):
        service.resolve(stored.audio_id)


# -- analysis ------------------------------------------------------------------------------------


def _fake_analysis(duration_s: float) -> Analysis:
    return Analysis(
        duration_s=duration_s, tempo_bpm=np.float64(96.0), beats_s=(0.0, 0.625), meter=4, key_tonic_pc=9,
        key_mode="minor", sections=(Section("verse", 0.0, duration_s),),
    )


def test_analysis_runs_once_under_concurrent_requests_and_is_cached(service, audio, monkeypatch):
    calls: list[Path] = []

    def slow_analyze(path, *, transcribe=True):
        calls.append(Path(path))
        time.sleep(0.3)
        return _fake_analysis(1.0)

    monkeypatch.setattr(engine_analyze, "analyze_file", slow_analyze)
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(service.analyze(stored.audio_id)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [service.path_of(stored.audio_id)]
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert results[0]["key"] == "A minor" and results[0]["tempo_bpm"] == 96.0
    assert results[0]["sections"] == [{"label": "verse", "start_s": 0.0, "end_s": 1.0}]
    cached = json.loads(service.blobs.read(f"refs/{stored.audio_id}.analysis.json"))
    assert cached == results[0] and Analysis.from_dict(cached) == _fake_analysis(1.0)
    fresh = ReferenceService(service.settings, service.blobs)  # another process reads the cache
    assert fresh.analyze(f"{stored.audio_id}") == results[0] and len(calls) == 1


def test_a_failing_analysis_is_a_clear_error_and_nothing_is_cached(service, audio, monkeypatch):
    def broken(path, *, transcribe=True):
        raise ValueError("no beats found")

    monkeypatch.setattr(engine_analyze, "analyze_file", broken)
    stored = service.intake(data=audio["wav"], limits=LIMITS)
    with pytest.raises(GenerationFailed, match="no beats found") as failed:
        service.analyze(stored.audio_id)
    assert failed.value.reason == "analysis_failed"
    assert not service.blobs.exists(f"refs/{stored.audio_id}.analysis.json")
    with pytest.raises(NotFound):
        service.analyze("f" * 32)
