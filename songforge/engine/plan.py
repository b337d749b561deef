"""Prompt -> SongPlan: genre, tempo, key, mode, meter, energy, instruments, vocal range.

``plan_song`` is the entry point. It reads the prompt with small lexicons (genre keywords from
the style files, instrument words from :mod:`songforge.engine.instruments`, mood, tempo, key and
meter words), falls back to the nearest style description by sentence embedding when no genre
keyword is present, and draws everything the prompt leaves open from ``numpy.random.default_rng
(seed)``, so the same request and seed always give the same plan.

Negations ("no drums", "without guitar or bass", "not rock", "no vocals") and the request's
``negative_prompt`` exclude genres, instruments (with their whole family: "guitar" -> 24-31)
and roles; an exclusion always beats a request.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from songforge.engine.instruments import Instrument, find_instruments
from songforge.engine.reading import gloss_chinese, read_voice, tempo_cues, tempo_verdict
from songforge.engine.score import PITCH_CLASSES
from songforge.engine.styles import Style, all_styles, load_style, style_names
from songforge.errors import MissingDependency
from songforge.models import SongRequest

__all__ = ["SongPlan", "plan_song", "describe_plan", "style_tags", "detect_genre", "MOODS"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SongPlan:
    """Everything the composer needs to know, decided from the request.

    Attributes
    ----------
    prompt : the prompt the plan was made from.
    genre : a style name from ``engine/styles`` (e.g. ``"pop"``).
    tempo_bpm : the felt beat in beats per minute (dotted quarters in 6/8).
    meter : (numerator, denominator), e.g. (4, 4), (3, 4), (6, 8).
    tonic_pc : key's pitch class, 0 = C .. 11 = B.
    mode : ``"major"`` or ``"minor"``.
    energy : 0-1 (calm .. intense).
    mood : one word: ``happy``, ``sad``, ``dark``, ``calm``, ``energetic``, ``romantic``,
        ``epic``, ``dreamy``, ``angry`` or ``neutral``.
    instruments : ``(role, GM program)`` pairs that will play; roles as in ``Part.role``.
    requested_programs : GM programs named in the prompt (each is in ``instruments``).
    excluded_programs : GM programs the prompt rules out (none is in ``instruments``).
    excluded_roles : roles the prompt rules out entirely (e.g. ``"drums"`` for "no drums").
    duration_s : target length in seconds.
    seed : the seed every later random stage derives from.
    instrumental : no vocals.
    gender : ``"female"`` or ``"male"``.
    vocal_range : (lowest, highest) MIDI note for the singer.
    swing : 0 straight .. 0.33 triplet swing.
    style_weight : 0-1, how strictly the genre preset is followed.
    weirdness : 0-1, how adventurous harmony, melody and form get.
    title : a song title.
    reasons : short notes on what in the prompt decided the plan, each quoting the words, e.g.
        ``"instrumental: 'there are no voices'"``, ``"tempo: 'relaxing' -> slow"``.
    """

    prompt: str
    genre: str
    tempo_bpm: float
    meter: tuple[int, int]
    tonic_pc: int
    mode: str
    energy: float
    mood: str
    instruments: tuple[tuple[str, int], ...]
    requested_programs: tuple[int, ...]
    excluded_programs: tuple[int, ...]
    excluded_roles: tuple[str, ...]
    duration_s: float
    seed: int
    instrumental: bool
    gender: str
    vocal_range: tuple[int, int]
    swing: float = 0.0
    style_weight: float = 0.5
    weirdness: float = 0.5
    title: str = ""
    reasons: tuple[str, ...] = ()

    @property
    def pulse_quarters(self) -> float:
        """Felt beat in quarter notes: 1.5 in compound meters (6/8, 9/8, 12/8), else 4/denominator."""
        num, den = self.meter
        if den == 8 and num % 3 == 0:
            return 1.5
        return 4.0 / den

    @property
    def quarter_bpm(self) -> float:
        """Quarter notes per minute (the MIDI tempo)."""
        return self.tempo_bpm * self.pulse_quarters

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# --------------------------------------------------------------------------- lexicons

MOODS = ("happy", "sad", "dark", "calm", "energetic", "romantic", "epic", "dreamy", "angry", "neutral")
"""Every value ``SongPlan.mood`` can take."""

_MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "joyful", "joy", "joyous", "cheerful", "bright", "upbeat", "uplifting",
              "sunny", "fun", "playful", "optimistic", "feel-good", "feel good", "celebratory",
              "celebration", "carefree", "summer", "summery", "festive", "hopeful", "positive",
              "happily", "joyfully", "cheerfully", "playfully", "jubilant", "lively", "spring",
              "springtime"),
    "sad": ("sad", "sadness", "melancholic", "melancholy", "sorrow", "sorrowful", "heartbreak",
            "heartbroken", "broken heart", "lonely", "loneliness", "tearful", "tears", "crying",
            "grief", "grieving", "somber", "sombre", "mournful", "bittersweet", "regret",
            "longing", "goodbye", "farewell", "depressing", "depressed", "blue", "lonesome",
            "weary", "mournful", "forlorn", "sorrow", "homesick", "sadly", "mournfully",
            "sorrowfully", "tearfully"),
    "dark": ("dark", "ominous", "sinister", "haunting", "haunted", "gloomy", "eerie", "creepy",
             "brooding", "menacing", "spooky", "mysterious", "tense", "suspense", "suspenseful",
             "horror", "gothic", "noir", "shadowy", "moody", "thriller", "dread"),
    "calm": ("calm", "chill", "chilled", "chillout", "relaxed", "relaxing", "peaceful", "mellow",
             "gentle", "soothing", "serene", "laid-back", "laid back", "quiet", "soft", "tranquil",
             "lazy", "sleepy", "meditative", "meditation", "cozy", "cosy", "warm", "sunday morning"),
    "energetic": ("energetic", "high-energy", "high energy", "intense", "powerful", "driving",
                  "hype", "hyped", "pumping", "explosive", "party", "workout", "exciting",
                  "adrenaline", "bouncy", "danceable", "banger", "loud"),
    "romantic": ("romantic", "romance", "love", "in love", "tender", "sensual", "intimate",
                 "sweet", "passionate", "passion", "valentine", "sexy", "wedding", "tenderly",
                 "lovingly"),
    "epic": ("epic", "heroic", "triumphant", "majestic", "grand", "anthemic", "anthem", "glorious",
             "victory", "battle", "adventure", "legendary", "soaring"),
    "dreamy": ("dreamy", "dream", "ethereal", "floating", "atmospheric", "hazy", "spacey",
               "spacy", "nostalgic", "nostalgia", "wistful", "magical", "whimsical", "night sky",
               "starry", "underwater"),
    "angry": ("angry", "anger", "aggressive", "furious", "rage", "brutal", "fierce", "violent",
              "rebellious", "hateful", "savage", "angrily", "furiously"),
}

# mood -> (mode preference, energy change)
_MOOD_EFFECT: dict[str, tuple[str | None, float]] = {
    "happy": ("major", 0.15),
    "sad": ("minor", -0.2),
    "dark": ("minor", -0.05),
    "calm": (None, -0.25),
    "energetic": (None, 0.25),
    "romantic": ("major", -0.1),
    "epic": (None, 0.2),
    "dreamy": (None, -0.15),
    "angry": ("minor", 0.3),
    "neutral": (None, 0.0),
}

# tempo word -> (anchor felt bpm or None, factor on the drawn tempo, energy change)
_TEMPO_WORDS: dict[str, tuple[float | None, float, float]] = {
    "very slow": (58.0, 1.0, -0.15), "extremely slow": (58.0, 1.0, -0.15),
    "super slow": (58.0, 1.0, -0.15), "really slow": (58.0, 1.0, -0.15),
    "slow": (72.0, 1.0, -0.1), "slowly": (72.0, 1.0, -0.1), "slow tempo": (72.0, 1.0, -0.1),
    "slow-tempo": (72.0, 1.0, -0.1), "downtempo": (80.0, 1.0, -0.1), "slow-paced": (72.0, 1.0, -0.1),
    "slower": (None, 0.85, -0.05),
    "mid-tempo": (104.0, 1.0, 0.0), "midtempo": (104.0, 1.0, 0.0), "mid tempo": (104.0, 1.0, 0.0),
    "medium tempo": (104.0, 1.0, 0.0), "moderate tempo": (104.0, 1.0, 0.0),
    "moderate": (104.0, 1.0, 0.0), "moderato": (104.0, 1.0, 0.0), "andante": (84.0, 1.0, -0.05),
    "adagio": (64.0, 1.0, -0.1), "largo": (54.0, 1.0, -0.15), "allegro": (132.0, 1.0, 0.1),
    "presto": (176.0, 1.0, 0.15),
    "uptempo": (128.0, 1.0, 0.1), "up-tempo": (128.0, 1.0, 0.1), "up tempo": (128.0, 1.0, 0.1),
    "fast": (148.0, 1.0, 0.1), "quick": (148.0, 1.0, 0.1), "rapid": (148.0, 1.0, 0.1),
    "fast-paced": (148.0, 1.0, 0.1), "fast paced": (148.0, 1.0, 0.1), "speedy": (148.0, 1.0, 0.1),
    "high tempo": (148.0, 1.0, 0.1), "very fast": (176.0, 1.0, 0.15),
    "super fast": (176.0, 1.0, 0.15), "extremely fast": (176.0, 1.0, 0.15),
    "really fast": (176.0, 1.0, 0.15), "blazing": (176.0, 1.0, 0.15),
    "faster": (None, 1.15, 0.05),
}

_TEMPO_MIN_BPM = 30.0
_TEMPO_MAX_BPM = 220.0
_DEFAULT_DURATION_S = 60.0
# Female A3-A4 rather than A3-D5: the slt voice resynthesised at G3-G4 is clearly more
# intelligible than at C4-C5 (dry Whisper WER 0.075 -> 0.059 over 5 sheets; ENGINE_NOTES).
_VOCAL_RANGES = {"female": (53, 69), "male": (45, 64)}
_ROLE_ORDER = ("drums", "bass", "chords", "pad", "lead", "arp", "counter")
_MELODIC_ROLES = _ROLE_ORDER[1:]
_SECOND_ROLE = {
    "lead": ("counter", "arp", "pad"),
    "chords": ("arp", "pad", "counter"),
    "pad": ("counter", "arp"),
    "arp": ("counter", "pad"),
    "counter": ("pad", "arp"),
    "bass": ("counter",),
}
_ROLE_FALLBACK = {
    "chords": (0, 4, 25, 24, 48, 16, 46, 11),
    "pad": (89, 48, 52, 88, 50),
    "lead": (80, 73, 56, 65, 40, 0),
    "bass": (33, 32, 38, 43),
    "arp": (46, 8, 11, 81, 24),
    "counter": (48, 42, 60, 71),
}
_VOCAL_WORDS = ("vocals", "vocal", "vox", "voice", "voices", "singing", "singer", "singers", "lyrics",
                "vocalist", "vocalists", "sung", "words", "rap", "rapping", "humming")
_NEGATORS = ("no", "without", "not", "avoid", "minus", "excluding", "except", "exclude", "sans",
             "lose the", "skip the", "nothing like", "no more")
_CLAUSE_END = r"[.,;:!?()\n]|\b(?:but|with|yet|though|just|only|featuring|feat|plus|instead)\b"
_FILLERS = r"(?:(?:any|the|a|an|too|much|more|real|heavy|loud|of|kind of|sort of)\s+)*"
_MOOD_TAGS = {
    "happy": "Upbeat", "sad": "Melancholic", "dark": "Dark", "calm": "Calm",
    "energetic": "Energetic", "romantic": "Romantic", "epic": "Epic", "dreamy": "Dreamy",
    "angry": "Aggressive", "neutral": "Mid-Tempo",
}
_TITLE_POOL = {
    "happy": ("Sunlight Avenue", "Good Day", "Golden Hour", "Brighter Now", "Summer Window"),
    "sad": ("Empty Rooms", "Fading Light", "Rain on Glass", "What We Lost", "Quiet Goodbye"),
    "dark": ("Shadow Line", "Midnight Hollow", "Cold Static", "Under the Lamp", "Black Water"),
    "calm": ("Slow Morning", "Still Water", "Paper Clouds", "Soft Landing", "Evening Tea"),
    "energetic": ("Overdrive", "Run the Night", "Electric Hearts", "Full Speed", "Ignition"),
    "romantic": ("Only You", "Close to Me", "Your Name", "Stay Tonight", "Velvet Hours"),
    "epic": ("Rise of Empires", "The Last Stand", "Skyfall Gate", "Homeward", "Iron Horizon"),
    "dreamy": ("Starlight Drift", "Cloud Harbor", "Neon Dreams", "Moonwater", "Daydream"),
    "angry": ("Burn It Down", "Breaking Point", "No Mercy", "Red Line", "Wildfire"),
    "neutral": ("Crossroads", "Open Road", "Northern Lights", "Paper Planes", "Blue Hour"),
}
_SMALL_WORDS = {"a", "an", "the", "of", "in", "on", "and", "to", "for", "at", "by", "or", "with"}
_TRAILING_WORDS = _SMALL_WORDS | {"my", "our", "your", "is", "are", "be", "very", "really", "some",
                                  "this", "that", "song", "music", "track", "tune", "piece"}
_STOP_WORDS = _SMALL_WORDS | {
    "i", "me", "my", "we", "our", "you", "your", "it", "its", "is", "are", "be", "this", "that",
    "some", "very", "really", "song", "songs", "music", "track", "tune", "piece", "instrumental",
    "vibe", "vibes", "style", "feel", "feeling", "sound", "sounds", "like", "make", "create",
    "write", "give", "want", "please", "about", "into", "from", "bpm", "tempo", "key", "major",
    "minor", "meter", "time", "melody", "melodies", "beat", "beats", "lyrics", "vocals", "vocal",
    "female", "male", "singer", "voice", "chorus", "verse", "bridge", "intro", "outro", "new",
    "sharp", "flat", "song's", "lots", "lot", "bit", "little", "big", "full", "kind",
}


# --------------------------------------------------------------------------- text helpers


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    """Whole-word, case-insensitive alternation of ``phrases``, longest first."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    body = "|".join(re.escape(p).replace(r"\ ", r"[\s-]+") for p in ordered)
    return re.compile(rf"(?<![\w-])({body})(?!\w)", re.IGNORECASE)


@functools.cache
def _mood_regex() -> re.Pattern[str]:
    return _phrase_regex(w for words in _MOOD_WORDS.values() for w in words)


@functools.cache
def _mood_of_word() -> dict[str, str]:
    return {w: mood for mood, words in _MOOD_WORDS.items() for w in words}


@functools.cache
def _tempo_regex() -> re.Pattern[str]:
    return _phrase_regex(_TEMPO_WORDS)


@functools.cache
def _genre_keywords() -> dict[str, str]:
    """Keyword (lower-case) -> style name; a style's own name and label count as keywords."""
    table: dict[str, str] = {}
    for style in all_styles():
        for word in (style.name, style.label, *style.keywords):
            table.setdefault(_norm(word), style.name)
    return table


@functools.cache
def _genre_regex() -> re.Pattern[str]:
    return _phrase_regex(_genre_keywords())


def _norm(text: str) -> str:
    return re.sub(r"[\s-]+", " ", text.strip().lower())


# --------------------------------------------------------------------------- negations


@functools.cache
def _negation_regex() -> re.Pattern[str]:
    negators = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in _NEGATORS)
    return re.compile(rf"\b(?:{negators})(?:\s+|-){_FILLERS}", re.IGNORECASE)


def _has_target(item: str) -> bool:
    """Does a negated item name a genre, an instrument or the vocals?"""
    return bool(
        find_instruments(item)
        or _genre_regex().search(item)
        or re.search(rf"\b(?:{'|'.join(_VOCAL_WORDS)})\b", item, re.IGNORECASE)
    )


def _negated_span(text: str, start: int) -> int:
    """End of the negated items that begin at ``start`` ("drums or bass, ..." -> after "bass")."""
    clause_end = re.compile(_CLAUSE_END, re.IGNORECASE).search(text, start)
    stop = clause_end.start() if clause_end else len(text)
    end = start
    items = re.finditer(r"(?:[^&/]+?)(?=\s+(?:and|or|nor)\s+|[&/]|$)", text[start:stop])
    for k, piece in enumerate(items):
        item = piece.group(0).strip(" &/")
        item = re.sub(r"^(?:and|or|nor)\s+", "", item.strip(), flags=re.IGNORECASE)
        if k > 0 and (not _has_target(item) or _starts_new_item(piece.group(0))):
            break
        end = start + piece.end()
    return end


def _starts_new_item(piece: str) -> bool:
    """"... and a female voice", "... and some strings": an ``and`` before an article starts a
    new, wanted item rather than continuing the negated list ("no drums and bass")."""
    return bool(re.match(r"\s*and\s+(?:a|an|some|lots|plenty|one|two)\b", piece, re.IGNORECASE))


def _split_negations(prompt: str) -> tuple[str, str]:
    """Split a prompt into (positive text, negated text); the positive text keeps its length."""
    positive = list(prompt)
    negated: list[str] = []
    for m in _negation_regex().finditer(prompt):
        end = _negated_span(prompt, m.end())
        negated.append(prompt[m.end() : end])
        positive[m.start() : end] = " " * (end - m.start())
    if re.search(r"\b(?:drumless|beatless)\b", prompt, re.IGNORECASE):
        negated.append("drums")
    if re.search(r"\b(?:vocal-?less|voiceless|wordless)\b", prompt, re.IGNORECASE):
        negated.append("vocals")
    return "".join(positive), " , ".join(negated)


# --------------------------------------------------------------------------- genre


def detect_genre(text: str, *, exclude: Iterable[str] = ()) -> str | None:
    """The style a text names by keyword (longest keyword wins; earlier wins ties), or ``None``.

    Parameters
    ----------
    text : a prompt.
    exclude : style names that may not be chosen.

    Examples
    --------
    >>> detect_genre("a lo-fi hip hop beat to study to")
    'lofi'
    """
    excluded = set(exclude)
    best: tuple[int, int, str] | None = None
    for m in _genre_regex().finditer(text):
        name = _genre_keywords()[_norm(m.group(1))]
        if name in excluded:
            continue
        key = (-len(m.group(1)), m.start(), name)
        best = key if best is None or key < best else best
    return best[2] if best else None


def _genres_in(text: str) -> set[str]:
    return {_genre_keywords()[_norm(m.group(1))] for m in _genre_regex().finditer(text)}


@functools.cache
def _description_matrix() -> tuple[tuple[str, ...], np.ndarray]:
    from songforge.engine.embed import embed

    styles = all_styles()
    return tuple(s.name for s in styles), embed([s.description for s in styles])


def _nearest_genre(text: str, *, exclude: set[str]) -> str:
    """The style whose description is nearest to ``text`` by sentence embedding."""
    allowed = [n for n in style_names() if n not in exclude] or ["pop"]
    if not text.strip():
        return "pop" if "pop" in allowed else allowed[0]
    try:
        from songforge.engine.embed import embed

        names, matrix = _description_matrix()
        scores = matrix @ embed([text])[0]
    except MissingDependency as exc:
        _log.warning("genre by embedding unavailable (%s); using pop", exc.message)
        return "pop" if "pop" in allowed else allowed[0]
    ranked = [names[i] for i in np.argsort(-scores, kind="stable")]
    return next(n for n in ranked if n in allowed)


def _choose_genre(text: str, fallback_text: str, *, exclude: set[str]) -> str:
    return detect_genre(text, exclude=exclude) or _nearest_genre(fallback_text, exclude=exclude)


def _genre_with_reason(text: str, fallback_text: str, *, exclude: set[str]) -> tuple[str, str]:
    named = detect_genre(text, exclude=exclude)
    if named:
        return named, f"genre: named -> {named}"
    genre = _nearest_genre(fallback_text, exclude=exclude)
    return genre, f"genre: nearest description -> {genre}"


# --------------------------------------------------------------------------- mood, mode, energy


def _mood_counts(text: str) -> dict[str, tuple[int, int]]:
    """Mood -> (hits, first position) for the mood words in ``text``."""
    out: dict[str, tuple[int, int]] = {}
    for m in _mood_regex().finditer(text):
        mood = _mood_of_word()[_norm(m.group(1))]
        hits, first = out.get(mood, (0, m.start()))
        out[mood] = (hits + 1, first)
    return out


def _explicit_mode(text: str) -> str | None:
    m = re.search(r"\b(major|minor)(?:[\s-]+(?:key|mode|scale|tonality))?\b", text, re.IGNORECASE)
    return m.group(1).lower() if m else None


# How firmly a mood implies its mode: sad, dark and angry words outweigh a "love" or "sweet".
_MODE_WEIGHT = {"sad": 2.0, "dark": 2.0, "angry": 2.0, "happy": 1.5, "romantic": 1.0}
# Words of moods without a mode of their own (epic) that still imply one.
_MODE_WORDS = {"triumphant": "major", "victorious": "major", "glorious": "major", "heroic": "major",
               "victory": "major", "tragic": "minor", "menace": "minor"}


def _mode_from_moods(moods: dict[str, tuple[int, int]], text: str = "") -> str | None:
    """Weighted mood votes: ``"major"``, ``"minor"`` or ``None`` on a tie (or no mood with a mode)."""
    votes = {"major": 0.0, "minor": 0.0}
    for mood, (hits, _) in moods.items():
        pref = _MOOD_EFFECT[mood][0]
        if pref:
            votes[pref] += hits * _MODE_WEIGHT.get(mood, 1.0)
    for word in _mode_word_regex().findall(text):
        votes[_MODE_WORDS[word.lower()]] += 1.5
    if votes["major"] == votes["minor"]:
        return None
    return max(votes, key=votes.__getitem__)


@functools.cache
def _mode_word_regex() -> re.Pattern[str]:
    return _phrase_regex(_MODE_WORDS)


def _mood_words(text: str, mode: str) -> list[str]:
    """The mood words in ``text`` whose mood implies ``mode`` (for the plan's reasons)."""
    words = [w.lower() for w in _mode_word_regex().findall(text) if _MODE_WORDS[w.lower()] == mode]
    for m in _mood_regex().finditer(text):
        if _MOOD_EFFECT[_mood_of_word()[_norm(m.group(1))]][0] == mode:
            words.append(m.group(1).lower())
    return list(dict.fromkeys(words))


def _fallback_mood(energy: float, mode: str) -> str:
    if energy >= 0.8:
        return "energetic"
    if energy <= 0.4:
        return "sad" if mode == "minor" else "calm"
    return "happy" if mode == "major" else "neutral"


# --------------------------------------------------------------------------- tempo


def _explicit_tempo(text: str) -> float | None:
    """A tempo written as a number: "90 bpm", "tempo 140", "bpm: 128", "at 100 beats per minute"."""
    patterns = (
        r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats[\s-]+per[\s-]+minute|beats/min)\b",
        r"\b(?:tempo|bpm)\s*(?:of|at|=|:|is|around|about|~)?\s*(\d{2,3}(?:\.\d+)?)\b",
    )
    for pattern in patterns:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            return float(np.clip(float(m.group(1)), _TEMPO_MIN_BPM, _TEMPO_MAX_BPM))
    return None


def _tempo_words(text: str) -> list[tuple[float | None, float, float]]:
    return [_TEMPO_WORDS[_norm(m.group(1))] for m in _tempo_regex().finditer(text)]


def _tempo_class(tempo_bpm: float) -> str:
    return "slow" if tempo_bpm < 90 else ("medium" if tempo_bpm < 120 else "fast")


def _tempo_range(style: Style, meter: tuple[int, int]) -> tuple[float, float, float]:
    """(low, high, scale): the style's felt-tempo range, scaled by 0.75 into a compound meter."""
    compound = meter[1] == 8 and meter[0] % 3 == 0
    style_compound = style.meters[0][1] == 8 and style.meters[0][0] % 3 == 0
    scale = 0.75 if compound and not style_compound else 1.0
    return style.tempo_bpm[0] * scale, style.tempo_bpm[1] * scale, scale


def _choose_tempo(
    text: str, style: Style, meter: tuple[int, int], *, energy: float, rng: np.random.Generator
) -> tuple[float, str]:
    """(felt tempo in BPM, reason): an explicit number wins, then tempo words anywhere in the
    prompt (strong ones, "slow", "brisk", "at a leisurely pace", before mood words that imply a
    tempo, "relaxing", "danceable"), then "faster"/"slower", then a draw from the style."""
    u = float(np.clip(0.5 + 0.8 * (energy - style.energy) + rng.normal(0.0, 0.18), 0.0, 1.0))
    explicit = _explicit_tempo(text)
    if explicit is not None:
        return explicit, f"tempo: {explicit:g} BPM as asked"
    lo, hi, scale = _tempo_range(style, meter)
    tempo = lo + (hi - lo) * u
    anchors = {w: a for w, (a, _, _) in _TEMPO_WORDS.items() if a is not None}
    cue = tempo_verdict(tempo_cues(text, anchors))
    reason = f"tempo: {style.name}'s range"
    if cue is not None:
        tempo = cue.anchor_bpm * scale
    for anchor, factor, _ in _tempo_words(text):
        if anchor is None:
            tempo *= factor
    if cue is None or not cue.strong:  # a tempo said in words may leave the genre's range
        tempo = float(np.clip(tempo, lo * 0.7, hi * 1.3))
    tempo = float(np.clip(round(tempo), _TEMPO_MIN_BPM, _TEMPO_MAX_BPM))
    if cue is not None:
        reason = f"tempo: '{cue.phrase.lower()}' -> {_tempo_class(tempo)}"
    return tempo, reason


# --------------------------------------------------------------------------- key and meter

_NOTE_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL = r"(#|♯|b|♭|[\s-]sharp|[\s-]flat)?"
_MODE_WORD = r"((?i:major|minor|maj|min)|m)?"


def _accidental_shift(acc: str | None) -> int:
    if not acc:
        return 0
    return 1 if acc.strip(" -") in ("#", "♯", "sharp") else -1


def _key_match(text: str) -> re.Match[str] | None:
    """Find "key of F#", "in D minor", "Bb major", "in Em"; a lone lower-case "a" is an article."""
    patterns = (
        (rf"\bkey\s+of\s+([A-Ga-g]){_ACCIDENTAL}(?:\s*{_MODE_WORD})?(?![\w#])", 0),
        (rf"\bin\s+([A-G]){_ACCIDENTAL}\s*{_MODE_WORD}(?![\w#])", 0),
        (rf"\b([A-G]){_ACCIDENTAL}\s*((?i:major|minor|maj|min))\b", 0),
        (
            rf"\bin\s+([a-g]){_ACCIDENTAL}\s+(major|minor)\b"
            r"(?!\s+(?:key|mode|scale|tonality|chord))",
            re.I,
        ),
    )
    for pattern, flags in patterns:
        m = re.search(pattern, text, flags)
        if m:
            return m
    return None


def _explicit_key(text: str) -> tuple[int | None, str | None]:
    """(tonic pitch class, mode) named in ``text``; either may be ``None``."""
    m = _key_match(text)
    if m is None:
        return None, None
    letter, acc = m.group(1).lower(), m.group(2)
    mode_word = (m.group(3) or "") if m.lastindex and m.lastindex >= 3 else ""
    mode = {"major": "major", "maj": "major", "minor": "minor", "min": "minor", "m": "minor"}.get(
        mode_word.lower()
    )
    return (_NOTE_PC[letter] + _accidental_shift(acc)) % 12, mode


def _explicit_meter(text: str) -> tuple[int, int] | None:
    m = re.search(r"(?<![\d/])(3/4|6/8|12/8|4/4)(?![\d/])", text)
    if m:
        num, den = m.group(1).split("/")
        return int(num), int(den)
    if re.search(r"\b(?:waltz|waltzes|triple\s+(?:meter|time)|three[\s-]four)\b", text, re.I):
        return (3, 4)
    if re.search(r"\b(?:six[\s-]eight|compound\s+(?:meter|time))\b", text, re.I):
        return (6, 8)
    if re.search(r"\btwelve[\s-]eight\b", text, re.I):
        return (12, 8)
    return None


def _choose_meter(
    text: str, style: Style, *, weirdness: float, rng: np.random.Generator
) -> tuple[int, int]:
    draw = rng.random()
    explicit = _explicit_meter(text)
    if explicit is not None:
        return explicit
    others = list(style.meters[1:])
    if others and draw < 0.05 + 0.25 * weirdness:
        return others[int(rng.integers(len(others)))]
    return style.meters[0]


# --------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class _Exclusions:
    genres: frozenset[str]
    programs: frozenset[int]
    roles: frozenset[str]
    vocals: bool


def _exclusions(negated: str) -> _Exclusions:
    programs: set[int] = set()
    roles: set[str] = set()
    for match in find_instruments(negated):
        inst = match.instrument
        programs.update(inst.family)
        if inst.generic and inst.role in ("drums", "bass"):
            roles.add(inst.role)
    vocals = bool(re.search(rf"\b(?:{'|'.join(_VOCAL_WORDS)})\b", negated, re.IGNORECASE))
    if vocals:
        roles.add("vocal")
    return _Exclusions(frozenset(_genres_in(negated)), frozenset(programs), frozenset(roles), vocals)


def _weighted_pick(options: list[int], *, style_weight: float, rng: np.random.Generator) -> int:
    """Pick from ``options``; the higher ``style_weight``, the likelier the first (default)."""
    decay = 0.4 + 3.0 * style_weight
    weights = np.exp(-decay * np.arange(len(options)))
    return options[int(rng.choice(len(options), p=weights / weights.sum()))]


def _palette(
    style: Style, ex: _Exclusions, *, style_weight: float, rng: np.random.Generator
) -> dict[str, int]:
    """One program per melodic role from the style's palette, avoiding excluded programs."""
    chosen: dict[str, int] = {}
    for role in _MELODIC_ROLES:
        options = list(style.instruments.get(role, []))
        if not options or role in ex.roles:
            continue
        allowed = [p for p in options if p not in ex.programs]
        allowed = allowed or [p for p in _ROLE_FALLBACK[role] if p not in ex.programs]
        allowed = [p for p in allowed if p not in chosen.values()] or allowed  # prefer variety
        if allowed:
            chosen[role] = _weighted_pick(allowed, style_weight=style_weight, rng=rng)
    return chosen


def _resolve_generic(inst: Instrument, chosen: dict[str, int], style: Style) -> tuple[str, int]:
    """(role, program) for a family word: the genre's own member of the family when it has one."""
    roles = (inst.role, *(r for r in _MELODIC_ROLES if r != inst.role))
    for role in roles:
        if chosen.get(role) in inst.family:
            return role, chosen[role]
    for role in roles:
        for program in style.instruments.get(role, []):
            if program in inst.family:
                return role, program
    return inst.role, inst.program


def _free_role(role: str, named: set[str]) -> str:
    if role not in named:
        return role
    return next((r for r in _SECOND_ROLE.get(role, ()) if r not in named), role)


def _named(
    text: str, style: Style, chosen: dict[str, int], ex: _Exclusions
) -> tuple[list[tuple[str, int]], int | None]:
    """Instruments named in the prompt as (role, program), and a drum kit if one was named."""
    named: list[tuple[str, int]] = []
    kit: int | None = None
    seen: set[str] = set()
    for match in find_instruments(text):
        inst = match.instrument
        if inst.name in seen:
            continue
        seen.add(inst.name)
        if inst.role == "drums":
            kit = kit if inst.generic else inst.program
            kit = style.drums.get("kit", 0) if kit is None else kit
            continue
        if inst.generic:
            role, program = _resolve_generic(inst, chosen, style)
        else:
            role, program = inst.role, inst.program
        if program in ex.programs or role in ex.roles:
            continue
        named.append((_free_role(role, {r for r, _ in named}), program))
    return named, kit


def _only_named(text: str) -> bool:
    """"solo piano", "just guitar and voice", "strings only": keep only the named instruments."""
    found = find_instruments(text)
    starts, ends = {m.start for m in found}, {m.end for m in found}
    before = r"\b(?:only|just|solo|purely|nothing\s+but)\s+(?:an?\s+|the\s+)?"
    after = r"\s+(?:only|alone)\b"
    return any(m.end() in starts for m in re.finditer(before, text, re.I)) or any(
        m.start() in ends for m in re.finditer(after, text, re.I)
    )


def _instruments(
    text: str, style: Style, ex: _Exclusions, *, style_weight: float, rng: np.random.Generator
) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    """(instruments, requested programs) in arrangement order."""
    chosen = _palette(style, ex, style_weight=style_weight, rng=rng)
    named, kit = _named(text, style, chosen, ex)
    if _only_named(text) and (named or kit is not None):
        chosen = {}
        drums_wanted = kit is not None
    else:
        drums_wanted = "drums" not in ex.roles
    extras: list[tuple[str, int]] = []
    taken: set[str] = set()
    for role, program in named:
        if role in taken:  # every fallback role was named too: play as a second part
            extras.append((role, program))
        else:
            chosen[role] = program
            taken.add(role)
    out: list[tuple[str, int]] = []
    if drums_wanted and "drums" not in ex.roles:
        out.append(("drums", int(kit if kit is not None else style.drums.get("kit", 0))))
    out += [(r, chosen[r]) for r in _MELODIC_ROLES if r in chosen] + extras
    requested = tuple(dict.fromkeys(p for _, p in named))
    return tuple(out), requested


# --------------------------------------------------------------------------- voice and title


def _gender(request: SongRequest, text: str, style: Style) -> str:
    if request.gender:
        return request.gender
    female = re.search(r"\b(?:female|woman|women|girl|girls|feminine|diva|her voice)\b", text, re.I)
    male = re.search(r"\b(?:male|man|men|boy|boys|masculine|his voice|guy)\b", text, re.I)
    if female and not male:
        return "female"
    if male and not female:
        return "male"
    return style.vocal_gender if style.vocal_gender in _VOCAL_RANGES else "female"


def _vocal_range(gender: str, tonic_pc: int) -> tuple[int, int]:
    """The singer's range, moved by up to two semitones toward the key's tonic."""
    lo, hi = _VOCAL_RANGES[gender]
    offset = (tonic_pc + 6) % 12 - 6
    shift = int(np.clip(round(offset / 3), -2, 2))
    return lo + shift, hi + shift


def _title_case(words: list[str]) -> str:
    def cap(i: int, word: str) -> str:
        return word if i and word.lower() in _SMALL_WORDS else word[:1].upper() + word[1:]

    return " ".join(cap(i, w) for i, w in enumerate(words))


def _trim(words: list[str]) -> list[str]:
    while words and words[0].lower() in _SMALL_WORDS:
        words = words[1:]
    words = words[:4]
    while words and words[-1].lower() in _TRAILING_WORDS:
        words = words[:-1]
    return words


def _title_phrase(prompt: str) -> list[str]:
    quoted = re.search(r"[\"“']([^\"”']{2,60})[\"”']", prompt)
    if quoted and len(quoted.group(1).split()) <= 6:
        return quoted.group(1).split()
    about = re.search(r"\b(?:about|called|titled|named|for|of)\s+([^,.;:!?()\n]+)", prompt, re.I)
    if about:
        words = _trim(re.findall(r"[A-Za-z']+", about.group(1)))
        if words and not all(w.lower() in _STOP_WORDS for w in words):
            return words
    return []


def _salient_words(text: str) -> list[str]:
    key = _key_match(text)
    masked = text if key is None else text[: key.start()] + " " + text[key.end() :]
    masked = re.sub(r"\b(?:waltz|waltzes)\b", " ", masked, flags=re.I)
    for regex in (_genre_regex(), _tempo_regex(), _mood_regex()):
        masked = regex.sub(" ", masked)
    for match in reversed(find_instruments(masked)):
        masked = masked[: match.start] + " " + masked[match.end :]
    words = re.findall(r"[A-Za-z][A-Za-z']+", masked)
    return [w for w in words if w.lower() not in _STOP_WORDS][:3]


def _lyric_words(lyrics: str) -> list[str]:
    """The first words of the first sung line (structure tags skipped)."""
    for line in lyrics.splitlines():
        line = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", line).strip()
        words = re.findall(r"[A-Za-z][A-Za-z']*", line)
        if len(words) >= 2:
            return _trim(words)
    return []


def _title(request: SongRequest, text: str, *, mood: str, rng: np.random.Generator) -> str:
    pool = _TITLE_POOL[mood]
    pick = pool[int(rng.integers(len(pool)))]
    if request.title:
        return request.title.strip()
    words = _title_phrase(text) or _salient_words(text) or _lyric_words(request.lyrics or "")
    if len(words) >= 2:
        return _title_case(words)
    return pick


# --------------------------------------------------------------------------- the planner


def _swing(text: str, style: Style) -> float:
    if re.search(r"\b(?:straight|no\s+swing|unswung)\b", text, re.I):
        return 0.0
    if re.search(r"\b(?:swing|swung|swinging|shuffle|shuffled|triplet\s+feel)\b", text, re.I):
        return max(style.swing, 0.28)
    return style.swing


def _choose_mode(
    text: str,
    key_mode: str | None,
    moods: dict[str, tuple[int, int]],
    style: Style,
    *,
    unwanted: str | None,
    rng: np.random.Generator,
) -> tuple[str, str]:
    """(mode, reason): the named key's mode, then "minor"/"major" words, then mood votes
    (sad/dark/angry words weigh more than happy, happy more than romantic), then the style's odds."""
    draw = rng.random()
    if key_mode:
        return key_mode, f"mode: the key named -> {key_mode}"
    explicit = _explicit_mode(text)
    if explicit:
        return explicit, f"mode: '{explicit}' -> {explicit}"
    voted = _mode_from_moods(moods, text)
    if voted:
        words = ", ".join(f"'{w}'" for w in _mood_words(text, voted)[:3])
        return voted, f"mode: {words} -> {voted}"
    if unwanted:  # "not minor", negative_prompt="major"
        mode = "major" if unwanted == "minor" else "minor"
        return mode, f"mode: not '{unwanted}' -> {mode}"
    mode = "minor" if draw < style.minor_probability else "major"
    return mode, f"mode: {style.name}'s odds -> {mode}"


def _energy(style: Style, moods: dict[str, tuple[int, int]], text: str) -> float:
    delta = sum(_MOOD_EFFECT[m][1] for m in moods) + sum(e for _, _, e in _tempo_words(text))
    return float(np.clip(style.energy + delta, 0.05, 1.0))


def _top_mood(moods: dict[str, tuple[int, int]]) -> str | None:
    if not moods:
        return None
    return min(moods, key=lambda m: (-moods[m][0], moods[m][1]))


def plan_song(request: SongRequest, *, seed: int) -> SongPlan:
    """Decide genre, tempo, key, meter, mood, instruments and voice for a request.

    Parameters
    ----------
    request : the canonical request; ``prompt``, ``negative_prompt``, ``gender``, ``duration_s``,
        ``instrumental``, ``title``, ``style_weight`` and ``weirdness`` are read.
    seed : seeds ``numpy.random.default_rng``; the same request and seed give the same plan.

    Returns
    -------
    SongPlan
        ``tempo_bpm`` within 30-220 (the felt beat), ``instruments`` as ``(role, program)`` pairs in
        arrangement order (drums first; a drums entry's program is a GM drum-kit number),
        ``duration_s`` = ``request.duration_s`` or 60 s.

    Examples
    --------
    >>> plan = plan_song(SongRequest(prompt="a sad jazz waltz in D minor, 90 bpm"), seed=1)
    >>> plan.genre, plan.meter, plan.tonic_pc, plan.mode, plan.tempo_bpm
    ('jazz', (3, 4), 2, 'minor', 90.0)
    """
    rng = np.random.default_rng(seed)
    prompt = request.prompt or ""
    read = gloss_chinese(prompt)  # Chinese phrases -> English words; English is unchanged
    text, negated = _split_negations(read)
    negated = " , ".join([negated, gloss_chinese(request.negative_prompt or "")])
    ex = _exclusions(negated)
    about = text if text.strip() else (request.lyrics or "")[:500]
    genre, genre_reason = _genre_with_reason(text, about, exclude=set(ex.genres))
    style = load_style(genre)
    unwanted = set(_mood_counts(negated))
    moods = {m: v for m, v in _mood_counts(text).items() if m not in unwanted}
    tonic, key_mode = _explicit_key(text)
    tonic = int(rng.integers(12)) if tonic is None else tonic
    mode, mode_reason = _choose_mode(text, key_mode, moods, style, unwanted=_explicit_mode(negated), rng=rng)
    energy = _energy(style, moods, text)
    meter = _choose_meter(text, style, weirdness=request.weirdness, rng=rng)
    tempo, tempo_reason = _choose_tempo(text, style, meter, energy=energy, rng=rng)
    instruments, requested = _instruments(text, style, ex, style_weight=request.style_weight, rng=rng)
    mood = _top_mood(moods) or _fallback_mood(energy, mode)
    mood = "neutral" if mood in unwanted else mood
    voice = read_voice(
        text, negated, whole=read, asked_instrumental=request.instrumental,
        has_lyrics=bool((request.lyrics or "").strip()), n_instruments=len(find_instruments(text)),
    )
    gender = request.gender or voice.gender or _gender(request, text, style)
    excluded_roles = ex.roles - ({"vocal"} if not voice.instrumental else set())
    named = [m.phrase.lower() for m in find_instruments(text)]
    reasons = (
        *voice.reasons, genre_reason, tempo_reason, mode_reason,
        *([f"instruments: {', '.join(repr(n) for n in dict.fromkeys(named))}"] if named else []),
    )
    return SongPlan(
        prompt=prompt,
        genre=genre,
        tempo_bpm=tempo,
        meter=meter,
        tonic_pc=tonic,
        mode=mode,
        energy=round(energy, 3),
        mood=mood,
        instruments=instruments,
        requested_programs=requested,
        excluded_programs=tuple(sorted(ex.programs)),
        excluded_roles=tuple(sorted(excluded_roles)),
        duration_s=float(request.duration_s or _DEFAULT_DURATION_S),
        seed=int(seed),
        instrumental=voice.instrumental,
        gender=gender,
        vocal_range=_vocal_range(gender, tonic),
        swing=_swing(text, style),
        style_weight=request.style_weight,
        weirdness=request.weirdness,
        title=_title(request, text, mood=mood, rng=rng),
        reasons=reasons,
    )


# --------------------------------------------------------------------------- reporting


def style_tags(plan: SongPlan) -> str:
    """MiniMax-style tags: genre label, mood and vocals, e.g. ``"Pop, Upbeat, Female Vocals"``."""
    vocals = "Instrumental" if plan.instrumental else f"{plan.gender.capitalize()} Vocals"
    return ", ".join([load_style(plan.genre).label, _MOOD_TAGS.get(plan.mood, "Mid-Tempo"), vocals])


def describe_plan(plan: SongPlan) -> str:
    """One line for logs: genre, tempo, meter, key, mood, length, voice, instruments, seed."""
    num, den = plan.meter
    voice = "instrumental" if plan.instrumental else (
        f"{plan.gender} {_note_name(plan.vocal_range[0])}-{_note_name(plan.vocal_range[1])}"
    )
    parts = " ".join(f"{role}:{program}" for role, program in plan.instruments)
    return (
        f"{plan.title!r}: {plan.genre} {plan.tempo_bpm:g} BPM {num}/{den} "
        f"{PITCH_CLASSES[plan.tonic_pc % 12]} {plan.mode}, {plan.mood} (energy {plan.energy:.2f}), "
        f"{plan.duration_s:g} s, {voice}, swing {plan.swing:.2f} | {parts} | seed {plan.seed}"
    )


def _note_name(midi: int) -> str:
    return f"{PITCH_CLASSES[midi % 12]}{midi // 12 - 1}"
