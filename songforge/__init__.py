"""songforge: self-hosted, offline song generation.

Nothing heavy is imported here; import submodules for the engine, service or API.
``songforge.Client`` (the HTTP client) is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "Client"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from songforge.client import Client

        return Client
    raise AttributeError(f"module 'songforge' has no attribute {name!r}")
