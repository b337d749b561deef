"""Speed benchmark: `make bench` (or `python bench/speed.py [--duration 30 ...]`).

Prints seconds of compute per second of audio by stage, the time until the first encoded audio
is ready, total wall time and peak RSS, for 30, 180 and 480 s songs (``--both``: instrumental
and sung).
"""

from songforge.cli.app import app

if __name__ == "__main__":
    import sys

    app(["bench", *sys.argv[1:]])
