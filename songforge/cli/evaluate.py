"""``songforge eval``: objective measurements of a song file, against its plan when given.

With ``--vocals`` (the vocal stem), ``--midi`` (the score) and ``--timings`` (the JSON word
timings) it adds the vocal metrics: per-note pitch error, the share of voiced frames within
50 cents, Whisper-base word (or character) error rate on the vocal and on the full mix, and the
word-onset error. Exported vocal stems are mixed (EQ, compression, reverb), which slightly widens
the pitch spread; ``bench/vocals.py`` measures the dry vocal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from songforge.cli.common import fail_cleanly
from songforge.errors import InvalidRequest

__all__ = ["evaluate", "vocal_report"]


def evaluate(
    file: Annotated[Path, typer.Argument(help="Audio file to measure (wav, mp3, flac).")],
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan JSON written by generate --plan.")] = None,
    spectrogram: Annotated[Path | None, typer.Option("--spectrogram", help="Write a spectrogram PNG.")] = None,
    vocals: Annotated[Path | None, typer.Option("--vocals", help="Vocal stem (stems/vocals.wav).")] = None,
    midi: Annotated[Path | None, typer.Option("--midi", help="MIDI file written by generate --midi.")] = None,
    timings: Annotated[Path | None, typer.Option("--timings", help="JSON timings written by generate --timings.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Loudness, true peak, clipping, DC offset, duration, tempo and key (vs the plan); vocal metrics."""
    from songforge.engine.evaluate import evaluate_file

    with fail_cleanly():
        plan_data = json.loads(plan.read_text()) if plan else None
        report = evaluate_file(file, plan=plan_data, spectrogram_png=spectrogram)
        if vocals or midi or timings:
            report.update(vocal_report(file, vocals=vocals, midi=midi, timings=timings))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    table = Table(title=str(file))
    table.add_column("measure")
    table.add_column("value")
    for key, value in report.items():
        if isinstance(value, list | dict):
            continue
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)


def vocal_report(mix: Path, *, vocals: Path | None, midi: Path | None, timings: Path | None) -> dict[str, Any]:
    """Vocal metrics of a song from its files (all three of vocals, midi and timings are needed)."""
    from songforge.engine.encode import decode
    from songforge.engine.score import Note
    from songforge.engine.vocal_metrics import intelligibility, onset_errors_s, pitch_accuracy

    if not (vocals and midi and timings):
        raise InvalidRequest("vocal metrics need --vocals, --midi and --timings together", field="vocals")
    import numpy as np
    import pretty_midi

    voice, rate = decode(vocals)
    full, full_rate = decode(mix)
    track = [i for i in pretty_midi.PrettyMIDI(str(midi)).instruments if i.name == "vocals"]
    if not track:
        raise InvalidRequest(f"{midi} has no 'vocals' part", field="midi")
    notes = [Note(n.pitch, n.start, n.end - n.start) for n in track[0].notes]  # beats = seconds at 60 BPM
    lines = json.loads(timings.read_text())["lines"]
    texts = [line["text"] for line in lines]
    language = "zh" if any("\u4e00" <= ch <= "\u9fff" for text in texts for ch in text) else "en"
    pitch = pitch_accuracy(voice, sample_rate_hz=rate, notes=notes, tempo_bpm=60.0)
    spans_s = [(line["start_s"], line["end_s"]) for line in lines]
    dry = intelligibility(voice, sample_rate_hz=rate, lyrics=texts, language=language, spans_s=spans_s)
    wet = intelligibility(full, sample_rate_hz=full_rate, lyrics=texts, language=language, spans_s=spans_s)
    planned = [(w["word"], w["start_s"]) for line in lines for w in line["words"]]
    onsets = onset_errors_s(planned, dry["words"])  # type: ignore[arg-type]
    return {
        "vocal_note_error_cents_median": pitch.median_abs_cents,
        "vocal_frames_within_50_cents": pitch.within_50_share,
        f"vocal_{dry['metric']}": dry["error_rate"],
        f"mix_{wet['metric']}": wet["error_rate"],
        "word_onset_error_ms_median": 1000.0 * float(np.median(onsets)) if onsets else float("nan"),
        "transcript": dry["transcript"],
    }
