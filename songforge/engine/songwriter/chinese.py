"""Chinese lines: templates with two-character image, adjective and feeling slots; one
character a syllable; rhymes by pinyin final groups."""

from __future__ import annotations

import functools
import re

import numpy as np

from songforge.engine.songwriter.rhyme import rhyme_group_zh, syllables_zh
from songforge.engine.songwriter.vocab import (
    Relevance,
    VocabularyKit,
    load_vocabulary,
    weighted_choice,
)

__all__ = ["ChineseKit", "chinese_kit"]

_SLOT = re.compile(r"\{(\w+)\}")
_MOTION = re.compile(r"(走向|奔向|飞向|去)<?(\{A\}的)?\{E\}")


class ChineseKit(VocabularyKit):
    """:class:`~songforge.engine.songwriter.writer.LanguageKit` for Chinese."""

    code = "zh"

    def count(self, line: str) -> int:
        return syllables_zh(line)

    def rhyme_keys(self, word: str) -> frozenset[str]:
        return frozenset({rhyme_group_zh(word[-1])})

    def fill(self, template: str, end: str, *, rng: np.random.Generator, rel: Relevance) -> str | None:
        if _MOTION.search(template) and end not in self.vocab.places:
            return None
        fills: list[str] = []

        def slot(match: re.Match[str]) -> str:
            fills.append(self._slot(match.group(1), end, rng, rel))
            return fills[-1]

        line = _SLOT.sub(slot, template)
        chars = [c for word in fills for c in set(word)]
        return line if len(chars) == len(set(chars)) else None

    def _slot(self, name: str, end: str, rng: np.random.Generator, rel: Relevance) -> str:
        if name == "E":
            return end
        pool = {"N": self._images, "A": self._adjectives, "F": self._feelings}.get(name)
        if pool is None:
            raise KeyError(f"unknown template slot {{{name}}}")
        if name == "N":
            return weighted_choice(pool, [rel(w) for w in pool], rng, temperature=0.15, top_k=30)
        return pool[int(rng.integers(len(pool)))]

    def finish(self, line: str) -> str:
        return re.sub(r"\s+", "", line)

    def title_of(self, span: str) -> str:
        return re.sub(r"[<>\s]", "", span)

    def tail(self, word: str) -> str:
        return word[-1]

    def repeats(self, line: str, end: str) -> bool:
        pairs = [line[i:i + 2] for i in range(len(line) - 1)]
        words = [p for p in pairs if p in self._images or p in self._feelings or p == end]
        return line.count(end) > 1 or len(words) != len(set(words))


@functools.cache
def chinese_kit() -> ChineseKit:
    """The Chinese kit over the packaged vocabulary (built once)."""
    return ChineseKit(load_vocabulary("zh"))
