"""The service layer: SongService, job lifecycle, pipeline, callbacks and API keys.

Import the submodules directly; nothing is imported here.
"""

__all__ = ["songs", "lifecycle", "pipeline", "callbacks", "keys", "streaming"]
