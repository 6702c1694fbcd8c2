"""Mail merge service: letters per recipient, references, flags, rendering, cancel, failures."""

from __future__ import annotations

import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import Any

import pytest
from pypdf.generic import ArrayObject, StreamObject
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import transaction
from app.errors import InvalidInput
from app.letters import render
from app.letters import service as letters_service
from app.letters.schemas import TemplateCreate, VariantSave
from app.letters.stored import letter_job
from app.mailmerge import rendering, service
from app.mailmerge.schemas import MergeCreate
from app.models import BatchStatus, Letter, MergeBatch
from tests.factories import make_organisation, make_person, make_position
from tests.mailmerge.conftest import pdf_text

LETTER_DATE = date(2010, 3, 25)


def _merge(db: Session, world: dict[str, Any], **extra: Any) -> MergeBatch:
    data = {
        "template_id": world["template"].id,
        "source": {"kind": "segment", "segment_id": world["segment"].id},
        "treaty": "CCM",
        "letter_date": LETTER_DATE,
        **extra,
    }
    return service.create_merge(db, data=MergeCreate.model_validate(data), actor=None)


def _letters(db: Session, batch_id: int) -> list[Letter]:
    db.expire_all()
    return list(
        db.scalars(select(Letter).where(Letter.batch_id == batch_id).order_by(Letter.reference))
    )


def test_one_draft_letter_per_recipient_in_their_language(
    db: Session, world: dict[str, Any]
) -> None:
    batch = _merge(db, world)
    letters = _letters(db, batch.id)
    assert batch.total == len(letters) == 6
    rahmon = next(x for x in letters if x.reference == "CMC/2010/TJK/0001")
    assert rahmon.recipient_name == "H.E. Emomali Rahmon"
    assert rahmon.status.value == "draft"
    assert rahmon.language == "ru"
    version = rendering.template_version(db, rahmon)
    assert version is not None and version.language == "ru"
    assert version.template_id == world["template"].id
    ctx = rahmon.context
    assert ctx["letter"]["reference"] == "CMC/2010/TJK/0001"
    # Everything in the letter's language: the name as the directory holds it in Cyrillic,
    # the treaty, the meeting and its city from the shipped names, the address in the dative.
    assert ctx["recipient"]["name"] == "Эмомали Шарипович Рахмон"
    assert ctx["recipient"]["address_block"][:3] == [
        "Его Превосходительству",
        "господину Э.Ш. Рахмону",
        "Президенту Республики Таджикистан",
    ]
    assert ctx["recipient"]["salutation"] == "Уважаемый господин Президент!"  # personal style
    assert ctx["treaty"]["name"] == "Конвенция по кассетным боеприпасам"
    assert ctx["treaty"]["status"] == "не подписавшее государство"
    assert ctx["treaty"]["eif_date"] == "1\xa0августа 2010\xa0г."
    assert ctx["milestone"]["name"].startswith("первое Совещание государств — участников")
    assert ctx["milestone"]["city"] == "Вьентьян" and ctx["milestone"]["host_country"] == "Лаос"
    assert ctx["country"]["name"] == "Таджикистан"
    assert ctx["milestone"]["days_left"] == (date(2010, 11, 9) - LETTER_DATE).days
    pakistan = next(x for x in letters if "PAK" in x.reference)
    assert pakistan.language == "en"


def test_references_follow_the_pattern_and_keep_counting(
    db: Session, world: dict[str, Any]
) -> None:
    first = _letters(db, _merge(db, world).id)
    assert {x.reference for x in first} >= {"CMC/2010/TJK/0001", "CMC/2010/KAZ/0001"}
    second = _letters(db, _merge(db, world).id)
    assert "CMC/2010/TJK/0002" in {x.reference for x in second}
    custom = _letters(db, _merge(db, world, reference_pattern="X-{year}-{seq:03d}").id)
    assert sorted(x.reference for x in custom) == [f"X-2010-{i:03d}" for i in range(1, 7)]
    every = [x.reference for x in first + second + custom]
    assert len(every) == len(set(every))


def test_a_reference_taken_elsewhere_is_skipped(db: Session, world: dict[str, Any]) -> None:
    db.add(Letter(reference="Z-2010-001", recipient_name="typed by hand"))
    db.flush()
    letters = _letters(db, _merge(db, world, reference_pattern="Z-{year}-{seq:03d}").id)
    refs = sorted(x.reference for x in letters)
    assert "Z-2010-001" not in refs and len(refs) == 6 and refs[-1] == "Z-2010-007"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{campaign_code}/{year}", "{seq}"),
        ("{nope}/{seq:04d}", "Unknown field {nope}"),
        ("{iso3:04d}/{seq}", "Not a valid pattern"),
        ("{seq", "Not a valid pattern"),
    ],
)
def test_bad_reference_patterns_are_refused(
    db: Session, world: dict[str, Any], pattern: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _merge(db, world, reference_pattern=pattern)
    assert message in info.value.detail
    assert info.value.errors and info.value.errors[0]["field"] == "reference_pattern"


def test_flagged_recipients_are_shown_not_dropped(db: Session, world: dict[str, Any]) -> None:
    org = make_organisation(db, "Ministry X", country="KAZ", preferred_language="en")
    quiet = make_person(db, family_name="Nopost", no_post=True)
    mailless = make_person(db, family_name="Noemail", no_email=True)
    make_position(db, quiet, org)
    make_position(db, mailless, org)
    source = {"kind": "contacts", "person_ids": [quiet.id, mailless.id]}
    batch = _merge(db, world, source=source)
    assert [r["reason"] for r in batch.report["excluded"]] == ["flagged “no post”"]
    assert "Nopost" in batch.report["excluded"][0]["name"]
    flagged = {r["name"]: r["reason"] for r in batch.report["flagged"]}
    assert any("Noemail" in n and "no email" in why for n, why in flagged.items())
    assert [x.recipient_name for x in _letters(db, batch.id)] == [
        next(n for n in flagged if "Noemail" in n)
    ]
    by_email = _merge(db, world, source=source, channel="email")
    assert "Noemail" in by_email.report["excluded"][0]["name"]


def test_nobody_reachable_is_refused(db: Session, world: dict[str, Any]) -> None:
    quiet = make_person(db, family_name="Nopost", no_post=True)
    with pytest.raises(InvalidInput, match="No recipient"):
        _merge(db, world, source={"kind": "contacts", "person_ids": [quiet.id]})


def test_render_reads_back_with_pypdf_and_rerun_adds_nothing(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    batch = _merge(db, world)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    letters = _letters(db, batch.id)
    assert all(x.pdf_path and x.pages == 1 and not x.render_error for x in letters)
    rahmon = next(x for x in letters if "TJK" in x.reference)
    reader, text = pdf_text((rendering.files_root() / rahmon.pdf_path).read_bytes())
    assert len(reader.pages) == 1
    assert "господину Э.Ш. Рахмону" in text
    assert rahmon.context["recipient"]["salutation"] in text
    assert "CMC/2010/TJK/0001" in text
    assert "1 августа 2010 г." in text
    meta = reader.metadata
    assert meta is not None and meta.author == "Cluster Munition Coalition"
    assert meta.title == rahmon.subject and rahmon.subject.startswith("О присоединении")
    assert "CMC/2010/TJK/0001" in (meta.subject or "")
    pakistan = next(x for x in letters if "PAK" in x.reference)
    _, en_text = pdf_text((rendering.files_root() / pakistan.pdf_path).read_bytes())
    assert "First Meeting of States Parties to the Convention on Cluster Munitions" in en_text
    assert "1 August 2010" in en_text

    db.refresh(batch)
    assert (batch.rendered, batch.failed, batch.total) == (6, 0, 6)
    combined = rendering.download_path(batch, "pdf")
    reader, text = pdf_text(combined.read_bytes())
    assert len(reader.pages) == 6 and "CMC/2010/UZB/0001" in text
    names = zipfile.ZipFile(rendering.download_path(batch, "zip")).namelist()
    assert "CMC-2010-TJK-0001_h-e-emomali-rahmon.pdf" in names and len(names) == 6

    service.rerun(db, batch_id=batch.id, actor=None)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    again = _letters(db, batch.id)
    assert [(x.id, x.reference) for x in again] == [(x.id, x.reference) for x in letters]
    # The job delivered twice does nothing the second time.
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done


def test_rerender_from_stored_version_gives_the_same_text(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    batch = _merge(db, world)
    service.run_batch(batch.id, pool=pool)
    letter = next(x for x in _letters(db, batch.id) if "PAK" in x.reference)
    _, stored = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    # The template is edited afterwards: the old letter keeps its own version's text.
    letters_service.save_variant(
        db,
        template_id=world["template"].id,
        language="en",
        data=VariantSave(subject="Changed", body="<p>{{ recipient.name }}: new text</p>"),
        actor=None,
    )
    again = render.render_pdf(letter_job(db, letter))
    _, text = pdf_text(again.pdf)
    assert text == stored
    assert again.subject == letter.subject


def test_cancel_stops_the_batch(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs = [make_organisation(db, f"Office {i}", country="KAZ") for i in range(24)]
    batch = _merge(db, world, source={"kind": "contacts", "organisation_ids": [o.id for o in orgs]})
    monkeypatch.setattr(service, "PROGRESS_SECONDS", 0.0)
    original = service._Progress.add

    def add_then_cancel(self: Any, result: Any) -> None:
        original(self, result)
        with transaction() as session:
            session.execute(
                update(MergeBatch).where(MergeBatch.id == batch.id).values(cancel_requested=True)
            )

    monkeypatch.setattr(service._Progress, "add", add_then_cancel)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.cancelled
    db.refresh(batch)
    assert 0 < batch.rendered < 24
    assert not batch.combined_pdf_path
    assert batch.report["cancelled_after"] == batch.rendered


def test_cancel_a_queued_merge(db: Session, world: dict[str, Any]) -> None:
    batch = _merge(db, world)
    service.request_cancel(db, batch_id=batch.id, actor=None)
    assert batch.status == BatchStatus.cancelled
    assert service.run_batch(batch.id) == BatchStatus.cancelled  # the job finds nothing to do


def test_a_letter_that_fails_is_reported_and_the_others_render(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    template = letters_service.create(
        db,
        data=TemplateCreate(
            slug="fragile",
            name="Fragile",
            language="en",
            subject="Hello {{ recipient.country }}",
            body=(
                "<p>{{ recipient.salutation }}</p>"
                "{% if recipient.country == 'Pakistan' %}{{ 'x' * 10000000 }}{% endif %}"
            ),
        ),
        actor=None,
    )
    batch = _merge(db, world, template_id=template.id)
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    db.refresh(batch)
    assert (batch.rendered, batch.failed) == (5, 1)
    [failure] = service.failures(db, batch.id)
    assert "PAK" in failure["reference"]
    assert "too long" in failure["error"] or "limit" in failure["error"]
    _, text = pdf_text(rendering.download_path(batch, "pdf").read_bytes())
    assert "Pakistan" not in text.split("Hello")[0] or "Tajikistan" in text


def test_pdf_a_variant_and_a_stopped_job_is_recorded(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = make_organisation(db, "Office A", country="KAZ", preferred_language="en")
    source = {"kind": "contacts", "organisation_ids": [office.id]}
    batch = _merge(db, world, source=source, pdf_variant="pdf/a-3b")
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    [letter] = _letters(db, batch.id)
    reader, _ = pdf_text((rendering.files_root() / letter.pdf_path).read_bytes())
    metadata = reader.root_object["/Metadata"].get_object()
    intents = reader.root_object["/OutputIntents"].get_object()
    assert isinstance(metadata, StreamObject) and isinstance(intents, ArrayObject)
    assert b"pdfaid:part" in metadata.get_data()
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"

    broken = _merge(db, world, source=source)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("renderer unavailable")

    monkeypatch.setattr(service.letters_batch, "render_batch", explode)
    with pytest.raises(RuntimeError):
        service.run_batch(broken.id, pool=pool)
    db.refresh(broken)
    assert broken.status == BatchStatus.failed
    assert "renderer unavailable" in broken.report["error"]


def test_every_path_renders_a_stored_letter_alike(
    db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    """The email's attachment of a letter whose PDF went missing keeps the merge's PDF/A
    variant, as the letter's page does; a letter written without a template prints its own
    text on the default letterhead on both paths."""
    from app.correspondence import message

    office = make_organisation(db, "Office B", country="KAZ", preferred_language="en")
    source = {"kind": "contacts", "organisation_ids": [office.id]}
    batch = _merge(db, world, source=source, pdf_variant="pdf/a-3b")
    assert service.run_batch(batch.id, pool=pool) == BatchStatus.done
    [letter] = _letters(db, batch.id)
    (rendering.files_root() / letter.pdf_path).unlink()
    reader, text = pdf_text(message.letter_pdf(db, letter))
    metadata = reader.root_object["/Metadata"].get_object()
    assert isinstance(metadata, StreamObject) and b"pdfaid:part" in metadata.get_data()
    assert "Office B" in text

    own = Letter(
        reference="CMC/2010/KAZ/9999",
        campaign_id=letter.campaign_id,
        organisation_id=office.id,
        country_id=letter.country_id,
        recipient_key=letter.recipient_key,
        recipient_name="Office B",
        context=letter.context,
        subject="A letter written by hand",
        body_html="<p>Written without a template, Excellency.</p>",
        language="en",
        letter_date=date(2010, 5, 1),
        status=letter.status,
        channel=letter.channel,
    )
    db.add(own)
    db.flush()
    assert own.template_version_id is None
    for pdf in (message.letter_pdf(db, own), rendering.letter_pdf(db, own).read_bytes()):
        _, text = pdf_text(pdf)
        assert "Written without a template, Excellency." in text
