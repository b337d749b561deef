"""Helpers the remake modes share: audio format, crossfades, re-deriving one of our songs, the
analysis of a known score, rendering a score the way :func:`~songforge.engine.song.make_song`
does, and building the :class:`~songforge.engine.song.SongResult`.

Audio is float32 shaped (n_samples, 2) at :data:`MASTER_RATE_HZ` (48 kHz) throughout.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from songforge.engine.analyze import Analysis, ChordSpan
from songforge.engine.analyze import Note as AnalysisNote
from songforge.engine.analyze import Section as AnalysisSection
from songforge.engine.score import PITCH_CLASSES, Note, Part, Score, Section
from songforge.errors import InvalidRequest
from songforge.models import AudioFormat, SongRequest, Stage

if TYPE_CHECKING:
    from songforge.engine.compose import VocalLine
    from songforge.engine.lyrics import Lyrics
    from songforge.engine.plan import SongPlan
    from songforge.engine.remake import ReferenceAudio, ResolvedReference
    from songforge.engine.song import SongResult, StageClock
    from songforge.engine.voice.singer import SungLine

__all__ = [
    "MASTER_RATE_HZ", "to_master_format", "quantize_24bit", "equal_power_fades", "crossfade_join",
    "OwnSong", "recompose", "analysis_of_score", "own_source", "render_score", "finish", "Rendered",
    "shift_score_notes", "bar_seconds", "sung_lyrics", "matched_gain", "shift_lines",
    "master_to_flac", "master_from_flac",
]

MASTER_RATE_HZ = 48000
_GRID_24BIT = float(2**23)
_SECTION_LABEL = {
    "intro": "intro", "verse": "verse", "pre_chorus": "verse", "chorus": "chorus", "hook": "chorus",
    "post_chorus": "chorus", "bridge": "bridge", "outro": "outro",
}
"""Score section kinds -> analysis labels (everything else is ``inst``)."""
_CHORD_SUFFIX = {"maj": "", "min": "m"}
T = TypeVar("T")


# --------------------------------------------------------------------------- audio


def to_master_format(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """Any decoded audio, (n,) or (n, channels) at ``sample_rate_hz`` -> float32 (m, 2) at 48 kHz
    (mono is duplicated, more than two channels are folded to their first two)."""
    x = np.asarray(audio, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    x = np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2]
    if sample_rate_hz != MASTER_RATE_HZ:
        import soxr

        x = soxr.resample(x, sample_rate_hz, MASTER_RATE_HZ, quality="HQ")
    return np.ascontiguousarray(x, dtype=np.float32)


def quantize_24bit(audio: np.ndarray) -> np.ndarray:
    """Round float audio to the 24-bit PCM grid (``k / 2**23``), so that a 24-bit lossless copy
    (the stored master) holds it exactly; grid values pass unchanged. Returns float32."""
    x = np.clip(np.asarray(audio, dtype=np.float64), -1.0, (2**23 - 1) / _GRID_24BIT)
    return (np.rint(x * _GRID_24BIT) / _GRID_24BIT).astype(np.float32)


def equal_power_fades(n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_in, fade_out)`` of ``n_samples`` each, shaped (n, 1): sin and cos quarter waves,
    whose squares sum to 1 (equal power for uncorrelated signals)."""
    phase = (np.arange(n_samples, dtype=np.float64) + 0.5) / max(n_samples, 1) * (np.pi / 2.0)
    return np.sin(phase)[:, None], np.cos(phase)[:, None]


def crossfade_join(before: np.ndarray, after: np.ndarray, *, at: int, fade_n: int) -> np.ndarray:
    """``before[:at]`` then ``after[at:]``, joined by an equal-power crossfade over
    ``[at, at + fade_n)`` (both (n, 2); the result is as long as ``after``). Samples before ``at``
    are ``before``'s exactly."""
    out = np.array(after, dtype=np.float32, copy=True)
    out[:at] = before[:at]
    end = min(at + fade_n, out.shape[0], before.shape[0])
    if end > at:
        fade_in, fade_out = equal_power_fades(end - at)
        mixed = before[at:end].astype(np.float64) * fade_out + after[at:end].astype(np.float64) * fade_in
        out[at:end] = mixed.astype(np.float32)
    return out


def matched_gain(reference: np.ndarray, audio: np.ndarray, *, max_db: float = 12.0) -> float:
    """Linear gain that brings ``audio`` to the RMS of ``reference`` (within +-``max_db``)."""
    ref_rms = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64)))) if reference.size else 0.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if ref_rms <= 1e-9 or rms <= 1e-9:
        return 1.0
    limit = 10.0 ** (max_db / 20.0)
    return float(np.clip(ref_rms / rms, 1.0 / limit, limit))


def bar_seconds(score: Score) -> float:
    """Length of one bar of ``score`` in seconds."""
    return score.beats_to_seconds(score.beats_per_bar)


# --------------------------------------------------------------------------- our own songs


@dataclass(frozen=True)
class OwnSong:
    """One of our songs re-derived from its request and seed: plan, score, vocal line, lyrics."""

    plan: SongPlan
    score: Score
    vocal: VocalLine | None
    lyrics: Lyrics | None


@functools.lru_cache(maxsize=4)
def recompose(request: SongRequest, lyrics_text: str | None = None) -> OwnSong:
    """The plan and score ``make_song`` made for ``request`` (its ``seed`` set), composed again.

    ``lyrics_text`` is the sheet that was sung (as stored with the job): written lyrics are
    re-read from it instead of being written again. Composing is deterministic and cheap (no
    rendering), so the exact score of a source song need not be stored.
    """
    from songforge.engine.compose import compose_song
    from songforge.engine.lyrics import parse_lyrics
    from songforge.engine.plan import plan_song

    if request.seed is None:
        raise ValueError("recompose needs the request's seed")
    plan = plan_song(request, seed=request.seed)
    text = request.lyrics if request.lyrics and request.lyrics.strip() else lyrics_text
    if plan.instrumental or not text:
        score, vocal = compose_song(plan, lyrics=None)
        return OwnSong(plan, score, vocal, None)
    lyrics = parse_lyrics(text)
    score, vocal = compose_song(plan, lyrics=lyrics, duration_s=request.duration_s)
    return OwnSong(plan, score, vocal, lyrics)


def own_source(resolved: ResolvedReference, *, mode: str) -> tuple[ReferenceAudio, OwnSong]:
    """The resolved source when it is one of our songs (audio + re-derived score), else
    :class:`InvalidRequest` naming ``reference.source_job_id``."""
    source = resolved.source
    if source is None or source.request is None:
        raise InvalidRequest(
            f"{mode} needs one of our finished songs as the source (reference.source_job_id)",
            field="reference.source_job_id", limit="a finished job of this server",
        )
    lyrics_text = source.analysis.lyrics if source.analysis.has_vocals else None
    return source, recompose(source.request, lyrics_text)


def analysis_of_score(score: Score, *, duration_s: float, lyrics: str | None = None) -> Analysis:
    """What an exact analysis of a song rendered from ``score`` finds: its tempo, beats, key,
    chords, sections, lead line (the sung one when there is one) and vocal range.

    ``beats_s`` are the felt beats from 0 s; ``meter`` counts them per bar; times in seconds.
    """
    pulse_s = score.beats_to_seconds(score.pulse_quarters)
    n_beats = int(np.floor(duration_s / pulse_s)) + 1
    beats_s = tuple(round(i * pulse_s, 6) for i in range(n_beats) if i * pulse_s < duration_s)
    sung = [p for p in score.parts if p.role == "vocal"]
    lead = sung or [p for p in score.parts if p.role == "lead"]
    melody = tuple(
        AnalysisNote(score.beats_to_seconds(n.start_beat), score.beats_to_seconds(n.end_beat), n.pitch,
                     n.velocity / 127.0)
        for p in lead[:1] for n in p.notes
    )
    pitches = [n.pitch for n in melody] if sung else []
    return Analysis(
        duration_s=float(duration_s), tempo_bpm=float(score.pulse_bpm), beats_s=beats_s,
        meter=max(1, int(round(score.beats_per_bar / score.pulse_quarters))),
        key_tonic_pc=score.tonic_pc % 12, key_mode=score.mode,
        chords=tuple(_chord_spans(score)), sections=tuple(_sections(score, duration_s=duration_s)),
        melody=melody, has_vocals=bool(pitches),
        vocal_range_midi=(min(pitches), max(pitches)) if pitches else None,
        lyrics=lyrics if pitches else None, extra={"from_score": True},
    )


def _chord_spans(score: Score) -> list[ChordSpan]:
    spans = []
    for section in score.sections:
        for c in section.chords:
            label = PITCH_CLASSES[c.root_pc % 12] + _CHORD_SUFFIX.get(c.quality, c.quality)
            spans.append(ChordSpan(score.beats_to_seconds(c.start_beat),
                                   score.beats_to_seconds(c.start_beat + c.duration_beats),
                                   c.root_pc % 12, c.quality, label))
    return spans


def _sections(score: Score, *, duration_s: float) -> list[AnalysisSection]:
    out = [AnalysisSection(_SECTION_LABEL.get(kind, "inst"), a, b) for _, kind, a, b in score.section_times_s()]
    if out and duration_s > out[-1].end_s:
        out.append(AnalysisSection("silence", out[-1].end_s, float(duration_s)))
    return out


# --------------------------------------------------------------------------- scores


def shift_score_notes(notes: Sequence[Note], offset_beats: float) -> tuple[Note, ...]:
    """``notes`` moved by ``offset_beats``."""
    return tuple(replace(n, start_beat=round(n.start_beat + offset_beats, 6)) for n in notes)


def shift_lines(lines: Sequence[SungLine], offset_beats: float) -> tuple[SungLine, ...]:
    """Sung lines moved by ``offset_beats``."""
    from songforge.engine.voice.singer import SungLine

    return tuple(SungLine(line.text, shift_score_notes(line.notes, offset_beats)) for line in lines)


def band_of(score: Score) -> dict[str, Part]:
    """The score's parts by name."""
    return {p.name: p for p in score.parts}


# --------------------------------------------------------------------------- render and result


@dataclass(frozen=True)
class Rendered:
    """A rendered, mixed and mastered score: ``audio`` (n, 2) master, processed ``stems``, the
    dry lead vocal and the sung lines' timings (``None`` without vocals)."""

    audio: np.ndarray
    stems: dict[str, np.ndarray]
    dry_vocals: np.ndarray | None
    lines: Any


def render_score(score: Score, vocal: VocalLine | None, *, plan: SongPlan, seed: int, preset: str,
                 clock: StageClock) -> Rendered:
    """Render the band, sing ``vocal``, mix and master: ``make_song``'s own stages."""
    from songforge.engine.presets import get_preset
    from songforge.engine.song import mix_song, render_and_sing

    settings = get_preset(preset)
    dry = render_and_sing(score, vocal, plan=plan, seed=seed, tail_s=settings.render_tail_s,
                           soundfont=settings.soundfont, clock=clock)
    mixed, processed = clock.run(Stage.MIX, lambda: mix_song(dry.stems, score=score, plan=plan))
    return Rendered(mixed, processed, dry.stems.get("vocals"), dry.lines)


def new_clock(on_progress: Callable[[Any, float], None] | None) -> StageClock:
    from songforge.engine.song import StageClock

    return StageClock(on_progress)


def finish(
    request: SongRequest, *, plan: SongPlan, score: Score, audio: np.ndarray, rendered: Rendered | None,
    stems: dict[str, np.ndarray] | None = None, seed: int, clock: StageClock, preset: str,
    on_chunk: Callable[[bytes], None] | None, lyrics: Lyrics | None = None,
) -> SongResult:
    """Quantize ``audio`` to the stored-master grid, encode it section by section (chunks to
    ``on_chunk``) and build the SongResult."""
    from songforge.engine.presets import get_preset
    from songforge.engine.song import MEDIA_TYPES, SongResult, encode_sections

    audio = quantize_24bit(audio)
    if request.watermark:
        from songforge.engine.watermark import append_watermark

        audio = quantize_24bit(append_watermark(audio, sample_rate_hz=MASTER_RATE_HZ))
    settings = get_preset(preset)
    encoded = clock.run(Stage.ENCODE, lambda: encode_sections(
        audio, score=score, request=request, mp3_quality=settings.mp3_quality, clock=clock, on_chunk=on_chunk))
    clock.total()
    return SongResult(
        request=request, plan=plan, score=score, audio=audio, sample_rate_hz=MASTER_RATE_HZ,
        encoded=encoded, media_type=MEDIA_TYPES[AudioFormat.parse(request.format)],
        stems=stems if stems is not None else (rendered.stems if rendered else {}), seed=seed,
        timings_s=clock.timings_s, lines=rendered.lines if rendered else None,
        dry_vocals=rendered.dry_vocals if rendered else None, lyrics=lyrics,
    )


def variant_seed(request: SongRequest, source_seed: int) -> int:
    """The seed of the new material: the request's, made to differ from the source's."""
    seed = request.seed if request.seed is not None else source_seed + 1
    return (seed + 0x9E3779B1) % 2**32 if seed == source_seed else seed


def section_named(sections: Sequence[Section], prefix: str) -> list[Section]:
    """``sections`` renamed ``"<prefix><name>"`` (names stay unique next to the source's)."""
    return [replace(s, name=f"{prefix}{s.name}") for s in sections]


WRITTEN_FORMS: tuple[tuple[str, ...], ...] = (
    ("verse", "chorus", "verse", "chorus"),
    ("verse", "chorus"),
    ("chorus",),
    ("hook",),
)
"""Forms of written lyrics for new material, longest first; the longest that fits is sung."""


def sung_lyrics(request: SongRequest, *, seed: int, songwriter: Any, fit: Callable[[Lyrics], T]) -> tuple[Lyrics, T]:
    """The request's lyrics (checked) or lyrics written from its prompt, with ``fit(lyrics)``.

    ``fit`` composes for the sheet and raises ``ContentTooLong`` when it does not fit; written
    lyrics try shorter forms in turn, given ones are sung as they are or refused.
    """
    from songforge.engine.lyrics import parse_lyrics
    from songforge.engine.songwriter import check_content, write_lyrics
    from songforge.engine.songwriter.options import SongwriterOptions
    from songforge.errors import ContentTooLong

    options = songwriter or SongwriterOptions()
    check_content(request.prompt, field="prompt", blocklist_path=options.blocklist_path)
    if request.lyrics and request.lyrics.strip():
        check_content(request.lyrics, field="lyrics", blocklist_path=options.blocklist_path)
        lyrics = parse_lyrics(request.lyrics)
        return lyrics, fit(lyrics)
    for index, form in enumerate(WRITTEN_FORMS):
        lyrics = write_lyrics(request.prompt or "a song", language=request.language, structure=list(form), seed=seed,
                              title=request.title, llm=options.llm, blocklist_path=options.blocklist_path)
        try:
            return lyrics, fit(lyrics)
        except ContentTooLong:
            if index == len(WRITTEN_FORMS) - 1:
                raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- the stored master


def master_to_flac(audio: np.ndarray) -> bytes:
    """A master (n, 2) float32 as 24-bit FLAC; bit-exact for audio on the 24-bit grid
    (:func:`quantize_24bit`; ``make_song``'s masters are)."""
    import io

    import soundfile as sf

    pcm = np.rint(np.asarray(quantize_24bit(audio), dtype=np.float64) * _GRID_24BIT).astype(np.int32)
    buf = io.BytesIO()
    sf.write(buf, pcm << 8, MASTER_RATE_HZ, format="FLAC", subtype="PCM_24")
    return buf.getvalue()


def master_from_flac(data: bytes) -> np.ndarray:
    """The master stored by :func:`master_to_flac`: float32 (n, 2), exactly as it was."""
    import io

    import soundfile as sf

    pcm, _ = sf.read(io.BytesIO(data), dtype="int32", always_2d=True)
    return ((pcm >> 8).astype(np.float32) / np.float32(_GRID_24BIT)).astype(np.float32)
