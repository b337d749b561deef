"""English lines: templates with image, adjective, feeling and verb slots, counted and rhymed
with CMUdict."""

from __future__ import annotations

import functools
import re

import numpy as np

from songforge.engine.songwriter.rhyme import rhyme_keys_en, syllables_en, words_of
from songforge.engine.songwriter.vocab import (
    Relevance,
    VocabularyKit,
    load_vocabulary,
    weighted_choice,
)

__all__ = ["EnglishKit", "english_kit"]

_SLOT = re.compile(r"\{(\w+)\}")
_SMALL = frozenset({"a", "an", "the", "of", "in", "on", "and", "to", "for", "at", "by", "or",
                    "with", "as", "but", "nor"})
_COMMON = frozenset({"the", "and", "a", "i", "we", "you", "me", "my", "is", "in", "to", "of", "our",
                     "your", "are", "it", "on", "for", "all", "so", "be", "was", "were", "will",
                     "with", "by", "like", "there", "this", "that", "just", "we're", "i'll", "keep",
                     "oh", "again", "can", "never", "into", "back", "still", "let", "through"})


class EnglishKit(VocabularyKit):
    """:class:`~songforge.engine.songwriter.writer.LanguageKit` for English."""

    code = "en"

    def count(self, line: str) -> int:
        return syllables_en(line)

    def rhyme_keys(self, word: str) -> frozenset[str]:
        return rhyme_keys_en(words_of(word)[-1])

    def fill(self, template: str, end: str, *, rng: np.random.Generator, rel: Relevance) -> str | None:
        if "{clause}" in template:
            clauses = self.vocab.words["clauses"]
            template = template.replace("{clause}", clauses[int(rng.integers(len(clauses)))])
        return _SLOT.sub(lambda m: self._slot(m.group(1), end, rng, rel), template)

    def _slot(self, name: str, end: str, rng: np.random.Generator, rel: Relevance) -> str:
        words = self.vocab.words
        if name == "E":
            return end
        if name == "img":
            return weighted_choice(self._images, [rel(w) for w in self._images], rng,
                                   temperature=0.06, top_k=28)
        if name == "adj":
            return weighted_choice(self._adjectives, [rel(w) for w in self._adjectives], rng,
                                   temperature=0.08, top_k=24)
        if name == "feel":
            return weighted_choice(self._feelings, [rel(w) for w in self._feelings], rng,
                                   temperature=0.08, top_k=10)
        if name in ("verb", "past"):
            forms = words["verbs"][int(rng.integers(len(words["verbs"])))]
            return forms[0] if name == "verb" else forms[2]
        if name == "ving":
            return words["gerunds"][int(rng.integers(len(words["gerunds"])))]
        raise KeyError(f"unknown template slot {{{name}}}")

    def finish(self, line: str) -> str:
        line = re.sub(r"\s+", " ", line).strip()
        return line[:1].upper() + line[1:]

    def title_of(self, span: str) -> str:
        words = span.replace(",", "").split()
        return " ".join(w if i and w.lower() in _SMALL else w[:1].upper() + w[1:]
                        for i, w in enumerate(words))

    def tail(self, word: str) -> str:
        return words_of(word)[-1]

    def repeats(self, line: str, end: str) -> bool:
        content = [w for w in words_of(line) if w not in _COMMON]
        return len(content) != len(set(content))


@functools.cache
def english_kit() -> EnglishKit:
    """The English kit over the packaged vocabulary (built once)."""
    return EnglishKit(load_vocabulary("en"))
