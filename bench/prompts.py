"""Benchmark prompt reading: vocals/gender, tempo class, mode and instrument families.

Plans every prompt of ``tests/data/prompt_eval.jsonl`` (descriptive English and Chinese prompts,
written like captions of real recordings, each with the expected reading) with a few seeds and
prints the four rates for the development part, the held-out part and all, then every prompt
that still fails and why.

Scoring (per prompt and seed; a rate is the mean over prompts and seeds):

- vocals: ``instrumental`` must plan an instrumental; ``female``/``male`` a sung song with that
  singer; ``vocal`` a sung song with either singer.
- tempo class of the planned felt tempo: slow < 90 BPM <= medium < 120 BPM <= fast (prompts that
  say nothing about tempo are not scored).
- mode: the planned mode equals the expected one (prompts with no clear mode are not scored).
- instruments: every expected family has at least one planned part (``drums`` = a drum part).

Run: ``python bench/prompts.py [--seeds 3] [--split all|dev|heldout] [--quiet]``
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from songforge.engine.plan import SongPlan, plan_song
from songforge.models import SongRequest

EVAL_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "prompt_eval.jsonl"
SLOW_BELOW_BPM = 90.0
FAST_FROM_BPM = 120.0
TARGETS = {"vocals": 0.95, "tempo": 0.90, "mode": 0.85, "instruments": 0.95}


def _r(lo: int, hi: int) -> set[int]:
    return set(range(lo, hi + 1))


FAMILIES: dict[str, set[int]] = {
    "piano": _r(0, 7), "mallets": _r(8, 15), "organ": _r(16, 20), "accordion": {21, 23},
    "harmonica": {22}, "guitar": _r(24, 31), "bass": _r(32, 39) | {43},
    "strings": _r(40, 51) | {110}, "choir": {52, 53, 54, 85, 91}, "brass": _r(56, 63),
    "sax": _r(64, 67), "woodwind": _r(68, 79), "synth": _r(80, 103) | {38, 39, 50, 51, 62, 63},
    "ethnic": _r(104, 111),
}


@dataclass(frozen=True)
class Case:
    """One prompt of the set and its expected reading."""

    id: str
    lang: str
    heldout: bool
    prompt: str
    vocals: str
    tempo: str | None
    mode: str | None
    families: tuple[str, ...]


def load_cases(path: Path = EVAL_SET) -> list[Case]:
    """The evaluation set, one :class:`Case` per line of the JSONL file."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row["families"] = tuple(row["families"])
            cases.append(Case(**row))
    return cases


def tempo_class(tempo_bpm: float) -> str:
    """``slow``, ``medium`` or ``fast`` for a felt tempo in BPM."""
    if tempo_bpm < SLOW_BELOW_BPM:
        return "slow"
    return "medium" if tempo_bpm < FAST_FROM_BPM else "fast"


def check(case: Case, plan: SongPlan) -> dict[str, str | None]:
    """Per dimension: ``None`` when right or not scored, else what went wrong."""
    got_voice = "instrumental" if plan.instrumental else plan.gender
    want = case.vocals
    voice_ok = got_voice == want or (want == "vocal" and not plan.instrumental)
    klass = tempo_class(plan.tempo_bpm)
    present = {p for role, p in plan.instruments if role != "drums"}
    missing = [f for f in case.families if not (
        any(r == "drums" for r, _ in plan.instruments) if f == "drums" else present & FAMILIES[f]
    )]
    return {
        "vocals": None if voice_ok else f"{got_voice} (want {want})",
        "tempo": None if case.tempo in (None, klass) else f"{klass} {plan.tempo_bpm:g} (want {case.tempo})",
        "mode": None if case.mode in (None, plan.mode) else f"{plan.mode} (want {case.mode})",
        "instruments": f"missing {', '.join(missing)}" if missing else None,
    }


def _scored(case: Case, dimension: str) -> bool:
    return {"tempo": case.tempo is not None, "mode": case.mode is not None}.get(dimension, True)


def evaluate(cases: list[Case], seeds: tuple[int, ...] = (1, 2, 3)) -> tuple[dict[str, float], list[tuple[Case, int, SongPlan, dict]]]:
    """(rate per dimension, failures as (case, seed, plan, problems)) over ``cases`` x ``seeds``."""
    right = dict.fromkeys(TARGETS, 0)
    total = dict.fromkeys(TARGETS, 0)
    failures = []
    for case in cases:
        for seed in seeds:
            plan = plan_song(SongRequest(prompt=case.prompt), seed=seed)
            problems = check(case, plan)
            for dim, problem in problems.items():
                if _scored(case, dim):
                    total[dim] += 1
                    right[dim] += problem is None
            if any(problems.values()):
                failures.append((case, seed, plan, {k: v for k, v in problems.items() if v}))
    return {d: right[d] / max(total[d], 1) for d in TARGETS}, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    parser.add_argument("--quiet", action="store_true", help="rates only, no failure list")
    args = parser.parse_args()
    seeds = tuple(range(1, args.seeds + 1))
    cases = load_cases()
    splits = {"dev": [c for c in cases if not c.heldout], "heldout": [c for c in cases if c.heldout]}
    splits["all"] = cases
    shown = ("dev", "heldout", "all") if args.split == "all" else (args.split,)
    print(f"{'split':8} {'prompts':>7} " + " ".join(f"{d:>11}" for d in TARGETS))
    for name in shown:
        rates, failures = evaluate(splits[name], seeds)
        print(f"{name:8} {len(splits[name]):7d} " + " ".join(f"{rates[d]:11.1%}" for d in TARGETS))
    print(f"{'target':8} {'':7} " + " ".join(f"{TARGETS[d]:11.0%}" for d in TARGETS))
    if not args.quiet:
        print("\nfailing (prompt, seed: problems; reasons):")
        for case, seed, plan, problems in failures:
            print(f"- {case.id}{' (held out)' if case.heldout else ''} seed {seed}: "
                  + "; ".join(f"{k}: {v}" for k, v in problems.items()))
            print(f"    {case.prompt}")
            print(f"    reasons: {list(getattr(plan, 'reasons', ()))}")


if __name__ == "__main__":
    main()
