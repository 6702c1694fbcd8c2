"""Co-signers' service: the managed list, its audit trail, and what a letter gets of them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.cosigners import service
from app.cosigners.schemas import CosignerUpdate
from app.errors import Conflict, InvalidInput, NotFound
from app.settings_admin import images
from tests.cosigners.conftest import HI, HRW, make_cosigner, png


def test_create_list_get_update_delete_are_audited(db: Session) -> None:
    hi = make_cosigner(db, HI)
    hrw = make_cosigner(db, HRW)
    rows, total = service.list_cosigners(db)
    assert total == 2 and [c.name for c in rows] == ["Handicap International", "Human Rights Watch"]
    assert service.list_cosigners(db, q="rights")[0] == [hrw]
    assert service.get(db, hi.id).translations["ru"]["name"] == "Хандикап Интернэшнл"

    data = CosignerUpdate.model_validate(
        {**HI, "signatory_title": "Head of Advocacy", "version": 1}
    )
    assert service.update(db, cosigner_id=hi.id, data=data, actor=None).version == 2
    service.delete(db, cosigner_id=hrw.id, actor=None)
    with pytest.raises(NotFound):
        service.get(db, hrw.id)

    actions = [e.action for e in audit_service.list_entries(db, entity_type="cosigner")[0]]
    assert sorted(actions) == sorted(
        ["cosigner.create", "cosigner.create", "cosigner.update", "cosigner.delete"]
    )


def test_a_stale_version_and_a_taken_name_are_conflicts(db: Session) -> None:
    hi = make_cosigner(db, HI)
    make_cosigner(db, HRW)
    stale = CosignerUpdate.model_validate({**HI, "signatory_name": "Someone", "version": 7})
    with pytest.raises(Conflict):
        service.update(db, cosigner_id=hi.id, data=stale, actor=None)
    taken = CosignerUpdate.model_validate({**HI, "name": "human rights watch", "version": 1})
    with pytest.raises(Conflict) as caught:
        service.update(db, cosigner_id=hi.id, data=taken, actor=None)
    assert caught.value.errors[0]["field"] == "name"
    with pytest.raises(Conflict):
        make_cosigner(db, {**HRW, "name": "  HUMAN RIGHTS WATCH "})


def test_context_in_the_letter_language_never_english_elsewhere(db: Session) -> None:
    hi = make_cosigner(db, HI)
    hrw = make_cosigner(db, HRW)
    ids = [hrw.id, hi.id, hrw.id]  # the order given; repeats dropped

    en = service.cosigners_context(db, ids, "en")
    assert en == [
        {
            "name": "Human Rights Watch",
            "signatory_name": "Steve Goose",
            "signatory_title": "Director, Arms Division",
            "logo": "",
        },
        {
            "name": "Handicap International",
            "signatory_name": "Marion Libertucci",
            "signatory_title": "Advocacy Manager",
            "logo": "",
        },
    ]
    ru = service.cosigners_context(db, ids, "ru")
    assert [c["signatory_name"] for c in ru] == ["Стив Гуз", "Марион Либертуччи"]
    assert ru[1]["name"] == "Хандикап Интернэшнл"
    # Human Rights Watch has no French: its name and title are empty, never the English; the
    # signatory's Latin name stands in a Latin-script letter.
    fr = service.cosigners_context(db, ids, "fr-CH")
    assert fr[0] == {
        "name": "",
        "signatory_name": "Steve Goose",
        "signatory_title": "",
        "logo": "",
    }
    assert fr[1]["signatory_title"] == "Responsable du plaidoyer"
    zh = service.cosigners_context(db, [hi.id], "zh")
    assert zh == [{"name": "", "signatory_name": "", "signatory_title": "", "logo": ""}]
    assert service.cosigners_context(db, [], "ru") == []


def test_a_cosigner_without_a_russian_name_is_empty_in_a_russian_letter(db: Session) -> None:
    latin_only = make_cosigner(
        db, {"name": "Mines Action Canada", "signatory_name": "Paul Hannon", "translations": {}}
    )
    [item] = service.cosigners_context(db, [latin_only.id], "ru")
    assert item["name"] == "" and item["signatory_name"] == ""
    gaps = service.cosigners_gaps(db, [latin_only.id], "ru")
    assert gaps == [
        "cosigners.name: Mines Action Canada",
        "cosigners.signatory_name: Mines Action Canada",
    ]
    assert service.cosigners_gaps(db, [latin_only.id], "en") == []


def test_unknown_or_too_many_cosigners_are_refused(db: Session) -> None:
    hi = make_cosigner(db, HI)
    with pytest.raises(InvalidInput) as caught:
        service.cosigners_context(db, [hi.id, 999_999], "en")
    assert "999999" in caught.value.detail
    with pytest.raises(InvalidInput):
        service.cosigners_context(db, list(range(1, service.MAX_PER_LETTER + 2)), "en")


def test_logo_is_a_file_the_context_names_and_delete_removes_it(db: Session) -> None:
    hi = make_cosigner(db, HI)
    stored = service.upload_logo(db, cosigner_id=hi.id, data=png(), actor=None)
    name = stored.path.name
    assert service.is_logo_name(name) and name.startswith(f"cosigner-{hi.id}-")
    assert service.cosigners_context(db, [hi.id], "ar")[0]["logo"] == name

    again = service.upload_logo(db, cosigner_id=hi.id, data=png(color=(1, 2, 3)), actor=None)
    assert again.path.name != name and not (images.directory() / name).exists()
    service.delete(db, cosigner_id=hi.id, actor=None)
    assert list(images.directory().glob("cosigner-*")) == []
