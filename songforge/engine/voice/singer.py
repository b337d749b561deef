"""Speech-to-singing: Festival speaks each lyric line, WORLD re-times and re-pitches it to the melody.

The route (measured in ENGINE_NOTES): Festival slt HTS speech -> WORLD analysis at 24 kHz
(dio + stonemask, CheapTrick, D4C; 5 ms frames) -> the spectral envelope and aperiodicity are
time-warped so each syllable's vowel starts on its note's onset and is held to the note's end
(onset consonants lead the note by up to ~90 ms, ~150 ms after a rest; consonants take at most
~55% of a slot) ->
F0 is replaced by the melody (Hann-smoothed steps for portamento, delayed vibrato, slow drift)
-> vowel aperiodicity is clamped -> a breath (vowel-shaped noise) is drawn in each rest before
a line -> WORLD synthesis -> soxr to the output rate.
Lines are rendered on two threads (pyworld releases the GIL).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from songforge.engine.score import Note, midi_to_hz
from songforge.engine.voice.festival import SpokenLine, SpokenSyllable, clean_text, speak
from songforge.engine.voice.mandarin import (
    SUNG_DURATION_RATIO,
    MandarinLine,
    speak_mandarin,
    tone_bend_cents,
)
from songforge.errors import InvalidRequest

__all__ = ["SpeechCache", "SungLine", "SungVocal", "VoiceProfile", "sing"]

FRAME_S = 0.005
_ANALYSIS_RATE_HZ = 24000
_RELEASE_S = 0.03
_WORKERS = 2
_BREATH_MIN_GAP_S = 0.35
_BREATH_LEAD_S = 0.06


@dataclass(frozen=True)
class VoiceProfile:
    """How the singer sounds. Pitches are ``Note.pitch + f0_shift_semitones`` (sounding pitch).

    ``formant_warp`` scales the spectral envelope along frequency (0.85 moves formants down
    15%: the male voice); ``breathiness`` 0-1 raises the vowels' high-band aperiodicity.
    ``register_midi`` (a measured voice's median pitch, :mod:`songforge.engine.voice.profile`)
    moves every line by the whole octaves that bring its median nearest to it; ``None`` leaves
    the pitches as written. ``breath_db`` is the level of the breath taken before a line that
    follows a rest of at least ``_BREATH_MIN_GAP_S``, relative to the line's loud vowels
    (``None``: no breaths); it lasts up to ``breath_max_s`` and ends ``_BREATH_LEAD_S`` before the
    line's first sound.
    """

    vibrato_rate_hz: float = 5.6
    vibrato_depth_cents: float = 35.0
    vibrato_delay_s: float = 0.18
    vibrato_min_note_s: float = 0.35
    formant_warp: float = 1.0
    breathiness: float = 0.0
    f0_shift_semitones: float = 0.0
    portamento_ms: float = 70.0
    drift_cents: float = 2.0
    onset_lead_s: float = 0.09
    onset_lead_rest_s: float = 0.15  # after a rest: 0.09 squeezed "Smoky" -> "So key"
    max_consonant_share: float = 0.55
    vowel_aperiodicity_max: float = 0.3
    register_midi: float | None = None
    breath_db: float | None = -26.0
    breath_max_s: float = 0.3

    @classmethod
    def for_gender(cls, gender: str) -> VoiceProfile:
        """The default profile: ``"female"`` is the slt voice as is, ``"male"`` warps formants x0.85."""
        if gender == "male":
            return cls(formant_warp=0.85)
        if gender == "female":
            return cls()
        raise InvalidRequest(f"gender must be 'female' or 'male', not {gender!r}", field="gender",
                             limit="female, male")


@dataclass(frozen=True)
class SungLine:
    """A lyric line and its notes; each note's ``lyric`` is one syllable (``"-"`` continues the
    previous one). Note times are quarter-note beats from the start of the song."""

    text: str
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class SungVocal:
    """A rendered vocal.

    ``audio`` is (n,) float32 mono at ``sample_rate_hz``, from beat 0 to the last note's end
    + 0.5 s. ``word_timings`` are ``(word, start_s, end_s, line_index)``: ``start_s`` is the
    onset of the note the word's first vowel lands on (its consonants may lead it by up to
    ~90 ms, ~150 ms after a rest) and ``end_s`` is when its last sound ends. ``line_timings`` are
    ``(text, start_s, end_s)`` per input line.
    """

    audio: np.ndarray
    sample_rate_hz: int
    word_timings: list[tuple[str, float, float, int]]
    line_timings: list[tuple[str, float, float]]


@dataclass(frozen=True)
class _Unit:
    """One syllable placed on the timeline: vowel from ``start_s`` to ``end_s`` minus its coda."""

    syllable: SpokenSyllable
    word_index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class _Segment:
    """A piece of the output timeline mapped linearly onto the speech (times in seconds)."""

    out_start: float
    out_end: float
    src_start: float
    src_end: float
    is_vowel: bool
    unit: int = 0


@dataclass(frozen=True)
class _Speech:
    """A line as spoken, and its WORLD analysis (f0 (n,) Hz; sp, ap (n, bins); 5 ms frames)."""

    spoken: SpokenLine
    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray


class SpeechCache:
    """Each distinct line's speech and WORLD analysis, made once and reused.

    Pass one cache to the :func:`sing` calls of one song: a chorus sung three times, and the
    harmony singing its words, are spoken and analysed once (a 3-minute pop song: 44 sung lines,
    18 distinct). It holds two (frames, 513) float64 arrays per distinct line, about 2 MB per
    second of speech, so keep it for one song.
    """

    def __init__(self) -> None:
        self._speech: dict[tuple[bool, str], _Speech] = {}

    def get(self, lines: Sequence[SungLine], pool: ThreadPoolExecutor) -> list[_Speech]:
        """The speech of each of ``lines``, in order; the missing ones are spoken in one batch and
        analysed on ``pool``."""
        keys = [_speech_key(line) for line in lines]
        missing = list(dict.fromkeys(k for k in keys if k not in self._speech))
        spoken = _speak_texts(missing)
        self._speech.update(zip(missing, pool.map(_analysed, spoken), strict=True))
        return [self._speech[k] for k in keys]


def sing(
    lines: Sequence[SungLine],
    *,
    tempo_bpm: float,
    sample_rate_hz: int = 48000,
    gender: str = "female",
    seed: int = 0,
    profile: VoiceProfile | None = None,
    speech: SpeechCache | None = None,
) -> SungVocal:
    """Sing lyric lines on their melodies.

    Parameters
    ----------
    lines : the lines with their notes (one syllable per note, ``"-"`` for melisma). When a
        line's syllable count (Festival's lexicon) differs from its notes, syllables are mapped
        word by word: extra notes extend a syllable, extra syllables share a note; no word is
        dropped or repeated.
    tempo_bpm : quarter notes per minute.
    sample_rate_hz : output rate (8000-192000).
    gender : ``"female"`` or ``"male"`` (picks the default profile).
    seed : seeds vibrato and drift; the same input and seed give identical samples.
    profile : overrides the default :class:`VoiceProfile` for ``gender``.
    speech : lines already spoken and analysed (shared by the lead and harmony of one song);
        by default each call speaks its own distinct lines once.

    Returns
    -------
    SungVocal

    Examples
    --------
    >>> from songforge.engine.score import Note
    >>> line = SungLine("hello", (Note(67, 0, 1, lyric="hel"), Note(69, 1, 2, lyric="lo")))
    >>> vocal = sing([line], tempo_bpm=120)  # doctest: +SKIP
    >>> vocal.audio.shape  # 3 beats at 120 BPM + 0.5 s, at 48 kHz  # doctest: +SKIP
    (96000,)
    """
    _check_args(lines, tempo_bpm=tempo_bpm, sample_rate_hz=sample_rate_hz)
    profile = _in_register(profile or VoiceProfile.for_gender(gender), lines)
    jobs = [(i, line, _note_times(line.notes, tempo_bpm)) for i, line in enumerate(lines)
            if line.notes]
    end_s = max((t[-1][1] for _, _, t in jobs), default=0.0) + 0.5
    breaths = _breath_room_s([times for _, _, times in jobs], profile)
    with ThreadPoolExecutor(max(1, min(_WORKERS, len(jobs)))) as pool:
        spoken = (speech or SpeechCache()).get([line for _, line, _ in jobs], pool)
        rendered = list(pool.map(
            lambda args: _render_line(*args[:4], breath_s=args[4], profile=profile, seed=seed),
            [(i, line, times, sp, b) for (i, line, times), sp, b in zip(jobs, spoken, breaths, strict=True)]))
    return _assemble(rendered, lines, end_s=end_s, sample_rate_hz=sample_rate_hz)


# --------------------------------------------------------------------------- input


def _check_args(lines: Sequence[SungLine], *, tempo_bpm: float, sample_rate_hz: int) -> None:
    if not (tempo_bpm > 0 and math.isfinite(tempo_bpm)):
        raise InvalidRequest(f"tempo_bpm must be positive, not {tempo_bpm}", field="tempo_bpm")
    if not 8000 <= int(sample_rate_hz) <= 192000:
        raise InvalidRequest(f"sample_rate_hz {sample_rate_hz} is out of range",
                             field="sample_rate_hz", limit="8000-192000")
    for line in lines:
        for note in line.notes:
            if note.duration_beats <= 0 or note.start_beat < 0:
                raise InvalidRequest(f"bad note {note} in line {line.text!r}", field="notes")


def _in_register(profile: VoiceProfile, lines: Sequence[SungLine]) -> VoiceProfile:
    """``profile`` with ``f0_shift_semitones`` raised by the octaves that put the lines' median
    pitch nearest ``profile.register_midi`` (unchanged without a register)."""
    pitches = [n.pitch for line in lines for n in line.notes]
    if profile.register_midi is None or not pitches:
        return profile
    median = float(np.median(pitches)) + profile.f0_shift_semitones
    octaves = round((profile.register_midi - median) / 12.0)
    return replace(profile, f0_shift_semitones=profile.f0_shift_semitones + 12.0 * octaves)


def _note_times(notes: Sequence[Note], tempo_bpm: float) -> list[tuple[float, float, int, bool]]:
    """``(start_s, end_s, pitch, continues)`` per note, sorted by start."""
    spb = 60.0 / tempo_bpm
    ordered = sorted(notes, key=lambda n: n.start_beat)
    return [(n.start_beat * spb, n.end_beat * spb, int(n.pitch), (n.lyric or "").strip() == "-")
            for n in ordered]


def _breath_room_s(times: list[list[tuple[float, float, int, bool]]], profile: VoiceProfile) -> list[float]:
    """Seconds of breath before each line: 0 without breaths or after a rest shorter than
    ``_BREATH_MIN_GAP_S``, else half the rest, at most ``profile.breath_max_s``."""
    out, previous_end_s = [], 0.0
    for line_times in times:
        gap_s = line_times[0][0] - previous_end_s
        fits = profile.breath_db is not None and gap_s >= _BREATH_MIN_GAP_S
        out.append(min(profile.breath_max_s, 0.5 * gap_s) if fits else 0.0)
        previous_end_s = max(previous_end_s, line_times[-1][1])
    return out


def _speech_key(line: SungLine) -> tuple[bool, str]:
    """(is Chinese, the text to speak): lines with the same key sound the same when spoken."""
    is_zh = bool(_HAN.search(line.text))
    return is_zh, line.text if is_zh else _speakable_text(line)


def _speak_texts(keys: list[tuple[bool, str]]) -> list[SpokenLine]:
    """Chinese texts through the Mandarin voice (``mandarin.py``), the rest through one Festival batch;
    results in input order."""
    texts = [text for zh, text in keys if not zh]
    han = [text for zh, text in keys if zh]
    english = iter(speak(texts, workers=2 if len(texts) >= 6 else 1) if texts else [])
    # English songs need no espeak-ng; Chinese is spoken at the singer's slower rate
    chinese = iter(speak_mandarin(han, duration_ratio=SUNG_DURATION_RATIO) if han else [])
    return [next(chinese) if zh else next(english) for zh, _ in keys]


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _speakable_text(line: SungLine) -> str:
    """The line's text, or ``"la"`` per syllable note when it has nothing Festival can say."""
    if re.search(r"[A-Za-z0-9]", clean_text(line.text)):
        return line.text
    n = sum(1 for n in line.notes if (n.lyric or "").strip() != "-")
    return " ".join(["la"] * max(1, n))


def _groups(times: list[tuple[float, float, int, bool]]) -> list[tuple[float, float]]:
    """Syllable slots: a note plus the ``"-"`` notes that continue it -> (start_s, end_s)."""
    groups: list[list[float]] = []
    for start, end, _, continues in times:
        if continues and groups:
            groups[-1][1] = max(groups[-1][1], end)
        else:
            groups.append([start, end])
    return [(a, b) for a, b in groups]


# --------------------------------------------------------------------------- syllables -> notes


def _assign_units(groups: list[tuple[float, float]], spoken: SpokenLine,
                  group_lyrics: list[str]) -> list[_Unit]:
    """Place every Festival syllable on the note slots, word by word (see :func:`sing`)."""
    words = [list(w.syllables) for w in spoken.words]
    n_syl = sum(len(w) for w in words)
    if n_syl == len(groups):
        starts, total = [], 0
        for w in words:
            starts.append(total)
            total += len(w)
    else:
        starts = (_starts_by_letters(group_lyrics, [w.text for w in spoken.words])
                  or _starts_by_share([len(w) for w in words], len(groups)))
    units: list[_Unit] = []
    for first, last, g0, g1 in _clusters(starts, len(groups)):
        syls = [(s, wi) for wi in range(first, last) for s in words[wi]]
        units.extend(_spread(syls, groups[g0:g1]))
    return units


def _starts_by_letters(group_lyrics: list[str], word_texts: list[str]) -> list[int] | None:
    """First slot of each word when the note lyrics spell the words; ``None`` when they do not."""
    def letters(s: str) -> str:
        return re.sub(r"[^a-z0-9]", "", s.lower())

    if not group_lyrics or letters("".join(group_lyrics)) != letters("".join(word_texts)):
        return None
    slot_of_char: list[int] = []
    for g, lyric in enumerate(group_lyrics):
        slot_of_char.extend([g] * len(letters(lyric)))
    starts, pos = [], 0
    for text in word_texts:
        starts.append(slot_of_char[pos] if pos < len(slot_of_char) else len(group_lyrics) - 1)
        pos += len(letters(text))
    return starts


def _starts_by_share(counts: list[int], n_groups: int) -> list[int]:
    """First slot of each word, sharing slots in proportion to syllable counts (monotone)."""
    total = max(1, sum(counts))
    starts: list[int] = []
    cum = 0
    for w, c in enumerate(counts):
        s = int(math.floor(cum * n_groups / total + 1e-9))
        if n_groups >= len(counts):
            s = max(s, starts[-1] + 1 if starts else 0)
            s = min(s, n_groups - (len(counts) - w))
        starts.append(min(s, n_groups - 1))
        cum += c
    return starts


def _clusters(starts: list[int], n_groups: int) -> list[tuple[int, int, int, int]]:
    """Words sharing a first slot form a cluster: ``(first_word, end_word, slot0, slot_end)``.

    Starts are made monotone and the first cluster begins at slot 0, so every slot and every
    word belongs to exactly one cluster.
    """
    out: list[list[int]] = []
    for w, s in enumerate(starts):
        s = min(max(s, out[-1][2] if out else 0), n_groups - 1)
        if out and (s == out[-1][2]):
            out[-1][1] = w + 1
        else:
            out.append([w, w + 1, 0 if not out else s, 0])
    for k, c in enumerate(out):
        c[3] = out[k + 1][2] if k + 1 < len(out) else n_groups
    return [(a, b, c, d) for a, b, c, d in out]


def _spread(syls: list[tuple[SpokenSyllable, int]],
            slots: list[tuple[float, float]]) -> list[_Unit]:
    """Map a cluster's syllables onto its slots: 1:1, shared slots, or melisma."""
    n_s, n_g = len(syls), len(slots)
    if n_s == 0 or n_g == 0:
        return []
    units = []
    if n_s <= n_g:
        for j, (syl, wi) in enumerate(syls):
            a, b = j * n_g // n_s, (j + 1) * n_g // n_s
            units.append(_Unit(syl, wi, slots[a][0], slots[b - 1][1]))
        return units
    for g, (start, end) in enumerate(slots):
        a, b = g * n_s // n_g, (g + 1) * n_s // n_g
        step = (end - start) / (b - a)
        for k in range(a, b):
            syl, wi = syls[k]
            units.append(_Unit(syl, wi, start + (k - a) * step, start + (k - a + 1) * step))
    return units


# --------------------------------------------------------------------------- layout


def _split_syllable(syl: SpokenSyllable) -> tuple[float, float, float, float]:
    """Speech times (onset_start, vowel_start, vowel_end, coda_end) of a syllable."""
    vowels = [p for p in syl.phones if p.is_vowel]
    if not vowels:  # a syllabic consonant: its longest phone is the nucleus
        vowels = [max(syl.phones, key=lambda p: p.end_s - p.start_s)]
    return syl.start_s, vowels[0].start_s, vowels[-1].end_s, syl.end_s


def _layout(units: list[_Unit], profile: VoiceProfile) -> list[_Segment]:
    """Timeline segments (onset, vowel, coda per unit) with the consonant limits applied."""
    parts = [_split_syllable(u.syllable) for u in units]
    gaps = [math.inf] + [units[k].start_s - units[k - 1].end_s for k in range(1, len(units))]
    onset = [min(v0 - s0, max(profile.onset_lead_s, min(gap, profile.onset_lead_rest_s)))
             for (s0, v0, _, _), gap in zip(parts, gaps, strict=True)]
    coda = [c1 - v1 for _, _, v1, c1 in parts]
    overlap = [0.0] * (len(units) + 1)
    for k in range(1, len(units)):
        gap = units[k].start_s - units[k - 1].end_s
        overlap[k] = max(0.0, onset[k] - max(gap, 0.0))
    for k, u in enumerate(units):
        room = profile.max_consonant_share * (u.end_s - u.start_s)
        used = coda[k] + overlap[k + 1]
        if used > room > 0:
            scale = room / used
            coda[k] *= scale
            if overlap[k + 1] > 0:
                onset[k + 1] -= overlap[k + 1] * (1 - scale)
                overlap[k + 1] *= scale
    segments: list[_Segment] = []
    for k, u in enumerate(units):
        s0, v0, v1, c1 = parts[k]
        vowel_end = u.end_s - overlap[k + 1] - coda[k]
        if onset[k] > 0 and v0 > s0:
            segments.append(_Segment(u.start_s - onset[k], u.start_s, s0, v0, False, k))
        segments.extend(_vowel_segments(u.start_s, vowel_end, v0, v1, k))
        if coda[k] > 0 and c1 > v1:
            segments.append(_Segment(vowel_end, vowel_end + coda[k], v1, c1, False, k))
    return segments


def _vowel_segments(out0: float, out1: float, src0: float, src1: float,
                    unit: int) -> list[_Segment]:
    """A held vowel: its first and last quarter (<= 40 ms) at speaking speed, the middle stretched."""
    edge = min(0.25 * (src1 - src0), 0.04)
    if out1 - out0 <= (src1 - src0) or edge <= 0:
        return [_Segment(out0, max(out1, out0 + 1e-4), src0, src1, True, unit)]
    return [
        _Segment(out0, out0 + edge, src0, src0 + edge, True, unit),
        _Segment(out0 + edge, out1 - edge, src0 + edge, src1 - edge, True, unit),
        _Segment(out1 - edge, out1, src1 - edge, src1, True, unit),
    ]


def _frame_map(segments: list[_Segment], t_s: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output frame times ``t_s`` (m,): source time (s), inside-mask and vowel-mask."""
    starts = np.array([s.out_start for s in segments])
    ends = np.array([s.out_end for s in segments])
    idx = np.clip(np.searchsorted(starts, t_s, side="right") - 1, 0, len(segments) - 1)
    inside = (t_s >= starts[idx]) & (t_s < ends[idx])
    src0 = np.array([s.src_start for s in segments])[idx]
    src1 = np.array([s.src_end for s in segments])[idx]
    frac = np.clip((t_s - starts[idx]) / np.maximum(ends[idx] - starts[idx], 1e-9), 0.0, 1.0)
    vowel = np.array([s.is_vowel for s in segments])[idx] & inside
    return src0 + frac * (src1 - src0), inside, vowel


# --------------------------------------------------------------------------- pitch


def _f0_curve(times: list[tuple[float, float, int, bool]], t_s: np.ndarray,
              profile: VoiceProfile, rng: np.random.Generator) -> np.ndarray:
    """Melody F0 in Hz at frame times ``t_s`` (m,): smoothed steps + vibrato + drift."""
    starts = np.array([t[0] for t in times])
    pitches = np.array([t[2] for t in times], dtype=float) + profile.f0_shift_semitones
    steps = pitches[np.clip(np.searchsorted(starts, t_s, side="right") - 1, 0, len(times) - 1)]
    midi = _smooth(steps, max(1, int(round(profile.portamento_ms / 1000 / FRAME_S))))
    cents = _vibrato_cents(times, t_s, profile, rng) + _drift_cents(len(t_s), profile, rng)
    return np.asarray(midi_to_hz(midi + cents / 100.0))


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Hann-window moving average of ``x`` over ``width`` frames, edges held."""
    if width < 2 or len(x) < 2:
        return x
    win = np.hanning(width + 2)[1:-1]
    win /= win.sum()
    padded = np.pad(x, (width, width), mode="edge")
    return np.convolve(padded, win, mode="same")[width:-width]


def _vibrato_cents(times, t_s: np.ndarray, profile: VoiceProfile,
                   rng: np.random.Generator) -> np.ndarray:
    cents = np.zeros_like(t_s)
    jitter = rng.uniform(-1.0, 1.0, size=(len(times), 2))
    for (start, end, _, _), (jr, jd) in zip(times, jitter, strict=True):
        if end - start < profile.vibrato_min_note_s or profile.vibrato_depth_cents <= 0:
            continue
        t0 = start + profile.vibrato_delay_s
        sel = (t_s >= t0) & (t_s < end)
        rel = t_s[sel] - t0
        rate = profile.vibrato_rate_hz * (1 + 0.04 * jr)
        depth = profile.vibrato_depth_cents * (1 + 0.1 * jd) * np.minimum(1.0, rel / 0.15)
        cents[sel] = depth * np.sin(2 * np.pi * rate * rel)
    return cents


def _drift_cents(n: int, profile: VoiceProfile, rng: np.random.Generator) -> np.ndarray:
    """Slow random pitch wander with standard deviation ``profile.drift_cents``."""
    noise = rng.standard_normal(n + 160)
    slow = _smooth(noise, 80)[80:-80]
    std = float(slow.std()) or 1.0
    return slow / std * profile.drift_cents


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Rendered:
    line_index: int
    first_frame: int
    audio: np.ndarray  # at _ANALYSIS_RATE_HZ, starting at first_frame * FRAME_S
    words: list[tuple[str, float, float, int]]
    span_s: tuple[float, float]


def import_pyworld():
    """Import pyworld without its import-time ``pkg_resources`` deprecation warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pyworld
    return pyworld


def _analysed(spoken: SpokenLine) -> _Speech:
    """``spoken`` with its WORLD analysis up to the end of its last phone."""
    end_s = max((p.end_s for syl in spoken.syllables for p in syl.phones), default=0.0)
    return _Speech(spoken, *_analyse(spoken, crop_end_s=end_s))


def _analyse(spoken: SpokenLine, *, crop_end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WORLD analysis of the speech up to ``crop_end_s`` (the trailing pause is skipped):
    f0 (n,) in Hz, sp and ap (n, bins) at the analysis rate, every 5 ms.

    DIO + StoneMask, CheapTrick and D4C on every frame at 24 kHz. (Tracking F0 at 16 kHz and
    running D4C on every other frame was 0.003 s/s faster but less intelligible: Whisper-base
    WER over 20 sung sheets and two seeds 0.065 -> 0.060 at full rate.)
    """
    import soxr

    pyworld = import_pyworld()
    if spoken.audio is None:
        raise ValueError("the spoken line has no audio")
    x = spoken.audio[: int(math.ceil((crop_end_s + 0.02) * spoken.sample_rate_hz))].astype(np.float64)
    x = soxr.resample(x, spoken.sample_rate_hz, _ANALYSIS_RATE_HZ)
    f0, t = pyworld.dio(x, _ANALYSIS_RATE_HZ, f0_floor=80.0, f0_ceil=700.0, frame_period=FRAME_S * 1000)
    f0 = pyworld.stonemask(x, f0, t, _ANALYSIS_RATE_HZ)
    return f0, pyworld.cheaptrick(x, f0, t, _ANALYSIS_RATE_HZ), pyworld.d4c(x, f0, t, _ANALYSIS_RATE_HZ)


def _render_line(index: int, line: SungLine, times, speech: _Speech, *, breath_s: float,
                 profile: VoiceProfile, seed: int) -> _Rendered:
    pyworld = import_pyworld()
    spoken = speech.spoken

    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, index])
    groups = _groups(times)
    lyrics = [n.lyric or "" for n in sorted(line.notes, key=lambda n: n.start_beat)
              if (n.lyric or "").strip() != "-"]
    units = _assign_units(groups, spoken, lyrics[:len(groups)])
    segments = _layout(units, profile)
    breath_end_s = segments[0].out_start - _BREATH_LEAD_S
    breath_s = min(breath_s, max(0.0, breath_end_s))
    first = max(0, int(math.floor((segments[0].out_start - 0.02 - breath_s - _BREATH_LEAD_S) / FRAME_S)))
    last = int(math.ceil((max(s.out_end for s in segments) + _RELEASE_S) / FRAME_S))
    t_s = np.arange(first, last + 1) * FRAME_S
    src_s, inside, vowel = _frame_map(segments, t_s)
    f0_src, sp, ap = speech.f0, speech.sp, speech.ap
    sp_out, ap_out, voiced_src = _warp_frames(sp, ap, f0_src, src_s / FRAME_S)
    gain = _smooth(inside.astype(float), 4)
    sp_out *= (gain * gain)[:, None]
    sp_out += 1e-14
    sp_out = _warp_formants(sp_out, profile.formant_warp)
    ap_out = _shape_aperiodicity(ap_out, vowel, profile)
    if breath_s > 0 and profile.breath_db is not None and np.any(vowel):
        first_vowel = next(s for s in segments if s.is_vowel)
        shape = sp[min(len(sp) - 1, int(first_vowel.src_start / FRAME_S) + 2)]
        loud_power = float(np.percentile(sp_out[vowel].sum(axis=1), 90))
        _add_breath(sp_out, ap_out, t_s, envelope=shape * (loud_power / max(float(shape.sum()), 1e-30)),
                    start_s=breath_end_s - breath_s, end_s=breath_end_s, level_db=profile.breath_db)
    f0 = _f0_curve(times, t_s, profile, rng)
    if isinstance(spoken, MandarinLine):  # a light tone gesture at syllable starts
        bend = tone_bend_cents(t_s, [(u.start_s, u.end_s, u.syllable.stress) for u in units],
                               [(a, b, p) for a, b, p, _ in times])
        f0 = f0 * 2.0 ** (bend / 1200.0)
    f0 = np.where(inside & (vowel | voiced_src), f0, 0.0)
    audio = pyworld.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp_out),
                               np.ascontiguousarray(ap_out), _ANALYSIS_RATE_HZ, FRAME_S * 1000)
    words = _word_timings(units, segments, spoken, line.text, index)
    span = (segments[0].out_start, max(s.out_end for s in segments))
    return _Rendered(index, first, audio.astype(np.float32), words, span)


def _add_breath(sp: np.ndarray, ap: np.ndarray, t_s: np.ndarray, *, envelope: np.ndarray,
                start_s: float, end_s: float, level_db: float) -> None:
    """Write an in-breath into the frames between ``start_s`` and ``end_s`` (in place): unvoiced
    noise (aperiodicity 1) through ``envelope`` (bins,) (the line's first vowel's shape at the
    level of its loud vowels), tilted towards the highs (x0.1 in power below ~500 Hz), swelling
    and fading (sine^1.5) to a peak ``level_db`` relative to it."""
    sel = (t_s >= start_s) & (t_s < end_s)
    if not np.any(sel) or end_s <= start_s:
        return
    freqs = np.linspace(0, _ANALYSIS_RATE_HZ / 2, len(envelope))
    tilt = 0.1 + 0.9 * np.clip((freqs - 200.0) / 600.0, 0.0, 1.0)
    swell = np.sin(np.pi * (t_s[sel] - start_s) / (end_s - start_s)) ** 1.5
    power = (10.0 ** (level_db / 10.0)) * swell[:, None] ** 2
    sp[sel] = np.maximum(sp[sel], power * (envelope * tilt)[None, :])
    ap[sel] = 1.0


def _warp_frames(sp: np.ndarray, ap: np.ndarray, f0: np.ndarray, pos: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linearly interpolate analysis frames at fractional positions ``pos`` (m,)."""
    pos = np.clip(pos, 0, len(sp) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(sp) - 1)
    w = (pos - i0)[:, None]
    sp_out = sp[i0] * (1 - w) + sp[i1] * w
    ap_out = ap[i0] * (1 - w) + ap[i1] * w
    voiced = (f0[np.rint(pos).astype(int)] > 0)
    return sp_out, ap_out, voiced


def warp_formants(sp: np.ndarray, warp: float) -> np.ndarray:
    """Public name of :func:`_warp_formants` (used by the Mandarin male speech)."""
    return _warp_formants(sp, warp)


def _warp_formants(sp: np.ndarray, warp: float) -> np.ndarray:
    """Move the envelope along frequency: new(f) = old(f / warp); warp < 1 lowers formants."""
    if abs(warp - 1.0) < 1e-6:
        return sp
    bins = sp.shape[1]
    src = np.minimum(np.arange(bins) / warp, bins - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, bins - 1)
    w = src - i0
    return sp[:, i0] * (1 - w) + sp[:, i1] * w


def _shape_aperiodicity(ap: np.ndarray, vowel: np.ndarray, profile: VoiceProfile) -> np.ndarray:
    """Clamp vowel aperiodicity (clearer vowels); add breathiness above ~1 kHz."""
    ap = ap.copy()
    ap[vowel] = np.minimum(ap[vowel], profile.vowel_aperiodicity_max)
    if profile.breathiness > 0:
        freqs = np.linspace(0, _ANALYSIS_RATE_HZ / 2, ap.shape[1])
        floor = profile.breathiness * 0.7 * np.clip((freqs - 1000) / 2000, 0, 1)
        ap[vowel] = np.maximum(ap[vowel], floor)
    return np.clip(ap, 0.0, 1.0)


def _word_timings(units: list[_Unit], segments: list[_Segment], spoken: SpokenLine,
                  text: str, line_index: int) -> list[tuple[str, float, float, int]]:
    """(word, start_s, end_s, line) per spoken word, named with the line's own spelling."""
    names = _display_words(text, [w.text for w in spoken.words])
    sound_end = [u.end_s for u in units]
    for seg in segments:
        sound_end[seg.unit] = seg.out_end
    bounds: dict[int, list[float]] = {}
    for k, u in enumerate(units):
        b = bounds.setdefault(u.word_index, [u.start_s, sound_end[k]])
        b[1] = max(b[1], sound_end[k])
    return [(names[wi], start, end, line_index) for wi, (start, end) in sorted(bounds.items())]


def _display_words(text: str, spoken_words: list[str]) -> list[str]:
    """The line's own words when they pair up with Festival's tokens, else Festival's."""
    han = [ch for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"]
    if han and len(han) == len(spoken_words):
        return han
    own = [w.strip(".,;:!?\"'()[]{}“”‘’«»…") for w in text.split()]
    own = [w for w in own if re.search(r"\w", w)]
    return own if len(own) == len(spoken_words) else list(spoken_words)


def _assemble(rendered: list[_Rendered], lines: Sequence[SungLine], *, end_s: float,
              sample_rate_hz: int) -> SungVocal:
    import soxr

    hop = int(round(FRAME_S * _ANALYSIS_RATE_HZ))
    n_analysis = int(math.ceil(end_s * _ANALYSIS_RATE_HZ))
    mix = np.zeros(n_analysis, dtype=np.float64)
    for r in rendered:
        a = r.first_frame * hop
        b = min(n_analysis, a + len(r.audio))
        mix[a:b] += r.audio[: b - a]
    peak = float(np.max(np.abs(mix))) if len(mix) else 0.0
    if peak > 0:
        mix *= 0.7 / peak
    audio = soxr.resample(mix, _ANALYSIS_RATE_HZ, sample_rate_hz).astype(np.float32)
    audio = _fit_length(audio, int(round(end_s * sample_rate_hz)))
    words = sorted((w for r in rendered for w in r.words), key=lambda w: (w[1], w[3]))
    spans = {r.line_index: r.span_s for r in rendered}
    line_timings = [(line.text, *spans.get(i, (0.0, 0.0))) for i, line in enumerate(lines)]
    return SungVocal(audio=audio, sample_rate_hz=int(sample_rate_hz), word_timings=words,
                     line_timings=line_timings)


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    if len(audio) >= n:
        return audio[:n]
    return np.pad(audio, (0, n - len(audio)))
