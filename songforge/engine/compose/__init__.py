"""The composer: SongPlan -> Score (form, harmony, melody, bass, drums, arrangement).

``compose(plan)`` is the entry point; ``compose_song(plan, lyrics=...)`` composes around a lyric
sheet (the form follows its tags, the singer gets a written vocal line). The stages are public for
reuse. Every random choice draws from one
``numpy.random.Generator`` derived from ``plan.seed``, so the same plan gives an identical Score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from songforge.engine.compose._theory import section_at
from songforge.engine.compose.arrange import ROLE_PAN, arrange, comp_rhythm
from songforge.engine.compose.bass import write_bass
from songforge.engine.compose.drums import write_drums
from songforge.engine.compose.form import bar_count, plan_form
from songforge.engine.compose.harmony import harmonize, parse_chord, voice_chords
from songforge.engine.compose.melody import melody_range, write_melody
from songforge.engine.compose.vocal import VocalLine, plan_form_for_lyrics, write_vocal_line
from songforge.engine.lyrics import Lyrics, Word, syllabify_lines
from songforge.engine.plan import SongPlan
from songforge.engine.score import Chord, Note, Part, Score, Section

__all__ = [
    "compose",
    "compose_song",
    "compose_around",
    "plan_form_for_lyrics",
    "write_vocal_line",
    "VocalLine",
    "VOICE_PROGRAM",
    "plan_form",
    "bar_count",
    "harmonize",
    "parse_chord",
    "voice_chords",
    "write_melody",
    "melody_range",
    "write_bass",
    "write_drums",
    "arrange",
    "comp_rhythm",
]


VOICE_PROGRAM = 54
"""General MIDI program of the vocal parts in MIDI exports ("Voice Oohs")."""
_VOCAL_ROLES = ("vocal", "harmony_vocal")


def compose(plan: SongPlan, *, rng: np.random.Generator | None = None,
            progression: Sequence[Chord] | None = None) -> Score:
    """Compose a whole song for ``plan``.

    Parameters
    ----------
    plan : SongPlan
        Genre (style preset), tempo, meter, key, duration, instruments, weirdness, seed...
    rng : numpy.random.Generator, optional
        Defaults to ``numpy.random.default_rng(plan.seed)``.
    progression : a chord cycle from beat 0 to use in every section instead of the style's
        progressions (an instrumental profile's chords); ``None``: the style's.

    Returns
    -------
    Score
        ``tempo_bpm = plan.quarter_bpm``; one Part per ``plan.instruments`` entry; the form's
        length is within one bar of ``plan.duration_s``.

    Examples
    --------
    >>> score = compose(plan)  # doctest: +SKIP
    >>> score.to_midi("song.mid")  # doctest: +SKIP
    """
    from songforge.engine.styles import load_style

    style = load_style(plan.genre)
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    form_rng, harmony_rng, melody_rng, bass_rng, drums_rng, arrange_rng = rng.spawn(6)
    sections = harmonize(plan_form(plan, rng=form_rng), plan=plan, style=style, rng=harmony_rng,
                         progression=progression)
    melody = write_melody(sections, plan=plan, rng=melody_rng)
    bass = write_bass(sections, plan=plan, style=style, rng=bass_rng)
    drums = write_drums(sections, plan=plan, style=style, rng=drums_rng)
    parts = arrange(sections, plan=plan, style=style, melody=melody, bass=bass, drums=drums,
                    rng=arrange_rng)
    return _score(plan, sections, parts)


def _score(plan: SongPlan, sections: Sequence[Section], parts: tuple[Part, ...], *, lyrics: bool = False) -> Score:
    """The Score of ``plan`` with its sections and parts (tempo, meter, key and title from the plan)."""
    metadata: dict[str, object] = {"genre": plan.genre, "seed": plan.seed, "swing": plan.swing}
    if lyrics:
        metadata["lyrics"] = True
    return Score(
        tempo_bpm=plan.quarter_bpm,
        meter=(int(plan.meter[0]), int(plan.meter[1])),
        tonic_pc=plan.tonic_pc % 12,
        mode=plan.mode,
        sections=tuple(sections),
        parts=parts,
        pulse_quarters=plan.pulse_quarters,
        title=plan.title,
        metadata=metadata,
    )


def compose_song(
    plan: SongPlan,
    *,
    lyrics: Lyrics | None = None,
    words_per_line: Sequence[Sequence[Word]] | None = None,
    rng: np.random.Generator | None = None,
    duration_s: float | None = None,
    progression: Sequence[Chord] | None = None,
) -> tuple[Score, VocalLine | None]:
    """Compose a song around a lyric sheet: the form follows its tags, the singer its words.

    Parameters
    ----------
    plan : SongPlan
        As for :func:`compose`; ``plan.vocal_range`` is the range the vocal line is written in.
    lyrics : Lyrics, optional
        The parsed sheet. Without it (or for an instrumental plan) this is ``compose(plan)``.
    words_per_line : ``syllabify`` of every line of ``lyrics.lines`` (computed when ``None``).
    rng : numpy.random.Generator, optional
        Defaults to ``numpy.random.default_rng(plan.seed)``.
    duration_s : float, optional
        The duration the request asked for: the form is stretched to it and the lyrics sung
        faster to fit in it (``ContentTooLong`` when they cannot). ``None``: ``plan.duration_s``
        is only a target the instrumental sections stretch towards.
    progression : as for :func:`compose`.

    Returns
    -------
    (Score, VocalLine or None)
        The score has the band's parts as :func:`compose` writes them, a ``"vocals"`` part (role
        ``vocal``, program 54, pan 0) with the vocal line and, when the song has choruses, a
        ``"harmony_vocal"`` part (role ``harmony_vocal``; its syllables are in
        ``VocalLine.harmony_lines``, not on the part's notes, so a MIDI export has one lyric
        track). The ``lead`` instrument plays only in instrumental sections (intro, solos,
        outro): it never doubles the singer. An empty lead part is left out.
    """
    if lyrics is None or plan.instrumental:
        return compose(plan, rng=rng, progression=progression), None
    from songforge.engine.styles import load_style

    style = load_style(plan.genre)
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    form_rng, harmony_rng, melody_rng, bass_rng, drums_rng, arrange_rng, vocal_rng = rng.spawn(7)
    words = syllabify_lines(lyrics.lines) if words_per_line is None else words_per_line
    form = plan_form_for_lyrics(plan, lyrics, words, rng=form_rng, duration_s=duration_s)
    sections = harmonize(form, plan=plan, style=style, rng=harmony_rng, progression=progression)
    vocal = write_vocal_line(sections, plan=plan, lyrics=lyrics, words_per_line=words, rng=vocal_rng)
    band = replace(plan, instrumental=True,
                   instruments=tuple((r, p) for r, p in plan.instruments if r not in _VOCAL_ROLES))
    tune = write_melody(_intro_as_inst(sections), plan=band, rng=melody_rng)
    lead = _outside(tune, sections=sections, sung=set(vocal.sung_sections))
    parts = arrange(sections, plan=band, style=style, melody=sorted([*lead, *vocal.notes],
                                                                      key=lambda n: n.start_beat),
                    bass=write_bass(sections, plan=plan, style=style, rng=bass_rng),
                    drums=write_drums(sections, plan=plan, style=style, rng=drums_rng),
                    rng=arrange_rng, lead=lead)
    parts = tuple(p for p in parts if p.notes or p.role != "lead") + _vocal_parts(vocal)
    return _score(plan, sections, parts, lyrics=True), vocal


def compose_around(
    sections: Sequence[Section],
    *,
    plan: SongPlan,
    melody: Sequence[Note],
    vocal: VocalLine | None = None,
    rng: np.random.Generator | None = None,
) -> Score:
    """Arrange a band around a given form, chords and tune (a cover, a profile, a vocal track).

    Parameters
    ----------
    sections : harmonised sections (chords filled, absolute beats), covering the song.
    plan : genre, instruments, tempo, meter and key of the new song (as for :func:`compose`).
    melody : the tune (score beats) the counter line and harmony follow; the ``lead``
        instrument plays the notes of it the singer does not sing.
    vocal : the sung line, added as the ``"vocals"`` (and ``"harmony_vocal"``) parts; ``None``
        for an instrumental, where the lead plays the whole tune.
    rng : defaults to ``numpy.random.default_rng(plan.seed)``.

    Returns
    -------
    Score with ``plan``'s tempo, meter and key, the given sections, the band's parts (bass and
    drums written for the chords, comping and pads by :func:`arrange`) and the vocal parts.
    """
    from songforge.engine.styles import load_style

    style = load_style(plan.genre)
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    bass_rng, drums_rng, arrange_rng = rng.spawn(3)
    band = replace(plan, instrumental=True,
                   instruments=tuple((r, p) for r, p in plan.instruments if r not in _VOCAL_ROLES))
    tune = sorted(melody, key=lambda n: n.start_beat)
    sung = {round(n.start_beat, 6) for n in vocal.notes} if vocal else set()
    lead = [n for n in tune if round(n.start_beat, 6) not in sung]
    parts = arrange(list(sections), plan=band, style=style, melody=tune,
                    bass=write_bass(sections, plan=plan, style=style, rng=bass_rng),
                    drums=write_drums(sections, plan=plan, style=style, rng=drums_rng),
                    rng=arrange_rng, lead=lead)
    parts = tuple(p for p in parts if p.notes or p.role != "lead")
    if vocal is not None:
        parts += _vocal_parts(vocal)
    return _score(plan, sections, parts, lyrics=vocal is not None)


def _intro_as_inst(sections: list[Section]) -> list[Section]:
    """``write_melody`` leaves intros to the band; with a singer the lead may play one."""
    return [replace(s, kind="inst") if s.kind == "intro" else s for s in sections]


def _outside(notes, *, sections: list[Section], sung: set[str]) -> list[Note]:
    """The notes that start in sections nobody sings in."""
    return [n for n in notes if section_at(sections, n.start_beat).name not in sung]


def _vocal_parts(vocal: VocalLine) -> tuple[Part, ...]:
    parts = [Part("vocals", "vocal", VOICE_PROGRAM, vocal.notes, pan=0.0)]
    if vocal.harmony_lines:
        notes = tuple(replace(n, lyric=None) for n in vocal.harmony_notes)  # one lyric track in MIDI
        parts.append(Part("harmony_vocal", "harmony_vocal", VOICE_PROGRAM, notes,
                          pan=ROLE_PAN["harmony_vocal"], gain_db=-4.0))
    return tuple(parts)
