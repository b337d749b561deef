"""The template writer shared by both languages: rhyme classes, lines to a syllable target,
sections to a scheme, the hook and the title.

A :class:`LanguageKit` (``english.py``, ``chinese.py``) knows how to fill a template, count a
line's syllables and find an end word's rhyme class; :func:`write_song` does the rest.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from songforge.engine.songwriter.draft import (
    REPEATING_KINDS,
    Draft,
    SectionSpec,
    build_lyrics,
    plan_sections,
)
from songforge.engine.songwriter.vocab import Relevance, Vocabulary, weighted_choice
from songforge.errors import GenerationFailed

__all__ = ["LanguageKit", "write_song", "LineWriter"]

_ATTEMPTS = 90
_CLASS_TRIES = 4
_TOLERANCE = 1
_REUSE_PENALTY = 0.12


class LanguageKit(Protocol):
    """What the writer needs to know about one language."""

    code: str
    vocab: Vocabulary

    def count(self, line: str) -> int:
        """Sung syllables of a line."""

    def rhyme_keys(self, word: str) -> frozenset[str]:
        """Rhyme classes of an end word."""

    def fill(self, template: str, end: str, *, rng: np.random.Generator, rel: Relevance) -> str | None:
        """The template with its slots filled (title span markers ``<``/``>`` kept), or None."""

    def finish(self, line: str) -> str:
        """Final spelling of a line (capitalisation)."""

    def title_of(self, span: str) -> str:
        """A title from the hook's marked span."""

    def repeats(self, line: str, end: str) -> bool:
        """Whether the line says the same word twice (a filled template to reject)."""

    def tail(self, word: str) -> str:
        """The part of an end word that carries the rhyme and must differ between rhyming lines
        (the last word; the last character)."""


@functools.cache
def _classes(kit_code: str, kit: LanguageKit) -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for pos, words in kit.vocab.ends.items():
        for word in words:
            for key in kit.rhyme_keys(word):
                out.setdefault(key, []).append((word, pos))
    return {k: tuple(v) for k, v in out.items() if len({w for w, _ in v}) >= 2}


@dataclass
class LineWriter:
    """Writes lines to a rhyme class and a syllable target without repeating itself."""

    kit: LanguageKit
    rel: Relevance
    rng: np.random.Generator
    used_ends: set[str] = field(default_factory=set)
    used_lines: set[str] = field(default_factory=set)
    class_uses: Counter = field(default_factory=Counter)
    used_templates: set[str] = field(default_factory=set)
    _last_template: dict[str, str] = field(default_factory=dict)
    section_tails: set[str] = field(default_factory=set)
    _hook_end: str = ""

    def __post_init__(self) -> None:
        # a private copy: words already sung score lower, so images vary through the song
        self.rel = Relevance(dict(self.rel.scores))

    @property
    def classes(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return _classes(self.kit.code, self.kit)  # type: ignore[arg-type]  # kits are frozen dataclasses (hashable)

    def pick_class(self, n_words: int, *, avoid: Sequence[str] = ()) -> str:
        """A rhyme class with ``n_words`` unused end words, favouring words near the prompt."""
        keys, scores = [], []
        for key, members in self.classes.items():
            free = sorted({self.rel(w) for w, _ in members if w not in self.used_ends}, reverse=True)
            if len(free) < n_words or key in avoid:
                continue
            keys.append(key)
            scores.append(float(np.mean(free[:2])) - 0.3 * self.class_uses[key])
        if not keys:
            keys = [k for k in self.classes if k not in avoid] or list(self.classes)
            scores = [0.0] * len(keys)
        return weighted_choice(keys, scores, self.rng, temperature=0.12, top_k=14)

    def line(self, key: str, target: int, *, hook: bool = False,
             end_pos: Sequence[str] | None = None) -> tuple[int, str, str]:
        """(distance from target, line with title markers, end word) for the best of many tries."""
        members = [m for m in self.classes[key] if m[0] not in self.used_ends] or list(self.classes[key])
        pools = self.kit.vocab.hooks if hook else self.kit.vocab.templates
        members = [m for m in members if pools.get(m[1]) and (end_pos is None or m[1] in end_pos)]
        fresh = [m for m in members if self.kit.tail(m[0]) not in self.section_tails]
        members = fresh or members
        if not members:
            return 99, "", ""
        best: tuple = (99, "", "", "")
        scores = [self.rel(w) for w, _ in members]
        for attempt in range(_ATTEMPTS):
            word, pos = weighted_choice(members, scores, self.rng, temperature=0.2)
            pool = pools[pos]
            template = pool[int(self.rng.integers(len(pool)))]
            if template in self.used_templates and attempt < _ATTEMPTS * 2 // 3:
                continue
            text = self.kit.fill(template, word, rng=self.rng, rel=self.rel)
            if text is None:
                continue
            plain = self.kit.finish(text.replace("<", "").replace(">", ""))
            if plain in self.used_lines or self.kit.repeats(plain, word):
                continue
            distance = abs(self.kit.count(plain) - target)
            if distance < best[0]:
                best = (distance, text, word, template)
                self._last_template[text] = template
            if distance == 0:
                break
        return best[:3]

    def commit(self, text: str, word: str, key: str) -> str:
        """Record a chosen line; returns its final spelling."""
        plain = self.kit.finish(text.replace("<", "").replace(">", ""))
        self.used_lines.add(plain)
        self.used_ends.add(word)
        self.section_tails.add(self.kit.tail(word))
        self.class_uses[key] += 1
        self.used_templates.add(self._last_template.get(text, ""))
        low = f" {plain.lower()} " if self.kit.code == "en" else plain
        for image in self.kit.vocab.images:
            if (f" {image} " if self.kit.code == "en" else image) in low:
                self.rel.scores[image] = self.rel.scores.get(image, 0.0) - _REUSE_PENALTY
        return plain

    def section(self, spec: SectionSpec, *, hook: str, hook_key: str) -> list[str]:
        """Lines for one section: ``H`` is the hook, other letters rhyme classes."""
        keys: dict[str, str] = {"A": hook_key} if "H" in spec.scheme else {}
        self.section_tails = {self.kit.tail(self._hook_end)} if "H" in spec.scheme else set()
        lines = []
        for i, letter in enumerate(spec.scheme):
            if letter == "H":
                lines.append(hook)
                continue
            if letter not in keys:
                lines.append(self._first_of_class(spec, letter, i, keys))
                continue
            distance, text, word = self.line(keys[letter], spec.target)
            if not text:
                raise GenerationFailed("the songwriter ran out of rhymes", reason="lyrics")
            lines.append(self.commit(text, word, keys[letter]))
        return lines

    def _first_of_class(self, spec: SectionSpec, letter: str, index: int, keys: dict[str, str]) -> str:
        need = spec.scheme.count(letter)
        best = (99, "", "", "")
        for _ in range(_CLASS_TRIES):
            key = self.pick_class(need, avoid=list(keys.values()))
            distance, text, word = self.line(key, spec.target)
            if text and distance < best[0]:
                best = (distance, text, word, key)
            if distance <= _TOLERANCE:
                break
        if not best[1]:
            raise GenerationFailed("the songwriter ran out of rhymes", reason="lyrics")
        keys[letter] = best[3]
        return self.commit(best[1], best[2], best[3])

    def hook(self, target: int, *, n_rhymes: int) -> tuple[str, str, str]:
        """(hook line, its rhyme class, title span) for a chorus."""
        best = (99, "", "", "")
        for _ in range(_CLASS_TRIES + 2):
            key = self.pick_class(n_rhymes + 1)
            distance, text, word = self.line(key, target, hook=True)
            if text and distance < best[0]:
                best = (distance, text, word, key)
            if text and distance <= _TOLERANCE:
                break
        if not best[1]:
            raise GenerationFailed("the songwriter found no hook", reason="lyrics")
        _, text, word, key = best
        self._hook_end = word
        span = text[text.index("<") + 1:text.index(">")] if "<" in text else text
        return self.commit(text, word, key), key, span


def write_song(kit: LanguageKit, kinds: Sequence[str], *, rel: Relevance, rng: np.random.Generator,
               title: str | None, style_tags: str) -> Draft:
    """Write every section of ``kinds`` with ``kit``; choruses repeat unchanged."""
    specs = plan_sections(kinds, language=kit.code, rng=rng)
    writer = LineWriter(kit=kit, rel=rel, rng=rng)
    hook_target = next((s.target for s in specs if s.kind == "chorus"), 7)
    n_rhymes = sum(1 for s in specs if s.kind in ("outro", "build_up")) + 2
    hook, hook_key, span = writer.hook(hook_target, n_rhymes=n_rhymes)
    shared: dict[str, list[str]] = {}
    all_lines: list[list[str]] = []
    for spec in specs:
        if not spec.scheme:
            all_lines.append([])
        elif spec.kind in REPEATING_KINDS and spec.kind in shared:
            all_lines.append(shared[spec.kind])
        else:
            lines = writer.section(spec, hook=hook, hook_key=hook_key)
            shared[spec.kind] = lines
            all_lines.append(lines)
    lyrics = build_lyrics(kinds, all_lines, title=title or kit.title_of(span),
                          style_tags=style_tags, language=kit.code)
    return Draft(lyrics=lyrics, language=kit.code, schemes=tuple(s.scheme for s in specs),
                 targets=tuple(s.target for s in specs), hook=hook)
