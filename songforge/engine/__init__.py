"""The song engine: pure functions, numpy in / numpy out; no HTTP, database or queue imports."""

__all__: list[str] = []
