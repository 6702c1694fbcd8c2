"""Demo data (`demarche demo`): idempotent — each loader looks before it inserts."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app import reference
from app.auth import service as auth_service
from app.campaigns import demo as campaigns_demo
from app.config import get_settings
from app.letters.context import SAMPLE_TRANSLATIONS
from app.models import Role
from app.settings_admin import service as profile_service
from app.settings_admin.schemas import ProfileUpdate

DemoLoader = Callable[[Session], None]

DEMO_USERS = [
    ("admin@demarche.example", "Ada Admin", Role.admin),
    ("coordinator@demarche.example", "Camille Coordinator", Role.coordinator),
    ("campaigner@demarche.example", "Sam Campaigner", Role.campaigner),
]
DEMO_LOGIN = DEMO_USERS[1][0]


def load_profile_and_users(session: Session) -> None:
    profile = profile_service.get_profile(session)
    if profile.name in {"", "Our campaign"}:
        profile_service.update_profile(
            session,
            data=ProfileUpdate(
                name="Cluster Munition Coalition",
                short_name="CMC",
                address="Maison de la Paix, Chemin Eugène-Rigot 2C\n1202 Geneva\nSwitzerland",
                country_code="CH",
                email="info@cmc.example",
                phone="+41 22 920 03 25",
                website="https://www.stopclustermunitions.example",
                signatory_name="Thomas Nash",
                signatory_title="Coordinator, Cluster Munition Coalition",
                reference_prefix="CMC",
            ),
            actor=None,
        )
        profile.logo_filename = "logo.svg"
    if profile.name == "Cluster Munition Coalition" and not profile.translations:
        profile.translations = {
            lang: dict(forms) for lang, forms in SAMPLE_TRANSLATIONS.items() if lang != "en"
        }
    password = get_settings().demo_password
    for email, name, role in DEMO_USERS:
        if auth_service.get_by_email(session, email=email) is None:
            auth_service.create_user(
                session, email=email, role=role, password=password, full_name=name
            )


# Domains append their loaders; they run in this order, after the reference data.
LOADERS: list[DemoLoader] = [reference.load, load_profile_and_users, campaigns_demo.load]

from app.contacts import demo as contacts_demo  # noqa: E402

LOADERS.append(contacts_demo.load)

from app.contacts import segments as contact_segments  # noqa: E402

LOADERS.append(contact_segments.load_demo)
from app.correspondence import demo as correspondence_demo  # noqa: E402

LOADERS.append(correspondence_demo.load)
from app.replies import demo as replies_demo  # noqa: E402

LOADERS.append(replies_demo.load)
from app.mailmerge import demo as merge_demo  # noqa: E402

LOADERS.append(merge_demo.load)
from app.exports import demo as exports_demo  # noqa: E402

LOADERS.append(exports_demo.load)


def load(session: Session) -> None:
    for loader in LOADERS:
        loader(session)
        session.flush()
