"""Warm a long-lived worker up before its first song: import what a song uses, load the SoundFont.

A fresh Python process pays several seconds the first time it makes a song: SciPy's signal and
image modules, pedalboard, soxr, LAME, pyloudnorm, pyworld (and pkg_resources under it) are
imported lazily, the SoundFont is read from disk, the sentence encoder that matches a prompt to a
genre is loaded, the songwriter reads its dictionary and vocabulary embeddings (the first lyrics
take ~7 s, later ones ~0.05 s), and every part's synth loads the SoundFont's presets (60-90 ms
each). A worker process calls :func:`warm_up` once
when it starts (``songforge.queue.worker``), so a job's first audio does not wait for any of it;
``songforge bench`` calls it before its clock starts, as a worker would have.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

__all__ = ["warm_up", "prepare_synths_later", "WARM_MODULES", "SPARE_SYNTHS"]

log = logging.getLogger(__name__)

WARM_MODULES = (
    "numpy",
    "scipy.signal",
    "scipy.ndimage",
    "soxr",
    "lameenc",
    "soundfile",
    "pyloudnorm",
    "pedalboard",
    "pyworld",
    "songforge.engine.song",
    "songforge.engine.stream",
    "songforge.engine.mix",
    "songforge.engine.encode",
    "songforge.engine.deesser",
    "songforge.engine.evaluate",
    "songforge.engine.compose",
    "songforge.engine.remake._common",
    "songforge.engine.voice.singer",
    "songforge.engine.voice.festival",
)
"""Modules a song imports on first use (measured: those a first song adds to ``sys.modules``)."""

SPARE_SYNTHS = 8
"""Synths kept ready per rate (a song's band has up to 8 parts): the analysis render's and the
full-rate render's (:func:`songforge.engine.render.prepare_synths`)."""


def warm_up(preset: str = "default") -> float:
    """Import :data:`WARM_MODULES`, load ``preset``'s SoundFont, embed the genre descriptions, load
    the songwriter, run each kind of mixer plugin once and prepare the first song's synths;
    returns the seconds it took. A module that cannot be imported is logged and skipped (the
    song that needs it reports the problem)."""
    started = time.perf_counter()
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - optional engines (pyworld, ...) fail later, clearly
            log.warning("warm-up: could not import %s", name, exc_info=True)
    from songforge.engine.presets import get_preset
    from songforge.engine.render import load_soundfont

    load_soundfont(get_preset(preset).soundfont)
    _embed_styles()
    _load_songwriter()
    _touch_plugins()
    _prepare_synths(preset)
    return time.perf_counter() - started


def prepare_synths_later(preset: str = "default") -> threading.Thread:
    """Make the next song's synths on a background thread (a worker calls it after each job, so
    the next job finds them ready); returns the started thread."""
    thread = threading.Thread(target=_prepare_synths, args=(preset,), name="songforge-prepare-synths", daemon=True)
    thread.start()
    return thread


def _prepare_synths(preset: str) -> None:
    from songforge.engine.presets import get_preset
    from songforge.engine.render import prepare_synths
    from songforge.engine.stream import ANALYSIS_RATE_HZ

    soundfont = get_preset(preset).soundfont
    for rate in (ANALYSIS_RATE_HZ, 48000):
        prepare_synths(soundfont, sample_rate_hz=rate, count=SPARE_SYNTHS)


def _embed_styles() -> None:
    """Embed the genre descriptions a prompt is matched against (loads the sentence encoder)."""
    from songforge.engine.plan import _description_matrix

    _description_matrix()


def _load_songwriter() -> None:
    """Write one set of lyrics: loads the songwriter's pronouncing dictionary and vocabulary
    embeddings (several seconds, once per process)."""
    from songforge.engine.songwriter import write_lyrics

    write_lyrics("a warm-up song about the morning", seed=0)


def _touch_plugins() -> None:
    """Run the mixer's plugins, the resampler and the encoder over a little silence (their first
    call sets up tables and native code paths)."""
    import numpy as np

    from songforge.engine import mix as mx
    from songforge.engine.encode import encode

    rate = 48000
    silence = np.zeros((4096, 2), np.float32)
    for role in ("drums", "vocal"):
        mx._apply(mx.role_chain(role), silence, rate)
    mx._master_board().process(silence, rate)
    mx._oversampled_peak(silence, sample_rate_hz=rate)
    encode(silence, sample_rate_hz=rate, format="mp3")
