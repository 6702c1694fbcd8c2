"""Property-based checks of address blocks and salutations: any input, any country, any script."""

from __future__ import annotations

import pycountry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contacts.addressing import (
    LANGUAGES,
    Addressee,
    Postal,
    address_block,
    address_lines,
    postal_lines,
    salutation,
)
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
    assert text[-1] in ",:!：،"  # Russian greets with "!", Chinese and Arabic their own marks
    if "  " not in title:
        assert "  " not in text
    assert not text[:-1].endswith(" ")


# --- separators of missing parts ---------------------------------------------------------------

SEPARATOR_COUNTRIES = ["BR", "CH", "US", "GB", "JP", "CN", "RU", "TJ", "KZ", "FR", "DE", "AR", "PK"]
PARTS = ("street_address", "city", "city_area", "postal_code", "country_area")
# A part as typed: letters and digits, no punctuation of its own, so any separator in the
# block comes from the country's format.
plain_part = st.text(alphabet="ABCDEFGHJKabcdefgh0123456789БЖШ", min_size=1, max_size=12)
_EDGE = "-/,·"


@settings(max_examples=400, deadline=None)
@given(
    country=st.sampled_from(SEPARATOR_COUNTRIES),
    values=st.fixed_dictionaries(dict.fromkeys(PARTS, plain_part)),
    missing=st.sets(st.sampled_from(PARTS)),
    language=st.sampled_from(["en", "ru", "zh", "ja", "fr"]),
)
def test_no_separator_of_a_missing_part_is_left(
    country: str, values: dict[str, str], missing: set[str], language: str
) -> None:
    parts = {p: ("" if p in missing else v) for p, v in values.items()}
    postal = Postal(**parts, country_code=country)
    lines = postal_lines(postal, language=language)
    assert all(line == line.strip() and line for line in lines)
    for line in lines:
        assert "  " not in line
        assert line[0] not in _EDGE and line[-1] not in _EDGE, lines
        assert ", ," not in line and "--" not in line
    body = "\n".join(lines[:-1])  # the country name last
    if not parts["postal_code"]:
        assert "CH-" not in body and "〒" not in body
    # the parts every one of these formats shows are shown whole
    text = "\n".join(lines).upper()
    for name in ("street_address", "postal_code"):
        if parts[name]:
            assert parts[name].upper() in text


@settings(max_examples=200, deadline=None)
@given(
    country=st.sampled_from(SEPARATOR_COUNTRIES),
    values=st.fixed_dictionaries(dict.fromkeys(PARTS, plain_part)),
    names=st.lists(word.filter(bool).map(lambda w: "@" + w), min_size=1, max_size=3),
    language=st.sampled_from(["en", "ru", "zh", "ja"]),
)
def test_address_block_is_the_postal_lines_with_the_name_lines_in_one_place(
    country: str, values: dict[str, str], names: list[str], language: str
) -> None:
    postal = Postal(**values, country_code=country)
    block = address_block(names, postal, language=language)
    rest = postal_lines(postal, language=language)
    # the name lines, in their order, at one place of the block
    for start in range(len(block) - len(names) + 1):
        if block[start : start + len(names)] == [n.strip() for n in names]:
            assert block[:start] + block[start + len(names) :] == rest
            break
    else:
        raise AssertionError(f"{names} not together in {block}")
