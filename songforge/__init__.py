"""songforge: self-hosted, offline song generation.

Nothing heavy is imported here; import submodules for the engine, service or API.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
