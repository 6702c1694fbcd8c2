"""Property-based checks of address blocks and salutations: any input, any country, any script."""

from __future__ import annotations

import pycountry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contacts.addressing import LANGUAGES, Addressee, address_lines, salutation
from app.models.contacts import Gender, OrganisationType

COUNTRIES = sorted(c.alpha_2 for c in pycountry.countries)
# Text as people type it: Latin, Cyrillic, Arabic and CJK letters, digits, punctuation, spaces.
line = st.text(
    alphabet=st.characters(
        categories=("Lu", "Ll", "Lo", "Nd", "Zs", "Pd", "Po"),
        exclude_characters="\n\r\x00",
    ),
    max_size=40,
)
word = line.map(str.strip)
# A name part as typed in one field: no inner spaces, so spacing in the result is ours to check.
name_part = line.map(lambda text: "".join(text.split()))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    country=st.sampled_from(COUNTRIES) | st.text(max_size=3),
    name=word,
    organisation=word,
    street=line,
    city=line,
    postal_code=st.text(alphabet="0123456789 -ABCDEFGHJKLMNPRSTUVWXYZ", max_size=10),
    area=line,
    language=st.sampled_from(["en", "fr", "ru", "ar", "zh", "es-ES", ""]),
)
def test_address_block_never_fails_and_keeps_what_identifies_the_recipient(
    country: str,
    name: str,
    organisation: str,
    street: str,
    city: str,
    postal_code: str,
    area: str,
    language: str,
) -> None:
    names = [n for n in (organisation, name) if n]
    lines = address_lines(
        name_lines=names,
        street_address=street,
        city=city,
        postal_code=postal_code,
        country_area=area,
        country_code=country,
        language=language,
    )
    assert all(isinstance(x, str) and x == x.strip() and x for x in lines)
    text = "\n".join(lines)
    # The recipient's name and street are never dropped, whatever the country's format.
    for part in (name, street.strip()):
        if part:
            assert part.upper() in text.upper() or part in text


@settings(max_examples=300, deadline=None)
@given(
    honorific=st.sampled_from(["", "H.E.", "Mr", "Ms", "Dr", "S.E.", "Prof."]) | word,
    given=name_part,
    family=name_part,
    gender=st.sampled_from(list(Gender)),
    title=st.sampled_from(["", "President", "Minister of Foreign Affairs", "Ambassador"]) | line,
    org_type=st.none() | st.sampled_from(list(OrganisationType)),
    language=st.sampled_from([*LANGUAGES, "ar", "de", "fr-CA", ""]),
)
def test_salutation_is_always_a_finished_greeting(
    honorific: str,
    given: str,
    family: str,
    gender: Gender,
    title: str,
    org_type: OrganisationType | None,
    language: str,
) -> None:
    who = Addressee(honorific, given, family, gender, title, org_type)
    text = salutation(who, language)
    assert text and text == text.strip()
    assert text[-1] in ",:!"  # Russian greets an Excellency with "!"
    if "  " not in title:
        assert "  " not in text
    assert not text[:-1].endswith(" ")
