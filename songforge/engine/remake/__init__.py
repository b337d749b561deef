"""Songs made from a reference: cover, extend, add vocals / instrumental, replace a section, and
new songs sung or played with a voice / instrumental profile taken from uploaded audio.

The pipeline resolves a request's :class:`~songforge.models.Reference` (ids -> audio, analysis,
the source job's request) into a :class:`ResolvedReference`; :func:`make_from_reference` hands it
to the module for its mode. Every mode returns the same :class:`~songforge.engine.song.SongResult`
as :func:`~songforge.engine.song.make_song`, so storing, streaming and exports work unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from songforge.engine.analyze import Analysis
from songforge.models import Reference, SongRequest

__all__ = ["ReferenceAudio", "ResolvedReference", "make_from_reference", "MODE_MODULES"]

# mode -> module (in this package) whose ``make(request, resolved, **options) -> SongResult`` runs it
MODE_MODULES = {
    "generate": "profiles",
    "cover": "cover",
    "extend": "extend",
    "add_vocals": "add_vocals",
    "add_instrumental": "add_instrumental",
    "replace_section": "replace",
}


@dataclass(frozen=True)
class ReferenceAudio:
    """One piece of reference audio as the engine sees it.

    Parameters
    ----------
    audio : shape (n, 2), float32, at ``sample_rate_hz`` (48 kHz: the master rate).
    sample_rate_hz : rate of ``audio``.
    analysis : what :mod:`songforge.engine.analyze` found in it.
    request : for one of our own songs, the request (seed included) that made it; else ``None``.
    """

    audio: np.ndarray
    sample_rate_hz: int
    analysis: Analysis
    request: SongRequest | None = None


@dataclass(frozen=True)
class ResolvedReference:
    """A request's reference with its ids resolved: ``source`` (audio_id or source_job_id),
    ``voice`` (voice_id) and ``instrumental`` (instrumental_id); ``None`` where not given."""

    spec: Reference
    source: ReferenceAudio | None = None
    voice: ReferenceAudio | None = None
    instrumental: ReferenceAudio | None = None


def make_from_reference(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Run ``request`` (whose ``reference`` is ``resolved.spec``) with the module for its mode."""
    module = importlib.import_module(f"{__name__}.{MODE_MODULES[resolved.spec.mode]}")
    return module.make(
        request, resolved, preset=preset, on_progress=on_progress, on_chunk=on_chunk, songwriter=songwriter
    )
