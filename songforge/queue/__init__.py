"""The job queue: protocol, durable local queue, worker pool and retry values.

Import the submodules directly; nothing is imported here.
"""

__all__ = ["base", "local", "worker", "retry"]
