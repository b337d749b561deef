"""SoundFont registry and engine presets.

A *SoundFont name* is one of :data:`SOUNDFONTS` (``"fluidr3"``, ``"timgm6mb"``, ``"musescore"``) or a
path to an ``.sf2`` / ``.sf3`` file. :func:`soundfont_path` finds the file, looking in the
directories named by ``SONGFORGE_SOUNDFONT_DIR`` (``os.pathsep``-separated) before the Debian
locations, and raises :class:`~songforge.errors.MissingDependency` with the package to install.

A :class:`Preset` bundles the engine settings that trade quality for speed; ``"tiny"`` is what tests
and CI use (the 6 MB TimGM6mb SoundFont and a short song).

Example
-------
>>> get_preset("tiny").soundfont
'timgm6mb'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from songforge.errors import InvalidRequest, MissingDependency

__all__ = [
    "SoundFontInfo",
    "SOUNDFONTS",
    "DEFAULT_SOUNDFONT",
    "soundfont_path",
    "Preset",
    "PRESETS",
    "get_preset",
]

SOUNDFONT_DIR_ENV = "SONGFORGE_SOUNDFONT_DIR"
_SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
)


@dataclass(frozen=True)
class SoundFontInfo:
    """A known General MIDI SoundFont: its file name and the Debian package that ships it."""

    name: str
    filename: str
    apt_package: str
    description: str


SOUNDFONTS: dict[str, SoundFontInfo] = {
    "fluidr3": SoundFontInfo(
        "fluidr3", "FluidR3_GM.sf2", "fluid-soundfont-gm", "148 MB; fuller, wider; default"
    ),
    "timgm6mb": SoundFontInfo(
        "timgm6mb", "TimGM6mb.sf2", "timgm6mb-soundfont", "6 MB; thin; tests and CI"
    ),
    "musescore": SoundFontInfo(
        "musescore",
        "MuseScore_General.sf3",
        "musescore-general-soundfont",
        "86 MB; brightest; slow to load",
    ),
}
DEFAULT_SOUNDFONT = "fluidr3"


def _search_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(SOUNDFONT_DIR_ENV, "").split(os.pathsep) if p]
    return [*extra, *_SYSTEM_DIRS]


def soundfont_path(name: str | os.PathLike[str] = DEFAULT_SOUNDFONT) -> Path:
    """Resolve a SoundFont name or path to an existing file.

    Parameters
    ----------
    name : a key of :data:`SOUNDFONTS` (case-insensitive) or a path to an ``.sf2``/``.sf3`` file.

    Returns
    -------
    Path of the SoundFont file.

    Raises
    ------
    MissingDependency
        The file is not installed (the message names the apt package).
    """
    key = str(name).lower()
    info = SOUNDFONTS.get(key)
    if info is None:
        path = Path(name).expanduser()
        if path.is_file():
            return path
        known = ", ".join(SOUNDFONTS)
        raise MissingDependency(
            f"SoundFont {str(name)!r} not found: give a file path or one of: {known}"
        )
    for directory in _search_dirs():
        candidate = directory / info.filename
        if candidate.is_file():
            return candidate
    raise MissingDependency(
        f"SoundFont {info.filename} ({info.name}) is not installed: apt-get install {info.apt_package} "
        f"(or put it in a directory named by {SOUNDFONT_DIR_ENV})"
    )


@dataclass(frozen=True)
class Preset:
    """Engine settings chosen together.

    Parameters
    ----------
    name : preset name.
    soundfont : SoundFont name or path for :func:`soundfont_path`.
    mp3_quality : LAME quality 0 (best, slowest) - 9 (fastest); 5-7 is transparent enough at 192+ kbps
        (7 encodes 3 minutes in ~1.0 s of CPU, 5 in ~1.8 s).
    default_duration_s : song length when the request gives none (``None`` = the planner decides).
    max_form_sections : most sections a planned form may have.
    sample_rate_hz : internal render / mix rate.
    render_tail_s : seconds rendered past the form for release tails.
    """

    name: str
    soundfont: str = DEFAULT_SOUNDFONT
    mp3_quality: int = 7
    default_duration_s: float | None = None
    max_form_sections: int = 16
    sample_rate_hz: int = 48000
    render_tail_s: float = 2.0


PRESETS: dict[str, Preset] = {
    "default": Preset("default"),
    "tiny": Preset(
        "tiny",
        soundfont="timgm6mb",
        mp3_quality=7,
        default_duration_s=12.0,
        max_form_sections=3,
        render_tail_s=1.0,
    ),
}


def get_preset(name: str = "default") -> Preset:
    """The preset called ``name``; :class:`~songforge.errors.InvalidRequest` if unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        allowed = ", ".join(PRESETS)
        raise InvalidRequest(
            f"unknown preset {name!r}; use one of: {allowed}", field="preset", limit=allowed
        ) from None
