"""Storage: the job store (SQL), the blob store (files) and signed file URLs.

Import the submodules directly (``songforge.storage.jobs`` ...); nothing is imported here so
that importing the package stays cheap.
"""

__all__ = ["jobs", "blobs", "urls", "atomic"]
