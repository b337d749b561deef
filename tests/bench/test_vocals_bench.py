"""The vocal bench's song list: seeds and the --seed-offset option (no songs are made)."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("bench_vocals", Path(__file__).parents[2] / "bench" / "vocals.py")
assert _SPEC is not None and _SPEC.loader is not None
bench_vocals = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_vocals)


def _jobs(*argv: str):
    return bench_vocals.song_jobs(bench_vocals.build_parser().parse_args(list(argv)))


def test_default_seeds_are_twenty_plus_the_sheet_index():
    jobs = _jobs("--genders", "female,male")
    assert [seed for _, seed, _ in jobs] == [20 + i for i in range(len(jobs) // 2)] * 2
    assert {lang for _, _, (_, _, lang) in jobs} == {"en", "zh"}


def test_seed_offset_shifts_every_seed_and_keeps_the_songs():
    base = _jobs("--no-english")
    shifted = _jobs("--no-english", "--seed-offset", "100")
    assert [seed + 100 for _, seed, _ in base] == [seed for _, seed, _ in shifted]
    assert [(g, job) for g, _, job in base] == [(g, job) for g, _, job in shifted]
    assert all(lang == "zh" for _, _, (_, _, lang) in shifted)
