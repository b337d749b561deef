"""The command line: a real song to a file, exports, clear errors on bad input, doctor."""

from __future__ import annotations

import json

import pytest
import soundfile as sf
from typer.testing import CliRunner

from songforge.cli.app import app

runner = CliRunner()


def test_generate_writes_song_and_exports(tmp_path):
    out = tmp_path / "song.flac"
    result = runner.invoke(app, [
        "generate", "calm jazz waltz with piano", "-o", str(out), "--duration", "12", "--seed", "9", "--instrumental",
        "--preset", "tiny", "--quiet", "--stems", str(tmp_path / "stems"), "--midi", str(tmp_path / "s.mid"),
        "--plan", str(tmp_path / "plan.json"), "--sample-rate", "44100",
    ])
    assert result.exit_code == 0, result.output
    info = sf.info(str(out))
    assert info.format == "FLAC" and info.samplerate == 44100 and info.duration >= 12.0
    assert list((tmp_path / "stems").glob("*.wav"))
    assert json.loads((tmp_path / "plan.json").read_text())["genre"] == "jazz"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["", "-o", "x.mp3"], "prompt is empty"),
        (["pop", "-o", "x.mp3", "--duration", "5"], "10-480 s"),
        (["pop", "-o", "x.ogg"], "mp3, wav, flac, pcm"),
        (["pop", "-o", "x.wav", "--sample-rate", "22050"], "16000"),
        (["pop", "-o", "x.mp3", "--bitrate", "999"], "32-320 kbps"),
    ],
)
def test_bad_input_fails_with_the_limit(args, words, tmp_path):
    result = runner.invoke(app, ["generate", *args, "--quiet"])
    assert result.exit_code == 2
    assert words in " ".join(result.output.split())


def test_doctor_lists_the_system_parts():
    result = runner.invoke(app, ["doctor"])
    assert "FluidR3_GM SoundFont" in result.output
    assert result.exit_code == 0, result.output  # make setup installs every required part


def test_eval_reports_on_a_file(tmp_path):
    out = tmp_path / "s.wav"
    runner.invoke(app, ["generate", "rock", "-o", str(out), "--duration", "10", "--preset", "tiny", "--quiet", "--instrumental",
                        "--plan", str(tmp_path / "p.json")])
    result = runner.invoke(app, ["eval", str(out), "--plan", str(tmp_path / "p.json"), "--json",
                                 "--spectrogram", str(tmp_path / "spec.png")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert abs(report["integrated_lufs"] + 14) <= 0.5
    assert (tmp_path / "spec.png").stat().st_size > 1000


@pytest.mark.heavy
def test_eval_adds_vocal_metrics_for_a_sung_song(tmp_path):
    sheet = tmp_path / "lyrics.txt"
    sheet.write_text("[Verse]\nMorning coffee on the windowsill\nRadio is playing something still\n"
                     "[Chorus]\nWe can dance around the kitchen floor\nOpen every window, open every door\n")
    out = tmp_path / "s.wav"
    result = runner.invoke(app, ["generate", "pop", "--lyrics", str(sheet), "-o", str(out), "--seed", "2",
                                 "--preset", "tiny", "--quiet", "--stems", str(tmp_path / "stems"),
                                 "--midi", str(tmp_path / "s.mid"), "--timings", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["eval", str(out), "--vocals", str(tmp_path / "stems" / "vocals.wav"),
                                 "--midi", str(tmp_path / "s.mid"), "--timings", str(tmp_path / "t.json"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["vocal_note_error_cents_median"] <= 10.0
    assert report["vocal_frames_within_50_cents"] >= 0.9
    assert report["vocal_wer"] <= 0.25


def test_bench_measures_every_stage():
    result = runner.invoke(app, ["bench", "--one", "10", "--preset", "tiny", "--format", "wav"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.strip().splitlines()[-1])
    assert row["audio_s"] >= 10.0 and row["peak_rss_mb"] > 0
    # a streamed song renders, mixes and encodes at once (threads), so each stage fits in the total
    # but their sum need not
    assert all(0 < row[stage] <= row["total"] for stage in ("render", "mix", "encode"))
    assert row["first_chunk"] <= row["total"]


def test_lyrics_from_process_substitution_and_clear_errors(tmp_path):
    """``--lyrics <(...)`` hands over /dev/fd/N, a pipe: readable, though not a regular file."""
    import os
    import subprocess
    import sys

    from songforge.cli.generate import _read_lyrics
    from songforge.errors import InvalidRequest

    script = "import sys; from songforge.cli.generate import _read_lyrics; print(_read_lyrics(sys.argv[1]))"
    done = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -c "{script}" <(printf "[Verse]\\nla la land\\n")'],
        capture_output=True, text=True, env=os.environ, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["[Verse]", "la la land"]
    for path, words in ((tmp_path / "missing.txt", "does not exist"), (tmp_path, "is a directory")):
        with pytest.raises(InvalidRequest, match=words):
            _read_lyrics(str(path))
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(InvalidRequest, match="UTF-8"):
        _read_lyrics(str(tmp_path / "latin1.txt"))
