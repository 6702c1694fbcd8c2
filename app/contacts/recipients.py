"""``recipient()``: the one place letters, exports and campaigns learn how to address a person or
an organisation's office. It loads the record and its contact points; the rules (name lines,
postal block, salutation) are ``addressing``'s, which exports also run in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.contacts import addressing, names, service
from app.errors import InvalidInput
from app.models import Organisation, Person


@dataclass(frozen=True)
class Recipient:
    """Everything a letter, an export or a campaign needs to address one recipient, as
    ``addressing.addressed`` defines it."""

    person_id: int | None
    organisation_id: int | None
    display_name: str
    honorific: str
    given_name: str
    family_name: str
    native_name: str
    title: str
    organisation_name: str
    country_iso3: str
    country_name: str
    language: str
    salutation: str
    address_lines: tuple[str, ...]
    email: str
    no_email: bool
    no_post: bool
    salutations: dict[str, str] = field(default_factory=dict)
    # for forms of address built elsewhere (letters' protocol)
    gender: str = ""  # "m", "f" or "" (not recorded)
    organisation_type: str = ""  # an OrganisationType value, or "" without an organisation
    has_holder: bool = True  # False: an office addressed with no holder on the day
    office_title: str = ""  # the organisation's office, in English as stored
    postal: addressing.Postal | None = None
    postal_lines: tuple[str, ...] = ()  # the address block without the name lines
    name_forms: dict[str, dict[str, str]] = field(default_factory=dict)  # the person's
    organisation_name_forms: dict[str, str] = field(default_factory=dict)
    phone: str = ""  # the best telephone number, as the directory holds it
    salutation_overrides: dict[str, str] = field(default_factory=dict)  # the person's, by language

    def name_in(self, language: str) -> names.NameForm:
        """The person's given name, patronymic and family name for ``language``'s script."""
        return names.name_in(
            self.name_forms, language, given=self.given_name, family=self.family_name
        )

    def organisation_in(self, language: str) -> str:
        """The organisation's name in ``language``, else as stored."""
        lang = language.split("-")[0].lower()
        return self.organisation_name_forms.get(lang) or self.organisation_name

    def address_block(self, name_lines: Sequence[str]) -> list[str]:
        """Other name lines (a letter's own) on this recipient's postal block."""
        return addressing.address_block(name_lines, self.postal, language=self.language)

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "organisation_id": self.organisation_id,
            "display_name": self.display_name,
            "honorific": self.honorific,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "native_name": self.native_name,
            "title": self.title,
            "organisation_name": self.organisation_name,
            "country_iso3": self.country_iso3,
            "country_name": self.country_name,
            "language": self.language,
            "salutation": self.salutation,
            "address_lines": list(self.address_lines),
            "email": self.email,
            "no_email": self.no_email,
            "no_post": self.no_post,
            "salutations": dict(self.salutations),
            "gender": self.gender,
            "organisation_type": self.organisation_type,
            "has_holder": self.has_holder,
            "office_title": self.office_title,
            "postal": self.postal.as_dict() if self.postal is not None else None,
            "postal_lines": list(self.postal_lines),
            "name_forms": {k: dict(v) for k, v in self.name_forms.items()},
            "organisation_name_forms": dict(self.organisation_name_forms),
            "phone": self.phone,
            "salutation_overrides": dict(self.salutation_overrides),
        }


def recipient(
    session: Session,
    *,
    person_id: int | None = None,
    organisation_id: int | None = None,
    on: date | None = None,
    language: str | None = None,
) -> Recipient:
    """How to address a person, or an organisation's office (resolved to its holder on ``on``).

    The salutation is in ``language`` (default: the recipient's preferred language); the address
    block follows the destination country's postal format. Contact points of the person are
    preferred, then those of the organisation."""
    on = on or date.today()
    if (person_id is None) == (organisation_id is None):
        raise InvalidInput("Give exactly one of person_id or organisation_id.")
    org: Organisation | None = None
    person: Person | None = None
    title = ""
    if organisation_id is not None:
        holder = service.office_holder(session, organisation_id=organisation_id, on=on)
        if holder is not None:
            person = service.get_person(session, holder.person_id)
        # loaded last: loading the person refreshes its organisations without contact points
        org = service.get_organisation(session, organisation_id)
        title = holder.title if holder is not None else org.office_title
    else:
        assert person_id is not None
        person = service.get_person(session, person_id)
        pos = service.current_position(person, on)
        if pos is not None:
            title = pos.title
            org = service.get_organisation(session, pos.organisation_id)
    return _build_recipient(session, person, org, title, language)


def _build_recipient(
    session: Session,
    person: Person | None,
    org: Organisation | None,
    title: str,
    language: str | None,
) -> Recipient:
    points = {
        "person": service.points_of(session, person_id=person.id) if person else [],
        "organisation": service.points_of(session, organisation_id=org.id) if org else [],
    }
    how = addressing.addressed(
        person,
        org,
        title,
        language=language,
        points=lambda owner, kind: addressing.best_point(points[owner], kind),
    )
    lang = how.language
    country = org.country if org is not None else None
    who = addressing.Addressee(
        honorific=person.honorific if person else "",
        given_name=person.given_name if person else "",
        family_name=person.family_name if person else "",
        gender=person.gender if person else addressing.Gender.unspecified,
        title=title,
        organisation_type=org.type if org else None,
        country_iso3=country.iso3 if country else "",
        name_forms=person.name_forms if person else None,
        has_holder=person is not None,
    )
    overrides = (person.salutation_overrides or {}) if person else {}
    salutations = {
        code: overrides.get(code) or addressing.salutation(who, code)
        for code in addressing.LANGUAGES
    }
    base_lang = lang.split("-")[0].lower()
    salutation = (
        overrides.get(base_lang)
        or salutations.get(base_lang)
        or addressing.salutation(who, base_lang)
    )
    postal_lines = (
        addressing.postal_lines(how.postal, language=lang) if how.postal is not None else []
    )
    return Recipient(
        person_id=person.id if person else None,
        organisation_id=org.id if org else None,
        display_name=how.display_name,
        honorific=person.honorific if person else "",
        given_name=person.given_name if person else "",
        family_name=person.family_name if person else "",
        native_name=person.native_name if person else (org.native_name if org else ""),
        title=title,
        organisation_name=org.name if org else "",
        country_iso3=country.iso3 if country else "",
        country_name=country.name if country else "",
        language=lang,
        salutation=salutation,
        address_lines=tuple(how.address_lines()),
        email=how.email,
        phone=how.phone,
        no_email=how.no_email,
        no_post=how.no_post,
        salutations=salutations,
        salutation_overrides={k: str(v) for k, v in overrides.items() if v},
        gender=addressing.GENDER_CODES.get(person.gender, "") if person else "",
        organisation_type=org.type.value if org else "",
        has_holder=person is not None,
        office_title=org.office_title if org else "",
        postal=how.postal,
        postal_lines=tuple(postal_lines),
        name_forms=names.person_forms_dict(person.name_forms if person else None),
        organisation_name_forms=names.organisation_forms_of(org.name_forms if org else None),
    )
