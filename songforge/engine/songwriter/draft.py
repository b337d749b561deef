"""The song skeleton the writers fill: requested structure, per-section line counts, rhyme
schemes and syllable targets, and the :class:`Draft` they return."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from songforge.engine.lyrics import INSTRUMENTAL_KINDS, SECTION_KINDS, Lyrics, LyricSection
from songforge.errors import InvalidRequest

__all__ = ["Draft", "SectionSpec", "DEFAULT_STRUCTURE", "normalize_structure", "plan_sections",
           "rhyme_pairs", "build_lyrics", "REPEATING_KINDS"]

DEFAULT_STRUCTURE = ("verse", "pre_chorus", "chorus", "verse", "chorus", "bridge", "chorus")
REPEATING_KINDS = frozenset({"chorus", "hook", "post_chorus"})
"""Sections whose lines come back unchanged each time (all other lines are unique)."""
_MAX_SECTIONS = 24

# kind -> (rhyme schemes to draw from, syllable target (en), syllable target (zh))
# In schemes "H" is the hook line itself (a repeat), other letters are rhyme classes.
_SHAPES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "verse": (("ABAB", "AABB"), 8, 8),
    "pre_chorus": (("AA",), 7, 7),
    "chorus": (("HABBH", "HAHBB"), 7, 7),
    "bridge": (("AABB", "ABAB"), 8, 8),
    "build_up": (("AA",), 7, 7),
    "outro": (("HA",), 7, 7),
    "hook": (("HA",), 7, 7),
    "post_chorus": (("HA",), 6, 6),
}


@dataclass(frozen=True)
class SectionSpec:
    """What one section needs: its kind, rhyme scheme (one letter a line; ``""`` when
    instrumental or an intro) and syllable target per line."""

    kind: str
    scheme: str
    target: int


@dataclass(frozen=True)
class Draft:
    """A written song with the facts needed to check it.

    Attributes
    ----------
    lyrics : the sheet (title and style tags included).
    language : ``"en"`` or ``"zh"``.
    schemes : each section's rhyme scheme, one letter a line: lines with the same letter are
        meant to rhyme (``"H"`` marks the hook), ``""`` for an instrumental section.
    targets : each section's syllable target per line (0 for an instrumental section).
    hook : the chorus hook line.
    """

    lyrics: Lyrics
    language: str
    schemes: tuple[str, ...]
    targets: tuple[int, ...]
    hook: str


def normalize_structure(structure: Iterable[str] | str | None) -> tuple[str, ...]:
    """Section kinds from names like ``"Verse"``, ``"pre-chorus"``, ``"Pre Chorus"``; the default
    form (verse, pre-chorus, chorus, verse, chorus, bridge, chorus) when ``None`` or empty.

    Raises
    ------
    InvalidRequest (``field="structure"``) : an unknown section name, or too many sections.
    """
    if isinstance(structure, str):
        joined = re.sub(r"\b(pre|post|build)[\s_-]+(chorus|up)\b", r"\1_\2", structure, flags=re.I)
        structure = [p for p in re.split(r"[,;\s]+", joined) if p.strip()]
    names = [str(s) for s in (structure or ()) if str(s).strip()]
    if not names:
        return DEFAULT_STRUCTURE
    if len(names) > _MAX_SECTIONS:
        raise InvalidRequest(f"at most {_MAX_SECTIONS} sections", field="structure",
                             limit=f"{_MAX_SECTIONS} sections")
    kinds = []
    for name in names:
        key = re.sub(r"[^a-z]+", "_", name.strip().lower()).strip("_")
        key = re.sub(r"_?\d+$", "", key)
        key = {"prechorus": "pre_chorus", "postchorus": "post_chorus", "instrumental": "inst",
               "buildup": "build_up", "refrain": "chorus"}.get(key, key)
        if key not in SECTION_KINDS:
            raise InvalidRequest(f"unknown section {name!r}; use one of {', '.join(SECTION_KINDS)}",
                                 field="structure", limit="known section names")
        kinds.append(key)
    return tuple(kinds)


def plan_sections(kinds: Sequence[str], *, language: str, rng: np.random.Generator) -> list[SectionSpec]:
    """One :class:`SectionSpec` per kind; repeated choruses share one spec."""
    specs: list[SectionSpec] = []
    shared: dict[str, SectionSpec] = {}
    shift = int(rng.choice([-1, 0, 0, 1]))
    for kind in kinds:
        if kind in INSTRUMENTAL_KINDS or kind == "intro" or kind not in _SHAPES:
            specs.append(SectionSpec(kind, "", 0))
            continue
        if kind in REPEATING_KINDS and kind in shared:
            specs.append(shared[kind])
            continue
        schemes, target_en, target_zh = _SHAPES[kind]
        target = (target_zh if language == "zh" else target_en) + (shift if kind == "verse" else 0)
        spec = SectionSpec(kind, str(rng.choice(schemes)), target)
        shared[kind] = spec
        specs.append(spec)
    return specs


def rhyme_pairs(scheme: str) -> list[tuple[int, int]]:
    """Line index pairs meant to rhyme: consecutive lines sharing a letter (the hook ``H``
    counts as its own rhyme class ``A``)."""
    letters = scheme.replace("H", "A")
    pairs: list[tuple[int, int]] = []
    last: dict[str, int] = {}
    for i, letter in enumerate(letters):
        if letter in last:
            pairs.append((last[letter], i))
        last[letter] = i
    return pairs


def build_lyrics(kinds: Sequence[str], lines: Sequence[Sequence[str]], *, title: str,
                 style_tags: str, language: str) -> Lyrics:
    """Assemble a :class:`Lyrics` with names numbered the way ``parse_lyrics`` numbers them."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    seen: dict[str, int] = {}
    sections = []
    for kind, sung in zip(kinds, lines, strict=True):
        seen[kind] = seen.get(kind, 0) + 1
        label = kind.replace("_", " ")
        name = label if counts[kind] == 1 else f"{label} {seen[kind]}"
        sections.append(LyricSection(kind=kind, name=name, lines=tuple(sung), instrumental=not sung,
                                     languages=(language,) * len(sung)))
    return Lyrics(sections=tuple(sections), title=title, style_tags=style_tags)
