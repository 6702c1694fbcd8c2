"""Every module with task-queue jobs; the worker imports this before it starts."""

from app.platform import tasks as platform_tasks

__all__ = ["platform_tasks"]
