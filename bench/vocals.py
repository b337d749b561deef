"""Vocal benchmark: pitch accuracy, intelligibility, timing and speed of sung songs.

Usage: `python bench/vocals.py [--preset default|tiny] [--sheets N] [--genders female,male]
[--no-english|--no-chinese] [--part k/n --rows rows.jsonl] [--seed-offset N]`; `--report a.jsonl
b.jsonl` prints the table of parallel parts. `--seed-offset N` shifts every song's seed by N (recorded in
each row as "seed"), so the same sheets can be measured over several seeds.
For each lyric sheet of songforge.evalsets (10 English, 11 Chinese) and each gender, makes the song
and measures on the dry lead vocal: per-note pitch error (median |cents|), the share of voiced
frames within 50 cents, Whisper-base word error rate (CER for Chinese) on the dry vocal and on the
full mix (transcribed per sung line span, `asr.transcribe_spans`), and the median word-onset error against our timings; plus seconds of vocal compute per
second of song. Prints a table and per-gender summaries (error rates weighted by reference words).
For Chinese sheets the "speech" column is the floor: the same lines spoken unsung by the Mandarin
source in the row's voice at the model's own rate (the singer uses its speech slowed x1.3; the
model's female voice; male: F0 and formants lowered through WORLD), Whisper-base CER per line span.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from songforge.engine.lyrics import parse_lyrics
from songforge.engine.song import make_song
from songforge.engine.vocal_metrics import intelligibility, onset_errors_s, pitch_accuracy
from songforge.evalsets import LYRIC_SHEETS_EN, LYRIC_SHEETS_ZH
from songforge.models import SongRequest


def _row(genre: str, sheet: str, *, gender: str, language: str, preset: str, seed: int) -> dict[str, float | str]:
    song = make_song(SongRequest(prompt=f"{genre} song", lyrics=sheet, gender=gender, seed=seed, format="wav"),
                     preset=preset)
    lines = parse_lyrics(sheet).lines
    assert song.dry_vocals is not None and song.lines is not None
    notes = song.score.part("vocals").notes
    pitch = pitch_accuracy(song.dry_vocals, sample_rate_hz=song.sample_rate_hz, notes=notes,
                           tempo_bpm=song.score.tempo_bpm)
    spans = [(line.start_s, line.end_s) for line in song.lines]  # sung lines only, see intelligibility
    dry = intelligibility(song.dry_vocals, sample_rate_hz=song.sample_rate_hz, lyrics=lines, language=language,
                          spans_s=spans)
    mix = intelligibility(song.audio, sample_rate_hz=song.sample_rate_hz, lyrics=lines, language=language,
                          spans_s=spans)
    planned = [(w.word, w.start_s) for line in song.lines for w in line.words]
    onsets = onset_errors_s(planned, dry["words"])  # type: ignore[arg-type]
    n_ref = sum(len(line.split()) for line in lines) if language == "en" else sum(len(line) for line in lines)
    floor = _speech_floor(lines, gender=gender) if language == "zh" else float("nan")
    return {
        "sheet": f"{language}:{genre}", "gender": gender, "seed": seed, "notes": len(notes),
        "cents": pitch.median_abs_cents, "within50": pitch.within_50_share,
        "err_speech": floor, "err_dry": float(dry["error_rate"]), "err_mix": float(mix["error_rate"]), "metric": str(dry["metric"]),
        "onset_ms": 1000 * float(np.median(onsets)) if onsets else float("nan"), "n_ref": n_ref,
        "vocal_s_per_s": song.timings_s["vocals"] / song.duration_s, "song_s": song.duration_s,
        "total_s": song.timings_s["total"],
        "reference": "\n".join(lines), "heard_dry": str(dry["transcript"]), "heard_mix": str(mix["transcript"]),
    }


def _speech_floor(lines: list[str], *, gender: str) -> float:
    """Whisper-base CER of the lines spoken (not sung) by the Mandarin source, 0.4 s apart."""
    from songforge.engine.voice.mandarin import speak_mandarin

    spoken = speak_mandarin(lines, gender=gender)
    rate = spoken[0].sample_rate_hz
    gap = np.zeros(int(0.4 * rate), np.float32)
    audio, spans, pos = [gap], [], len(gap)
    for line in spoken:
        assert line.audio is not None
        audio.extend([line.audio, gap])
        spans.append((pos / rate, (pos + len(line.audio)) / rate))
        pos += len(line.audio) + len(gap)
    return float(intelligibility(np.concatenate(audio), sample_rate_hz=rate, lyrics=lines, language="zh",
                                 spans_s=spans)["error_rate"])


def _summary(rows: list[dict], *, gender: str, metric: str) -> str:
    sel = [r for r in rows if r["gender"] == gender and r["metric"] == metric]
    if not sel:
        return ""
    words = sum(r["n_ref"] for r in sel)
    dry = sum(r["err_dry"] * r["n_ref"] for r in sel) / words
    mix = sum(r["err_mix"] * r["n_ref"] for r in sel) / words
    floor = sum(r["err_speech"] * r["n_ref"] for r in sel) / words
    return (f"{gender} {metric.upper()} over {len(sel)} sheets ({words} ref units): dry {dry:.3f}, mix {mix:.3f}"
            + (f", unsung speech {floor:.3f}; " if metric == "cer" else "; ") +
            f"median |cents| {np.median([r['cents'] for r in sel]):.2f} (worst sheet {max(r['cents'] for r in sel):.2f}), "
            f"within 50 c {min(r['within50'] for r in sel):.3f}..{max(r['within50'] for r in sel):.3f}, "
            f"vocals {np.mean([r['vocal_s_per_s'] for r in sel]):.3f} s/s")


def song_jobs(args: argparse.Namespace) -> list[tuple[str, int, tuple[str, str, str]]]:
    """Every song of the run as (gender, seed, (genre, sheet, language)); seed = 20 + sheet index + offset."""
    jobs = [] if args.no_english else [(g, s, "en") for g, s in LYRIC_SHEETS_EN[: args.sheets]]
    jobs += [] if args.no_chinese else [(g, s, "zh") for g, s in LYRIC_SHEETS_ZH]
    return [(gender, 20 + i + args.seed_offset, job) for gender in args.genders.split(",")
            for i, job in enumerate(jobs)]


def build_parser() -> argparse.ArgumentParser:
    """The command line of the bench (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--sheets", type=int, default=len(LYRIC_SHEETS_EN))
    parser.add_argument("--genders", default="female,male")
    parser.add_argument("--no-chinese", action="store_true")
    parser.add_argument("--no-english", action="store_true")
    parser.add_argument("--part", default="0/1", help="k/n: run every n-th song from the k-th (parallel runs)")
    parser.add_argument("--rows", help="append each row as a JSON line to this file")
    parser.add_argument("--report", nargs="+", help="only print the table of these --rows files")
    parser.add_argument("--seed-offset", type=int, default=0, help="added to every song's seed (default 0)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.report:
        rows = [json.loads(line) for path in args.report for line in Path(path).read_text().splitlines()]
        _print(rows, title=f"vocals: preset {args.preset}", genders=list(dict.fromkeys(r["gender"] for r in rows)))
        return
    k, n = (int(x) for x in args.part.split("/"))
    rows = []
    for gender, seed, (genre, sheet, lang) in song_jobs(args)[k::n]:
        rows.append(_row(genre, sheet, gender=gender, language=lang, preset=args.preset, seed=seed))
        if args.rows:
            with open(args.rows, "a", encoding="utf-8") as out:
                out.write(json.dumps(rows[-1]) + "\n")
    _print(rows, title=f"vocals: preset {args.preset}", genders=args.genders.split(","))


def _print(rows: list[dict], *, title: str, genders: list[str]) -> None:
    table = Table(title=title)
    for col in ("sheet", "gender", "notes", "|cents|", "<=50c", "speech", "err dry", "err mix", "metric", "onset ms",
                "vocal s/s", "song s", "total s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["sheet"], r["gender"], str(r["notes"]), f"{r['cents']:.2f}", f"{r['within50']:.3f}",
                      f"{r['err_speech']:.3f}", f"{r['err_dry']:.3f}", f"{r['err_mix']:.3f}", r["metric"], f"{r['onset_ms']:.0f}",
                      f"{r['vocal_s_per_s']:.3f}", f"{r['song_s']:.1f}", f"{r['total_s']:.1f}")
    console = Console(width=160)
    console.print(table)
    for gender in genders:
        for metric in ("wer", "cer"):
            line = _summary(rows, gender=gender, metric=metric)
            if line:
                console.print(line)


if __name__ == "__main__":
    main()
