"""The sung line: a form driven by the lyric sheet, and a vocal melody written for its words.

``plan_form_for_lyrics`` turns the sheet's tags into the form, one Section per lyric section in
order; each sung line gets a phrase of 2 or 4 bars (more for very long lines) at a singable pace,
instrumental tags get 2-8 bars, and an intro and outro are added where the sheet has none.
``write_vocal_line`` then sets every syllable to a note: the rhythm by dynamic programming over
a grid (stressed syllables on strong beats, the line's last syllable on a long note that ends at
least half a beat before the next line), the pitches by a contour walk that lands on chord tones
on strong beats, moves mostly by step and resolves its leaps. Verses sit low and recite;
choruses lie higher with longer notes; a line sung again (every chorus) gets the same melody.

Paces, slowest first (a pace is the grid of the shortest note and the usual note length):

The shortest note is a 16th, 8th or quarter note, whichever is the first to last that long.

========== ================================= ===============================================
pace       shortest note, usual note         used when
========== ================================= ===============================================
spacious   >= 0.25 s, usually ~0.45 s        the lyrics fill less than 60% of the duration
natural    >= 0.16 s, usually ~0.3 s         the default; sections padded to 4-bar multiples
tight      as natural, sections not padded   a requested duration is short
fast       >= 0.16 s, every note that short  the shortest form; below it ``ContentTooLong``
========== ================================= ===============================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from songforge.engine.compose._theory import (
    ChordTrack,
    bar_beats,
    chord_tones,
    scale_pcs,
    strong_beats,
)
from songforge.engine.compose.form import section_energy
from songforge.engine.lyrics import Lyrics, Word, syllabify_lines
from songforge.engine.plan import SongPlan
from songforge.engine.score import Note, Section
from songforge.engine.voice.singer import SungLine
from songforge.errors import ContentTooLong

__all__ = [
    "VocalLine",
    "plan_form_for_lyrics",
    "write_vocal_line",
    "syllable_counts",
    "metric_weight",
    "BREATH_BEATS",
]

BREATH_BEATS = 0.5
"""The shortest rest between the end of one sung line and the start of the next."""

_SECTION_KIND = {"transition": "interlude"}  # lyric kinds Section does not know
_INSTRUMENTAL_BARS = {"intro": 4, "outro": 4, "solo": 8, "inst": 4, "interlude": 4, "break": 2,
                      "transition": 2}
_MAX_INSTRUMENTAL_BARS = 8
_MAX_EDGE_BARS = 4
_VELOCITY = 92
_HARMONY_VELOCITY = 78

_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "nor", "so", "to", "of", "in", "on", "at", "by", "for",
    "with", "from", "up", "as", "is", "am", "are", "was", "were", "be", "been", "it", "its", "i",
    "me", "my", "you", "your", "he", "him", "his", "she", "her", "we", "us", "our", "they",
    "them", "their", "this", "that", "these", "those", "do", "does", "did", "have", "has", "had",
    "will", "would", "can", "could", "shall", "should", "may", "might", "must", "not", "no",
    "than", "then", "if", "when", "while", "where", "who", "whom", "whose", "which", "what",
    "there", "here", "oh", "ah",
})
"""Monosyllables Festival stresses that songs set on weak beats as readily as on strong ones."""


@dataclass(frozen=True)
class VocalLine:
    """The sung melody of a song.

    Attributes
    ----------
    notes : every vocal note in time order (``lyric`` = the syllable, ``"-"`` = melisma).
    lines : one SungLine per lyric line occurrence, in singing order (a repeated chorus is sung
        again); each line's notes are the same objects as in ``notes``.
    harmony_lines : the harmony voice's lines (choruses only): a diatonic third above, or the
        line an octave down where a third would go past the top of the range; same syllables.
    sung_sections : names of the sections the singer sings in.
    """

    notes: tuple[Note, ...]
    lines: tuple[SungLine, ...]
    harmony_lines: tuple[SungLine, ...] = ()
    sung_sections: tuple[str, ...] = ()

    @property
    def harmony_notes(self) -> tuple[Note, ...]:
        """Every harmony note in time order."""
        return tuple(sorted((n for line in self.harmony_lines for n in line.notes),
                            key=lambda n: n.start_beat))


# --------------------------------------------------------------------------- paces


@dataclass(frozen=True)
class _Pace:
    """How fast lines are sung: the shortest note (the grid) and the usual one, in seconds."""

    name: str
    min_note_s: float
    typical_note_s: float  # 0: the usual note is the grid
    phrase_bars: tuple[int, ...]
    pad: bool  # round sung sections up to a multiple of 4 bars
    fast: bool = False


_PACES = (
    _Pace("spacious", 0.25, 0.45, (2, 4, 8), True),
    _Pace("natural", 0.16, 0.30, (2, 4, 8), True),
    _Pace("tight", 0.16, 0.30, (2, 4, 8), False),
    _Pace("fast", 0.16, 0.0, (1, 2, 4, 8), False, fast=True),
)
_PACE = {p.name: p for p in _PACES}


def _grid_beats(pace: _Pace, *, quarter_bpm: float) -> float:
    """The pace's shortest note in beats: a 16th, 8th or quarter no shorter than its seconds."""
    beat_s = 60.0 / quarter_bpm
    for grid in (0.25, 0.5, 1.0):
        if grid * beat_s >= pace.min_note_s - 1e-9:
            return grid
    return 1.0


def _typical_beats(pace: _Pace, *, quarter_bpm: float) -> float:
    """The usual note of ``pace`` in beats (never shorter than its grid)."""
    grid = _grid_beats(pace, quarter_bpm=quarter_bpm)
    return max(grid, pace.typical_note_s * quarter_bpm / 60.0)


def _end_min_beats(pace: _Pace, *, plan: SongPlan) -> float:
    """The shortest phrase-end note: a half (dotted quarter in 6/8), a beat at the fast pace."""
    if plan.pulse_quarters == 1.5:
        return 1.5 if not pace.fast else 1.0
    return 1.0 if pace.fast else 2.0


def _line_need_beats(n_syllables: int, pace: _Pace, *, plan: SongPlan) -> float:
    """Beats a line of ``n_syllables`` takes at ``pace``: notes, a long last note and a breath."""
    if n_syllables == 0:
        return 0.0
    grid = _grid_beats(pace, quarter_bpm=plan.quarter_bpm)
    typical = _typical_beats(pace, quarter_bpm=plan.quarter_bpm)
    slack = 0.0 if pace.fast else grid
    return (n_syllables - 1) * typical + _end_min_beats(pace, plan=plan) + BREATH_BEATS + slack


def _phrase_bars(counts: Sequence[int], pace: _Pace, *, plan: SongPlan) -> list[int]:
    """Bars per line at ``pace``; a section's lines together fill whole bars."""
    bar = bar_beats(plan.meter)
    out = []
    for n in counts:
        need = _line_need_beats(n, pace, plan=plan)
        if n == 0:
            out.append(0)
            continue
        fits = [p for p in pace.phrase_bars if need <= p * bar + 1e-9]
        out.append(fits[0] if fits else 2 * math.ceil(need / bar / 2))
    if sum(out) == 0:
        out[-1] = 2
    total = sum(out)
    if pace.pad and total % 4 and 4 - total % 4 <= 2:
        out[-1] += 4 - total % 4
    return out


def _section_phrases(section_bars: int, counts: Sequence[int], *, plan: SongPlan):
    """(pace, bars per line) that fills a sung section of ``section_bars`` bars.

    The first pace whose layout has exactly that many bars; otherwise bars shared out by need.
    """
    for pace in _PACES:
        bars = _phrase_bars(counts, pace, plan=plan)
        if sum(bars) == section_bars:
            return pace, bars
    pace = _PACE["fast"]
    need = np.asarray([max(_line_need_beats(n, pace, plan=plan), 1e-3) for n in counts])
    share = need / need.sum() * section_bars
    bars = np.maximum(np.floor(share), 0).astype(int)
    for i in np.argsort(-(share - bars))[: section_bars - int(bars.sum())]:
        bars[i] += 1
    return pace, [int(b) for b in bars]


# --------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class _Block:
    """A section being planned: kind, name, bars, and its lyric section (None when added)."""

    kind: str
    name: str
    bars: int
    lyric_index: int | None = None
    counts: tuple[int, ...] = ()

    @property
    def sung(self) -> bool:
        return bool(self.counts)


def syllable_counts(words_per_line: Sequence[Sequence[Word]]) -> list[int]:
    """Syllables per line (one note each, before melisma)."""
    return [sum(len(w.syllables) for w in words) for words in words_per_line]


def plan_form_for_lyrics(
    plan: SongPlan,
    lyrics: Lyrics,
    words_per_line: Sequence[Sequence[Word]] | None = None,
    *,
    rng: np.random.Generator,
    duration_s: float | None = None,
) -> list[Section]:
    """The form of a song with lyrics: the sheet's sections in order, sized for their lines.

    Parameters
    ----------
    plan : SongPlan
        Tempo, meter, energy; ``plan.duration_s`` is a soft target (instrumental bars are added
        to reach it, nothing is raised) unless ``duration_s`` is given.
    lyrics : the parsed sheet.
    words_per_line : ``syllabify`` of every line of ``lyrics.lines``, in order (computed when
        ``None``).
    rng : numpy.random.Generator (where extra instrumental sections go).
    duration_s : the duration the request asked for. The form is stretched to it (intro, outro
        and instrumental sections lengthened, more instrumental sections added; lyrics are never
        repeated or dropped) and sung faster, down to the fastest singable pace, to fit in it.

    Returns
    -------
    list of Section
        Bar-aligned, without chords. Sung sections keep the lyric section's kind and name
        (``"verse 2"``); an instrumental intro (2-4 bars) comes first when the sheet starts with
        a sung section and an outro (2-4 bars) last unless the sheet ends with an outro.

    Raises
    ------
    ContentTooLong (``field="lyrics"``) : ``duration_s`` is shorter (by more than a bar) than
        the lyrics take at the fastest singable pace; the message says how long they need.
    """
    words = _words(lyrics, words_per_line)
    blocks = _fit_blocks(plan, lyrics, syllable_counts(words), duration_s=duration_s)
    blocks = _stretch(blocks, _target_bars(plan, duration_s), rng=rng)
    return _to_sections(blocks, plan=plan)


def _words(lyrics: Lyrics, words_per_line) -> list[list[Word]]:
    lines = lyrics.lines
    if words_per_line is None:
        return syllabify_lines(lines)
    if len(words_per_line) != len(lines):
        raise ValueError(f"words_per_line has {len(words_per_line)} lines, the lyrics {len(lines)}")
    return [list(w) for w in words_per_line]


def _bar_s(plan: SongPlan) -> float:
    return bar_beats(plan.meter) * 60.0 / plan.quarter_bpm


def _target_bars(plan: SongPlan, duration_s: float | None) -> int:
    return max(1, int(round((duration_s or plan.duration_s) / _bar_s(plan))))


def _edge_bars(plan: SongPlan) -> int:
    """An added intro or outro: 2 bars when bars are long (slow tempi), else 4."""
    return 2 if _bar_s(plan) >= 2.6 else 4


def _base_blocks(plan: SongPlan, lyrics: Lyrics, counts: list[int], pace: _Pace) -> list[_Block]:
    blocks, k = [], 0
    for i, ls in enumerate(lyrics.sections):
        kind = _SECTION_KIND.get(ls.kind, ls.kind)
        n = len(ls.lines)
        line_counts = tuple(counts[k:k + n])
        k += n
        if n:
            bars = sum(_phrase_bars(line_counts, pace, plan=plan))
            blocks.append(_Block(kind, ls.name, bars, i, line_counts))
        else:
            blocks.append(_Block(kind, ls.name, _INSTRUMENTAL_BARS.get(ls.kind, 4), i))
    if blocks[0].sung:
        blocks.insert(0, _Block("intro", "intro", _edge_bars(plan)))
    if lyrics.sections[-1].kind != "outro":
        blocks.append(_Block("outro", "outro", _edge_bars(plan)))
    return blocks


def _total(blocks: Sequence[_Block]) -> int:
    return sum(b.bars for b in blocks)


def _shrunk(blocks: list[_Block]) -> list[_Block]:
    """Instrumental sections cut to 2 bars (the shortest form)."""
    return [b if b.sung else replace(b, bars=min(b.bars, 2)) for b in blocks]


def _fit_blocks(plan: SongPlan, lyrics: Lyrics, counts: list[int], *,
                duration_s: float | None) -> list[_Block]:
    """The slowest pace that fits the target (only a requested duration is binding)."""
    target = _target_bars(plan, duration_s)
    by_pace = {p.name: _base_blocks(plan, lyrics, counts, p) for p in _PACES}
    if _total(by_pace["spacious"]) <= target and _total(by_pace["natural"]) < 0.6 * target:
        return by_pace["spacious"]
    if duration_s is None:
        return by_pace["natural"]
    for name in ("natural", "tight", "fast"):
        if _total(by_pace[name]) <= target + 1:
            return by_pace[name]
    shortest = _shrunk(by_pace["fast"])
    if _total(shortest) <= target + 1:
        return shortest
    need_s = _total(shortest) * _bar_s(plan)
    raise ContentTooLong(
        f"the lyrics need at least {need_s:.0f} s at {plan.tempo_bpm:g} BPM, sung at the fastest "
        f"singable pace; the requested duration is {duration_s:g} s: ask for a longer song or "
        "shorten the lyrics", field="lyrics", limit=f"{duration_s:g} s")


def _stretch(blocks: list[_Block], target: int, *, rng: np.random.Generator) -> list[_Block]:
    """Add instrumental bars until the form has ``target`` bars (lyrics are never repeated)."""
    blocks = list(blocks)
    spare = target - _total(blocks)
    if spare <= 0:
        return blocks
    edges = [i for i, b in enumerate(blocks) if b.kind in ("intro", "outro") and not b.sung]
    spare = _grow(blocks, edges, spare, limit=_MAX_EDGE_BARS)
    inst = [i for i, b in enumerate(blocks) if not b.sung and b.kind not in ("intro", "outro")]
    spare = _grow(blocks, inst, spare, limit=_MAX_INSTRUMENTAL_BARS)
    blocks, spare = _insert_instrumentals(blocks, spare, rng=rng)
    if spare > 0:
        last = max((i for i, b in enumerate(blocks) if not b.sung), default=len(blocks) - 1)
        blocks[last] = replace(blocks[last], bars=blocks[last].bars + spare)
    return blocks


def _grow(blocks: list[_Block], indices: list[int], spare: int, *, limit: int) -> int:
    """Lengthen ``blocks[indices]`` 2 bars at a time, round robin, up to ``limit`` bars each."""
    while spare > 0:
        open_ = [i for i in indices if blocks[i].bars < limit]
        if not open_:
            break
        for i in open_:
            step = min(2, spare, limit - blocks[i].bars)
            blocks[i] = replace(blocks[i], bars=blocks[i].bars + step)
            spare -= step
            if spare <= 0:
                break
    return spare


def _insert_instrumentals(blocks: list[_Block], spare: int, *, rng: np.random.Generator):
    """New instrumental sections after sung sections (after choruses first), 8 bars at most."""
    if spare < 2:
        return blocks, spare
    sung = [i for i, b in enumerate(blocks) if b.sung]
    inner = [i for i in sung if i != sung[-1]] or sung
    choruses = [i for i in inner if blocks[i].kind == "chorus"]
    slots = choruses or inner
    first = int(rng.integers(len(slots)))
    order = slots[first:] + slots[:first]
    kind = next((b.kind for b in blocks if not b.sung and b.kind in ("solo", "inst")), "inst")
    added: dict[int, list[int]] = {}
    j = 0
    while spare >= 2:
        bars = min(_MAX_INSTRUMENTAL_BARS, spare - spare % 2)
        added.setdefault(order[j % len(order)], []).append(bars)
        spare -= bars
        j += 1
    out = []
    for i, b in enumerate(blocks):
        out.append(b)
        out += [_Block(kind, kind, bars) for bars in added.get(i, [])]
    return out, spare


def _unique_names(blocks: list[_Block]) -> list[str]:
    """Lyric sections keep their names; added sections get free ones (``"inst 2"``)."""
    taken = {b.name for b in blocks if b.lyric_index is not None}
    names = []
    for b in blocks:
        name = b.name
        if b.lyric_index is None:
            base, k = b.kind.replace("_", " "), 1
            name = base
            while name in taken:
                k += 1
                name = f"{base} {k}"
            taken.add(name)
        names.append(name)
    return names


def _to_sections(blocks: list[_Block], *, plan: SongPlan) -> list[Section]:
    bar = bar_beats(plan.meter)
    n_choruses = sum(1 for b in blocks if b.kind == "chorus")
    seen: dict[str, int] = {}
    sections, start = [], 0.0
    for block, name in zip(blocks, _unique_names(blocks), strict=True):
        index = seen.get(block.kind, 0)
        seen[block.kind] = index + 1
        energy = section_energy(block.kind, index=index, n_choruses=n_choruses, plan=plan)
        sections.append(Section(name, block.kind, start, block.bars * bar, energy))
        start += block.bars * bar
    return sections


# --------------------------------------------------------------------------- rhythm


def metric_weight(beat: float, *, meter: tuple[int, int]) -> int:
    """How strong a position in the bar is: 4 downbeat, 3 strong beat, 2 beat, 1 8th, 0 16th.

    ``beat`` is in quarter notes from a bar line (any bar: it is taken modulo the bar length).
    """
    bar = bar_beats(meter)
    pos = beat % bar
    pulse = 1.5 if meter[1] == 8 and meter[0] % 3 == 0 else 1.0

    def on(step: float) -> bool:
        return abs(pos / step - round(pos / step)) < 1e-6

    if pos < 1e-6 or bar - pos < 1e-6:
        return 4
    if any(abs(pos - s) < 1e-6 for s in strong_beats(meter)):
        return 3
    if on(pulse):
        return 2
    return 1 if on(0.5) else 0


_UNSTRESSED_LONG_COST = 0.6  # per octave of length over the typical note, unstressed syllables
_STRESSED_COST = {4: 0.0, 3: 0.2, 2: 0.6, 1: 1.6, 0: 2.2}
_UNSTRESSED_COST = {4: 0.9, 3: 0.6, 2: 0.25, 1: 0.0, 0: 0.1}


@dataclass(frozen=True)
class _Grid:
    """A phrase's rhythm grid and the costs the setting minimises."""

    grid: float
    phrase_beats: float
    typical: float
    end_min: float
    end_max: float
    end_weight: int
    weights: np.ndarray  # metric weight per grid position
    meter: tuple[int, int]
    bar: float

    @property
    def size(self) -> int:
        return len(self.weights)


def _make_grid(*, phrase_beats: float, pace: _Pace, kind: str, plan: SongPlan) -> _Grid:
    grid = _grid_beats(pace, quarter_bpm=plan.quarter_bpm)
    kind_factor = {"verse": 0.85, "chorus": 1.25, "hook": 1.25, "post_chorus": 1.2}.get(kind, 1.0)
    typical = max(grid, _typical_beats(pace, quarter_bpm=plan.quarter_bpm) * kind_factor)
    n = int(math.floor((phrase_beats - BREATH_BEATS) / grid + 1e-9))
    weights = np.asarray([metric_weight(j * grid, meter=plan.meter) for j in range(max(n, 1))])
    end_max = min(3.0, bar_beats(plan.meter))
    return _Grid(grid, phrase_beats, typical, _end_min_beats(pace, plan=plan), end_max,
                 2 if pace.fast else 3, weights, plan.meter, bar_beats(plan.meter))


def _stress_weights(words: Sequence[Word], *, language: str) -> np.ndarray:
    """0-1 per syllable: how much it wants a strong beat."""
    out = []
    for w in words:
        stresses = (tuple(w.stresses) + (0,) * len(w.syllables))[: len(w.syllables)]
        for s in stresses:
            if language == "zh":
                out.append(0.2 if s in (0, 5) else 0.5)
            elif s == 1:
                function = len(w.syllables) == 1 and w.text.lower().strip("'") in _FUNCTION_WORDS
                out.append(0.35 if function else 1.0)
            else:
                out.append(0.6 if s == 2 else 0.0)
    return np.asarray(out, dtype=float)


def _set_rhythm(stress: np.ndarray, g: _Grid, *, rng: np.random.Generator):
    """``[(onset, duration)]`` in beats from the phrase start, one per syllable.

    Dynamic programming over grid positions: stress against metric weight, note lengths near
    the typical one, syncopation, a late start; the last syllable sits on a strong position and
    holds a half to dotted-half note ending at least ``BREATH_BEATS`` before the phrase end.
    """
    n = len(stress)
    noise = rng.normal(0.0, 0.18, (n, g.size))
    for end_weight, end_min in ((g.end_weight, g.end_min), (0, g.grid)):
        found = _dp(stress, g, noise=noise, end_weight=end_weight, end_min=end_min)
        if found is not None:
            return found
    return _even_rhythm(n, g)


def _place_costs(stress: np.ndarray, g: _Grid, noise: np.ndarray) -> np.ndarray:
    strong = np.asarray([_STRESSED_COST[int(w)] for w in g.weights])
    weak = np.asarray([_UNSTRESSED_COST[int(w)] for w in g.weights])
    return stress[:, None] * strong[None, :] + (1.0 - stress[:, None]) * weak[None, :] + noise


def _length_costs(stress: np.ndarray, g: _Grid, k_max: int) -> np.ndarray:
    """cost[i, k]: syllable i held for k grid steps.

    Unstressed syllables pay extra for notes longer than the typical one: a held unstressed
    syllable ("trum-PET", "sta-TIC") is heard as a word of its own (Whisper: "Trump it",
    "Statue"); sung like speech, long on the stresses, the words stay whole.
    """
    k = np.arange(1, k_max + 1)
    dur = k * g.grid
    base = 0.55 * np.abs(np.log2(dur / g.typical)) + 0.4 * (dur > 2.0)
    bonus = 0.15 * np.minimum(k - 1, 2)[None, :] * stress[:, None]
    over = np.maximum(0.0, np.log2(dur / g.typical))[None, :]
    return base[None, :] - bonus + _UNSTRESSED_LONG_COST * over * (1.0 - stress[:, None])


def _syncopation(g: _Grid, k_max: int) -> np.ndarray:
    """cost[j, k]: a note from position j for k steps that ties over a stronger beat."""
    ext = [metric_weight(j * g.grid, meter=g.meter) for j in range(g.size + k_max)]
    out = np.zeros((g.size, k_max + 1))
    for j in range(g.size):
        for k in range(2, k_max + 1):
            if max(ext[j + 1:j + k]) >= max(2, ext[j] + 1):
                out[j, k] = 0.3
    return out


def _dp(stress: np.ndarray, g: _Grid, *, noise: np.ndarray, end_weight: int, end_min: float):
    n, size = len(stress), g.size
    k_max = max(1, int(round(2.0 / g.grid)))
    place = _place_costs(stress, g, noise)
    length = _length_costs(stress, g, k_max)
    sync = _syncopation(g, k_max)
    pos = np.arange(size) * g.grid
    best = np.where(pos <= g.bar + 1e-9, 0.3 * pos, np.inf) + place[0]
    back = np.zeros((n, size), dtype=int)
    for i in range(1, n):
        new = np.full(size, np.inf)
        for k in range(1, min(k_max, size - 1) + 1):
            cand = best[:-k] + length[i - 1, k - 1] + sync[:-k, k]
            better = cand < new[k:]
            new[k:] = np.where(better, cand, new[k:])
            back[i, k:] = np.where(better, k, back[i, k:])
        best = new + place[i]
    avail = g.phrase_beats - BREATH_BEATS - pos
    ok = (g.weights >= end_weight) & (avail >= end_min - 1e-9) & np.isfinite(best)
    if not ok.any():
        return None
    hold = np.minimum(g.end_max, avail)
    end_cost = np.where(ok, best + 0.4 * np.maximum(0.0, avail - hold - 1.0), np.inf)
    j = int(np.argmin(end_cost))
    return _backtrack(back, j, g=g, hold=float(hold[j]))


def _backtrack(back: np.ndarray, j: int, *, g: _Grid, hold: float) -> list[tuple[float, float]]:
    onsets = [j]
    for i in range(back.shape[0] - 1, 0, -1):
        j -= int(back[i, j])
        onsets.append(j)
    onsets.reverse()
    times = [o * g.grid for o in onsets]
    durs = [b - a for a, b in zip(times, times[1:], strict=False)] + [hold]
    return list(zip(times, durs, strict=True))


def _even_rhythm(n: int, g: _Grid) -> list[tuple[float, float]]:
    """Fallback: syllables evenly spaced (only when a phrase is too short for the grid)."""
    room = g.phrase_beats - BREATH_BEATS
    step = max(0.125, math.floor(room / (n + 1) * 4.0) / 4.0)
    times = [i * step for i in range(n)]
    return [(t, step) for t in times[:-1]] + [(times[-1], max(step, room - times[-1]))]


# --------------------------------------------------------------------------- pitch


@dataclass(frozen=True)
class _Profile:
    register: float  # centre of the lines: 0 bottom .. 1 top of the range
    height: tuple[int, int]  # arc height in scale steps (low, high inclusive)
    repeat_p: float
    leap_p: float


_PROFILES = {
    "verse": _Profile(0.32, (1, 2), 0.4, 0.04),
    "pre_chorus": _Profile(0.46, (2, 3), 0.22, 0.08),
    "chorus": _Profile(0.6, (2, 4), 0.16, 0.14),
    "hook": _Profile(0.62, (2, 4), 0.2, 0.14),
    "post_chorus": _Profile(0.6, (2, 3), 0.2, 0.1),
    "bridge": _Profile(0.5, (2, 4), 0.2, 0.12),
}
_DEFAULT_PROFILE = _Profile(0.42, (1, 3), 0.3, 0.06)
_HARMONY_KINDS = ("chorus",)
_MELISMA_KINDS = ("chorus", "hook", "post_chorus")


@dataclass(frozen=True)
class _Voice:
    """What the pitch writer needs: key, chords and the singer's range."""

    plan: SongPlan
    track: ChordTrack
    lo: int
    hi: int
    tonic_pc: int
    scale: frozenset[int]
    scale_pitches: tuple[int, ...]  # diatonic pitches from an octave below to above the range

    def index_of(self, pitch: float) -> int:
        """Index in ``scale_pitches`` of the diatonic pitch nearest ``pitch``."""
        return int(np.argmin([abs(p - pitch) for p in self.scale_pitches]))

    def chord_pcs_at(self, beat: float) -> frozenset[int]:
        return chord_tones(self.track.at(beat))


@dataclass(frozen=True)
class _Shape:
    """The contour of a line: offset from the section's centre (semitones), arc peak and height."""

    offset: float
    peak: float
    height: int


def _voice(sections: Sequence[Section], *, plan: SongPlan) -> _Voice:
    lo, hi = (int(v) for v in plan.vocal_range)
    scale = frozenset(scale_pcs(plan.tonic_pc, plan.mode))
    pitches = tuple(p for p in range(lo - 12, hi + 13) if p % 12 in scale)
    return _Voice(plan, ChordTrack.from_sections(sections), lo, hi, plan.tonic_pc % 12, scale,
                  pitches)


def _nearest_in(pitch: float, pcs, *, voice: _Voice, toward: float = 0.0,
                near: int | None = None, span: int = 7) -> int:
    """The pitch in range with a pitch class in ``pcs`` nearest ``pitch`` (within ``span`` of
    ``near`` when possible); ties go ``toward`` (+1 up, -1 down)."""
    cands = [p for p in range(voice.lo, voice.hi + 1) if p % 12 in pcs]
    if near is not None:
        close = [p for p in cands if abs(p - near) <= span]
        cands = close or cands
    if not cands:
        return int(np.clip(round(pitch), voice.lo, voice.hi))
    return min(cands, key=lambda p: (abs(p - pitch), -(p - pitch) * toward, p))


def _chord_scale(tones: frozenset[int], voice: _Voice) -> set[int]:
    """The key's scale with the chord's chromatic tones replacing their diatonic neighbours."""
    pcs = set(voice.scale)
    for t in tones - voice.scale:
        pcs -= {(t - 1) % 12, (t + 1) % 12}
        pcs.add(t)
    return pcs


def _arc(x: float, peak: float) -> float:
    width = peak if x < peak else 1.0 - peak
    return float(max(0.0, 1.0 - ((x - peak) / max(width, 1e-6)) ** 2))


def _targets(n: int, *, voice: _Voice, profile: _Profile, shape: _Shape) -> list[float]:
    """Target index into ``voice.scale_pitches`` per note: an arch around the section's centre."""
    centre = voice.lo + profile.register * (voice.hi - voice.lo) + shape.offset
    base = voice.index_of(centre) - shape.height / 2.0
    xs = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    return [base + shape.height * _arc(float(x), shape.peak) for x in xs]


def _next_step(diff: float, *, forced: int, profile: _Profile, rng: np.random.Generator) -> int:
    """Scale steps to move: back by step after a leap, else repeat, leap or step to the arc."""
    r, coin = rng.random(), rng.random()
    if forced:
        return forced
    if r < profile.repeat_p and abs(diff) < 1.5:
        return 0
    if abs(diff) >= 2.0 and r < profile.repeat_p + profile.leap_p:
        return int(np.sign(diff)) * int(min(4, round(abs(diff))))
    if abs(diff) >= 0.5:
        return int(np.sign(diff))
    return -1 if coin < 0.4 else (1 if coin < 0.8 else 0)


def _line_pitches(events, *, voice: _Voice, profile: _Profile, shape: _Shape, cadence: str,
                  rng: np.random.Generator, lexical_tones: Sequence[int] | None = None) -> list[int]:
    """A pitch per ``(onset_beat, duration_beats, metric_weight)`` event of one line.

    ``lexical_tones``: the Mandarin tone (1-5, 0 for a Latin syllable) per event of a Chinese line; each
    pitch after the first is then fitted to its tone where the chord allows (:func:`_fit_tone`).
    """
    targets = _targets(len(events), voice=voice, profile=profile, shape=shape)
    pitches: list[int] = []
    forced = 0
    for i, (beat, dur, weight) in enumerate(events[:-1]):
        tones = voice.chord_pcs_at(beat)
        if not pitches:
            target = voice.scale_pitches[int(round(np.clip(targets[0], 0, len(voice.scale_pitches) - 1)))]
            pitches.append(_nearest_in(target, tones, voice=voice))
            continue
        prev = pitches[-1]
        index = voice.index_of(prev)
        step = _next_step(targets[i] - index, forced=forced, profile=profile, rng=rng)
        want = voice.scale_pitches[int(np.clip(index + step, 0, len(voice.scale_pitches) - 1))]
        pcs = tones if (weight >= 3 or dur >= 1.0) else _chord_scale(tones, voice)
        pitch = _nearest_in(want, pcs, voice=voice, toward=float(np.sign(step)), near=prev)
        if lexical_tones is not None:
            pitch = _fit_tone(pitch, prev=prev, tone=lexical_tones[i], pcs=pcs, voice=voice)
        leap = pitch - prev
        forced = -int(np.sign(leap)) if abs(leap) >= 5 and not forced else 0
        pitches.append(pitch)
    pitches.append(_cadence_pitch(events[-1][0], voice=voice, cadence=cadence,
                                  prev=pitches[-1] if pitches else None, target=targets[-1]))
    return pitches


_TONE_SPAN = 5  # a tone-fitted note stays within this many semitones of the note before


def _fit_tone(pitch: int, *, prev: int, tone: int, pcs, voice: _Voice) -> int:
    """``pitch``, or the nearest pitch in ``pcs`` that respects a Mandarin ``tone`` after ``prev``.

    A falling 4th tone is not set on a rising interval and a 3rd tone (low) not above the note
    before: both get a pitch <= ``prev``; a rising 2nd tone is not set on a falling interval.
    Tones 1, 5 and 0 (Latin) take the melody as is, and so does a tone no chord tone in
    ``_TONE_SPAN`` semitones can respect.
    """
    if tone in (3, 4):
        ok = lambda p: p <= prev  # noqa: E731
    elif tone == 2:
        ok = lambda p: p >= prev  # noqa: E731
    else:
        return pitch
    if ok(pitch):
        return pitch
    cands = [p for p in range(max(voice.lo, prev - _TONE_SPAN), min(voice.hi, prev + _TONE_SPAN) + 1)
             if p % 12 in pcs and ok(p)]
    return min(cands, key=lambda p: (abs(p - pitch), p)) if cands else pitch


def _tones(words: Sequence[Word]) -> list[int]:
    """The tone per syllable of a Chinese line's words (0 where none is known)."""
    return [s for w in words for s in (tuple(w.stresses) + (0,) * len(w.syllables))[: len(w.syllables)]]


def _cadence_pitch(beat: float, *, voice: _Voice, cadence: str, prev: int | None,
                   target: float) -> int:
    """The line's last note: the tonic at a close (when the chord has it), else a chord tone."""
    tones = voice.chord_pcs_at(beat)
    if cadence in ("final", "close") and voice.tonic_pc in tones:
        pcs = {voice.tonic_pc}
    elif cadence == "open" and len(tones - {voice.tonic_pc}) > 0:
        pcs = set(tones - {voice.tonic_pc})
    else:
        pcs = set(tones)
    if cadence == "final":
        pcs = {voice.tonic_pc}
    index = int(np.clip(round(target), 0, len(voice.scale_pitches) - 1))
    aim = voice.scale_pitches[index] if prev is None else 0.6 * prev + 0.4 * voice.scale_pitches[index]
    return _nearest_in(aim, pcs, voice=voice, near=prev, span=5)


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _SungSection:
    section: Section
    lines: tuple[str, ...]
    words: tuple[tuple[Word, ...], ...]
    languages: tuple[str, ...]


def _sung_sections(sections: Sequence[Section], lyrics: Lyrics,
                   words: list[list[Word]]) -> list[_SungSection]:
    """Each sung lyric section with its Section (found by name) and its lines' words."""
    by_name = {s.name: s for s in sections}
    out, k = [], 0
    for ls in lyrics.sections:
        n = len(ls.lines)
        if not n:
            continue
        if ls.name not in by_name:
            raise ValueError(f"no section named {ls.name!r}: plan the form with plan_form_for_lyrics")
        languages = ls.languages or ("en",) * n
        out.append(_SungSection(by_name[ls.name], ls.lines,
                                tuple(tuple(w) for w in words[k:k + n]), tuple(languages)))
        k += n
    return out


def _syllables(words: Sequence[Word]) -> list[str]:
    return [s for w in words for s in w.syllables]


def _write_line(words: Sequence[Word], *, language: str, start_beat: float, phrase_beats: float,
                pace: _Pace, kind: str, voice: _Voice, shape: _Shape, cadence: str,
                rng: np.random.Generator) -> list[Note]:
    """The notes of one line from ``start_beat`` (absolute beats; velocities before dynamics)."""
    syllables = _syllables(words)
    if not syllables:
        return []
    stress = _stress_weights(words, language=language)
    grid = _make_grid(phrase_beats=phrase_beats, pace=pace, kind=kind, plan=voice.plan)
    rhythm = _set_rhythm(stress, grid, rng=rng)
    events = [(start_beat + t, d, metric_weight(t, meter=voice.plan.meter)) for t, d in rhythm]
    profile = _PROFILES.get(kind, _DEFAULT_PROFILE)
    pitches = _line_pitches(events, voice=voice, profile=profile, shape=shape, cadence=cadence,
                            rng=rng, lexical_tones=_tones(words) if language == "zh" else None)
    notes = [Note(p, round(b, 6), round(d, 6), _VELOCITY + int(4 * s), syl)
             for (b, d, _), p, syl, s in zip(events, pitches, syllables, stress, strict=True)]
    # no melisma in Chinese: turning a held syllable through other pitches changes its tone
    if (kind in _MELISMA_KINDS and language != "zh"
            and rng.random() < 0.04 + 0.3 * float(voice.plan.weirdness)):
        notes = notes[:-1] + _melisma(notes[-1], voice=voice)
    return notes


def _melisma(note: Note, *, voice: _Voice) -> list[Note]:
    """A held last syllable turned: the note, its upper neighbour, the note again (``"-"``)."""
    if note.duration_beats < 2.0 - 1e-6:
        return [note]
    first = 1.0 if note.duration_beats >= 3.0 - 1e-6 else 0.5
    index = voice.index_of(note.pitch)
    upper = voice.scale_pitches[min(index + 1, len(voice.scale_pitches) - 1)]
    neighbour = upper if upper <= voice.hi else voice.scale_pitches[max(index - 1, 0)]
    t = note.start_beat
    return [replace(note, duration_beats=first),
            replace(note, pitch=neighbour, start_beat=t + first, duration_beats=0.5, lyric="-"),
            replace(note, start_beat=t + first + 0.5,
                    duration_beats=note.duration_beats - first - 0.5, lyric="-")]


def _cadence_kind(k: int, n_lines: int, *, last_section: bool) -> str:
    if k == n_lines - 1:
        return "final" if last_section else "close"
    return "open" if k % 2 == 0 else "close"


def _shape_for(key: tuple[str, int], shapes: dict, *, kind: str,
               rng: np.random.Generator) -> _Shape:
    """One contour per (section kind, line number): verse 2 line 1 moves like verse 1 line 1."""
    if key not in shapes:
        low, high = _PROFILES.get(kind, _DEFAULT_PROFILE).height
        shapes[key] = _Shape(offset=float(rng.integers(-2, 3)), peak=float(rng.uniform(0.3, 0.75)),
                             height=int(rng.integers(low, high + 1)))
    return shapes[key]


def _dynamics(notes: Sequence[Note], *, energy: float) -> list[Note]:
    gain = 0.8 + 0.3 * float(np.clip(energy, 0.0, 1.0))
    return [replace(n, velocity=int(np.clip(round(n.velocity * gain), 1, 127))) for n in notes]


def write_vocal_line(
    sections: Sequence[Section],
    *,
    plan: SongPlan,
    lyrics: Lyrics,
    words_per_line: Sequence[Sequence[Word]] | None = None,
    rng: np.random.Generator,
) -> VocalLine:
    """Set every lyric line to a melody.

    Parameters
    ----------
    sections : the form from ``plan_form_for_lyrics``, harmonised (``harmonize``); sung sections
        are found by their lyric section's name.
    plan : key, mode, meter, tempo, ``vocal_range`` (notes are written at the pitch sung),
        ``weirdness`` (melisma).
    lyrics : the parsed sheet.
    words_per_line : ``syllabify`` of every line of ``lyrics.lines`` (computed when ``None``).
    rng : numpy.random.Generator

    Returns
    -------
    VocalLine
        One note per syllable (a melisma adds ``"-"`` notes, rarely, on a chorus line's last
        syllable), inside ``plan.vocal_range``, each line ending on a long note at least
        ``BREATH_BEATS`` before the next line starts. A line sung again in a section of the same
        kind gets the same melody; choruses get a harmony line.
    """
    words = _words(lyrics, words_per_line)
    voice = _voice(sections, plan=plan)
    sung = _sung_sections(sections, lyrics, words)
    memo: dict[tuple, list[Note]] = {}
    shapes: dict[tuple[str, int], _Shape] = {}
    lines, harmony = [], []
    for j, item in enumerate(sung):
        section_lines = _section_lines(item, voice=voice, memo=memo, shapes=shapes,
                                       last_section=j == len(sung) - 1, rng=rng)
        lines += section_lines
        if item.section.kind in _HARMONY_KINDS:
            harmony += [_harmony(line, voice=voice) for line in section_lines]
    notes = tuple(sorted((n for line in lines for n in line.notes), key=lambda n: n.start_beat))
    return VocalLine(notes, tuple(lines), tuple(harmony),
                     tuple(dict.fromkeys(item.section.name for item in sung)))


def _section_lines(item: _SungSection, *, voice: _Voice, memo: dict, shapes: dict,
                   last_section: bool, rng: np.random.Generator) -> list[SungLine]:
    section, bar = item.section, bar_beats(voice.plan.meter)
    counts = syllable_counts(item.words)
    pace, bars = _section_phrases(int(round(section.length_beats / bar)), counts, plan=voice.plan)
    start, out = section.start_beat, []
    for k, (text, words, language) in enumerate(zip(item.lines, item.words, item.languages,
                                                    strict=True)):
        key = (section.kind, text, bars[k])
        if key not in memo:
            shape = _shape_for((section.kind, k), shapes, kind=section.kind, rng=rng)
            cadence = _cadence_kind(k, len(item.lines), last_section=last_section)
            notes = _write_line(words, language=language, start_beat=0.0,
                                phrase_beats=bars[k] * bar, pace=pace, kind=section.kind,
                                voice=_shifted(voice, start), shape=shape, cadence=cadence, rng=rng)
            memo[key] = notes
        placed = [replace(n, start_beat=round(n.start_beat + start, 6)) for n in memo[key]]
        out.append(SungLine(text, tuple(_dynamics(placed, energy=section.energy))))
        start += bars[k] * bar
    return out


def _shifted(voice: _Voice, offset_beats: float) -> _Voice:
    """The voice with its chord lookup moved so that beat 0 is ``offset_beats`` of the song."""
    chords = [replace(c, start_beat=c.start_beat - offset_beats) for c in voice.track.chords]
    return replace(voice, track=ChordTrack(chords))


# --------------------------------------------------------------------------- harmony voice


def _third_above(note: Note, *, voice: _Voice) -> int:
    """A diatonic third above (a chord-tone fourth instead where the third clashes on a long or
    strong note); a chromatic note takes the chord tone 3-4 semitones up."""
    tones = voice.chord_pcs_at(note.start_beat)
    strong = note.duration_beats >= 1.0 or metric_weight(note.start_beat, meter=voice.plan.meter) >= 3
    if note.pitch % 12 in voice.scale:
        index = voice.scale_pitches.index(note.pitch) if note.pitch in voice.scale_pitches else None
        if index is not None and index + 2 < len(voice.scale_pitches):
            third = voice.scale_pitches[index + 2]
            if not strong or third % 12 in tones or (note.pitch + 5) % 12 not in tones:
                return third
            return note.pitch + 5
    return next((note.pitch + i for i in (3, 4, 5) if (note.pitch + i) % 12 in tones),
                note.pitch + 3)


def _harmony(line: SungLine, *, voice: _Voice) -> SungLine:
    """The harmony voice's line: thirds above, or the line an octave down when a third would
    climb past the top of the range + 3 semitones. Same syllables, a little softer."""
    thirds = [_third_above(n, voice=voice) for n in line.notes]
    if thirds and max(thirds) > voice.hi + 3:
        thirds = [n.pitch - 12 for n in line.notes]
    notes = tuple(replace(n, pitch=p, velocity=min(n.velocity, _HARMONY_VELOCITY))
                  for n, p in zip(line.notes, thirds, strict=True))
    return SungLine(line.text, notes)
