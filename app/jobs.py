"""Every module with task-queue jobs: the one list of them. The worker imports it before it starts
(a consumer runs only the tasks it knows), and so does anything else that must know them all;
app.queue itself imports no domain."""

from app.campaigns import tasks as campaign_tasks
from app.contacts import bulk_tasks as contacts_bulk_tasks
from app.contacts.imports import tasks as contacts_import_tasks
from app.correspondence import tasks as correspondence_tasks
from app.exports import tasks as export_tasks
from app.mail import tasks as mail_tasks
from app.mailmerge import tasks as merge_tasks
from app.platform import tasks as platform_tasks
from app.replies import tasks as replies_tasks

__all__ = [
    "campaign_tasks",
    "contacts_bulk_tasks",
    "contacts_import_tasks",
    "correspondence_tasks",
    "export_tasks",
    "mail_tasks",
    "merge_tasks",
    "platform_tasks",
    "replies_tasks",
]
