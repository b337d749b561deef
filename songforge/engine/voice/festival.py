"""Festival front end: speak lyric lines with the US slt HTS voice and read back phone timings.

One ``festival`` process handles a whole batch of lines: the Scheme script synthesises every
line, saves its waveform and prints the utterance's Token -> Word -> Syllable -> Segment tree
with each phone's start and end time. A post-lexical rule flaps /t/ between vowels the American
way (``_FLAP_RULE``). Lines are cleaned before they reach Festival (accents
folded to ASCII, quotes and brackets dropped) so punctuation, numbers, apostrophes and unknown
words never break the batch; a line that still fails raises ``GenerationFailed``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from songforge.errors import GenerationFailed, MissingDependency

__all__ = [
    "Phone",
    "SpokenSyllable",
    "SpokenWord",
    "SpokenLine",
    "speak",
    "clean_text",
    "festival_available",
    "DEFAULT_VOICE",
]

DEFAULT_VOICE = "cmu_us_slt_arctic_hts"

# Festival modules up to (not including) duration and waveform synthesis: enough for syllables.
_TEXT_MODULES = ("Initialize", "Text", "Token_POS", "Token", "POS", "Phrasify", "Word", "Pauses",
                 "Intonation", "PostLex")

# American flapping as a post-lexical rule: a /t/ between a vowel and an unstressed vowel is
# said as the flap "dx" ("water", "city", "waiting"). slt's full /t/ there is heard as "ch" by
# Whisper ("waiting" -> "waging", "city" -> "suchy"): Whisper-base WER over 20 sung sheets
# 0.068 -> 0.062 (bench/vocals.py).
_FLAP_RULE = """
(define (sf_flap utt)
  (mapcar (lambda (s)
            (if (and (string-equal (item.name s) "t")
                     (string-equal (item.feat s "p.ph_vc") "+")
                     (string-equal (item.feat s "n.ph_vc") "+")
                     (string-equal (item.feat s "n.R:SylStructure.parent.stress") "0"))
                (item.set_name s "dx")))
          (utt.relation.items utt 'Segment))
  utt)
(set! postlex_rules_hooks (append postlex_rules_hooks (list sf_flap)))
"""

_SCHEME_HELPERS = """
(define (sf_seg s)
  (format t "@P %s %s %s %s\\n" (item.name s) (item.feat s "segment_start") (item.feat s "end")
          (item.feat s "ph_vc")))
(define (sf_syl y) (format t "@S %s\\n" (item.feat y "stress")) (mapcar sf_seg (item.daughters y)))
(define (sf_word w)
  (format t "@W %s\\n" (item.name w))
  (mapcar sf_syl (item.daughters (item.relation w 'SylStructure))))
(define (sf_dump u i)
  (format t "@L %d\\n" i)
  (set! tok (utt.relation.first u 'Token))
  (while tok
    (format t "@T %s\\n" (item.name tok))
    (mapcar sf_word (item.daughters tok))
    (set! tok (item.next tok)))
  (format t "@E %d\\n" i))
"""


@dataclass(frozen=True)
class Phone:
    """One phone of the spoken line; times in seconds from the start of the line's waveform."""

    name: str
    start_s: float
    end_s: float
    is_vowel: bool


@dataclass(frozen=True)
class SpokenSyllable:
    """A syllable as Festival's lexicon splits it; ``stress`` is 0 or 1; ``word`` is Festival's word."""

    stress: int
    phones: tuple[Phone, ...]
    word: str = ""

    @property
    def start_s(self) -> float:
        return self.phones[0].start_s

    @property
    def end_s(self) -> float:
        return self.phones[-1].end_s


@dataclass(frozen=True)
class SpokenWord:
    """A token of the line (``"21"``, ``"don't"``) with the syllables of all the words it expands to.

    ``names`` are Festival's words for the token (``("twenty", "one")`` for ``"21"``).
    """

    text: str
    syllables: tuple[SpokenSyllable, ...]
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpokenLine:
    """One spoken lyric line.

    ``audio`` is the (n,) float32 speech waveform at ``sample_rate_hz`` (``None`` when only the
    text analysis was asked for); ``words`` hold only tokens that have syllables.
    """

    text: str
    words: tuple[SpokenWord, ...]
    audio: np.ndarray | None
    sample_rate_hz: int

    @property
    def syllables(self) -> list[SpokenSyllable]:
        return [s for w in self.words for s in w.syllables]


def festival_available() -> bool:
    """True when the ``festival`` binary is on PATH."""
    return shutil.which("festival") is not None


def clean_text(text: str) -> str:
    """Make a lyric line safe for Festival: ASCII letters, digits, apostrophes, light punctuation.

    >>> clean_text('“Naïve” rock’n’roll (yeah)!')
    "Naive rock'n'roll yeah !"
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    kept = re.sub(r"[^A-Za-z0-9',.;:!?%$&\- ]+", " ", folded)
    kept = re.sub(r"(^|\s)'+|'+(\s|$)", r"\1 \2", kept)  # quotes, not apostrophes
    return re.sub(r"\s+", " ", kept).strip()


def speak(
    lines: Sequence[str],
    *,
    with_audio: bool = True,
    voice: str = DEFAULT_VOICE,
    workers: int = 1,
    timeout_s: float | None = None,
) -> list[SpokenLine]:
    """Speak ``lines`` with Festival and return their phone/syllable/word timings (and waveforms).

    Parameters
    ----------
    lines : the lyric lines, any text; each is cleaned with :func:`clean_text` first.
    with_audio : synthesise the waveforms (HTS, 32 kHz for slt); ``False`` runs only the text
        front end (lexicon, letter-to-sound, post-lexical rules), which is much faster.
    voice : a Festival voice name (``voice_<name>`` must exist).
    workers : Festival processes to run side by side; each pays ~0.2 s of start-up.
    timeout_s : limit for each Festival process (default 20 s + 1 s per line).

    Returns
    -------
    list of SpokenLine, one per input line, in order.

    Raises
    ------
    MissingDependency : Festival is not installed.
    GenerationFailed : Festival failed on the batch.
    """
    if not festival_available():
        raise MissingDependency("Festival is not installed (Debian: festival festvox-us-slt-hts)")
    items = list(lines)
    if not items:
        return []
    n_chunks = max(1, min(int(workers), len(items)))
    bounds = np.linspace(0, len(items), n_chunks + 1).astype(int)
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if n_chunks == 1:
        return _speak_batch(chunks[0], with_audio=with_audio, voice=voice, timeout_s=timeout_s)
    with ThreadPoolExecutor(n_chunks) as pool:
        futures = [pool.submit(_speak_batch, c, with_audio=with_audio, voice=voice,
                               timeout_s=timeout_s) for c in chunks]
        return [line for f in futures for line in f.result()]


def _speak_batch(lines: list[str], *, with_audio: bool, voice: str,
                 timeout_s: float | None) -> list[SpokenLine]:
    cleaned = [clean_text(t) for t in lines]
    with tempfile.TemporaryDirectory(prefix="songforge-festival-") as tmp:
        script = _script(cleaned, voice=voice, wave_dir=Path(tmp) if with_audio else None)
        script_path = Path(tmp) / "batch.scm"
        script_path.write_text(script, encoding="ascii")
        stdout = _run_festival(script_path, timeout_s=timeout_s or 20.0 + len(lines))
        parsed = _parse_output(stdout)
        out = []
        for i, text in enumerate(lines):
            if i not in parsed:
                raise GenerationFailed(f"Festival could not speak line {i}: {text!r}",
                                       reason="voice_failed")
            audio, rate = _read_wave(Path(tmp) / f"l{i}.wav") if with_audio else (None, 0)
            out.append(SpokenLine(text=text, words=parsed[i], audio=audio, sample_rate_hz=rate))
    return out


def _script(cleaned: list[str], *, voice: str, wave_dir: Path | None) -> str:
    parts = [f"(voice_{voice})", _SCHEME_HELPERS, _FLAP_RULE]
    for i, text in enumerate(cleaned):
        parts.append(_line_form(i, text, wave_dir))
    return "\n".join(parts) + "\n"


def _line_form(index: int, text: str, wave_dir: Path | None) -> str:
    utt = f'(set! u (Utterance Text "{text}"))'
    if wave_dir is None:
        run = " ".join(f"({m} u)" for m in _TEXT_MODULES)
        save = ""
    else:
        run = "(utt.synth u)"
        save = f"(utt.save.wave u \"{wave_dir / f'l{index}.wav'}\" 'riff)"
    return f"(unwind-protect (begin {utt} {run} {save} (sf_dump u {index})) (format t \"@X\\n\"))"


def _run_festival(script_path: Path, *, timeout_s: float) -> str:
    try:
        proc = subprocess.run(["festival", "--batch", str(script_path)], capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise GenerationFailed("Festival timed out", reason="voice_timeout") from exc
    except OSError as exc:
        raise MissingDependency(f"cannot run Festival: {exc}") from exc
    return proc.stdout.decode("ascii", "replace")


@dataclass
class _TokenAcc:
    """A token being read from Festival's output."""

    text: str
    names: list[str] = field(default_factory=list)
    syllables: list[tuple[int, list[Phone], str]] = field(default_factory=list)

    def word(self) -> SpokenWord | None:
        syllables = tuple(SpokenSyllable(stress=st, phones=tuple(ph), word=w)
                          for st, ph, w in self.syllables if ph)
        if not syllables:
            return None
        return SpokenWord(text=self.text, syllables=syllables, names=tuple(self.names))


def _parse_output(stdout: str) -> dict[int, tuple[SpokenWord, ...]]:
    """Parse the ``@L/@T/@W/@S/@P/@E`` protocol into words per completed line."""
    done: dict[int, tuple[SpokenWord, ...]] = {}
    index, tokens = -1, list[_TokenAcc]()
    for raw in stdout.splitlines():
        tag, _, rest = raw.partition(" ")
        if tag == "@L":
            index, tokens = int(rest), []
        elif tag == "@T":
            tokens.append(_TokenAcc(rest.strip()))
        elif tag == "@W" and tokens:
            tokens[-1].names.append(rest.strip())
        elif tag == "@S" and tokens:
            name = tokens[-1].names[-1] if tokens[-1].names else ""
            tokens[-1].syllables.append((int(float(rest or 0)), [], name))
        elif tag == "@P" and tokens and tokens[-1].syllables:
            tokens[-1].syllables[-1][1].append(_parse_phone(rest))
        elif tag == "@E" and int(rest) == index:
            done[index] = tuple(w for w in (t.word() for t in tokens) if w is not None)
    return done


def _parse_phone(rest: str) -> Phone:
    name, start, end, vc = rest.split()
    return Phone(name=name, start_s=float(start), end_s=float(end), is_vowel=vc == "+")


def _read_wave(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    if not path.exists():
        return np.zeros(0, dtype=np.float32), 0
    audio, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return np.ascontiguousarray(audio, dtype=np.float32), int(rate)
