"""The shipped songwriting vocabularies and their ranking against a prompt.

``engine/data/songwriter_en.toml`` and ``songwriter_zh.toml`` hold image nouns grouped by theme,
adjectives, feelings, verbs, rhyming end words by part of speech, and line templates. English
words are ranked by sentence-embedding similarity to the prompt (each word, and its theme's
description); Chinese words by the theme keys and characters the prompt contains (and, for an
English prompt, by the English theme descriptions). Without the sentence model the ranking falls
back to word overlap.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from songforge.errors import MissingDependency

__all__ = ["Vocabulary", "VocabularyKit", "load_vocabulary", "Relevance", "rank", "weighted_choice"]

_log = logging.getLogger(__name__)
_SIM_WEIGHT_WORD = 0.6
_SIM_WEIGHT_THEME = 0.4
_LITERAL_BOOST = 0.35


@dataclass(frozen=True)
class Vocabulary:
    """One language's word pools and templates (see the data files for the slot names)."""

    language: str
    images: dict[str, str]          # image -> theme
    theme_about: dict[str, str]     # theme -> English description
    theme_keys: dict[str, str]      # theme -> Chinese key characters (zh only)
    words: dict[str, list]          # adjectives, feelings, verbs, gerunds, clauses
    ends: dict[str, tuple[str, ...]]  # part of speech -> end words
    templates: dict[str, tuple[str, ...]]
    hooks: dict[str, tuple[str, ...]]
    places: frozenset[str] = frozenset()  # zh: end words a motion verb can go to

    def ranked_words(self) -> list[str]:
        """Every word the ranking scores (images, adjectives, feelings, end words)."""
        out = list(self.images)
        out += list(self.words.get("adjectives", ())) + list(self.words.get("feelings", ()))
        for ends in self.ends.values():
            out += list(ends)
        return list(dict.fromkeys(out))




class VocabularyKit:
    """Base of the language kits: the vocabulary and the pools their slots draw from."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._images = list(vocab.images)
        self._adjectives = list(vocab.words["adjectives"])
        self._feelings = list(vocab.words["feelings"])


@functools.cache
def load_vocabulary(language: str) -> Vocabulary:
    """The packaged vocabulary for ``"en"`` or ``"zh"`` (read once per process)."""
    raw = _read_toml(f"songwriter_{language}.toml")
    about_src = raw if language == "en" else _read_toml("songwriter_en.toml")
    images = {img: theme for theme, t in raw["themes"].items() for img in t["images"]}
    return Vocabulary(
        language=language,
        images=images,
        theme_about={k: t.get("about", k) for k, t in about_src["themes"].items()},
        theme_keys={k: t.get("keys", "") for k, t in raw["themes"].items()},
        words=raw.get("words", {}),
        ends={k: tuple(v) for k, v in raw["ends"].items() if k != "places"},
        places=frozenset(raw["ends"].get("places", ())),
        templates={k: tuple(v) for k, v in raw["templates"].items()},
        hooks={k: tuple(v) for k, v in raw["hooks"].items()},
    )


def _read_toml(name: str) -> dict:
    data = resources.files("songforge.engine").joinpath("data", name).read_bytes()
    return tomllib.loads(data.decode("utf-8"))


@dataclass(frozen=True)
class Relevance:
    """Scores (about -1..1.35) of every vocabulary word for one prompt; unknown words score 0."""

    scores: dict[str, float]

    def __call__(self, word: str) -> float:
        return self.scores.get(word, 0.0)


def rank(vocab: Vocabulary, prompt: str) -> Relevance:
    """Score the vocabulary's words against ``prompt``."""
    words = vocab.ranked_words()
    if vocab.language == "zh" and re.search(r"[\u4e00-\u9fff]", prompt):
        return Relevance(_rank_zh(vocab, words, prompt))
    sims = _embedding_scores(vocab, words, prompt)
    if sims is None:
        return Relevance(_overlap_scores(vocab, words, prompt))
    return Relevance(sims)


def _embedding_scores(vocab: Vocabulary, words: list[str], prompt: str) -> dict[str, float] | None:
    try:
        word_vecs, theme_vecs = _vectors(vocab.language)
        from songforge.engine.embed import embed

        p = embed([prompt or "a song"])[0]
    except MissingDependency as exc:
        _log.info("songwriter: ranking words by overlap (%s)", exc)
        return None
    theme_sim = dict(zip(vocab.theme_about, (theme_vecs @ p).tolist(), strict=True))
    literal = set(re.findall(r"[a-z]+", prompt.lower()))
    out = {}
    for word, sim in zip(words, (word_vecs @ p).tolist(), strict=True):
        score = sim
        if vocab.language == "en":
            theme = vocab.images.get(word)
            score = (_SIM_WEIGHT_WORD * sim + _SIM_WEIGHT_THEME * theme_sim[theme]) if theme else sim
            if set(word.split()) & literal:
                score += _LITERAL_BOOST
        else:
            score = theme_sim.get(vocab.images.get(word, ""), 0.0)
        out[word] = float(score)
    return out


@functools.cache
def _vectors(language: str) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the vocabulary words (English glosses are the words themselves; Chinese
    words get their theme's vector) and of the theme descriptions; computed once."""
    from songforge.engine.embed import embed

    vocab = load_vocabulary(language)
    themes = embed(list(vocab.theme_about.values()))
    if language == "en":
        return embed(vocab.ranked_words()), themes
    index = {k: i for i, k in enumerate(vocab.theme_about)}
    rows = [themes[index[vocab.images[w]]] if w in vocab.images else np.zeros(themes.shape[1])
            for w in vocab.ranked_words()]
    return np.asarray(rows), themes


def _overlap_scores(vocab: Vocabulary, words: list[str], prompt: str) -> dict[str, float]:
    literal = set(re.findall(r"[a-z]+", prompt.lower()))
    hit_themes = {t for t, about in vocab.theme_about.items()
                  if literal & set(re.findall(r"[a-z]+", about))}
    return {w: (0.5 if vocab.images.get(w) in hit_themes else 0.0)
            + (_LITERAL_BOOST if set(w.split()) & literal else 0.0) for w in words}


def _rank_zh(vocab: Vocabulary, words: list[str], prompt: str) -> dict[str, float]:
    chars = set(prompt)
    theme_score = {t: min(1.0, 0.4 * len(chars & set(keys))) for t, keys in vocab.theme_keys.items()}
    return {w: theme_score.get(vocab.images.get(w, ""), 0.0) + 0.3 * len(chars & set(w))
            for w in words}


def weighted_choice(items: list, scores: list[float], rng: np.random.Generator, *,
                    temperature: float = 0.1, top_k: int | None = None):
    """One of ``items`` drawn with probability softmax(score / temperature) over the ``top_k``
    best (all when ``None``)."""
    if not items:
        raise ValueError("nothing to choose from")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    if top_k is not None:
        order = order[:max(1, top_k)]
    s = np.asarray(scores, dtype=float)[order] / temperature
    p = np.exp(s - s.max())
    return items[int(order[rng.choice(len(order), p=p / p.sum())])]
