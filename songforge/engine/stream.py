"""A song made block by block in playing order: the first seconds are heard while the rest is made.

The one-pass route (:func:`songforge.engine.song.make_song` with ``streamed=False``) renders,
sings and mixes the whole song before the first byte is encoded. Here:

1. **Everything that needs the whole song is decided first, from the score** (:func:`plan_mix`):
   the band is rendered at 16 kHz (2 s of every 6 of a song over 90 s, 31 windows of a song over
   ~3 minutes), part by part on both cores, and each stem's level gain, the accompaniment
   loudness and the vocal's target loudness are measured on it; the
   vocal's contribution to the mix loudness is modelled from the sung notes (constant power
   where anyone sings); the pre-bus trim follows, and the master gain from trying the bus, the
   glue compressor and the limiter on that analysis mix. The carve envelope (where
   the band makes room for the voice) comes from the sung notes too.
2. **The vocal is sung section by section** on a second thread (:func:`sing_pieces`), in
   playing order; each sung piece goes through the vocal insert chain, the de-esser and its
   level gain whole (a piece is one section's lines plus a second before and the release
   after), and is added into the vocal track at its place: no block edge inside a piece.
3. **The band is rendered in blocks** (1.5 s, then 4 s) on a third thread, the synths running on
   across block edges (:func:`songforge.engine.render.render_blocks`); only the first block is
   rendered before the first block is mixed (the analysis needs the cores more until then), and
   a singer whose first piece is not in the first block starts once the mix plan is fixed.
4. **Each block is mixed and mastered** (:class:`StreamMixer`): every filter, compressor,
   delay and reverb keeps its state from block to block (``reset=False``: the same samples as one
   call over the whole), the carve and the gains are fixed, one reverb and one delay take every
   stem's sends (:class:`_SendBus`), and the true-peak limiter looks ahead (its output trails its
   input by :data:`LIMITER_LATENCY_S`). **The encoder runs on a fourth thread**; the encoded
   pieces go to ``on_chunk`` as they are made and concatenate to the final file.

Mixing a song in blocks gives the master of mixing it in one block to within float rounding
(``tests/engine/test_stream.py``). Memory: a block of every stem, the vocal pieces still to be
played, and the master (kept for the result); never every stem at once (unless ``keep_stems``).
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from songforge.engine import mix as mx
from songforge.engine.deesser import deess
from songforge.engine.evaluate import integrated_lufs, k_weighted_power, loudness_from_power
from songforge.engine.score import Note, Score

if TYPE_CHECKING:
    from songforge.engine.compose import VocalLine
    from songforge.engine.plan import SongPlan
    from songforge.engine.song import SongResult
    from songforge.engine.timings import LineTiming
    from songforge.engine.voice.singer import SungLine, VoiceProfile
    from songforge.models import SongRequest

__all__ = [
    "MixPlan", "StreamMixer", "plan_mix", "vocal_activity", "block_ends", "sing_pieces", "VocalPiece",
    "stream_song", "ANALYSIS_RATE_HZ", "LIMITER_LATENCY_S",
]

ANALYSIS_RATE_HZ = 16000
_WINDOW_S, _WINDOW_EVERY_S = 2.0, 6.0  # the analysis renders 2 s of every 6 ...
_SAMPLE_ABOVE_S = 90.0  # ... of songs longer than this (shorter ones whole) ...
_MAX_WINDOWS = 31  # ... and of songs over ~3 minutes, 31 windows spread evenly (62 s of audio)
FIRST_BLOCK_S = 1.5
BLOCK_S = 4.0
_FRAME_HZ = 100  # the carve envelope's frame rate (as mix._carve_under_vocals)
_CONSONANT_LEAD_S = 0.15  # a sung note's consonants start up to this much before it
_RELEASE_S = 0.1
_PIECE_LEAD_S = 1.0  # a vocal piece starts this long before its section's first note
_FIRST_PIECE_LINES = 2
_OVERSAMPLE_CONTEXT = 1024  # samples either side of a limiter window for the 4x oversampler
# the master reads this much over what the analysis predicts (the band above 8 kHz, which the
# 16 kHz analysis does not hear; 8 tiny-preset songs of 20 s: +0.35 dB on average, +-0.22)
_MASTER_CALIBRATION_DB = -0.35
# a sung voice is far less steady than the noise that stands for it in the analysis, so the
# compressors take more off a sung master than tried (5 pop/rock/ballad songs, 30-480 s: 0.47-1.06 dB)
_VOICE_DYNAMICS_DB = 0.75
_TARGET_LUFS = -14.0
_CEILING_DBTP = -1.0
_SENDS_DB = 0.2  # what the reverb and delay returns add to the band's loudness (4 songs: 0.15-0.25)
_LIMIT_MARGIN_DB = 0.3  # as mix._normalize_and_limit
_LOOKAHEAD_MS, _HOLD_MS = 8.0, 30.0


def _limiter_reach(sample_rate_hz: int) -> int:
    ahead = max(1, int(round(_LOOKAHEAD_MS * 1e-3 * sample_rate_hz)))
    hold = int(round(_HOLD_MS * 1e-3 * sample_rate_hz))
    return hold + 2 * ahead + 2


LIMITER_LATENCY_S = (2 * _limiter_reach(48000) + _OVERSAMPLE_CONTEXT) / 48000
"""How far the limiter's output trails its input at 48 kHz (it needs to see the peaks ahead)."""


# --- what is fixed before the first block ---------------------------------------------------


@dataclass(frozen=True)
class MixPlan:
    """Gains and envelopes of a streamed mix, all fixed before the first block.

    Attributes
    ----------
    roles : stem name -> role (:data:`songforge.engine.mix.ROLES`).
    gains_db : level gain of each instrument stem in dB (vocals: levelled piece by piece).
    vocal_lufs : loudness the lead vocal is levelled to (harmony 12 dB under), LUFS.
    trim_db : gain of the summed stems before the bus, dB (aims the mix at ``MIX_LUFS``).
    master_gain_db : gain after the master chain, before the limiter, dB.
    carve : (n_frames,) float32 at 100 Hz, 1 where the band makes room for the voice; ``None``
        for instrumentals.
    style_mix : the genre's mix numbers (see :func:`songforge.engine.mix.mix_stems`).
    """

    roles: dict[str, str]
    gains_db: dict[str, float]
    vocal_lufs: float
    trim_db: float
    master_gain_db: float
    carve: np.ndarray | None
    style_mix: dict[str, float] = field(default_factory=dict)


def vocal_activity(note_spans_s: Sequence[tuple[float, float]], *, n_frames: int) -> np.ndarray:
    """Where anyone sings, at 100 Hz: 1 from a note's consonants (0.15 s early) to its release.

    Returns float32 (n_frames,) of 0 and 1.
    """
    active = np.zeros(n_frames, np.float32)
    for start_s, end_s in note_spans_s:
        a = max(0, int((start_s - _CONSONANT_LEAD_S) * _FRAME_HZ))
        b = min(n_frames, int(np.ceil((end_s + _RELEASE_S) * _FRAME_HZ)))
        active[a:b] = 1.0
    return active


def _carve_envelope(active: np.ndarray) -> np.ndarray:
    """The carve's depth per frame: held 0.4 s around each phrase and faded over 0.15 s (the same
    filters as :func:`songforge.engine.mix._carve_under_vocals` applies to the vocal's level)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    return uniform_filter1d(maximum_filter1d(active, size=81), size=16).astype(np.float32)


def _analysis_chain(role: str, sample_rate_hz: int) -> Any:  # pedalboard.Pedalboard
    """The role's insert chain without the EQ moves the analysis rate cannot hold."""
    import pedalboard as pb

    board: Any = mx.role_chain(role)
    keep = [p for p in board if float(getattr(p, "cutoff_frequency_hz", 0.0)) < 0.45 * sample_rate_hz]
    return pb.Pedalboard(keep)


def _carve_board(role: str) -> Any | None:  # pedalboard.Pedalboard or None
    import pedalboard as pb

    moves = [m for m in mx._CARVE if role in m[0]]
    if not moves or role in mx._VOCAL_ROLES:
        return None
    return pb.Pedalboard([pb.PeakFilter(cutoff_frequency_hz=f, gain_db=g, q=q) for _, f, g, q in moves])


def _envelope_at(carve: np.ndarray, start: int, end: int, sample_rate_hz: int) -> np.ndarray:
    """The 100 Hz envelope held over each frame's samples, for samples [start, end): (n, 1)."""
    frames = np.minimum(np.arange(start, end) * _FRAME_HZ // sample_rate_hz, carve.shape[0] - 1)
    return carve[frames][:, None]


def plan_mix(
    band: Score, *, sung_spans_s: Sequence[tuple[float, float]], harmony_spans_s: Sequence[tuple[float, float]],
    soundfont: str, tail_s: float, style_mix: Mapping[str, float] | None = None,
    target_lufs: float = _TARGET_LUFS,
) -> MixPlan:
    """Decide a streamed mix's gains from a 16 kHz render of (a third of) the band and the sung notes.

    Parameters
    ----------
    band : the score without its vocal parts.
    sung_spans_s : (start_s, end_s) of every lead vocal note; empty for instrumentals.
    harmony_spans_s : the same for the harmony voice.
    soundfont, tail_s : as the full-rate render.
    style_mix : the genre's mix numbers.
    target_lufs : loudness of the master.

    Returns
    -------
    MixPlan
    """
    options = dict(style_mix or {})
    rate = ANALYSIS_RATE_HZ
    roles = {p.name: p.role for p in band.parts}
    song_frames = int(np.ceil((band.duration_s + tail_s) * _FRAME_HZ)) + 1
    song_carve = (_carve_envelope(vocal_activity([*sung_spans_s, *harmony_spans_s], n_frames=song_frames))
                  if sung_spans_s else None)
    windows = _sample_windows(band.duration_s + tail_s)
    sampled = _sampled_score(band, windows)
    sung_spans_s, harmony_spans_s = _sampled_spans(sung_spans_s, windows), _sampled_spans(harmony_spans_s, windows)
    n = int(round(sampled.duration_s * rate))
    n_frames = int(np.ceil(n * _FRAME_HZ / rate)) + 1
    active = vocal_activity([*sung_spans_s, *harmony_spans_s], n_frames=n_frames) if sung_spans_s else None
    carve = _carve_envelope(active) if active is not None else None
    gains, levelled = _render_and_level(sampled, soundfont=soundfont, carve=carve, options=options, sample_rate_hz=rate)
    has_band = bool(band.parts)
    accomp_lufs = integrated_lufs(levelled, rate) if has_band else mx.MIX_LUFS
    accomp_lufs = accomp_lufs if np.isfinite(accomp_lufs) else mx.MIX_LUFS
    vocal_lufs = accomp_lufs + float(options.get("vocal_over_accomp_db", mx._VOCAL_OVER_ACCOMP_DB))
    power = k_weighted_power(levelled, rate) if has_band else np.zeros(n, np.float32)
    power *= np.float32(10.0 ** (_SENDS_DB / 10.0))
    voice = np.zeros(n, np.float32)
    if sung_spans_s:
        lead = _modelled_vocal_power(sung_spans_s, vocal_lufs + float(options.get("gain_db_vocal", 0.0)), n, rate)
        harmony_lufs = vocal_lufs - mx._HARMONY_BELOW_VOCAL_DB + float(options.get("gain_db_harmony_vocal", 0.0))
        voice = lead + _modelled_vocal_power(harmony_spans_s, harmony_lufs, n, rate)
    mix_lufs = loudness_from_power(power + voice, rate)
    trim_db = mx.MIX_LUFS - mix_lufs if np.isfinite(mix_lufs) else 0.0
    loss_db = (_master_loss_db(levelled, voice, trim_db=trim_db, options=options, sample_rate_hz=rate,
                               target_lufs=target_lufs) if has_band else 0.0)
    return MixPlan(
        roles=roles, gains_db=gains, vocal_lufs=vocal_lufs, trim_db=trim_db,
        master_gain_db=target_lufs - mx.MIX_LUFS + loss_db + _MASTER_CALIBRATION_DB, carve=song_carve,
        style_mix=options,
    )


def _master_loss_db(
    band: np.ndarray, voice_power: np.ndarray, *, trim_db: float, options: Mapping[str, float], sample_rate_hz: int,
    target_lufs: float,
) -> float:
    """What the bus, the master chain and the limiter will take off the master's loudness (dB),
    tried on the analysis: the levelled band (float32 (n, 2)) with the voice as noise of the
    modelled K-weighted power ``voice_power`` (n,), trimmed, through the same processors (the EQ
    moves the rate cannot hold left out) and the limiter on 4x-oversampled peaks."""
    import pedalboard as pb

    x = band * np.float32(mx._gain(trim_db + _SENDS_DB))
    if np.any(voice_power):
        noise = np.random.default_rng(0).standard_normal(band.shape).astype(np.float32)
        unit_power = float(np.mean(k_weighted_power(noise[: 4 * sample_rate_hz], sample_rate_hz)))
        x += noise * (np.sqrt(voice_power / unit_power) * np.float32(mx._gain(trim_db)))[:, None]
    before = integrated_lufs(x, sample_rate_hz)
    if not np.isfinite(before):
        return 0.0
    x = mx._bus(x, sample_rate_hz=sample_rate_hz, options=options)
    chain = pb.Pedalboard([p for p in mx._master_board()
                           if float(getattr(p, "cutoff_frequency_hz", 0.0)) < 0.45 * sample_rate_hz])
    x = mx._apply(chain, x, sample_rate_hz) * np.float32(mx._gain(target_lufs - mx.MIX_LUFS))
    peak = mx._oversampled_peak(x, sample_rate_hz=sample_rate_hz)
    curve = mx._limiter_gain(peak, sample_rate_hz=sample_rate_hz, ceiling_dbtp=_CEILING_DBTP - _LIMIT_MARGIN_DB)
    if curve is not None:
        x *= curve[:, None]
    after = integrated_lufs(x, sample_rate_hz)
    if not np.isfinite(after):
        return 0.0
    voice_db = _VOICE_DYNAMICS_DB if np.any(voice_power) else 0.0
    return float(before + target_lufs - mx.MIX_LUFS - after) + voice_db


def _sample_windows(duration_s: float) -> list[tuple[float, float, float]]:
    """Where the analysis listens: ``(song_start_s, sampled_start_s, length_s)``: the whole of a
    short song; of a long one, a window of :data:`_WINDOW_S` every :data:`_WINDOW_EVERY_S` (a
    third of the song), end to end; of a very long one, :data:`_MAX_WINDOWS` windows evenly
    spread (an 8-minute song's first audio waits for 62 s of analysis audio, not 160 s)."""
    if duration_s <= _SAMPLE_ABOVE_S:
        return [(0.0, 0.0, duration_s)]
    every_s = max(_WINDOW_EVERY_S, duration_s / _MAX_WINDOWS)
    windows: list[tuple[float, float, float]] = []
    t = 0.0
    while t < duration_s:
        length = min(_WINDOW_S, duration_s - t)
        windows.append((t, len(windows) * _WINDOW_S, length))
        t += every_s
    return windows


def _sampled_score(band: Score, windows: Sequence[tuple[float, float, float]]) -> Score:
    """The notes sounding in each window, cut to it and laid end to end (one section)."""
    to_beats = band.seconds_to_beats

    def cut(notes: Sequence[Note]) -> tuple[Note, ...]:
        out: list[Note] = []
        for song_s, sampled_s, length_s in windows:
            lo, hi = to_beats(song_s), to_beats(song_s + length_s)
            shift = to_beats(sampled_s) - lo
            out.extend(replace(n, start_beat=max(n.start_beat, lo) + shift,
                               duration_beats=min(n.end_beat, hi) - max(n.start_beat, lo))
                       for n in notes if n.end_beat > lo and n.start_beat < hi)
        return tuple(out)

    length_beats = to_beats(windows[-1][1] + windows[-1][2]) if windows else 0.0
    section = replace(band.sections[0], start_beat=0.0, length_beats=length_beats, chords=())
    return replace(band, sections=(section,), parts=tuple(replace(p, notes=cut(p.notes)) for p in band.parts))


def _sampled_spans(spans_s: Sequence[tuple[float, float]],
                   windows: Sequence[tuple[float, float, float]]) -> list[tuple[float, float]]:
    """``spans_s`` (start_s, end_s) cut to the windows, on the sampled timeline."""
    out = []
    for song_s, sampled_s, length_s in windows:
        for a, b in spans_s:
            lo, hi = max(a, song_s), min(b, song_s + length_s)
            if hi > lo:
                out.append((lo - song_s + sampled_s, hi - song_s + sampled_s))
    return out


def _render_and_level(
    score: Score, *, soundfont: str, carve: np.ndarray | None, options: Mapping[str, float], sample_rate_hz: int,
) -> tuple[dict[str, float], np.ndarray]:
    """Render each part of ``score`` (no tail) and take it through its carve and insert chain,
    levelled to its role, the parts side by side on the cores (FluidSynth, pedalboard, soxr and
    scipy's filters release the GIL): (gains dB by part name, levelled sum float32 (n, 2))."""
    from songforge.engine.render import render_part

    def one(part: Any) -> tuple[str, float, np.ndarray]:  # a songforge.engine.score.Part
        audio = render_part(part, score=score, sample_rate_hz=sample_rate_hz, soundfont=soundfont, tail_s=0.0)
        gain_db, levelled = _level_stem(audio, role=part.role, carve=carve, options=options,
                                        sample_rate_hz=sample_rate_hz)
        return part.name, gain_db, levelled

    gains: dict[str, float] = {}
    total: np.ndarray | None = None
    with ThreadPoolExecutor(max_workers=mx._MIX_THREADS) as pool:
        for name, gain_db, levelled in pool.map(one, score.parts):  # summed in score order
            gains[name] = gain_db
            total = levelled if total is None else total + levelled
    return gains, total if total is not None else np.zeros((0, 2), np.float32)


def _level_stem(
    audio: np.ndarray, *, role: str, carve: np.ndarray | None, options: Mapping[str, float], sample_rate_hz: int,
) -> tuple[float, np.ndarray]:
    """One stem through its carve and insert chain, levelled to its role: (gain dB, levelled stem)."""
    x: np.ndarray = np.ascontiguousarray(audio, dtype=np.float32)
    board = _carve_board(role)
    if carve is not None and board is not None:
        cut = mx._apply(board, x, sample_rate_hz)
        x = x + _envelope_at(carve, 0, x.shape[0], sample_rate_hz) * (cut - x)
    x = mx._apply(_analysis_chain(role, sample_rate_hz), x, sample_rate_hz)
    gain_db = mx._level_gain_db(x, role=role, options=options, sample_rate_hz=sample_rate_hz)
    x *= np.float32(mx._gain(gain_db))
    return gain_db, x


def _modelled_vocal_power(spans_s: Sequence[tuple[float, float]], lufs: float, n: int, rate: int) -> np.ndarray:
    """K-weighted power of a voice at ``lufs`` that sounds steadily through its notes: (n,)."""
    frames = vocal_activity(spans_s, n_frames=int(np.ceil(n * _FRAME_HZ / rate)) + 1)
    active = frames[np.arange(n) * _FRAME_HZ // rate].astype(np.float32)
    alone = loudness_from_power(active, rate)
    if not np.isfinite(alone):
        return np.zeros(n, np.float32)
    return active * np.float32(10.0 ** ((lufs - alone) / 10.0))


def block_ends(n_samples: int, *, sample_rate_hz: int, first_s: float = FIRST_BLOCK_S, block_s: float = BLOCK_S) -> list[int]:
    """End samples of the blocks a song of ``n_samples`` is made in: a short first one, then
    ``block_s`` each; the last ends at ``n_samples``."""
    ends, end = [], int(first_s * sample_rate_hz)
    while end < n_samples:
        ends.append(end)
        end += int(block_s * sample_rate_hz)
    return [*ends, n_samples]


# --- the blockwise mixer --------------------------------------------------------------------


_PRIME_FRAMES = 8192


def _fresh(board: Any, sample_rate_hz: int) -> None:
    """Reset ``board`` for streaming after one call of :data:`_PRIME_FRAMES` silent samples.

    pedalboard prepares its plugins for the largest block it has seen (up to 8192 frames) and
    prepares them afresh -- losing their state -- when a later ``process(..., reset=False)`` call
    brings a larger block; a first call of 8192 frames makes every later block size safe.
    """
    board.process(np.zeros((_PRIME_FRAMES, 2), np.float32), sample_rate_hz, reset=True)
    board.reset()



class _Pending:
    """Processed audio waiting to be mixed, from absolute sample ``base`` on; a streamed reverb
    adds its return at absolute positions (``buffer[a:b] += ...``) as it catches up."""

    def __init__(self) -> None:
        self.audio = np.zeros((0, 2), np.float32)
        self.base = 0

    def append(self, x: np.ndarray) -> None:
        self.audio = np.concatenate([self.audio, x])

    def take(self, end: int) -> np.ndarray:
        """The samples up to absolute ``end`` not taken yet."""
        n = end - self.base
        out, self.audio = self.audio[:n], self.audio[n:]
        self.base = end
        return out

    def __getitem__(self, key: slice) -> np.ndarray:
        return self.audio[key.start - self.base : key.stop - self.base]

    def __setitem__(self, key: slice, value: np.ndarray) -> None:
        self.audio[key.start - self.base : key.stop - self.base] = value


def _room_size(plan: MixPlan) -> float:
    """The reverb's room size for the genre (as :func:`songforge.engine.mix._add_sends`)."""
    return 0.45 + 0.5 * float(np.clip(plan.style_mix.get("reverb_room", 0.3), 0.0, 1.0))


def _sends(role: str, plan: MixPlan) -> tuple[float, float]:
    """The role's reverb and delay send levels (linear gains)."""
    spec = mx.ROLE_MIX.get(role, mx.ROLE_MIX[mx._FALLBACK_ROLE])
    return float(plan.style_mix.get(f"reverb_{role}", spec.reverb_send)), float(spec.delay_send)


class _Sends:
    """A reverb (at 16 kHz, :class:`songforge.engine.mix._LowRateReverb`) and a delay with their
    state kept between blocks; their returns wait in ``out`` until the reverb's has caught up."""

    def __init__(self, *, plan: MixPlan, reverb_send: float, delay_send: float, n_samples: int,
                 sample_rate_hz: int) -> None:
        self.rate = sample_rate_hz
        self.reverb = (mx._LowRateReverb(room=_room_size(plan), send=reverb_send, sample_rate_hz=sample_rate_hz,
                                         n_out=n_samples) if reverb_send > 0 else None)
        self.delay = mx._delay(send=delay_send) if delay_send > 0 else None
        if self.delay is not None:
            _fresh(self.delay, sample_rate_hz)
        if self.reverb is not None:
            _fresh(self.reverb.board, self.reverb.rate)
        self.out = _Pending()
        self.fed = 0
        self.finished = False  # the last block is in: the reverb has returned all it will

    @property
    def ready(self) -> int:
        """Samples of the returns fully computed."""
        if self.reverb is None or self.finished:
            return self.fed
        return min(self.fed, self.reverb.filled)

    def feed(self, reverb_in: np.ndarray | None, delay_in: np.ndarray | None, *, n: int, last: bool) -> None:
        """Feed the next ``n`` samples sent to the reverb and to the delay (``None``: silence)."""
        silence = np.zeros((n, 2), np.float32)
        self.out.append(np.array(self.delay.process(silence if delay_in is None else delay_in, self.rate,
                                                    reset=False), dtype=np.float32)
                        if self.delay is not None else silence)
        self.fed += n
        if self.reverb is not None:
            self.reverb.feed(silence if reverb_in is None else reverb_in, last=last, out=self.out)  # type: ignore[arg-type]
        self.finished = last


class _SendBus(_Sends):
    """One reverb and one delay shared by every stem, fed the sum of each stem's send.

    The reverb (JUCE's Freeverb: combs and all-passes, one room and damping for the whole song)
    and the delay (high-pass, feedback delay) are linear and the same for every stem, so the
    return of the summed sends is the sum of the stems' returns (to float rounding: ~-100 dB on the
    return, ~-80 dB under the master's peak after the master gain; ``tests/engine/test_stream.py``)
    for the cost of one stem's sends instead of seven.
    """

    def __init__(self, *, plan: MixPlan, n_samples: int, sample_rate_hz: int) -> None:
        super().__init__(plan=plan, reverb_send=1.0, delay_send=1.0, n_samples=n_samples,
                         sample_rate_hz=sample_rate_hz)

    def feed_chains(self, chains: Sequence[_StemChain], *, last: bool) -> None:
        """Add the returns of the chains' last blocks (``chain.dry``, all the same length)."""
        n = next((c.dry.shape[0] for c in chains if c.dry is not None), 0)
        self.feed(_weighted_sum([(c.dry, c.reverb_send) for c in chains]),
                  _weighted_sum([(c.dry, c.delay_send) for c in chains]), n=n, last=last)


def _weighted_sum(parts: Sequence[tuple[np.ndarray | None, float]]) -> np.ndarray | None:
    """``sum(gain * audio)`` over the parts with a gain above 0 (``None`` if there are none)."""
    total: np.ndarray | None = None
    for audio, gain in parts:
        if audio is None or gain <= 0:
            continue
        if total is None:
            total = audio * np.float32(gain)
        else:
            total += audio * np.float32(gain)
    return total


class _StemChain:
    """One stem's carve, insert chain and level gain, with their state kept between blocks.

    The processed stem waits in ``out`` for the mixer; its sends go to the mixer's shared
    :class:`_SendBus`. With ``own_sends`` (the processed stems are kept for the result) the stem's
    own reverb and delay returns are made too, into ``sends.out``, for the kept stem only.
    """

    def __init__(self, name: str, *, plan: MixPlan, n_samples: int, sample_rate_hz: int,
                 own_sends: bool = False) -> None:
        self.name = name
        self.role = plan.roles.get(name, mx._FALLBACK_ROLE)
        self.rate = sample_rate_hz
        self.is_vocal = self.role in mx._VOCAL_ROLES  # vocals come levelled and de-essed (sing_pieces)
        self.carve = plan.carve if not self.is_vocal else None
        self.carve_board = _carve_board(self.role) if self.carve is not None else None
        self.insert: Any = None if self.is_vocal else mx.role_chain(self.role)  # a pedalboard.Pedalboard
        self.gain = np.float32(mx._gain(plan.gains_db.get(name, 0.0)))
        self.reverb_send, self.delay_send = _sends(self.role, plan)
        self.sends = (_Sends(plan=plan, reverb_send=self.reverb_send, delay_send=self.delay_send,
                             n_samples=n_samples, sample_rate_hz=sample_rate_hz) if own_sends else None)
        for board in (self.carve_board, self.insert):
            if board is not None:
                _fresh(board, sample_rate_hz)
        self.out = _Pending()
        self.dry: np.ndarray | None = None  # the last block processed, for the send bus
        self.fed = 0

    @property
    def ready(self) -> int:
        """Samples of this stem processed (its own returns included, when it makes them)."""
        return self.fed if self.sends is None else min(self.fed, self.sends.ready)

    def feed(self, block: np.ndarray, *, last: bool) -> None:
        start, end = self.fed, self.fed + block.shape[0]
        x = np.ascontiguousarray(block, dtype=np.float32)
        if self.carve_board is not None and self.carve is not None:
            cut = self.carve_board.process(x, self.rate, reset=False)
            x = x + _envelope_at(self.carve, start, end, self.rate) * (cut - x)
        if self.insert is not None:
            x = self.insert.process(x, self.rate, reset=False)
        x = np.array(x, dtype=np.float32)
        x *= self.gain
        self.dry = x
        self.out.append(x)
        self.fed = end
        if self.sends is not None:
            self.sends.feed(x, x, n=x.shape[0], last=last)

    def take(self, end: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The processed samples up to absolute ``end`` (<= ``ready``) not taken yet, and the
        stem's own returns over them (``None`` without ``own_sends``)."""
        return self.out.take(end), self.sends.out.take(end) if self.sends is not None else None


class _StreamLimiter:
    """The look-ahead true-peak limiter of :func:`songforge.engine.mix.limit_true_peak`, in blocks.

    Each window of output is limited with the peaks of ``2 * reach + 1024`` samples either side
    in view: the gain curve reaches ``hold + 2 * lookahead`` samples, the 4x oversampler's filter a
    few hundred; so the output equals limiting the whole at once up to float rounding.
    """

    def __init__(self, *, sample_rate_hz: int, ceiling_dbtp: float) -> None:
        self.rate = sample_rate_hz
        self.ceiling_dbtp = ceiling_dbtp
        self.context = 2 * _limiter_reach(sample_rate_hz) + _OVERSAMPLE_CONTEXT
        self.history = np.zeros((0, 2), np.float32)
        self.start = 0  # absolute sample of history[0]
        self.fed = 0
        self.emitted = 0

    def feed(self, x: np.ndarray, *, last: bool) -> np.ndarray:
        """Limit what can be limited now; returns the output from where the last call stopped."""
        self.history = np.concatenate([self.history, x])
        self.fed += x.shape[0]
        end = self.fed if last else self.fed - self.context
        if end <= self.emitted:
            return np.zeros((0, 2), np.float32)
        lo, hi = max(self.start, self.emitted - self.context), min(self.fed, end + self.context)
        window = self.history[lo - self.start : hi - self.start]
        peak = mx._oversampled_peak(window, sample_rate_hz=self.rate)
        curve = mx._limiter_gain(peak, sample_rate_hz=self.rate, ceiling_dbtp=self.ceiling_dbtp)
        out = window[self.emitted - lo : end - lo].copy()
        if curve is not None:
            out *= curve[self.emitted - lo : end - lo, None]
        self.emitted = end
        keep_from = max(self.start, end - self.context)
        self.history = self.history[keep_from - self.start :]
        self.start = keep_from
        return out


class StreamMixer:
    """Mix and master a song fed in blocks; :meth:`feed` returns the master as far as it is done.

    Parameters
    ----------
    plan : the gains and envelopes (:func:`plan_mix`).
    n_samples : the song's length in samples (the streamed reverbs flush at the end).
    sample_rate_hz : rate of the stems in Hz.
    ceiling_dbtp : the limiter's true-peak ceiling.
    keep_stems : keep each processed stem (after the trim) for the result, with its own reverb and
        delay returns (made for it alone: the master always takes the returns from one shared
        bus, :class:`_SendBus`, so it is the same with or without kept stems): memory of every stem.

    Stems come as ``{name: (n, 2) float32}`` per block, every name in every block with the same
    ``n``. Vocal stems (roles ``vocal``, ``harmony_vocal``) come already through their insert
    chain, de-essed and levelled (:func:`sing_pieces`); they only get their sends here.
    """

    def __init__(
        self, plan: MixPlan, *, n_samples: int, sample_rate_hz: int, ceiling_dbtp: float = _CEILING_DBTP,
        keep_stems: bool = False,
    ) -> None:
        import pedalboard as pb

        self.plan = plan
        self.rate = sample_rate_hz
        self.n_samples = n_samples
        self.chains: dict[str, _StemChain] = {}
        self.trim = np.float32(mx._gain(plan.trim_db))
        ratio = float(plan.style_mix.get("bus_ratio", 1.5))
        self.bus = pb.Pedalboard([pb.Compressor(threshold_db=-16.0, ratio=ratio, attack_ms=30.0, release_ms=200.0)])
        self.drive_db = float(plan.style_mix.get("drive_db", 0.0))
        self.master_chain = mx._master_board()
        for board in (self.bus, self.master_chain):
            _fresh(board, sample_rate_hz)
        self.master_gain = np.float32(mx._gain(plan.master_gain_db))
        self.limiter = _StreamLimiter(sample_rate_hz=sample_rate_hz, ceiling_dbtp=ceiling_dbtp - _LIMIT_MARGIN_DB)
        self.mixed = 0
        self.keep_stems = keep_stems
        self.stems: dict[str, list[np.ndarray]] = {}
        self.bus_sends = _SendBus(plan=plan, n_samples=n_samples, sample_rate_hz=sample_rate_hz)

    def feed(self, blocks: Mapping[str, np.ndarray], *, last: bool = False) -> np.ndarray:
        """Feed the next block of every stem; returns the next master samples (float32 (m, 2))."""
        lengths = {b.shape[0] for b in blocks.values()}
        if len(lengths) > 1:
            raise ValueError("every stem's block must have the same length")
        with ThreadPoolExecutor(max_workers=mx._MIX_THREADS) as pool:
            futures = [pool.submit(self._chain(name).feed, block, last=last) for name, block in blocks.items()]
            for future in futures:
                future.result()
        if blocks:
            self.bus_sends.feed_chains([self.chains[name] for name in blocks], last=last)
        sources: list[_StemChain | _Sends] = [*self.chains.values(), self.bus_sends]
        end = min(c.ready for c in sources) if blocks else self.mixed
        summed = np.zeros((max(end - self.mixed, 0), 2), np.float32)
        for name, chain in self.chains.items():
            piece, returns = chain.take(end)
            piece *= self.trim
            summed += piece
            if self.keep_stems and returns is not None:
                self.stems.setdefault(name, []).append(piece + returns * self.trim)
        summed += self.bus_sends.out.take(end) * self.trim
        self.mixed = end
        return self._master(summed, last=last)

    def _chain(self, name: str) -> _StemChain:
        if name not in self.chains:
            if self.mixed:
                raise ValueError(f"stem {name!r} joined after the first block")
            self.chains[name] = _StemChain(name, plan=self.plan, n_samples=self.n_samples, sample_rate_hz=self.rate,
                                           own_sends=self.keep_stems)
        return self.chains[name]

    def _master(self, x: np.ndarray, *, last: bool) -> np.ndarray:
        x = self.bus.process(x, self.rate, reset=False) if x.shape[0] else x
        x = np.array(x, dtype=np.float32)
        if self.drive_db > 0:
            drive = np.float32(mx._gain(self.drive_db) * 2.0)
            x = np.tanh(x * drive) / drive
        if x.shape[0]:
            x = np.array(self.master_chain.process(x, self.rate, reset=False), dtype=np.float32)
        x *= self.master_gain
        out = self.limiter.feed(x, last=last)
        return np.clip(out, -0.999, 0.999, out=out)

    def processed_stems(self) -> dict[str, np.ndarray]:
        """The processed stems kept (``keep_stems``), whole: name -> (n, 2) float32."""
        return {name: np.concatenate(pieces) for name, pieces in self.stems.items()}


# --- vocals, section by section --------------------------------------------------------------


@dataclass(frozen=True)
class VocalPiece:
    """One section's singing (lead and harmony), placed on the song's timeline.

    ``start`` is its first sample in the song; ``stems`` name -> (n, 2) float32 after the insert
    chain, de-esser and level gain; ``dry`` the lead as sung (stereo, panned); ``lines`` are
    ``(line_timings, word_timings)`` in song seconds with song-wide line indices.
    """

    start: int
    stems: dict[str, np.ndarray]
    dry: np.ndarray
    line_timings: list[tuple[str, float, float]]
    word_timings: list[tuple[str, float, float, int]]

    @property
    def end(self) -> int:
        return self.start + max(a.shape[0] for a in self.stems.values())


@dataclass(frozen=True)
class _Job:
    """One section's lines to sing: the section's ``index``, its first line's song-wide index,
    where its piece starts (s), the lead's and the harmony's lines."""

    index: int
    first_line: int
    start_s: float
    lines: tuple[SungLine, ...]
    harmony: tuple[SungLine, ...]


def _sung_jobs(score: Score, vocal: VocalLine) -> list[_Job]:
    """The vocal's lines grouped by the section their first note falls in, in singing order; the
    song's first :data:`_FIRST_PIECE_LINES` lines are a piece of their own (heard soonest)."""
    bounds = sorted(score.beats_to_seconds(s.start_beat) for s in score.sections) or [0.0]
    lead = [line for line in vocal.lines if line.notes]
    split_beat = (min(n.start_beat for n in lead[_FIRST_PIECE_LINES].notes)
                  if len(lead) > _FIRST_PIECE_LINES else float("inf"))

    def key(line: SungLine) -> tuple[int, int]:
        first_beat = min(n.start_beat for n in line.notes)
        section = int(np.searchsorted(bounds, score.beats_to_seconds(first_beat), side="right"))
        return section, int(first_beat >= split_beat)

    groups: dict[tuple[int, int], list[SungLine]] = {}
    for line in lead:
        groups.setdefault(key(line), []).append(line)
    harmony: dict[tuple[int, int], list[SungLine]] = {}
    for line in vocal.harmony_lines:
        if line.notes:
            harmony.setdefault(key(line), []).append(line)
    jobs, first_line = [], 0
    for index, group in enumerate(sorted(set(groups) | set(harmony))):
        lines = groups.get(group, [])
        notes = [n for line in (*lines, *harmony.get(group, [])) for n in line.notes]
        start_s = max(0.0, score.beats_to_seconds(min(n.start_beat for n in notes)) - _PIECE_LEAD_S)
        jobs.append(_Job(index, first_line, start_s, tuple(lines), tuple(harmony.get(group, []))))
        first_line += len(lines)
    return jobs


def _shifted(lines: Sequence[SungLine], beats: float) -> list[SungLine]:
    """``lines`` with every note moved ``beats`` earlier."""
    return [replace(line, notes=tuple(replace(n, start_beat=n.start_beat - beats) for n in line.notes))
            for line in lines]


def sing_pieces(
    score: Score, vocal: VocalLine, *, plan: SongPlan, seed: int, mix_plan: Callable[[], MixPlan],
    sample_rate_hz: int, profile: VoiceProfile | None = None,
) -> Iterator[tuple[float, VocalPiece]]:
    """Sing the vocal section by section in playing order; yields ``(start_s, piece)``.

    ``mix_plan`` is called (it may wait) once the first piece is sung, for the vocal's level.
    Each piece is sung with seed ``seed + 2 * index`` (harmony ``+ 1``); one speech cache is
    shared, so each distinct line is spoken once per song.
    """
    from songforge.engine.song import pan_mono
    from songforge.engine.voice import SpeechCache, sing

    speech = SpeechCache()
    options: dict[str, Any] = {"tempo_bpm": score.tempo_bpm, "sample_rate_hz": sample_rate_hz, "gender": plan.gender,
               "profile": profile, "speech": speech}
    pans = {p.role: p.pan for p in score.parts}
    jobs = _sung_jobs(score, vocal)
    for k, job in enumerate(jobs):
        if k == 1:  # Festival speaks the first section alone (it is needed first), then all the rest at once
            with ThreadPoolExecutor(2) as pool:
                speech.get([line for later in jobs[1:] for line in (*later.lines, *later.harmony)], pool)
        shift_beats = score.seconds_to_beats(job.start_s)
        start = int(round(job.start_s * sample_rate_hz))
        sung: dict[str, Any] = {}
        if job.lines:
            sung["vocals"] = sing(_shifted(job.lines, shift_beats), seed=seed + 2 * job.index, **options)
        if job.harmony:
            sung["harmony_vocal"] = sing(_shifted(job.harmony, shift_beats), seed=seed + 2 * job.index + 1, **options)
        levels = mix_plan()
        stems, dry = {}, None
        for name, vocal_audio in sung.items():
            role = "vocal" if name == "vocals" else "harmony_vocal"
            stereo = pan_mono(vocal_audio.audio, pan=pans.get(role, 0.0))
            dry = stereo if name == "vocals" else dry
            stems[name] = _level_piece(stereo, role=role, plan=levels, sample_rate_hz=sample_rate_hz)
        lead = sung.get("vocals")
        lines = [(t, a + job.start_s, b + job.start_s) for t, a, b in lead.line_timings] if lead else []
        words = ([(w, a + job.start_s, b + job.start_s, i + job.first_line) for w, a, b, i in lead.word_timings]
                 if lead else [])
        if dry is None:
            dry = np.zeros((1, 2), np.float32)
        yield job.start_s, VocalPiece(start, stems, dry, lines, words)


def _level_piece(stereo: np.ndarray, *, role: str, plan: MixPlan, sample_rate_hz: int) -> np.ndarray:
    """A sung piece through the role's insert chain and the de-esser, levelled to its target."""
    x = mx._apply(mx.role_chain(role), stereo, sample_rate_hz)
    if role == "vocal":
        x = deess(x, sample_rate_hz=sample_rate_hz)
    target = plan.vocal_lufs + float(plan.style_mix.get(f"gain_db_{role}", 0.0))
    if role == "harmony_vocal":
        target -= mx._HARMONY_BELOW_VOCAL_DB
    loudness = integrated_lufs(x, sample_rate_hz)
    if np.isfinite(loudness):
        x *= np.float32(mx._gain(target - loudness))
    return x


class _VocalTrack:
    """Sung pieces as they arrive (from a thread), cut into blocks on the song's timeline."""

    def __init__(self, pieces: Iterator[tuple[float, VocalPiece]], *, names: Sequence[str], starts: Sequence[int],
                 pool: ThreadPoolExecutor, stop: threading.Event, gate: Future[Any] | None = None) -> None:
        self.stop = stop
        self.gate = gate  # singing starts once it is done
        self.names = list(names)
        self.starts = list(starts)  # every piece's start, known from the score
        self.pieces: list[VocalPiece] = []
        self.kept: list[VocalPiece] = []  # every piece, for the lyric timings and the dry vocal
        self.busy_s = 0.0
        self._queue: queue.Queue[VocalPiece | BaseException | None] = queue.Queue()
        self._future = pool.submit(self._run, pieces)
        self._done = False

    def _run(self, pieces: Iterator[tuple[float, VocalPiece]]) -> None:
        from concurrent.futures import wait

        if self.gate is not None:
            wait([self.gate])
        started = time.perf_counter()
        try:
            for _, piece in pieces:
                if self.stop.is_set():
                    return
                self._queue.put(piece)
            self._queue.put(None)
        except BaseException as exc:  # handed to the mixing thread, which raises it
            self._queue.put(exc)
        finally:
            self.busy_s = time.perf_counter() - started

    def block(self, start: int, end: int) -> dict[str, np.ndarray]:
        """Every vocal stem's samples [start, end), waiting for the pieces that reach into them."""
        while not self._done and len(self.kept) < sum(1 for s in self.starts if s < end):
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                self._done = True
                break
            self.pieces.append(item)
            self.kept.append(item)
        out = {name: np.zeros((end - start, 2), np.float32) for name in self.names}
        for piece in self.pieces:
            for name, audio in piece.stems.items():
                a, b = max(start, piece.start), min(end, piece.start + audio.shape[0])
                if b > a:
                    out[name][a - start : b - start] += audio[a - piece.start : b - piece.start]
        self.pieces = [p for p in self.pieces if p.end > end]
        return out

    def lines(self) -> list[LineTiming]:
        """The sung lines with their words, in song seconds."""
        from songforge.engine.timings import build_line_timings

        return build_line_timings([t for p in self.kept for t in p.line_timings],
                                  [w for p in self.kept for w in p.word_timings])

    def dry(self, n_samples: int) -> np.ndarray:
        """The lead vocal as sung (panned, before mixing): (n_samples, 2) float32."""
        out = np.zeros((n_samples, 2), np.float32)
        for piece in self.kept:
            m = min(piece.dry.shape[0], n_samples - piece.start)
            if m > 0:
                out[piece.start : piece.start + m] += piece.dry[:m]
        return out


# --- the whole song --------------------------------------------------------------------------


def _note_spans_s(score: Score, notes: Sequence[Note]) -> list[tuple[float, float]]:
    return [(score.beats_to_seconds(n.start_beat), score.beats_to_seconds(n.end_beat)) for n in notes]


def _put(items: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put ``item`` when there is room, unless ``stop`` is set first (then ``False``)."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _rendered_blocks(band: Score, ends: list[int], *, soundfont: str, sample_rate_hz: int,
                     pool: ThreadPoolExecutor, stop: threading.Event,
                     gate: Future[Any] | None = None) -> tuple[queue.Queue[Any], Future[float]]:
    """Render the band's blocks on ``pool``, two ahead of the mixer; items are blocks, then
    ``None`` (or the exception that stopped it). Returns the queue and the busy seconds.

    With ``gate``, only the first block is rendered before ``gate`` is done (the first block
    mixed: until then the analysis and the first block's mix need the cores more)."""
    from concurrent.futures import wait

    from songforge.engine.render import render_blocks

    blocks: queue.Queue[Any] = queue.Queue(maxsize=2)

    def run() -> float:
        busy, started = 0.0, time.perf_counter()
        try:
            for k, chunk in enumerate(render_blocks(band, ends, sample_rate_hz=sample_rate_hz, soundfont=soundfont)):
                busy += time.perf_counter() - started
                if not _put(blocks, chunk, stop):
                    return busy
                if k == 0 and gate is not None:
                    wait([gate])
                started = time.perf_counter()
            _put(blocks, None, stop)
        except BaseException as exc:
            _put(blocks, exc, stop)
        return busy

    return blocks, pool.submit(run)


@dataclass
class _Output:
    """The encoder, on a thread of its own (LAME releases the GIL), and what it made: ``on_chunk``
    gets every piece, in order, as it is encoded while the mixer goes on with the next block."""

    encoder: Any  # songforge.engine.encode.StreamEncoder
    clock: Any  # songforge.engine.song.StageClock
    on_chunk: Callable[[bytes], None] | None
    master: list[np.ndarray] = field(default_factory=list)
    encoded: list[bytes] = field(default_factory=list)
    encode_s: float = 0.0
    _queue: queue.Queue[tuple[np.ndarray, np.ndarray | None] | None] = field(default_factory=queue.Queue)
    _future: Future[None] | None = None

    def start(self, pool: ThreadPoolExecutor, stop: threading.Event) -> None:
        """Start encoding on ``pool``; it gives up when ``stop`` is set."""
        self._future = pool.submit(self._run, stop)

    def emit(self, audio: np.ndarray, *, tail: np.ndarray | None = None) -> None:
        """Queue the next master samples for encoding (with ``tail``, the file ends with it)."""
        self.master.append(audio)
        self._queue.put((audio, tail))

    def finish(self) -> None:
        """Wait until everything queued is encoded (raises what stopped the encoder)."""
        self._queue.put(None)
        if self._future is not None:
            self._future.result()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            self._encode(*item)

    def _encode(self, audio: np.ndarray, tail: np.ndarray | None) -> None:
        started = time.perf_counter()
        data = self.encoder.feed(audio)
        if tail is not None:
            data += self.encoder.feed(tail) + self.encoder.finish()
        self.encode_s += time.perf_counter() - started
        if data:
            self.encoded.append(data)
            self.clock.mark("first_chunk")
            if self.on_chunk:
                self.on_chunk(data)


def _mix_blocks(blocks: queue.Queue[Any], track: _VocalTrack | None, *, mixer: StreamMixer, ends: list[int],
                out: _Output, tail: np.ndarray, on_progress: Callable[[str, float], None] | None,
                first_mixed: Future[None] | None = None) -> float:
    """Mix, master and encode the blocks in order; returns the mixing seconds. ``first_mixed`` is
    set once the first block is handed to the encoder."""
    from songforge.engine.remake._common import quantize_24bit
    from songforge.models import Stage

    start, mix_s = 0, 0.0
    for k, end in enumerate(ends):
        chunk = blocks.get()
        if isinstance(chunk, BaseException):
            raise chunk
        if chunk is None:
            raise RuntimeError("the band's renderer stopped early")
        if track is not None:
            chunk = {**chunk, **track.block(start, end)}
        last = k == len(ends) - 1
        started = time.perf_counter()
        master = quantize_24bit(mixer.feed(chunk, last=last)) if chunk else np.zeros((end - start, 2), np.float32)
        mix_s += time.perf_counter() - started
        if on_progress:
            on_progress((Stage.ENCODE if last else Stage.MIX).value, 0.05 + 0.95 * end / ends[-1])
        out.emit(master, tail=tail if last else None)
        if k == 0 and first_mixed is not None:
            first_mixed.set_result(None)
        start = end
    return mix_s


def _vocal_track(score: Score, vocal: VocalLine | None, *, plan: SongPlan, seed: int, mix_plan: Future[MixPlan],
                 pool: ThreadPoolExecutor, stop: threading.Event) -> _VocalTrack | None:
    """Start singing on ``pool`` (``None`` for instrumentals)."""
    from songforge.engine.song import MASTER_SAMPLE_RATE_HZ as rate

    if vocal is None:
        return None
    starts = [int(round(job.start_s * rate)) for job in _sung_jobs(score, vocal)]
    pieces = sing_pieces(score, vocal, plan=plan, seed=seed, mix_plan=mix_plan.result, sample_rate_hz=rate)
    names = ["vocals", *(["harmony_vocal"] if vocal.harmony_lines else [])]
    # when the first block has no singing in it, the analysis (which it waits for) goes first
    gate = mix_plan if starts and starts[0] >= int(FIRST_BLOCK_S * rate) else None
    return _VocalTrack(pieces, names=names, starts=starts, pool=pool, stop=stop, gate=gate)


def stream_song(
    request: SongRequest, *, preset: str = "default", on_progress: Callable[[str, float], None] | None = None,
    on_chunk: Callable[[bytes], None] | None = None, songwriter: Any = None, keep_stems: bool | None = None,
) -> SongResult:
    """Make a song block by block, sending each encoded piece to ``on_chunk`` as soon as it is made.

    Parameters and result as :func:`songforge.engine.song.make_song` (a request without a
    reference); ``keep_stems`` (default: ``request.want_stems``) keeps the processed stems for
    ``SongResult.stems`` (otherwise it is empty, and the song never holds every stem at once).
    """
    from songforge.engine import song as sg
    from songforge.engine.encode import StreamEncoder
    from songforge.engine.presets import get_preset
    from songforge.engine.remake._common import quantize_24bit
    from songforge.engine.styles import load_style
    from songforge.models import AudioFormat, Stage

    settings = get_preset(preset)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    if request.duration_s is None and request.instrumental and settings.default_duration_s:
        request = request.with_(duration_s=float(settings.default_duration_s))
    clock = sg.StageClock(on_progress)
    plan, lyrics, score, vocal = sg.plan_and_compose(request, seed=seed, clock=clock, songwriter=songwriter)
    rate = sg.MASTER_SAMPLE_RATE_HZ
    band = replace(score, parts=tuple(p for p in score.parts if p.role not in sg.VOCAL_ROLES))
    n_samples = int(round((score.duration_s + max(settings.render_tail_s, 0.0)) * rate))
    tail = quantize_24bit(_watermark_tail(rate)) if request.watermark else np.zeros((0, 2), np.float32)
    ends = block_ends(n_samples, sample_rate_hz=rate)
    keep = request.want_stems if keep_stems is None else keep_stems
    mix_plan: Future[MixPlan] = Future()
    first_mixed: Future[None] = Future()
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=3) as pool:  # the singer, the renderer and the encoder
        try:
            track = _vocal_track(score, vocal, plan=plan, seed=seed, mix_plan=mix_plan, pool=pool, stop=stop)
            # the first block renders at full rate while the gains are decided
            blocks, rendering = _rendered_blocks(band, ends, soundfont=settings.soundfont, sample_rate_hz=rate,
                                                 pool=pool, stop=stop, gate=first_mixed)
            levels = clock.run(Stage.RENDER, lambda: plan_mix(
                band, sung_spans_s=_note_spans_s(score, vocal.notes) if vocal else [],
                harmony_spans_s=_note_spans_s(score, vocal.harmony_notes) if vocal else [],
                soundfont=settings.soundfont, tail_s=settings.render_tail_s, style_mix=load_style(plan.genre).mix,
            ), label="analysis")
            levels = replace(levels, roles={p.name: p.role for p in score.parts})  # the vocals' roles too
            mix_plan.set_result(levels)
            mixer = StreamMixer(levels, n_samples=n_samples, sample_rate_hz=rate, keep_stems=keep)
            out = _Output(StreamEncoder(
                format=request.format, sample_rate_hz=rate, out_sample_rate_hz=request.sample_rate_hz,
                channels=request.channels, bitrate_kbps=request.bitrate_kbps,
                total_frames=n_samples + tail.shape[0], mp3_quality=settings.mp3_quality,
            ), clock, on_chunk)
            out.start(pool, stop)
            mix_s = _mix_blocks(blocks, track, mixer=mixer, ends=ends, out=out, tail=tail, on_progress=on_progress,
                                first_mixed=first_mixed)
            out.finish()
        except BaseException as exc:
            stop.set()  # the renderer, the singer and the encoder give up
            for gate in (mix_plan, first_mixed):
                if not gate.done():
                    gate.set_exception(exc)
            raise
        clock.timings_s.update(render=rendering.result(), mix=mix_s, encode=out.encode_s)
    if track is not None:
        clock.timings_s["vocals"] = track.busy_s
    clock.total()
    return sg.SongResult(
        request=request, plan=plan, score=score, audio=np.concatenate([*out.master, tail]), sample_rate_hz=rate,
        encoded=b"".join(out.encoded), media_type=sg.MEDIA_TYPES[AudioFormat.parse(request.format)],
        stems=mixer.processed_stems() if keep else {}, seed=seed, timings_s=clock.timings_s,
        lines=track.lines() if track is not None else None,
        dry_vocals=track.dry(n_samples) if track is not None else None, lyrics=lyrics,
    )


def _watermark_tail(sample_rate_hz: int) -> np.ndarray:
    """The pause and tag :func:`songforge.engine.watermark.append_watermark` puts after a song."""
    from songforge.engine.watermark import append_watermark

    return append_watermark(np.zeros((0, 2), np.float32), sample_rate_hz=sample_rate_hz)

