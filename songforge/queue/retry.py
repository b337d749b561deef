"""Retries as values: a job handler returns ``Retry(defer_s=...)`` instead of raising."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Retry"]


@dataclass(frozen=True)
class Retry:
    """Run the job again, no sooner than ``defer_s`` seconds from now.

    Attributes
    ----------
    defer_s : delay before the job may be claimed again (>= 0).
    reason : why (kept as the job's ``error_message`` while it waits).
    """

    defer_s: float = 0.0
    reason: str = ""

    def __post_init__(self) -> None:
        if self.defer_s < 0:
            raise ValueError(f"defer_s must be >= 0, not {self.defer_s}")
