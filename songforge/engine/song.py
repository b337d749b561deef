"""The whole pipeline for one song: plan -> compose -> render -> mix -> master -> encode.

``make_song`` is the single entry point the CLI, the service and the benchmarks call. It is pure
in the engine's sense: no HTTP, database or queue; progress and streamed audio leave through
callbacks.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from songforge.engine.plan import SongPlan
from songforge.engine.score import PITCH_CLASSES, Score
from songforge.engine.songwriter.options import SongwriterOptions
from songforge.engine.timings import LineTiming, build_line_timings, to_json, to_lrc
from songforge.errors import ContentTooLong, InvalidRequest
from songforge.models import AudioFormat, SongRequest, Stage

if TYPE_CHECKING:
    from songforge.engine.compose import VocalLine
    from songforge.engine.lyrics import Lyrics
    from songforge.engine.remake import ResolvedReference
    from songforge.engine.voice.singer import VoiceProfile

__all__ = [
    "SongResult", "make_song", "plan_to_json", "write_exports", "MEDIA_TYPES",
    # the steps of make_song, shared with the songs made from a reference (engine.remake)
    "StageClock", "DryStems", "render_and_sing", "sing_vocal", "pan_mono", "fit_length", "render_band",
    "mix_song", "encode_sections", "WRITTEN_FORMS", "MASTER_SAMPLE_RATE_HZ", "plan_and_compose",
]

MASTER_SAMPLE_RATE_HZ = 48000
VOCAL_ROLES = ("vocal", "harmony_vocal")

MEDIA_TYPES = {
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.WAV: "audio/wav",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.PCM: "audio/L16",
}

ProgressFn = Callable[[str, float], None]
ChunkFn = Callable[[bytes], None]
T = TypeVar("T")


@dataclass
class SongResult:
    """A finished song.

    Attributes
    ----------
    audio : (n_samples, 2) float32 master at ``sample_rate_hz`` (48 kHz).
    encoded : the delivered file in the request's format, rate, bitrate and channels.
    stems : processed stems, name -> (n_samples, 2) float32; they sum to the pre-master mix.
    timings_s : wall seconds per stage, plus ``first_chunk`` (time to the first encoded audio).
    lines : sung lines with word timings (``None`` for instrumentals).
    dry_vocals : (n_samples, 2) lead vocal before mixing (``None`` for instrumentals), for evaluation.
    lyrics : the sheet that was sung (given or written), ``None`` for instrumentals.
    """

    request: SongRequest
    plan: SongPlan
    score: Score
    audio: np.ndarray
    sample_rate_hz: int
    encoded: bytes
    media_type: str
    stems: dict[str, np.ndarray]
    seed: int
    timings_s: dict[str, float] = field(default_factory=dict)
    lines: list[LineTiming] | None = None
    dry_vocals: np.ndarray | None = None
    lyrics: Lyrics | None = None

    @property
    def timings_json(self) -> str | None:
        """Word- and line-level lyric timings as JSON (``None`` for instrumentals)."""
        return to_json(self.lines) if self.lines is not None else None

    @property
    def timings_lrc(self) -> str | None:
        """Lyric timings as LRC (``None`` for instrumentals)."""
        return to_lrc(self.lines, title=self.score.title) if self.lines is not None else None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate_hz

    def midi_bytes(self) -> bytes:
        """The whole score as a Standard MIDI File."""
        buf = io.BytesIO()
        self.score.to_midi().write(buf)
        return buf.getvalue()

    def plan_json(self) -> str:
        return plan_to_json(self.plan, self.score, seed=self.seed, duration_s=self.duration_s)


class StageClock:
    """Times stages and reports progress (stage name, fraction of the whole job 0-1)."""

    _WEIGHTS = {Stage.LYRICS: 0.02, Stage.COMPOSE: 0.03, Stage.RENDER: 0.35, Stage.VOCALS: 0.1, Stage.MIX: 0.3,
                Stage.ENCODE: 0.2}

    def __init__(self, on_progress: ProgressFn | None) -> None:
        self.on_progress = on_progress
        self.timings_s: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._done = 0.0

    def run(self, stage: Stage, fn: Callable[[], T], *, label: str | None = None) -> T:
        """Run ``fn`` as (part of) ``stage``; its wall time is recorded under ``label``."""
        if self.on_progress:
            self.on_progress(stage.value, self._done)
        start = time.perf_counter()
        out = fn()
        self.timings_s[label or stage.value] = time.perf_counter() - start
        self._done += self._WEIGHTS.get(stage, 0.0)
        if self.on_progress:
            self.on_progress(stage.value, min(self._done, 1.0))
        return out

    def mark(self, name: str) -> None:
        self.timings_s.setdefault(name, time.perf_counter() - self._t0)

    def total(self) -> None:
        self.timings_s["total"] = time.perf_counter() - self._t0


def make_song(
    request: SongRequest,
    *,
    preset: str = "default",
    on_progress: ProgressFn | None = None,
    on_chunk: ChunkFn | None = None,
    songwriter: SongwriterOptions | None = None,
    reference: ResolvedReference | None = None,
    streamed: bool = True,
    keep_stems: bool = True,
) -> SongResult:
    """Make one song for ``request``: sung when it has (or asks for) lyrics, else instrumental.

    Parameters
    ----------
    request : the canonical request (validated on construction).
    preset : engine preset name (``"default"``: FluidR3_GM; ``"tiny"``: TimGM6mb, for tests).
    on_progress : called with (stage, fraction 0-1) as stages start and end.
    on_chunk : called with each piece of the encoded file in playing order, section by section;
        the pieces concatenate to ``SongResult.encoded`` exactly.
    songwriter : the operator's songwriter options (an LLM endpoint, the content word list).
    reference : ``request.reference`` with its ids resolved (the pipeline does it); a request
        with a reference is made by :func:`songforge.engine.remake.make_from_reference`.
    streamed : make it block by block in playing order (:func:`songforge.engine.stream.stream_song`:
        the first audio comes seconds after the start; ``SongResult.stems`` only with
        ``keep_stems``); ``False``: the one-pass route (whole-song levelling and mastering).
    keep_stems : keep the processed stems for ``SongResult.stems`` (streamed songs; a worker that
        does not store stems passes ``False`` and never holds every stem at once).

    Returns
    -------
    SongResult with the master at 48 kHz stereo and the encoded file.

    Raises
    ------
    InvalidRequest / ContentTooLong when the lyrics cannot be sung as asked (never truncated).
    """
    from songforge.engine.presets import get_preset

    if request.reference is not None:
        return _from_reference(request, reference, preset=preset, on_progress=on_progress, on_chunk=on_chunk,
                               songwriter=songwriter)
    if streamed:
        from songforge.engine.stream import stream_song

        return stream_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, songwriter=songwriter,
                           keep_stems=keep_stems)
    settings = get_preset(preset)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    if request.duration_s is None and request.instrumental and settings.default_duration_s:
        request = request.with_(duration_s=float(settings.default_duration_s))
    clock = StageClock(on_progress)
    plan, lyrics, score, vocal = plan_and_compose(request, seed=seed, clock=clock, songwriter=songwriter)
    dry = render_and_sing(score, vocal, plan=plan, seed=seed, tail_s=settings.render_tail_s,
                                   soundfont=settings.soundfont, clock=clock)
    stems, sung = dry.stems, dry.lines
    mixed, processed = clock.run(Stage.MIX, lambda: mix_song(stems, score=score, plan=plan))
    if request.watermark:
        from songforge.engine.watermark import append_watermark

        mixed = append_watermark(mixed, sample_rate_hz=MASTER_SAMPLE_RATE_HZ)
    mixed = _on_24bit_grid(mixed)
    encoded = clock.run(
        Stage.ENCODE,
        lambda: encode_sections(
            mixed, score=score, request=request, mp3_quality=settings.mp3_quality, clock=clock, on_chunk=on_chunk
        ),
    )
    clock.total()
    return SongResult(
        request=request,
        plan=plan,
        score=score,
        audio=mixed,
        sample_rate_hz=MASTER_SAMPLE_RATE_HZ,
        encoded=encoded,
        media_type=MEDIA_TYPES[AudioFormat.parse(request.format)],
        stems=processed,
        seed=seed,
        timings_s=clock.timings_s,
        lines=sung,
        dry_vocals=dry.stems.get("vocals"),
        lyrics=lyrics,
    )


def plan_and_compose(
    request: SongRequest, *, seed: int, clock: StageClock, songwriter: SongwriterOptions | None
) -> tuple[SongPlan, Lyrics | None, Score, VocalLine | None]:
    """The plan, the lyric sheet (``None`` for instrumentals), the score and its vocal line."""
    from songforge.engine.plan import plan_song

    first_stage = Stage.COMPOSE if request.instrumental else Stage.LYRICS
    plan = clock.run(first_stage, lambda: plan_song(request, seed=seed), label="plan")
    if plan.instrumental:  # the plan decides once: the request, or "instrumental"/"no vocals" in the prompt
        score, vocal = clock.run(Stage.COMPOSE, lambda: _compose(plan, lyrics=None, duration_s=None))
        return plan, None, score, vocal
    lyrics, (score, vocal) = clock.run(
        Stage.LYRICS, lambda: _lyrics_and_score(request, plan, seed=seed, options=songwriter or SongwriterOptions()),
        label="lyrics",
    )
    return plan, lyrics, score, vocal


def _from_reference(
    request: SongRequest, reference: ResolvedReference | None, **options: object
) -> SongResult:
    """A song made from a reference (cover, extend, add vocals, ...): the remake package's."""
    from songforge.engine.remake import make_from_reference

    if reference is None:
        raise InvalidRequest("a request with a reference needs it resolved (ids -> audio) first",
                             field="reference", limit="resolved by the service")
    return make_from_reference(request, reference, **options)  # type: ignore[arg-type]


def _on_24bit_grid(audio: np.ndarray) -> np.ndarray:
    """The master rounded to the 24-bit grid (inaudible), so the lossless copy kept for edits
    (extend, replace section) is bit-exact."""
    from songforge.engine.remake._common import quantize_24bit

    return quantize_24bit(audio)


def _lyrics_and_score(
    request: SongRequest, plan: SongPlan, *, seed: int, options: SongwriterOptions
) -> tuple[Lyrics, tuple[Score, VocalLine | None]]:
    """The lyric sheet and the score sung to it.

    Given lyrics are sung as they are (or refused). Lyrics written for the prompt take the
    longest form that fits the requested duration: each shorter form is tried in turn.
    """
    from songforge.engine.lyrics import parse_lyrics
    from songforge.engine.songwriter import check_content, write_lyrics

    check_content(request.prompt, field="prompt", blocklist_path=options.blocklist_path)
    if request.lyrics and request.lyrics.strip():
        check_content(request.lyrics, field="lyrics", blocklist_path=options.blocklist_path)
        lyrics = parse_lyrics(request.lyrics)
        return lyrics, _compose(plan, lyrics=lyrics, duration_s=request.duration_s)
    forms = WRITTEN_FORMS if request.duration_s is None else WRITTEN_FORMS[1:]
    for index, form in enumerate(forms):
        lyrics = write_lyrics(request.prompt, language=request.language, structure=form, seed=seed,
                              title=request.title, llm=options.llm, blocklist_path=options.blocklist_path)
        try:
            return lyrics, _compose(plan, lyrics=lyrics, duration_s=request.duration_s)
        except ContentTooLong as exc:
            if index == len(forms) - 1:
                raise ContentTooLong(
                    f"{request.duration_s:g} s is too short for a sung song at {plan.tempo_bpm:.0f} BPM "
                    f"({exc.message.split(';')[0].replace('the lyrics need', 'the shortest written lyrics need')}); "
                    "ask for a longer song or an instrumental",
                    field="duration_s", limit=exc.limit,
                ) from exc
    raise AssertionError("unreachable")


WRITTEN_FORMS: tuple[list[str] | None, ...] = (
    None,  # the songwriter's full form: verse, pre-chorus, chorus, verse, chorus, bridge, chorus
    ["verse", "pre-chorus", "chorus", "verse", "chorus", "bridge", "chorus"],
    ["verse", "pre-chorus", "chorus", "verse", "chorus"],
    ["verse", "chorus", "verse", "chorus"],
    ["verse", "chorus"],
    ["chorus"],
    ["hook"],
)
"""Forms of written lyrics, longest first; a song with a requested duration gets the longest that fits."""


def _compose(plan: SongPlan, *, lyrics: Lyrics | None, duration_s: float | None) -> tuple[Score, VocalLine | None]:
    from songforge.engine.compose import compose_song

    return compose_song(plan, lyrics=lyrics, duration_s=duration_s)


@dataclass(frozen=True)
class DryStems:
    """Stems before mixing, name -> (n_samples, 2), all the same length; ``lines`` as sung."""

    stems: dict[str, np.ndarray]
    lines: list[LineTiming] | None


def render_and_sing(
    score: Score, vocal: VocalLine | None, *, plan: SongPlan, seed: int, tail_s: float, soundfont: str,
    clock: StageClock, profile: VoiceProfile | None = None,
) -> DryStems:
    """Render the band and sing the vocals (with ``profile``, default: the plan's gender) at the same time."""
    band = replace(score, parts=tuple(p for p in score.parts if p.role not in VOCAL_ROLES))
    with ThreadPoolExecutor(max_workers=1) as pool:
        singing = pool.submit(sing_vocal, vocal, score=score, plan=plan, seed=seed, profile=profile) if vocal else None
        stems = clock.run(Stage.RENDER, lambda: render_band(band, soundfont=soundfont, tail_s=tail_s))
        if singing is None:
            return DryStems(stems, None)
        vocal_stems, lines, sing_s = clock.run(Stage.VOCALS, singing.result, label="vocals_wait")
    clock.timings_s["vocals"] = sing_s
    n_samples = max(a.shape[0] for a in (*stems.values(), *vocal_stems.values()))
    stems = {name: fit_length(a, n_samples) for name, a in {**stems, **vocal_stems}.items()}
    return DryStems(stems, lines)


def sing_vocal(
    vocal: VocalLine, *, score: Score, plan: SongPlan, seed: int, profile: VoiceProfile | None = None
) -> tuple[dict[str, np.ndarray], list[LineTiming], float]:
    """Sing the lead (and harmony) lines with ``profile`` (default: the plan's gender's voice);
    returns stereo stems by part name, timings, wall seconds."""
    from songforge.engine.voice import SpeechCache, sing

    started = time.perf_counter()
    options = {"tempo_bpm": score.tempo_bpm, "sample_rate_hz": MASTER_SAMPLE_RATE_HZ, "gender": plan.gender,
               "profile": profile, "speech": SpeechCache()}  # the harmony sings the lead's words: spoken once
    lead = sing(vocal.lines, seed=seed, **options)  # type: ignore[arg-type]
    stems = {"vocals": pan_mono(lead.audio, pan=score.part("vocals").pan)}
    if vocal.harmony_lines:
        harmony = sing(vocal.harmony_lines, seed=seed + 1, **options)  # type: ignore[arg-type]
        stems["harmony_vocal"] = pan_mono(harmony.audio, pan=score.part("harmony_vocal").pan)
    lines = build_line_timings(lead.line_timings, lead.word_timings)
    return stems, lines, time.perf_counter() - started


def pan_mono(mono: np.ndarray, *, pan: float) -> np.ndarray:
    """Equal-power pan of a mono signal (n,) to stereo (n, 2); ``pan`` -1 left .. +1 right."""
    angle = (pan + 1.0) * np.pi / 4.0
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1).astype(np.float32)


def fit_length(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Zero-pad (or cut) ``audio`` (n, 2) to ``n_samples`` frames."""
    if audio.shape[0] >= n_samples:
        return audio[:n_samples]
    return np.pad(audio, ((0, n_samples - audio.shape[0]), (0, 0)))


def render_band(score: Score, *, soundfont: str, tail_s: float) -> dict[str, np.ndarray]:
    from songforge.engine.render import render_stems

    return render_stems(score, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, soundfont=soundfont, tail_s=tail_s)


def mix_song(stems: dict[str, np.ndarray], *, score: Score, plan: SongPlan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mix and master; returns the master and the processed stems."""
    from songforge.engine.mix import master, mix_stems
    from songforge.engine.styles import load_style

    roles = {p.name: p.role for p in score.parts if p.name in stems}
    style_mix = load_style(plan.genre).mix
    mixed, processed = mix_stems(stems, roles=roles, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, style_mix=style_mix)
    return master(mixed, sample_rate_hz=MASTER_SAMPLE_RATE_HZ), processed


def _section_bounds(score: Score, n_samples: int) -> list[tuple[int, int]]:
    """Sample ranges of the sections in playing order; the last one runs to the end (the tail)."""
    starts = [round(score.beats_to_seconds(s.start_beat) * MASTER_SAMPLE_RATE_HZ) for s in score.sections]
    starts = [min(max(s, 0), n_samples) for s in starts] or [0]
    starts[0] = 0
    ends = starts[1:] + [n_samples]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]


def encode_sections(
    audio: np.ndarray, *, score: Score, request: SongRequest, mp3_quality: int, clock: StageClock,
    on_chunk: ChunkFn | None,
) -> bytes:
    """Encode section by section with a streaming encoder; every piece goes to ``on_chunk``."""
    from songforge.engine.encode import StreamEncoder, encode

    if request.format == AudioFormat.FLAC:
        data = encode(
            audio, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, format=request.format,
            out_sample_rate_hz=request.sample_rate_hz, channels=request.channels,
            bitrate_kbps=request.bitrate_kbps, mp3_quality=mp3_quality,
        )
        clock.mark("first_chunk")
        if on_chunk:
            on_chunk(data)
        return data
    encoder = StreamEncoder(
        format=request.format, sample_rate_hz=MASTER_SAMPLE_RATE_HZ,
        out_sample_rate_hz=request.sample_rate_hz, channels=request.channels,
        bitrate_kbps=request.bitrate_kbps, total_frames=audio.shape[0], mp3_quality=mp3_quality,
    )
    pieces: list[bytes] = []
    for start, end in _section_bounds(score, audio.shape[0]):
        pieces.append(encoder.feed(audio[start:end]))
        clock.mark("first_chunk")
        if on_chunk and pieces[-1]:
            on_chunk(pieces[-1])
    pieces.append(encoder.finish())
    if on_chunk and pieces[-1]:
        on_chunk(pieces[-1])
    return b"".join(pieces)


def plan_to_json(plan: SongPlan, score: Score, *, seed: int, duration_s: float) -> str:
    """The plan as JSON: genre, tempo, key, meter, instruments and sections with times in seconds."""
    import pretty_midi

    data = dict(plan.to_dict())
    data.update(
        seed=seed,
        duration_s=round(duration_s, 3),
        key=f"{PITCH_CLASSES[score.tonic_pc]} {score.mode}",
        quarter_bpm=score.tempo_bpm,
        instruments=[
            {"role": role, "program": prog, "name": pretty_midi.program_to_instrument_name(prog)}
            for role, prog in plan.instruments
        ],
        parts=[{"name": p.name, "role": p.role, "program": p.program, "is_drum": p.is_drum} for p in score.parts],
        sections=[
            {"name": name, "kind": kind, "start_s": round(a, 3), "end_s": round(b, 3)}
            for name, kind, a, b in score.section_times_s()
        ],
    )
    return json.dumps(data, indent=2, default=list)


def write_exports(
    result: SongResult,
    *,
    stems_dir: Path | None = None,
    midi_path: Path | None = None,
    plan_path: Path | None = None,
    timings_path: Path | None = None,
) -> list[Path]:
    """Write a WAV per stem, the MIDI file, the plan JSON and the lyric timings (LRC or JSON by
    the file's suffix); returns the paths written."""
    import soundfile as sf

    from songforge.storage.atomic import atomic_write_bytes

    written: list[Path] = []
    if stems_dir is not None:
        stems_dir.mkdir(parents=True, exist_ok=True)

        def _write(item: tuple[str, np.ndarray]) -> Path:
            name, audio = item
            buf = io.BytesIO()
            sf.write(buf, audio, result.sample_rate_hz, format="WAV", subtype="FLOAT")
            return atomic_write_bytes(stems_dir / f"{name}.wav", buf.getvalue())

        with ThreadPoolExecutor(max_workers=2) as pool:
            written.extend(pool.map(_write, sorted(result.stems.items())))
    if midi_path is not None:
        written.append(atomic_write_bytes(midi_path, result.midi_bytes()))
    if plan_path is not None:
        written.append(atomic_write_bytes(plan_path, result.plan_json().encode()))
    if timings_path is not None:
        text = result.timings_lrc if timings_path.suffix.lower() == ".lrc" else result.timings_json
        if text is None:
            raise InvalidRequest("an instrumental has no lyric timings", field="timings")
        written.append(atomic_write_bytes(timings_path, text.encode()))
    return written
