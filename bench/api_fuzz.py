"""Schemathesis against every operation of every dialect, a longer run than the test suite's.

Prints per operation: generated cases, accepted, refused in the dialect's envelope, >= 500, and
problems (responses >= 500, errors outside the dialect's envelope); then the totals.

Run: ``python bench/api_fuzz.py [--examples 100]`` (the app in dev mode with a stand-in engine
and one worker, in-process; nothing leaves the machine).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from songforge.api.app import create_app  # noqa: E402
from tests.api._engines import scripted_song  # noqa: E402
from tests.api._fuzz import all_operations, fuzz_operation  # noqa: E402
from tests.service._helpers import make_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="generated cases per operation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # jobs may still be writing
        app = create_app(make_settings(Path(tmp), workers=1, allow_private_callbacks=False), generate=scripted_song)
        with TestClient(app):
            started = time.perf_counter()
            totals = {"cases": 0, "accepted": 0, "error": 0, "5xx": 0, "problems": 0}
            print(f"{'dialect':9} {'method':6} {'path':52} {'cases':>5} {'ok':>4} {'4xx':>4} {'5xx':>4} {'bad':>4}")
            for operation in all_operations(app):
                r = fuzz_operation(app, operation, max_examples=args.examples)
                row = (r.cases, r.accepted, r.outcomes["error"], r.outcomes["5xx"], len(r.problems))
                for name, value in zip(totals, row, strict=True):
                    totals[name] += value
                print(f"{r.dialect:9} {r.method:6} {r.path:52} " + " ".join(f"{v:>4}" for v in row))
                for problem in r.problems[:3]:
                    print(f"    problem: {problem}")
            print(f"\n{totals['cases']} cases in {time.perf_counter() - started:.0f} s: {totals['accepted']} accepted, "
                  f"{totals['error']} refused in the dialect's envelope, {totals['5xx']} responses >= 500, "
                  f"{totals['problems']} problems")


if __name__ == "__main__":
    main()
