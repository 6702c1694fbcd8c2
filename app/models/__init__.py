"""Every ORM table, imported here so metadata and migrations see them all."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignCountry, CampaignStatus, Milestone, Notification
from app.models.contacts import (
    Alias,
    AliasKind,
    ContactKind,
    ContactPoint,
    Gender,
    Organisation,
    OrganisationType,
    Person,
    Position,
    Segment,
    Tag,
    UnLocation,
)
from app.models.correspondence import Channel, Letter, LetterStatus
from app.models.cosigners import Cosigner
from app.models.country import Country
from app.models.exports import ExportJob, ExportStatus
from app.models.imports import ImportBatch, ImportBatchStatus, ImportMapping
from app.models.letters import LetterTemplate, TemplateVersion
from app.models.mail import OutboundEmail, OutboxStatus
from app.models.mailmerge import BatchStatus, MergeBatch, ReferenceCounter
from app.models.organisation_profile import OrganisationProfile
from app.models.replies import (
    PositionEntry,
    PositionStance,
    Reply,
    ReplyAttachment,
    ReplyKind,
    ReplyLetter,
    ReplyStatus,
)
from app.models.treaties import DeadlineExtension, Meeting, Obligation, StateAction, Treaty
from app.models.user import ApiToken, LoginFailure, Role, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "BatchStatus",
    "Campaign",
    "CampaignCountry",
    "CampaignStatus",
    "Channel",
    "ContactKind",
    "ContactPoint",
    "Cosigner",
    "Country",
    "DeadlineExtension",
    "Alias",
    "AliasKind",
    "ExportJob",
    "ImportBatch",
    "ImportBatchStatus",
    "ImportMapping",
    "ExportStatus",
    "Gender",
    "Letter",
    "LetterStatus",
    "LetterTemplate",
    "LoginFailure",
    "Meeting",
    "MergeBatch",
    "Milestone",
    "Notification",
    "Obligation",
    "Organisation",
    "OrganisationProfile",
    "OrganisationType",
    "OutboundEmail",
    "OutboxStatus",
    "Person",
    "Position",
    "PositionEntry",
    "PositionStance",
    "ReferenceCounter",
    "Reply",
    "ReplyAttachment",
    "ReplyLetter",
    "ReplyKind",
    "ReplyStatus",
    "Role",
    "Segment",
    "StateAction",
    "Tag",
    "TemplateVersion",
    "Treaty",
    "UnLocation",
    "User",
]
