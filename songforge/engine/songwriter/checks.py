"""Checks of a written sheet against what the songwriter promises (used by tests and
``bench/lyrics.py``): structure, rhymes, meter, no stray repeats, a title."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from songforge.engine.songwriter.draft import REPEATING_KINDS, Draft, rhyme_pairs
from songforge.engine.songwriter.rhyme import lines_rhyme, syllables_en, syllables_zh

__all__ = ["SheetReport", "check_draft"]


@dataclass(frozen=True)
class SheetReport:
    """What one sheet got right.

    Attributes
    ----------
    structure_ok : the sections are the requested kinds, in order.
    rhyme_pairs, rhymed_pairs : line pairs meant to rhyme, and how many do.
    lines, lines_within_1, lines_within_2 : sung lines, and how many are within 1 / 2 syllables
        of their section's target.
    stray_repeats : lines sung more than once outside the chorus family and the hook.
    has_title : a non-empty title.
    """

    structure_ok: bool
    rhyme_pairs: int
    rhymed_pairs: int
    lines: int
    lines_within_1: int
    lines_within_2: int
    stray_repeats: int
    has_title: bool


def check_draft(draft: Draft, structure: Sequence[str]) -> SheetReport:
    """Check ``draft`` written for ``structure`` (section kinds)."""
    lyr, lang = draft.lyrics, draft.language
    count = syllables_zh if lang == "zh" else syllables_en
    pairs = rhymed = n = w1 = w2 = 0
    seen: Counter = Counter()
    for section, scheme, target in zip(lyr.sections, draft.schemes, draft.targets, strict=True):
        for i, j in rhyme_pairs(scheme):
            pairs += 1
            rhymed += lines_rhyme(section.lines[i], section.lines[j], language=lang)
        for line in section.lines:
            d = abs(count(line) - target)
            n, w1, w2 = n + 1, w1 + (d <= 1), w2 + (d <= 2)
            if section.kind not in REPEATING_KINDS and line != draft.hook:
                seen[line] += 1
    repeats = sum(c - 1 for c in seen.values() if c > 1)
    return SheetReport(
        structure_ok=tuple(s.kind for s in lyr.sections) == tuple(structure),
        rhyme_pairs=pairs, rhymed_pairs=rhymed, lines=n, lines_within_1=w1, lines_within_2=w2,
        stray_repeats=repeats, has_title=bool((lyr.title or "").strip()),
    )
