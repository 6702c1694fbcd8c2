"""Every module with task-queue jobs; the worker imports this before it starts."""

from app.campaigns import tasks as campaign_tasks
from app.exports import tasks as export_tasks
from app.mail import tasks as mail_tasks
from app.platform import tasks as platform_tasks

__all__ = ["campaign_tasks", "export_tasks", "mail_tasks", "platform_tasks"]
