"""Demo replies (idempotent): letters sent in early 2009 and the answers that came back,
among them Pakistan's, forwarded by its embassy in Washington."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.campaigns import service as campaigns_service
from app.campaigns.schemas import CampaignCreate
from app.correspondence import demo as correspondence_demo
from app.countries import service as countries_service
from app.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Letter,
    LetterStatus,
    Organisation,
    OrganisationType,
    PositionStance,
    ReplyLetter,
)
from app.replies import service
from app.replies.schemas import PositionIn, ReplyCreate

CAMPAIGN = "CCM signature drive 2009"
OWNER = "coordinator@demarche.example"
PAKISTAN_REFERENCE = "CMC/2009/PAK/0001"
SUBJECT = "Your government's policy on cluster munitions"
LETTER_DATE = date(2009, 1, 30)

PAKISTAN_TEXT = """EMBASSY OF PAKISTAN
WASHINGTON, D.C.

No.Pol.9/4/09                                                    24 February 2009

Dear Mr Nash,

Reference your letter dated 30 January 2009 addressed to the Minister of Foreign Affairs
regarding the Convention on Cluster Munitions.

The Embassy has been directed to forward the enclosed response of the Ministry of Foreign
Affairs, Islamabad, dated 16 February 2009.

  Pakistan shares the humanitarian concerns caused by the irresponsible use of cluster
  munitions. However, Pakistan does not support a ban on cluster munitions and has not
  joined the Oslo Process. Cluster munitions are a legitimate weapon with military
  utility for our defence. Pakistan believes that the issue is best addressed in the
  framework of the Convention on Certain Conventional Weapons (CCW), where all the
  major producers and users participate, so that humanitarian concerns are balanced
  with legitimate security interests.

With regards,

Political Counsellor
Embassy of Pakistan, Washington D.C."""

PAKISTAN_QUOTE = (
    "Pakistan does not support a ban on cluster munitions ... the issue is best addressed in "
    "the framework of the Convention on Certain Conventional Weapons (CCW), where all the major "
    "producers and users participate."
)

# (ISO3, channel, reply received (days after sending) or None, stance, quote)
OTHERS: list[tuple[str, Channel, int | None, PositionStance | None, str]] = [
    (
        "AFG",
        Channel.email,
        38,
        PositionStance.will_consider,
        "The Government is studying the Convention with the relevant ministries.",
    ),
    (
        "IDN",
        Channel.email,
        21,
        PositionStance.supports,
        "Indonesia signed the Convention in Oslo and is preparing its ratification.",
    ),
    (
        "PHL",
        Channel.post,
        45,
        PositionStance.supports,
        "The Philippines supports the Convention and its early entry into force.",
    ),
    (
        "KGZ",
        Channel.post,
        60,
        PositionStance.no_position,
        "The matter is under consideration; no decision has been taken.",
    ),
    ("KAZ", Channel.post, None, None, ""),
    ("UZB", Channel.diplomatic_bag, None, None, ""),
    ("VNM", Channel.email, None, None, ""),
]


def _ministry(session: Session, country_name: str) -> Organisation | None:
    return session.scalar(
        select(Organisation)
        .where(
            Organisation.type == OrganisationType.ministry,
            Organisation.parent_id.is_(None),
            Organisation.name.like(f"%{country_name}%"),
            Organisation.office_title == "Minister of Foreign Affairs",
        )
        .limit(1)
    )


def _campaign(session: Session) -> Campaign | None:
    existing = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
    if existing is not None:
        return existing
    owner = auth_service.get_by_email(session, email=OWNER)
    if owner is None:
        return None
    return campaigns_service.create(
        session,
        data=CampaignCreate(
            name=CAMPAIGN,
            goal="Ask the foreign ministries of non-signatories for their policy on cluster "
            "munitions and invite them to sign the Convention.",
            treaty="CCM",
            start_date=date(2009, 1, 15),
            end_date=date(2009, 12, 31),
            status=CampaignStatus.closed,
            countries=["PAK", *(iso3 for iso3, *_ in OTHERS)],
        ),
        owner=owner,
        actor=owner,
    )


def _letter(
    session: Session, campaign: Campaign, iso3: str, reference: str, channel: Channel
) -> Letter:
    letter = session.scalar(select(Letter).where(Letter.reference == reference))
    if letter is not None:
        return letter
    country = countries_service.get_by_code(session, iso3)
    ministry = _ministry(session, country.name)
    letter = Letter(
        reference=reference,
        campaign_id=campaign.id,
        recipient_key=f"organisation:{ministry.id}" if ministry else f"country:{iso3}",
        organisation_id=ministry.id if ministry else None,
        country_id=country.id,
        recipient_name=f"Minister of Foreign Affairs of {country.name}",
        subject=SUBJECT,
        letter_date=LETTER_DATE,
        status=LetterStatus.sent,
        channel=channel,
        sent_on=LETTER_DATE,
        sent_note="Demo: sent in the first round of 2009",
        reply_due_on=LETTER_DATE + timedelta(days=30),
    )
    session.add(letter)
    session.flush()
    return letter


def _answered(session: Session, letter: Letter) -> bool:
    return bool(session.scalar(select(ReplyLetter.id).where(ReplyLetter.letter_id == letter.id)))


def load(session: Session) -> None:
    campaign = _campaign(session)
    if campaign is None:
        return
    pakistan = _letter(session, campaign, "PAK", PAKISTAN_REFERENCE, Channel.post)
    if not pakistan.body_html:  # the letter's own text, as the correspondence pages show it
        pakistan.subject = "Your Government's policy on cluster munitions"
        pakistan.body_html = correspondence_demo.PAKISTAN_BODY
        pakistan.context = correspondence_demo.letter_context(
            session, PAKISTAN_REFERENCE, LETTER_DATE, organisation_id=pakistan.organisation_id
        )
        pakistan.sent_note = "Posted from Geneva by registered mail"
    if pakistan.status in (LetterStatus.sent, LetterStatus.replied) and not _answered(
        session, pakistan
    ):
        embassy = session.scalar(
            select(Organisation).where(
                Organisation.name == "Embassy of Pakistan in the United States"
            )
        )
        service.create(
            session,
            data=ReplyCreate(
                received_on=date(2009, 3, 2),
                channel=Channel.post,
                sender_organisation_id=embassy.id if embassy else None,
                sender_name="Embassy of Pakistan, Washington D.C.",
                country="PAK",
                sender_reference="No.Pol.9/4/09",
                cited_letter_date=LETTER_DATE,
                subject="Convention on Cluster Munitions: response of the Ministry of Foreign "
                "Affairs",
                summary="The Embassy (its ref. No.Pol.9/4/09 of 24 February 2009) forwards the "
                "Ministry of Foreign Affairs' answer of 16 February 2009: Pakistan opposes a ban "
                "on cluster munitions and prefers to address them in the framework of the "
                "Convention on Certain Conventional Weapons (CCW).",
                full_text=PAKISTAN_TEXT,
                letter_ids=[pakistan.id],
                positions=[
                    PositionIn(
                        treaty="CCM",
                        stance=PositionStance.opposes,
                        quote=PAKISTAN_QUOTE,
                        stated_on=date(2009, 2, 16),
                    )
                ],
            ),
            actor=None,
        )
    for number, (iso3, channel, after, stance, quote) in enumerate(OTHERS, start=1):
        letter = _letter(session, campaign, iso3, f"CMC/2009/{iso3}/0001", channel)
        if after is None or _answered(session, letter) or letter.status is not LetterStatus.sent:
            continue
        country = countries_service.get_by_code(session, iso3)
        ministry = _ministry(session, country.name)
        received = LETTER_DATE + timedelta(days=after)
        service.create(
            session,
            data=ReplyCreate(
                received_on=received,
                channel=channel,
                sender_organisation_id=ministry.id if ministry else None,
                sender_name=f"Ministry of Foreign Affairs of {country.name}",
                country=iso3,
                sender_reference=f"MFA/{received.year}/{100 + number * 7}",
                cited_letter_date=LETTER_DATE,
                subject=f"Re: {SUBJECT}",
                summary=quote,
                full_text=f"With reference to your letter of {LETTER_DATE.day} January 2009 "
                f"({letter.reference}) on cluster munitions: {quote}",
                letter_ids=[letter.id],
                positions=[PositionIn(treaty="CCM", stance=stance, quote=quote)] if stance else [],
            ),
            actor=None,
        )
    session.flush()
