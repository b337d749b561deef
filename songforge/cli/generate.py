"""``songforge generate``: make a song from a prompt and write it, with optional exports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from songforge.cli.common import console, fail_cleanly, stage_progress
from songforge.errors import InvalidRequest

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
    lyrics: Annotated[str | None, typer.Option("--lyrics", help="Lyrics file with [Verse]/[Chorus] tags, or - for stdin.")] = None,
    gender: Annotated[str | None, typer.Option("--gender", help="Singer: female or male.")] = None,
    instrumental: Annotated[bool, typer.Option("--instrumental", help="No vocals.")] = False,
    timings: Annotated[Path | None, typer.Option("--timings", help="Write word timings (.lrc or .json).")] = None,
    preset: Annotated[str, typer.Option("--preset", help="Engine preset: default or tiny.")] = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    server: Annotated[str | None, typer.Option("--server", help="Make it on this songforge server (URL).")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="SONGFORGE_API_KEY", help="Key for --server.")] = None,
) -> None:
    """Generate a song from PROMPT and write it to -o (here, or on --server).

    The song is sung: to --lyrics when given, else to lyrics written for the prompt; --instrumental
    makes it an instrumental.
    """
    if server:
        with fail_cleanly():
            lyrics_text = _read_lyrics(lyrics)
        fields = dict(
            lyrics=lyrics_text, instrumental=instrumental, gender=gender,
            duration_s=duration, seed=seed, format=format or _format_from_suffix(output), sample_rate_hz=sample_rate,
            bitrate_kbps=bitrate, channels=channels, stems=stems is not None, midi=midi is not None,
            timings=timings is not None,
        )
        exports = {"stems": stems, "midi": midi, "plan": plan, "timings": timings}
        _generate_on_server(server, api_key, prompt, fields, output=output, exports=exports, quiet=quiet)
        return
    from songforge.engine.song import make_song, write_exports
    from songforge.models import SongRequest

    with fail_cleanly():
        lyrics_text = _read_lyrics(lyrics)
        request = SongRequest(
            prompt=prompt, lyrics=lyrics_text, instrumental=instrumental,
            gender=gender, duration_s=duration, seed=seed,
            format=format or _format_from_suffix(output), sample_rate_hz=sample_rate,
            bitrate_kbps=bitrate, channels=channels,
        )
        with stage_progress(enabled=not quiet) as on_progress:
            result = make_song(request, preset=preset, on_progress=on_progress)  # type: ignore[arg-type]
        from songforge.storage.atomic import atomic_write_bytes

        atomic_write_bytes(output, result.encoded)
        write_exports(result, stems_dir=stems, midi_path=midi, plan_path=plan, timings_path=timings)
    p = result.plan
    console.print(
        f"[green]wrote[/] {output} ({result.duration_s:.1f} s, {p.genre}, "
        f"{p.tempo_bpm:.0f} BPM, {result.score.key_name}, seed {result.seed}) "
        f"in {result.timings_s['total']:.1f} s"
    )


def _read_lyrics(source: str | None) -> str | None:
    """The lyric sheet from a file path, or from standard input for ``-``."""
    if source is None:
        return None
    if source == "-":
        return sys.stdin.read()
    # open() rather than is_file(): a pipe (``--lyrics <(...)``, /dev/stdin, a FIFO) is readable
    # but not a regular file, and it can be read only once
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InvalidRequest(f"lyrics file {source} does not exist", field="lyrics", limit="an existing file") from None
    except IsADirectoryError:
        raise InvalidRequest(f"lyrics file {source} is a directory", field="lyrics", limit="a readable file") from None
    except PermissionError:
        raise InvalidRequest(f"lyrics file {source} is not readable", field="lyrics", limit="a readable file") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"lyrics file {source} is not UTF-8 text", field="lyrics", limit="UTF-8 text") from None


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"raw": "pcm", "wave": "wav"}.get(suffix, suffix or "mp3")


def _generate_on_server(
    server: str, api_key: str | None, prompt: str, fields: dict[str, Any], *, output: Path,
    exports: dict[str, Path | None], quiet: bool,
) -> None:
    """Submit to the server, follow its events, download the song and the asked-for exports."""
    from songforge.client import Client

    with fail_cleanly(), Client(server, api_key=api_key) as client:
        [job] = client.submit(prompt, **fields)
        with stage_progress(enabled=not quiet) as on_progress:
            for event in client.events(job["id"]):
                if event.event == "progress" and event.data.get("stage"):
                    on_progress(event.data["stage"], event.data["progress_pct"] / 100)  # type: ignore[operator]
        view = client.get(job["id"])
        client.download(view, output)
        result = view["result"]
        for path, url in _export_links(result, **exports):
            client.download(view, path, url=url)
    console.print(
        f"[green]wrote[/] {output} ({result['duration_s']:.1f} s, seed {result['seed']}) from {server}, job {job['id']}"
    )


def _export_links(
    result: dict[str, Any], *, stems: Path | None, midi: Path | None, plan: Path | None, timings: Path | None
) -> list[tuple[Path, str]]:
    """(local path, signed URL) of each export asked for that the server delivered."""
    links = [(midi, result.get("midi_url")), (plan, result.get("plan_url"))]
    if timings is not None and result.get("timings"):
        kind = "lrc_url" if timings.suffix.lower() == ".lrc" else "json_url"
        links.append((timings, result["timings"][kind]))
    if stems is not None:
        links += [(stems / f"{name}.wav", url) for name, url in (result.get("stems") or {}).items()]
    return [(path, url) for path, url in links if path is not None and url]
