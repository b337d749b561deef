"""Genre presets, kept as TOML data files beside this module (one file per genre).

Schema of a style file (every key is required unless marked optional)::

    name = "pop"                      # file stem, lower-case
    label = "Pop"                     # display name (MiniMax style tags)
    description = "pop: ..."          # one sentence starting with the genre name (for embeddings)
    keywords = ["pop", "radio pop"]   # words/phrases that select this genre in a prompt
    tempo_bpm = [96, 126]             # felt-beat range (dotted quarters in 6/8)
    meters = [[4, 4]]                 # [numerator, denominator]; the first is the usual one
    minor_probability = 0.3           # chance of minor when the mood does not decide
    energy = 0.7                      # 0-1 baseline energy
    swing = 0.0                       # 0 straight .. 0.33 full triplet swing of off-beats
    humanize_ms = 8                   # timing jitter (standard deviation, ms)
    vocal_gender = "female"           # default singer when the request does not say

    [progressions]                    # Roman numerals; one chord per bar unless a chord is
    major.verse = [["I","V","vi","IV"]]   # followed by ":N" beats (e.g. "V:2")
    major.chorus = [...]              # keys: intro verse pre_chorus chorus bridge outro (others
    minor.verse = [["i","VI","III","VII"]]  # fall back to verse); grammar of one chord:
                                      # [b|#]NUMERAL[o|+][7|maj7|9|sus2|sus4|add9|6][/[b|#]NUMERAL]

    [drums]                           # step grids, one step = a 16th note: 16 steps per bar in
                                      # 4/4, 12 in 3/4 and 6/8 (see [drums_triple]), 24 in 12/8
    kit = 0                           # GM drum kit program
    [drums.verse]                     # one table per section kind (others fall back to verse);
    kick = "x-------x-o-----"         # x = accent, o = normal, . = ghost, - = rest
    snare = "----x-------x---"        # lane names: kick snare rim clap hat open_hat ride
    hat = "o-o-o-o-o-o-o-o-"          # crash tom_hi tom_mid tom_lo shaker tambourine cowbell

    [drums_triple]                    # optional: 12-step grids (3/4 and 6/8 bars in 16ths),
    [drums_triple.verse]              # same section keys and lanes as [drums]; styles that
    kick = "x-----------"             # list a 3/4 or 6/8 meter give one

    [bass]
    patterns = ["R-------R---5---"]   # steps: R root, 3 third, 5 fifth, 8 octave, 7 seventh,
                                      # a approach note to the next chord, - hold/rest
    patterns_triple = ["R-----5-----"]  # optional: 12-step patterns for 3/4 and 6/8
    [instruments]                     # GM programs per role, first = default
    lead = [80]                       # roles: lead chords pad bass arp counter (may be empty)
    ...

    [mix]                             # optional numbers for the mixer
    reverb_room = 0.3                 # 0-1
    drive_db = 0.0                    # saturation on the bus
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Style", "load_style", "style_names", "all_styles", "steps_for_meter", "DRUM_LANES"]

_DIR = Path(__file__).parent

DRUM_LANES = {
    "kick": 36,
    "snare": 38,
    "rim": 37,
    "clap": 39,
    "hat": 42,
    "pedal_hat": 44,
    "open_hat": 46,
    "ride": 51,
    "crash": 49,
    "tom_hi": 50,
    "tom_mid": 47,
    "tom_lo": 45,
    "shaker": 70,
    "tambourine": 54,
    "cowbell": 56,
    "conga_hi": 62,
    "conga_lo": 64,
    "bongo_hi": 60,
    "bongo_lo": 61,
    "claves": 75,
    "guiro": 73,
    "cabasa": 69,
}
"""Drum lane name -> General MIDI percussion key."""


@dataclass(frozen=True)
class Style:
    """A genre preset read from ``styles/<name>.toml``; see the module docstring for fields."""

    name: str
    label: str
    description: str
    keywords: tuple[str, ...]
    tempo_bpm: tuple[float, float]
    meters: tuple[tuple[int, int], ...]
    minor_probability: float
    energy: float
    swing: float
    humanize_ms: float
    vocal_gender: str
    progressions: dict[str, dict[str, list[list[str]]]]
    drums: dict[str, Any]
    bass: dict[str, Any]
    instruments: dict[str, list[int]]
    mix: dict[str, float] = field(default_factory=dict)
    drums_triple: dict[str, Any] = field(default_factory=dict)
    bass_triple: list[str] = field(default_factory=list)

    def progressions_for(self, mode: str, section_kind: str) -> list[list[str]]:
        """Progressions for ``mode`` ("major"/"minor") and a section kind, falling back to verse."""
        table = self.progressions.get(mode) or self.progressions["major"]
        return table.get(section_kind) or table["verse"]

    def drum_pattern(self, section_kind: str) -> dict[str, str]:
        """Drum lanes -> step strings for a section kind, falling back to verse."""
        pattern = self.drums.get(section_kind) or self.drums["verse"]
        return dict(pattern)

    @property
    def steps_per_bar(self) -> int:
        return len(next(iter(self.drum_pattern("verse").values())))

    def drum_pattern_for(self, meter: tuple[int, int], section_kind: str) -> dict[str, str]:
        """Drum lanes -> step strings (one step = a 16th note) sized for one bar of ``meter``.

        Triple bars (3/4, 6/8: 12 steps) use ``[drums_triple]`` when the style has it, else the
        first 12 steps of the 4/4 grid; 12/8 bars (24 steps) play the 12-step grid twice. Other
        meters cut or repeat the 4/4 grid to ``16 * num / den`` steps.
        """
        steps = steps_for_meter(meter)
        if steps % 12 == 0 and steps % 16 != 0 and self.drums_triple:
            table = self.drums_triple
            pattern = table.get(section_kind) or table.get("verse") or self.drum_pattern(section_kind)
        else:
            pattern = self.drum_pattern(section_kind)
        return {lane: _fit_steps(grid, steps) for lane, grid in pattern.items()}

    def bass_patterns_for(self, meter: tuple[int, int]) -> list[str]:
        """Bass step patterns sized for one bar of ``meter`` (same rules as ``drum_pattern_for``)."""
        steps = steps_for_meter(meter)
        if steps % 12 == 0 and steps % 16 != 0 and self.bass_triple:
            patterns = self.bass_triple
        else:
            patterns = list(self.bass["patterns"])
        return [_fit_steps(p, steps) for p in patterns]


def steps_for_meter(meter: tuple[int, int]) -> int:
    """Sixteenth-note steps in one bar: 4/4 -> 16, 3/4 and 6/8 -> 12, 12/8 -> 24."""
    num, den = meter
    return max(1, round(16 * num / den))


def _fit_steps(grid: str, steps: int) -> str:
    """Cut a step string to ``steps`` or repeat it until it is that long."""
    if len(grid) >= steps:
        return grid[:steps]
    return (grid * (steps // len(grid) + 1))[:steps]


def _from_toml(data: dict[str, Any]) -> Style:
    return Style(
        name=data["name"],
        label=data["label"],
        description=data["description"],
        keywords=tuple(data["keywords"]),
        tempo_bpm=(float(data["tempo_bpm"][0]), float(data["tempo_bpm"][1])),
        meters=tuple((int(m[0]), int(m[1])) for m in data["meters"]),
        minor_probability=float(data["minor_probability"]),
        energy=float(data["energy"]),
        swing=float(data.get("swing", 0.0)),
        humanize_ms=float(data.get("humanize_ms", 8.0)),
        vocal_gender=data.get("vocal_gender", "female"),
        progressions=data["progressions"],
        drums=data["drums"],
        bass=data["bass"],
        instruments={k: list(v) for k, v in data["instruments"].items()},
        mix=dict(data.get("mix", {})),
        drums_triple=dict(data.get("drums_triple", {})),
        bass_triple=list(data["bass"].get("patterns_triple", [])),
    )


@functools.cache
def load_style(name: str) -> Style:
    """Load the style called ``name``; ``KeyError`` names the known styles if there is none."""
    path = _DIR / f"{name}.toml"
    if not path.is_file():
        raise KeyError(f"unknown style {name!r}; known: {', '.join(style_names())}")
    with path.open("rb") as fh:
        return _from_toml(tomllib.load(fh))


def style_names() -> list[str]:
    """Names of every shipped style, sorted."""
    return sorted(p.stem for p in _DIR.glob("*.toml"))


def all_styles() -> list[Style]:
    return [load_style(n) for n in style_names()]
