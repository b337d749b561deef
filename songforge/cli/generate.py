"""``songforge generate``: make a song from a prompt and write it, with optional exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from songforge.cli.common import console, fail_cleanly, stage_progress

__all__ = ["generate"]


def generate(
    prompt: Annotated[str, typer.Argument(help="What the song should be: genre, mood, instruments, tempo, key.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file.")] = Path("song.mp3"),
    duration: Annotated[float | None, typer.Option("--duration", help="Length in seconds (10-480).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed; the same seed gives the same song.")] = None,
    format: Annotated[str | None, typer.Option("--format", help="mp3, wav, flac or pcm (default: from -o).")] = None,
    sample_rate: Annotated[int, typer.Option("--sample-rate", help="Hz: 16000/24000/32000/44100/48000.")] = 48000,
    bitrate: Annotated[int, typer.Option("--bitrate", help="MP3 bitrate in kbps (32-320).")] = 256,
    channels: Annotated[int, typer.Option("--channels", help="1 (mono) or 2 (stereo).")] = 2,
    stems: Annotated[Path | None, typer.Option("--stems", help="Folder for one WAV per stem.")] = None,
    midi: Annotated[Path | None, typer.Option("--midi", help="Write the score as a MIDI file.")] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="Write the plan as JSON.")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Engine preset: default or tiny.")] = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Generate an instrumental song from PROMPT and write it to -o."""
    from songforge.engine.song import make_song, write_exports
    from songforge.models import SongRequest

    with fail_cleanly():
        request = SongRequest(
            prompt=prompt, instrumental=True, duration_s=duration, seed=seed,
            format=format or _format_from_suffix(output), sample_rate_hz=sample_rate,
            bitrate_kbps=bitrate, channels=channels,
        )
        with stage_progress(enabled=not quiet) as on_progress:
            result = make_song(request, preset=preset, on_progress=on_progress)  # type: ignore[arg-type]
        from songforge.storage.atomic import atomic_write_bytes

        atomic_write_bytes(output, result.encoded)
        write_exports(result, stems_dir=stems, midi_path=midi, plan_path=plan)
    p = result.plan
    console.print(
        f"[green]wrote[/] {output} ({result.duration_s:.1f} s, {p.genre}, "
        f"{p.tempo_bpm:.0f} BPM, {result.score.key_name}, seed {result.seed}) "
        f"in {result.timings_s['total']:.1f} s"
    )


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"raw": "pcm", "wave": "wav"}.get(suffix, suffix or "mp3")
