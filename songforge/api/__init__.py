"""HTTP API: ``app.create_app(settings)`` and the vendor dialects. Nothing is imported here."""

__all__ = ["app"]
