"""Demo letters (idempotent): the 2009 request to Pakistan's foreign minister, sent by post,
letters of the Central Asia campaign (some past their reply date), and a draft to approve."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.contacts import recipients as contacts_recipients
from app.countries import service as countries_service
from app.letters.addressee import recipient_group
from app.letters.context import build_context, sender_from_profile
from app.models import Campaign, Channel, Letter, LetterStatus, Organisation, Person
from app.models.base import utcnow
from app.settings_admin import service as profile_service

PAKISTAN_REFERENCE = "CMC/2009/PAK/0001"
CAMPAIGN = "Universalise the CCM in Central Asia"
COORDINATOR = "coordinator@demarche.example"

PAKISTAN_BODY = """<p>Excellency,</p>
<p>On behalf of the Cluster Munition Coalition, I write to ask for your Government's policy on
cluster munitions. On 3 and 4 December 2008, ninety-four States signed the Convention on Cluster
Munitions in Oslo. It bans the use, production, transfer and stockpiling of these weapons.</p>
<p>We would be grateful to learn whether Pakistan intends to join the Convention, and, if not,
what steps your Government is taking to address the humanitarian harm caused by cluster
munitions.</p>
<p>Please accept, Excellency, the assurances of our highest consideration.</p>"""

CENTRAL_ASIA_BODY = """<p>{{ recipient.salutation }}</p>
<p>We write to ask about {{ recipient.country }}'s position on the {{ treaty.name }} and its
plans to join it.</p>
<p>Yours sincerely,</p>"""


def _org(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def letter_context(
    session: Session,
    reference: str,
    when: date,
    *,
    organisation_id: int | None = None,
    person_id: int | None = None,
) -> dict[str, object]:
    """The frozen context of a demo letter written without a template, as a merge builds it:
    the recipient (name, salutation, address block) from the directory on the letter's date, the
    sender and signatory from the organisation profile, the CCM named in the letter's language.
    Without a recipient record the letter has no addressee or state."""
    recipient: dict[str, object] | None = None
    iso3 = ""
    if organisation_id is not None or person_id is not None:
        rec = contacts_recipients.recipient(
            session, organisation_id=organisation_id, person_id=person_id, on=when, language="en"
        )
        recipient = recipient_group(
            rec, language="en", style="formal", overrides=rec.salutation_overrides
        )
        iso3 = rec.country_iso3
    sender, signatory = sender_from_profile(profile_service.get_profile(session))
    return build_context(
        language="en",
        letter_date=when,
        reference=reference,
        recipient=recipient,
        treaty={"key": "CCM"},
        campaign={"name": CAMPAIGN},
        sender=sender,
        signatory=signatory,
        country_iso3=iso3,
    )


def load(session: Session) -> None:
    """Letters of the Central Asia campaign. (The 2009 letter to Pakistan and its reply belong to
    the 2009 campaign and are loaded with the replies demo, which uses PAKISTAN_BODY.)"""
    coordinator = auth_service.get_by_email(session, email=COORDINATOR)
    campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
    if coordinator is None or campaign is None:
        return
    if session.scalar(
        select(Letter.id).where(Letter.campaign_id == campaign.id, Letter.batch_id.is_(None))
    ):
        return
    today = date.today()
    approved = {"approved_by_id": coordinator.id, "sent_by_id": coordinator.id}
    # Letters of the campaign's first round: two past their reply date, one still in time.
    for n, (iso3, country, days_ago) in enumerate(
        [("KAZ", "Kazakhstan", 45), ("KGZ", "Kyrgyzstan", 40), ("UZB", "Uzbekistan", 12)], 1
    ):
        ministry = _org(session, f"Ministry of Foreign Affairs of {country}")
        if ministry is None:
            continue
        when = today - timedelta(days=days_ago)
        reference = f"CMC/{when.year}/{iso3}/{n:04d}"
        session.add(
            Letter(
                reference=reference,
                campaign_id=campaign.id,
                organisation_id=ministry.id,
                country_id=ministry.country_id,
                recipient_key=f"organisation:{ministry.id}",
                recipient_name=f"The Minister of Foreign Affairs of {country}",
                context=letter_context(session, reference, when, organisation_id=ministry.id),
                subject="Your government's position on the {{ treaty.name }}",
                body_html=CENTRAL_ASIA_BODY,
                letter_date=when,
                status=LetterStatus.sent,
                channel=Channel.post if iso3 != "UZB" else Channel.diplomatic_bag,
                sent_on=when,
                sent_at=utcnow() - timedelta(days=days_ago),
                reply_due_on=when + timedelta(days=campaign.reply_days),
                **approved,
            )
        )
    # A draft waiting for approval, to someone who can be emailed.
    counsellor = session.scalar(
        select(Person).where(Person.given_name == "Nadia", Person.family_name == "Baig")
    )
    if counsellor is not None:
        reference = f"CMC/{today.year}/PAK/0002"
        session.add(
            Letter(
                reference=reference,
                campaign_id=campaign.id,
                person_id=counsellor.id,
                country_id=countries_service.get_by_code(session, "PAK").id,
                recipient_key=f"person:{counsellor.id}",
                recipient_name="Ms Nadia Baig, Counsellor, Embassy of Pakistan in the United "
                "States",
                context=letter_context(session, reference, today, person_id=counsellor.id),
                subject="Meeting request: the {{ treaty.name }}",
                body_html=(
                    "<p>{{ recipient.salutation }}</p><p>Following our letter "
                    f"{PAKISTAN_REFERENCE}, we would welcome a meeting with the Embassy to "
                    "discuss Pakistan's position on the {{ treaty.name }}.</p>"
                    "<p>Yours sincerely,</p>"
                ),
                letter_date=today,
                status=LetterStatus.draft,
                channel=Channel.email,
            )
        )
    session.flush()
