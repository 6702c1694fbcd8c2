"""Every module with task-queue jobs; the worker imports this before it starts."""

from app.mail import tasks as mail_tasks
from app.platform import tasks as platform_tasks

__all__ = ["mail_tasks", "platform_tasks"]
