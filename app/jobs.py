"""Every module with task-queue jobs; the worker imports this before it starts."""

from app.campaigns import tasks as campaign_tasks
from app.correspondence import tasks as correspondence_tasks
from app.mail import tasks as mail_tasks
from app.platform import tasks as platform_tasks

__all__ = ["campaign_tasks", "correspondence_tasks", "mail_tasks", "platform_tasks"]
