"""Speed benchmark: `make bench` (or `python bench/speed.py [--duration 30 ...]`).

Prints seconds of compute per second of audio by stage, the time until the first section's
encoded audio is ready, total wall time and peak RSS, for 30, 60 and 180 s songs.
"""

from songforge.cli.app import app

if __name__ == "__main__":
    import sys

    app(["bench", *sys.argv[1:]])
