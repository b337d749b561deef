"""Instrument words in prompts -> General MIDI programs and arrangement roles.

Each entry maps one or more phrases (with plural and spelling variants) to an
:class:`Instrument`: a GM program (0-127), the role it takes in the arrangement (``lead``,
``chords``, ``pad``, ``bass``, ``arp``, ``counter`` or ``drums``) and its *family*, the
programs that the word rules out when it is negated ("no guitar" removes all guitars 24-31).
Drum words (``drums``, ``percussion``, ``beat`` ...) take the ``drums`` role; their ``program``
is a GM drum-kit number (bank 128), not a melodic program.

*Generic* words ("guitar", "synth", "bass", "organ", "sax", "strings") name a family rather
than one sound: the planner keeps the genre's own member of the family when it has one (a rock
"guitar" is distorted, a folk one acoustic).

Example
-------
>>> [(m.phrase, m.instrument.program, m.instrument.role) for m in find_instruments("cello and a flute")]
[('cello', 42, 'counter'), ('flute', 73, 'lead')]
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["Instrument", "InstrumentMatch", "ROLES", "find_instruments", "lookup", "lexicon"]

ROLES = ("drums", "bass", "chords", "pad", "lead", "arp", "counter")
"""Arrangement roles an instrument word can take, in arrangement order."""


def _r(lo: int, hi: int) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1))


_PIANOS = _r(0, 5)
_KEYS = _r(0, 7) + _r(16, 20)
_ORGANS = _r(16, 20)
_GUITARS = _r(24, 31)
_BASSES = _r(32, 39) + (43,)
_STRINGS = _r(40, 51) + (110,)
_CHOIR = (52, 53, 54, 85, 91)
_BRASS = _r(56, 63)
_SAXES = _r(64, 67)
_HORNS = _r(56, 67)
_WOODWINDS = _r(64, 79)
_SYNTHS = _r(80, 103) + (38, 39, 50, 51, 62, 63)
_MALLETS = _r(8, 15)
_DRUMS = ()

# (phrases, program, role, family or None for just the program, generic)
_ENTRIES: tuple[tuple[tuple[str, ...], int, str, tuple[int, ...] | None, bool], ...] = (
    # guitars
    (("guitar", "gtr", "six-string", "rhythm guitar"), 25, "chords", _GUITARS, True),
    (("acoustic guitar", "steel-string guitar", "steel string guitar", "strummed guitar",
      "strumming guitar", "twelve-string guitar", "12-string guitar", "fingerpicked guitar",
      "folk guitar"), 25, "chords", (25,), False),
    (("nylon guitar", "nylon-string guitar", "nylon string guitar", "classical guitar",
      "spanish guitar", "flamenco guitar"), 24, "chords", (24,), False),
    (("electric guitar", "clean guitar", "clean electric guitar", "telecaster", "stratocaster",
      "twangy guitar", "surf guitar"), 27, "chords", (27, 28), False),
    (("jazz guitar", "hollow-body guitar", "hollowbody guitar", "archtop guitar", "pedal steel",
      "pedal steel guitar", "steel guitar", "lap steel"), 26, "chords", (26,), False),
    (("muted guitar", "palm-muted guitar", "funk guitar", "funky guitar", "chicken-picking"),
     28, "chords", (28,), False),
    (("overdriven guitar", "overdrive guitar", "crunchy guitar", "crunch guitar", "blues guitar"),
     29, "chords", (29,), False),
    (("distorted guitar", "distortion guitar", "heavy guitar", "power chords", "fuzz guitar",
      "metal guitar", "chugging guitar"), 30, "chords", (30,), False),
    (("lead guitar", "guitar solo", "guitar solos", "shredding guitar", "guitar lead",
      "slide guitar"), 29, "lead", (29, 30), False),
    (("guitar harmonics",), 31, "arp", (31,), False),
    # basses
    (("bass", "basses", "bassline", "bass line"), 33, "bass", _BASSES, True),
    (("bass guitar", "electric bass", "fingered bass", "finger bass", "funk bass"),
     33, "bass", (33,), False),
    (("picked bass", "pick bass"), 34, "bass", (34,), False),
    (("fretless bass", "fretless"), 35, "bass", (35,), False),
    (("slap bass", "slapped bass"), 36, "bass", (36, 37), False),
    (("upright bass", "double bass", "acoustic bass", "standup bass", "stand-up bass",
      "string bass", "walking bass"), 32, "bass", (32,), False),
    (("synth bass", "synthbass", "sub bass", "sub-bass", "808", "808s", "808 bass", "bass synth",
      "wobble bass", "reese bass", "moog bass"), 38, "bass", (38, 39), False),
    (("contrabass", "contrabasses"), 43, "bass", (43,), False),
    (("tuba", "sousaphone"), 58, "bass", (58,), False),
    # keyboards
    (("piano", "grand piano", "acoustic piano", "concert piano", "upright piano", "piano chords",
      "pianoforte"), 0, "chords", _PIANOS, False),
    (("bright piano", "pop piano"), 1, "chords", _PIANOS, False),
    (("honky-tonk piano", "honky tonk piano", "saloon piano", "tack piano", "barrelhouse piano"),
     3, "chords", (3,), False),
    (("electric piano", "e-piano", "epiano", "rhodes", "fender rhodes", "wurlitzer", "wurli",
      "wurly", "electric keys"), 4, "chords", (4, 5), False),
    (("fm piano", "dx7", "dx7 piano", "fm electric piano"), 5, "chords", (5,), False),
    (("keys", "keyboard", "keyboards"), 0, "chords", _KEYS, True),
    (("harpsichord", "cembalo"), 6, "chords", (6,), False),
    (("clavinet", "clav"), 7, "chords", (7,), False),
    (("organ", "organs"), 16, "chords", _ORGANS, True),
    (("hammond", "hammond organ", "b3 organ", "drawbar organ", "jazz organ"), 16, "chords",
     (16, 17), False),
    (("rock organ",), 18, "chords", (18,), False),
    (("church organ", "pipe organ", "cathedral organ"), 19, "pad", (19,), False),
    (("harmonium", "reed organ", "pump organ"), 20, "pad", (20,), False),
    (("accordion", "accordian", "concertina", "squeezebox"), 21, "chords", (21, 23), False),
    (("bandoneon", "tango accordion"), 23, "chords", (23,), False),
    (("harmonica", "blues harp", "mouth organ", "melodica"), 22, "lead", (22,), False),
    # mallets and bells
    (("celesta", "celeste"), 8, "arp", (8,), False),
    (("glockenspiel", "glock", "orchestra bells"), 9, "arp", (9,), False),
    (("music box", "musicbox"), 10, "arp", (10,), False),
    (("vibraphone", "vibes", "vibraharp"), 11, "arp", (11,), False),
    (("marimba",), 12, "arp", (12,), False),
    (("xylophone",), 13, "arp", (13,), False),
    (("tubular bells", "chimes", "church bells", "bells"), 14, "counter", (14, 112), False),
    (("dulcimer", "hammered dulcimer", "santur", "cimbalom"), 15, "arp", (15,), False),
    (("mallets", "mallet percussion"), 12, "arp", _MALLETS, True),
    (("kalimba", "mbira", "thumb piano"), 108, "arp", (108,), False),
    (("steel drums", "steel drum", "steelpan", "steel pan", "steel pans"), 114, "lead", (114,),
     False),
    # strings
    (("strings", "string section", "string ensemble", "string orchestra", "lush strings",
      "string quartet", "orchestral strings", "string stabs", "string arrangement",
      "string textures", "string swells", "string lines", "string parts"), 48, "pad", _STRINGS, True),
    (("slow strings", "legato strings", "sustained strings"), 49, "pad", (48, 49), False),
    (("tremolo strings", "string tremolo"), 44, "pad", (44,), False),
    (("pizzicato", "pizzicato strings", "plucked strings"), 45, "arp", (45,), False),
    (("synth strings", "string synth", "string machine"), 50, "pad", (50, 51), False),
    (("violin", "violins"), 40, "lead", (40,), False),
    (("fiddle", "fiddles"), 110, "lead", (110,), False),
    (("viola", "violas"), 41, "counter", (41,), False),
    (("cello", "cellos", "celli", "violoncello"), 42, "counter", (42,), False),
    (("harp", "harps", "concert harp", "celtic harp", "lyre"), 46, "arp", (46,), False),
    (("erhu",), 110, "lead", (110,), False),
    # voices
    (("choir", "choirs", "chorale", "choral", "voices", "vocal choir", "gospel choir",
      "aahs"), 52, "pad", _CHOIR, False),
    (("voice oohs", "oohs", "humming"), 53, "pad", (53,), False),
    (("synth choir", "synth voice", "vocoder"), 54, "pad", (54, 85, 91), False),
    (("orchestra hit", "orchestra hits", "orchestral hit", "orchestral hits", "orch hit"),
     55, "counter", (55,), False),
    # brass
    (("trumpet", "trumpets", "cornet", "flugelhorn", "mariachi trumpets"), 56, "lead", (56, 59),
     False),
    (("muted trumpet", "harmon mute trumpet"), 59, "lead", (59,), False),
    (("trombone", "trombones"), 57, "counter", (57,), False),
    (("french horn", "french horns", "horn section", "orchestral horns"), 60, "counter", (60,),
     False),
    (("horns", "horn"), 61, "counter", _HORNS, True),
    (("brass", "brass section", "brass band", "big brass"), 61, "counter", _BRASS, True),
    (("synth brass", "brass synth"), 62, "counter", (62, 63), False),
    # reeds and pipes
    (("sax", "saxes", "saxophone", "saxophones"), 65, "lead", _SAXES, True),
    (("alto sax", "alto saxophone"), 65, "lead", (65,), False),
    (("tenor sax", "tenor saxophone"), 66, "lead", (66,), False),
    (("soprano sax", "soprano saxophone"), 64, "lead", (64,), False),
    (("baritone sax", "baritone saxophone", "bari sax"), 67, "counter", (67,), False),
    (("oboe", "oboes"), 68, "lead", (68,), False),
    (("english horn", "cor anglais"), 69, "lead", (69,), False),
    (("bassoon", "bassoons"), 70, "counter", (70,), False),
    (("clarinet", "clarinets", "bass clarinet"), 71, "lead", (71,), False),
    (("piccolo", "piccolos"), 72, "lead", (72,), False),
    (("flute", "flutes", "wooden flute", "bansuri"), 73, "lead", (73,), False),
    (("recorder", "recorders"), 74, "lead", (74,), False),
    (("pan flute", "panflute", "pan pipes", "panpipes", "pan pipe", "zampona"), 75, "lead", (75,),
     False),
    (("shakuhachi",), 77, "lead", (77,), False),
    (("whistle", "tin whistle", "penny whistle", "irish whistle", "whistling"), 78, "lead", (78,),
     False),
    (("ocarina", "ocarinas"), 79, "lead", (79,), False),
    (("woodwinds", "woodwind", "wind section"), 73, "counter", _WOODWINDS, True),
    (("bagpipe", "bagpipes", "pipes", "uilleann pipes"), 109, "lead", (109,), False),
    (("shanai", "shehnai", "duduk"), 111, "lead", (111,), False),
    # synths
    (("synth", "synths", "synthesizer", "synthesizers", "synthesiser", "synthesisers",
      "analog synth", "analogue synth", "moog"), 81, "lead", _SYNTHS, True),
    (("lead synth", "synth lead", "saw lead", "supersaw", "supersaws", "saw synth", "sawtooth"),
     81, "lead", (81,), False),
    (("square lead", "square wave", "chiptune lead", "8-bit lead", "chip lead"), 80, "lead",
     (80,), False),
    (("synth pad", "pad", "pads", "warm pad", "ambient pad", "synth pads", "atmospheric pad"),
     89, "pad", _r(88, 95), False),
    (("polysynth", "poly synth", "synth chords", "synth stabs", "stabs"), 90, "chords", (90,),
     False),
    (("arpeggiator", "synth arp", "arpeggiated synth", "synth arpeggio", "arpeggios"), 81, "arp",
     (81,), False),
    # plucked and world
    (("banjo", "banjos"), 105, "arp", (105,), False),
    (("mandolin", "mandolins", "bouzouki"), 105, "arp", (105,), False),
    (("ukulele", "ukuleles", "uke"), 24, "chords", (24,), False),
    (("sitar", "sitars"), 104, "lead", (104,), False),
    (("koto", "guzheng", "zither"), 107, "arp", (107,), False),
    (("shamisen", "pipa", "oud", "biwa"), 106, "arp", (106,), False),
    (("timpani", "timpanis", "kettle drums", "kettledrums"), 47, "counter", (47,), False),
    # drums: ``program`` is a GM drum kit
    (("drums", "drum", "drum kit", "drumkit", "drum set", "drumset", "percussion", "beat",
      "drum beat", "drumbeat", "groove", "live drums", "acoustic drums", "rhythm section"),
     0, "drums", _DRUMS, True),
    (("drum machine", "electronic drums", "programmed drums", "electronic beat"), 24, "drums",
     _DRUMS, False),
    (("808 drums", "tr-808", "808 kit", "trap drums"), 25, "drums", _DRUMS, False),
    (("brushes", "brush drums", "brushed drums", "brush kit"), 40, "drums", _DRUMS, False),
    (("jazz drums", "jazz kit"), 32, "drums", _DRUMS, False),
    (("orchestral percussion", "taiko", "taiko drums", "war drums", "epic drums",
      "cinematic drums"), 48, "drums", _DRUMS, False),
    (("congas", "conga", "bongos", "bongo", "claves", "clave", "shaker", "shakers", "tambourine",
      "cowbell", "hand claps", "handclaps", "claps", "cajon", "tabla", "djembe", "hand drums",
      "hand percussion", "woodblock", "agogo", "guiro", "maracas"), 0, "drums", _DRUMS, False),
)


@dataclass(frozen=True)
class Instrument:
    """One instrument word's meaning.

    Attributes
    ----------
    name : the word's canonical phrase (the first spelling in the lexicon).
    program : GM program 0-127; for the ``drums`` role, a GM drum-kit number.
    role : the arrangement role it takes (one of :data:`ROLES`).
    family : programs ruled out when the word is negated ("no guitar" -> 24-31).
    generic : the word names a family; the planner prefers the genre's own member.
    """

    name: str
    program: int
    role: str
    family: tuple[int, ...]
    generic: bool = False


@dataclass(frozen=True)
class InstrumentMatch:
    """An instrument phrase found in a text; ``start``/``end`` are character offsets."""

    phrase: str
    start: int
    end: int
    instrument: Instrument


def _variants(phrase: str) -> set[str]:
    out = {phrase, phrase.replace("-", " ")}
    if not phrase.endswith("s") and not phrase[-1].isdigit():
        out |= {v + "s" for v in list(out)}
    return out


@functools.cache
def lexicon() -> dict[str, Instrument]:
    """Every known phrase (lower-case, plurals and spelling variants included) -> Instrument."""
    table: dict[str, Instrument] = {}
    for phrases, program, role, family, generic in _ENTRIES:
        fam = family if family is not None else (program,)
        inst = Instrument(phrases[0], program, role, fam if role != "drums" else (), generic)
        for phrase in phrases:
            for variant in _variants(phrase):
                table.setdefault(variant, inst)
    return table


@functools.cache
def _pattern() -> re.Pattern[str]:
    phrases = sorted(lexicon(), key=len, reverse=True)
    alternation = "|".join(re.escape(p).replace(r"\ ", r"[\s-]+") for p in phrases)
    # "synth-pop", "hip-hop" are genres, not instruments
    return re.compile(rf"(?<![\w-])({alternation})(?![\w]|-(?:pop|rock|wave|punk|hop|core))")


def lookup(phrase: str) -> Instrument | None:
    """The instrument a phrase names (case-insensitive), or ``None``."""
    key = re.sub(r"\s+", " ", phrase.strip().lower())
    return lexicon().get(key)


def find_instruments(text: str) -> list[InstrumentMatch]:
    """Instrument phrases in ``text``, longest match first at each place, in text order.

    Parameters
    ----------
    text : any prompt; matching is case-insensitive and on whole words.

    Returns
    -------
    list of InstrumentMatch
        Non-overlapping matches in order of appearance.
    """
    lowered = text.lower()
    out = []
    for m in _pattern().finditer(lowered):
        phrase = re.sub(r"[\s-]+", " ", m.group(1))
        inst = lexicon().get(phrase) or lexicon()[m.group(1)]
        out.append(InstrumentMatch(m.group(1), m.start(1), m.end(1), inst))
    return out
