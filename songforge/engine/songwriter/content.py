"""Content rules: prompts, titles and lyrics with slurs or explicit sexual terms are refused.

The word list is ``engine/data/content_blocklist.txt`` (its header documents the format);
operators point the ``content_blocklist_path`` setting at their own file. Latin terms match whole
words or whole word sequences, case-insensitively, after simple leetspeak normalisation
(``0->o 1->i/l 3->e 4->a 5->s 7->t @->a $->s !->i``), allowing a plural ``-s``/``-es`` and
stretched letters (``"sluuut"``); so ``"Scunthorpe"``, ``"assassin"`` and ``"cocktail"`` pass.
Chinese terms match anywhere. A refusal raises :class:`~songforge.errors.SensitiveContent`,
which each API dialect renders as its vendor's sensitive-content error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from songforge.errors import MissingDependency, SensitiveContent

__all__ = ["check_content", "load_blocklist", "Blocklist", "find_blocked"]

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "i"})
_LEET_L = str.maketrans({"1": "l", "|": "l", "!": "l"})  # 1, | and ! also stand for l
_TOKEN = re.compile(r"[a-z0-9@$!|]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
_MAX_WORDS = 4


@dataclass(frozen=True)
class Blocklist:
    """Compiled terms: Latin ones as word tuples, Chinese ones as strings."""

    words: frozenset[tuple[str, ...]]
    squeezed: frozenset[tuple[str, ...]]
    han: tuple[str, ...]


def load_blocklist(path: str | Path | None = None) -> Blocklist:
    """The blocklist at ``path`` (default: the shipped list), read once per path."""
    return _load(str(path) if path else "")


@functools.cache
def _load(path: str) -> Blocklist:
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise MissingDependency(f"cannot read the content blocklist {path}: {exc}") from None
    else:
        text = resources.files("songforge.engine").joinpath("data", "content_blocklist.txt").read_text("utf-8")
    words, han = set(), []
    for raw in text.splitlines():
        term = raw.split("#", 1)[0].strip().lower()
        if not term:
            continue
        if _HAN.search(term):
            han.append(term)
        else:
            words.add(tuple(_tokens(term)))
    words.discard(())
    return Blocklist(words=frozenset(words), squeezed=frozenset(tuple(_squeeze(w) for w in t) for t in words),
                     han=tuple(han))


def _tokens(text: str, *, ell: bool = False) -> list[str]:
    raw = _TOKEN.findall(text.lower())
    return [(t.translate(_LEET_L) if ell else t).translate(_LEET) for t in raw]


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _singular(word: str) -> tuple[str, ...]:
    forms = [word]
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)


def find_blocked(text: str, *, blocklist_path: str | Path | None = None) -> str | None:
    """The first blocked term found in ``text``, or ``None``."""
    blocklist = load_blocklist(blocklist_path)
    for term in blocklist.han:
        if term in text:
            return term
    plain = _tokens(text or "")
    for tokens in (plain, _tokens(text or "", ell=True)):
        found = _search(tokens, blocklist)
        if found:
            return found
    return None


def _search(tokens: list[str], blocklist: Blocklist) -> str | None:
    for i in range(len(tokens)):
        for n in range(1, min(_MAX_WORDS, len(tokens) - i) + 1):
            window = tokens[i:i + n]
            for last in _singular(window[-1]):
                candidate = (*window[:-1], last)
                if candidate in blocklist.words:
                    return " ".join(candidate)
                if tuple(_squeeze(w) for w in candidate) in blocklist.squeezed:
                    return " ".join(candidate)
    return None


def check_content(text: str, *, blocklist_path: str | Path | None = None, field: str = "prompt") -> None:
    """Raise :class:`SensitiveContent` when ``text`` holds a blocked term.

    Parameters
    ----------
    text : a prompt, title or lyric sheet.
    blocklist_path : the word list (default: the shipped one).
    field : the request field named in the error.
    """
    term = find_blocked(text or "", blocklist_path=blocklist_path)
    if term is not None:
        raise SensitiveContent("the text breaks the content rules (a slur or explicit sexual term)",
                               field=field, limit="content rules")
