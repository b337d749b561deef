"""What the extra endpoints compute from a finished track's own assets (no re-generation).

* :func:`wav_of`: the track's audio as 16-bit WAV;
* :func:`separate`: ``separate_vocal`` (lead + backing vocals, and the mix minus them) or
  ``split_stem`` (our stems summed per vendor category by role and General MIDI program; a category
  with no stem is ``None``), brought to the level of the delivered master;
* :func:`midi_notes`: the score's notes per instrument (seconds, velocity 0-1);
* :func:`aligned_words`: the sung words with their real timings, section tags on the first word of
  a section, plus a 0-1 loudness envelope (``waveformData``).
Files are written under the track's job id, so the janitor removes them with the job.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np
import soundfile as sf

from songforge.errors import FeatureUnavailable, NotFound
from songforge.service.songs import SongService
from songforge.storage.jobs import Job

__all__ = ["wav_of", "separate", "midi_notes", "aligned_words", "category_of", "SPLIT_CATEGORIES", "waveform"]

SPLIT_CATEGORIES = ("vocal", "backing_vocals", "drums", "bass", "guitar", "keyboard", "percussion", "strings",
                    "synth", "fx", "brass", "woodwinds")
_PROGRAM_RANGES = (  # General MIDI program ranges -> category
    (0, 23, "keyboard"), (24, 31, "guitar"), (32, 39, "bass"), (40, 55, "strings"), (56, 63, "brass"),
    (64, 79, "woodwinds"), (80, 95, "synth"), (96, 103, "fx"), (104, 107, "guitar"), (108, 108, "percussion"),
    (109, 109, "woodwinds"), (110, 110, "strings"), (111, 111, "woodwinds"), (112, 119, "percussion"),
    (120, 127, "fx"),
)
_ROLE_CATEGORY = {"vocal": "vocal", "harmony_vocal": "backing_vocals", "drums": "drums", "bass": "bass", "fx": "fx"}
_TAG_RE = re.compile(r"^\s*\[([^\]]+)\]\s*$")
WAVEFORM_POINTS = 200


def _assets(job: Job) -> dict[str, Any]:
    return dict((job.result or {}).get("assets") or {})


def _read_audio(service: SongService, key: str) -> tuple[np.ndarray, int]:
    with service.blobs.open(key) as fh:
        audio, rate = sf.read(io.BytesIO(fh.read()), dtype="float32", always_2d=True)
    return audio, int(rate)


def _wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def wav_of(service: SongService, job: Job) -> str:
    """Blob key of the track as WAV (written once)."""
    key = f"{job.id}/suno-audio.wav"
    if not service.blobs.exists(key):
        audio, rate = _read_audio(service, _assets(job)["song"])
        service.blobs.put(key, _wav_bytes(audio, rate))
    return key


def category_of(part: dict[str, Any]) -> str:
    """The vendor stem category of one of our parts (``{"role", "program", "is_drum"}``)."""
    role = str(part.get("role", ""))
    if part.get("is_drum") or role in _ROLE_CATEGORY:
        return "drums" if part.get("is_drum") else _ROLE_CATEGORY[role]
    program = int(part.get("program", 0))
    return next((cat for lo, hi, cat in _PROGRAM_RANGES if lo <= program <= hi), "synth")


def _stems(service: SongService, job: Job) -> dict[str, tuple[np.ndarray, int]]:
    stems = _assets(job).get("stems") or {}
    if not stems:
        raise FeatureUnavailable("this track has no stems (it was not made with want_stems)")
    return {name: _read_audio(service, key) for name, key in stems.items()}


def _parts(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(p.get("name")): p for p in plan.get("parts") or [] if isinstance(p, dict)}


def _sum(signals: list[np.ndarray]) -> np.ndarray:
    length = max(s.shape[0] for s in signals)
    total = np.zeros((length, signals[0].shape[1]), dtype=np.float32)
    for s in signals:
        total[: s.shape[0]] += s
    return total


def separate(service: SongService, job: Job, plan: dict[str, Any], *, split: bool) -> dict[str, str | None]:
    """Blob keys per output (``vocal``, ``instrumental`` or the split categories; ``None``: absent)."""
    parts = _parts(plan)
    groups: dict[str, list[np.ndarray]] = {}
    rate = 48000
    for name, (audio, stem_rate_hz) in _stems(service, job).items():
        rate = stem_rate_hz
        part = parts.get(name) or {"role": name, "program": 0}
        category = category_of(part)
        if not split:
            category = "vocal" if category in ("vocal", "backing_vocals") else "instrumental"
        groups.setdefault(category, []).append(audio)
    names = SPLIT_CATEGORIES if split else ("vocal", "instrumental")
    signals = _to_master({c: _sum(g) for c, g in groups.items()}, _master(service, job), split=split)
    out: dict[str, str | None] = {}
    for category in names:
        if category not in signals:
            out[category] = None
            continue
        key = f"{job.id}/suno-{'split' if split else 'sep'}-{category}.wav"
        if not service.blobs.exists(key):
            service.blobs.put(key, _wav_bytes(signals[category], rate))
        out[category] = key
    return out


def _master(service: SongService, job: Job) -> np.ndarray | None:
    """The job's bit-exact 48 kHz master (n, 2) when the service kept one, else ``None``."""
    from songforge.engine.remake._common import master_from_flac
    from songforge.service.sources import SOURCE_MASTER

    try:
        return master_from_flac(service.blobs.read(f"{job.id}/{SOURCE_MASTER}"))
    except (NotFound, FileNotFoundError):
        return None


def _to_master(signals: dict[str, np.ndarray], master: np.ndarray | None, *, split: bool) -> dict[str, np.ndarray]:
    """The stems (written before mastering) brought to the delivered mix: every output scaled by the
    least-squares gain of their sum onto the master; for ``separate_vocal`` the instrumental is then
    the master minus the vocal, so the two sum to the mix exactly (mastering's compression included)."""
    if master is None or not signals:
        return signals
    total = _sum(list(signals.values()))
    n = min(total.shape[0], master.shape[0])
    power = float(np.sum(total[:n] ** 2))
    gain = float(np.sum(total[:n] * master[:n]) / power) if power > 0 else 1.0
    scaled = {name: (signal * gain).astype(np.float32) for name, signal in signals.items()}
    if split or "vocal" not in scaled:
        return scaled
    vocal = np.zeros_like(master)
    vocal[: min(len(vocal), len(scaled["vocal"]))] = scaled["vocal"][: len(vocal)]
    return {"vocal": vocal, "instrumental": (master - vocal).astype(np.float32)}


def midi_notes(service: SongService, job: Job) -> list[dict[str, Any]]:
    """``[{"name", "notes": [{"pitch", "start", "end", "velocity"}]}]`` from the track's score."""
    import pretty_midi

    key = _assets(job).get("midi")
    if not key:
        raise FeatureUnavailable("this track has no score (it was not made with want_midi)")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(service.blobs.read(key)))
    instruments = []
    for inst in midi.instruments:
        name = inst.name.strip() or ("Drums" if inst.is_drum else pretty_midi.program_to_instrument_name(inst.program))
        notes = [{"pitch": int(n.pitch), "start": round(float(n.start), 4), "end": round(float(n.end), 4),
                  "velocity": round(n.velocity / 127.0, 4)} for n in sorted(inst.notes, key=lambda n: n.start)]
        instruments.append({"name": name, "notes": notes})
    return instruments


def _section_tags(lyrics: str) -> list[str]:
    """For each sung line in order, the section tag that opens right before it (``""`` if none)."""
    tags, pending = [], ""
    for raw in lyrics.splitlines():
        match = _TAG_RE.match(raw)
        if match:
            pending = f"[{match.group(1)}]"
        elif raw.strip():
            tags.append(pending)
            pending = ""
    return tags


def aligned_words(service: SongService, job: Job) -> list[dict[str, Any]]:
    """The track's words with their timings (``alignedWords``); raises when it has none."""
    key = _assets(job).get("timings")
    if not key:
        raise NotFound("this track has no word timings (instrumental, or made without want_timings)")
    try:
        data = json.loads(service.blobs.read(key))
    except ValueError:
        raise NotFound("the word timings of this track are unreadable") from None
    lines: list[dict[str, Any]] = list((data.get("lines") if isinstance(data, dict) else [{"words": data}]) or [])
    tags = _section_tags(str((job.result or {}).get("lyrics") or ""))
    words = []
    for i, line in enumerate(lines):
        for j, word in enumerate(line.get("words") or []):
            prefix = f"{tags[i]}\n" if j == 0 and len(tags) == len(lines) and tags[i] else ""
            words.append({"word": prefix + str(word.get("word", "")), "success": True,
                          "startS": round(float(word.get("start_s", 0.0)), 3),
                          "endS": round(float(word.get("end_s", 0.0)), 3), "palign": 0})
    return words


def waveform(service: SongService, job: Job, *, points: int = WAVEFORM_POINTS) -> list[float]:
    """``points`` RMS values of the track, scaled so the loudest is 1."""
    audio, _ = _read_audio(service, _assets(job)["song"])
    mono = audio.mean(axis=1)
    frames = np.array_split(mono, points) if mono.size >= points else [mono]
    rms = np.array([float(np.sqrt(np.mean(f**2))) if f.size else 0.0 for f in frames])
    peak = float(rms.max()) if rms.size else 0.0
    return [round(float(v / peak), 4) if peak > 0 else 0.0 for v in rms]
