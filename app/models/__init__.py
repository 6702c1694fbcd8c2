"""Every ORM table, imported here so metadata and migrations see them all."""

from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignCountry, CampaignStatus, Milestone, Notification
from app.models.country import Country
from app.models.organisation_profile import OrganisationProfile
from app.models.treaties import DeadlineExtension, Meeting, Obligation, StateAction, Treaty
from app.models.user import ApiToken, LoginFailure, Role, User

__all__ = [
    "Campaign",
    "CampaignCountry",
    "CampaignStatus",
    "DeadlineExtension",
    "Meeting",
    "Milestone",
    "Notification",
    "Obligation",
    "StateAction",
    "Treaty",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Country",
    "LoginFailure",
    "OrganisationProfile",
    "Role",
    "User",
]
