"""Song form: which sections play, how many bars each, and the dynamics arc.

The total number of bars is ``round(plan.duration_s / bar_s)``, so the form is always within half a
bar of the requested length. Sections are 4 or 8 bars where possible; intros and outros absorb
the odd bars.
"""

from __future__ import annotations

import itertools

import numpy as np

from songforge.engine.compose._theory import bar_beats
from songforge.engine.plan import SongPlan
from songforge.engine.score import Section

__all__ = ["plan_form", "bar_count", "section_energy", "BASE_ENERGY"]

BASE_ENERGY = {
    "intro": 0.3,
    "verse": 0.5,
    "pre_chorus": 0.62,
    "chorus": 0.8,
    "bridge": 0.55,
    "solo": 0.75,
    "inst": 0.6,
    "outro": 0.35,
    "post_chorus": 0.7,
    "hook": 0.8,
    "build_up": 0.65,
    "break": 0.4,
    "interlude": 0.45,
}
"""Energy of each section kind before scaling by the plan's energy."""

_GROWABLE = ("solo", "bridge", "verse", "inst", "pre_chorus")


def bar_count(plan: SongPlan) -> int:
    """Number of bars closest to ``plan.duration_s`` at the plan's tempo and meter (>= 1)."""
    bar_s = bar_beats(plan.meter) * 60.0 / plan.quarter_bpm
    return max(1, int(round(plan.duration_s / bar_s)))


def plan_form(plan: SongPlan, *, rng: np.random.Generator) -> list[Section]:
    """Choose the sections of a song and their lengths.

    Parameters
    ----------
    plan : SongPlan
        Uses ``duration_s``, ``tempo_bpm``/``meter`` (bar length), ``energy``, ``instrumental``
        and ``weirdness``.
    rng : numpy.random.Generator
        Source of the few random choices (where extra bars go, solo vs. inst).

    Returns
    -------
    list of Section
        In playing order, bar-aligned, without chords; ``sum(length_beats)`` is
        ``bar_count(plan) * beats_per_bar``. Every song ends on a chorus or an outro.

    Examples
    --------
    >>> [s.kind for s in plan_form(plan, rng=np.random.default_rng(0))]  # doctest: +SKIP
    ['intro', 'verse', 'chorus', 'verse', 'chorus', 'bridge', 'chorus', 'outro']
    """
    layout = _layout(bar_count(plan), plan=plan, rng=rng)
    return _to_sections(layout, plan=plan)


def _layout(n_bars: int, *, plan: SongPlan, rng: np.random.Generator) -> list[tuple[str, int]]:
    if n_bars < 6:
        return [("chorus", n_bars)]
    if n_bars < 12:
        chorus = 4 if n_bars < 10 else 8
        intro = (n_bars - chorus) // 2
        return [("intro", intro), ("chorus", chorus), ("outro", n_bars - chorus - intro)]
    edge = 2 if n_bars < 24 else 4
    body = _body(n_bars - 2 * edge, plan=plan, rng=rng)
    spare = n_bars - 2 * edge - sum(b for _, b in body)
    body = _grow(body, spare - spare % 4, rng=rng)
    rest = spare % 4
    intro_extra = rest // 2
    return [("intro", edge + intro_extra), *body, ("outro", edge + rest - intro_extra)]


def _grammar(*, pre: bool, bridge_bars: int, verse_bars: int, extra: str):
    """An endless stream of ``(kind, bars)`` body sections in a plausible playing order."""
    verse = ("verse", verse_bars)
    cycle = [verse, ("pre_chorus", 4), ("chorus", 8)] if pre else [verse, ("chorus", 8)]
    yield from cycle * 2
    yield from (("bridge", bridge_bars), ("chorus", 8))
    for i in itertools.count():
        yield from ([(extra, 8), ("chorus", 8)] if i % 2 == 0 else cycle)


def _prefix(n_bars: int, stream) -> list[tuple[str, int]]:
    """The longest prefix of ``stream`` that ends on a chorus and fits in ``n_bars``."""
    best: list[tuple[str, int]] = []
    current: list[tuple[str, int]] = []
    total = 0
    for kind, bars in stream:
        total += bars
        if total > n_bars:
            break
        current.append((kind, bars))
        if kind == "chorus":
            best = list(current)
    return best


def _body(n_bars: int, *, plan: SongPlan, rng: np.random.Generator) -> list[tuple[str, int]]:
    """The body that leaves the fewest bars over (pre-choruses only in longer songs)."""
    if n_bars < 16:
        return [("chorus", 8)] if n_bars >= 8 else [("chorus", 4)]
    extra = "solo" if plan.instrumental or rng.random() < 0.5 else "inst"
    shapes = [(False, 8, 8), (False, 4, 8), (False, 4, 4)]
    if n_bars >= 56:
        shapes = [(True, 8, 8), *shapes, (True, 4, 8)]
    bodies = [_prefix(n_bars, _grammar(pre=p, bridge_bars=b, verse_bars=v, extra=extra))
              for p, b, v in shapes]
    return min(bodies, key=lambda body: n_bars - sum(b for _, b in body))


def _grow(body: list[tuple[str, int]], extra_bars: int, *, rng: np.random.Generator):
    """Lengthen non-chorus sections by 4 bars at a time (choruses keep one length: the hook)."""
    body = list(body)
    if extra_bars < 4:
        return body
    growable = [i for i, (k, _) in enumerate(body) if k in _GROWABLE]
    if not growable:
        body.insert(len(body) - 1, ("verse", 0))
        growable = [len(body) - 2]
    order = sorted(growable, key=lambda i: (_GROWABLE.index(body[i][0]), rng.random()))
    for j in range(extra_bars // 4):
        i = order[j % len(order)]
        body[i] = (body[i][0], body[i][1] + 4)
    return body


def section_energy(kind: str, *, index: int, n_choruses: int, plan: SongPlan) -> float:
    """Energy 0-1 of the ``index``-th (0-based) section of ``kind``; later choruses build up."""
    return _energy(kind, index=index, n_choruses=n_choruses, plan=plan)


def _energy(kind: str, *, index: int, n_choruses: int, plan: SongPlan) -> float:
    base = BASE_ENERGY.get(kind, 0.5)
    if kind == "chorus":
        base += 0.12 * index / max(1, n_choruses - 1) if n_choruses > 1 else 0.0
    scale = 0.8 + 0.3 * float(np.clip(plan.energy, 0.0, 1.0))
    return float(np.clip(base * scale, 0.05, 1.0))


def _to_sections(layout: list[tuple[str, int]], *, plan: SongPlan) -> list[Section]:
    beats_per_bar = bar_beats(plan.meter)
    totals = {k: sum(1 for kk, _ in layout if kk == k) for k, _ in layout}
    seen: dict[str, int] = {}
    sections, start = [], 0.0
    for kind, bars in layout:
        seen[kind] = seen.get(kind, 0) + 1
        name = kind if totals[kind] == 1 else f"{kind} {seen[kind]}"
        energy = _energy(kind, index=seen[kind] - 1, n_choruses=totals.get("chorus", 0), plan=plan)
        length = bars * beats_per_bar
        sections.append(Section(name, kind, start, length, energy))
        start += length
    return sections
