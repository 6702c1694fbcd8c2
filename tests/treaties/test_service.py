"""The shipped data: loaded once, idempotent, and the published cases computed from it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.models import Meeting, StateAction
from app.treaties import loading, service
from app.treaties.rules import ActionKind, Status


def _id(db: Session, iso3: str) -> int:
    return countries_service.get_by_code(db, iso3).id


def test_load_is_idempotent_and_keeps_sources(db: Session) -> None:
    before = db.scalar(select(func.count()).select_from(StateAction))
    loading.load(db)
    assert db.scalar(select(func.count()).select_from(StateAction)) == before
    assert db.scalar(select(func.count()).select_from(Meeting)) == 43
    tjk = db.scalars(select(StateAction).where(StateAction.country_id == _id(db, "TJK"))).one()
    assert tjk.kind is ActionKind.accession and tjk.action_date == date(1999, 10, 12)
    assert "treaties.un.org" in tjk.source
    mne = db.scalars(select(StateAction).where(StateAction.country_id == _id(db, "MNE"))).all()
    assert ActionKind.succession in {a.kind for a in mne}


def test_treaty_eif_computed_from_the_data(db: Session) -> None:
    assert service.treaty_eif(db, service.get_by_short_name(db, "CCM")) == date(2010, 8, 1)
    assert service.treaty_eif(db, service.get_by_short_name(db, "MBT")) == date(1999, 3, 1)


def test_who_was_party_on_1_august_2010(db: Session) -> None:
    statuses = service.status_map(db, "CCM", on=date(2010, 8, 1))
    parties = {cid for cid, s in statuses.items() if s is Status.state_party}
    assert len(parties) == 30
    assert _id(db, "LAO") in parties and _id(db, "MDA") in parties
    assert statuses[_id(db, "WSM")] is Status.signatory  # deposited 28 Apr 2010: bound 1 Oct
    assert service.status_map(db, "CCM", on=date(2010, 7, 31))[_id(db, "LAO")] is Status.signatory


def test_withdrawals_and_counts(db: Session) -> None:
    ccm = service.get_by_short_name(db, "CCM")
    on = date(2026, 2, 3)
    counts = service.status_counts(db, ccm, on=on)
    assert counts["withdrawn"] == 1
    assert service.status_map(db, "CCM", on=on)[_id(db, "LTU")] is Status.withdrawn
    assert service.status_map(db, "CCM", on=date(2025, 3, 5))[_id(db, "LTU")] is Status.state_party
    mbt = service.status_counts(db, service.get_by_short_name(db, "MBT"), on=on)
    assert mbt["withdrawn"] == 4 and mbt["state_party"] == 162


def test_state_summary_for_letters(db: Session) -> None:
    summary = service.state_summary(db, _id(db, "IRQ"), on=date(2026, 1, 1))
    assert summary["CCM"]["entry_into_force"] == date(2013, 11, 1)
    assert summary["CCM"]["deadlines"]["stockpile"] == date(2021, 11, 1)
    assert summary["CCM"]["status"] == "state_party"
    assert service.state_summary(db, _id(db, "KAZ"))["CCM"]["status"] == "non_signatory"


def test_acceptances_and_approvals_keep_their_kind(db: Session) -> None:
    kinds = {
        a.kind
        for a in db.scalars(select(StateAction).where(StateAction.country_id == _id(db, "SVK")))
    }
    assert ActionKind.approval in kinds
    summary = service.state_summary(db, _id(db, "JPN"), on=date(2026, 1, 1))
    assert summary["CCM"]["instrument"] == "acceptance"
    assert summary["CCM"]["entry_into_force"] == date(2010, 8, 1)


def test_reload_does_not_undo_a_corrected_kind(db: Session) -> None:
    action = db.scalars(
        select(StateAction).where(
            StateAction.country_id == _id(db, "ALB"), StateAction.kind == ActionKind.ratification
        )
    ).first()
    assert action is not None
    action.kind = ActionKind.acceptance
    db.flush()
    loading.load(db)
    kinds = [
        a.kind
        for a in db.scalars(
            select(StateAction).where(
                StateAction.country_id == _id(db, "ALB"), StateAction.treaty_id == action.treaty_id
            )
        )
    ]
    assert sorted(kinds) == sorted([ActionKind.signature, ActionKind.acceptance])


def test_status_follows_an_edit_in_the_same_session(db: Session) -> None:
    """The treaty picture is remembered within a session; a change to a state action is seen
    at once, flushed or not."""
    kaz = countries_service.get_by_code(db, "KAZ")
    on = date(2026, 1, 1)
    assert service.status_map(db, "CCM", on=on)[kaz.id] is Status.non_signatory
    action = StateAction(
        country_id=kaz.id,
        treaty_id=service.get_by_short_name(db, "CCM").id,
        kind=ActionKind.signature,
        action_date=date(2025, 3, 1),
    )
    db.add(action)  # pending, not flushed
    assert service.status_map(db, "CCM", on=on)[kaz.id] is Status.signatory
    action.kind = ActionKind.accession
    assert service.status_map(db, "CCM", on=on)[kaz.id] is Status.state_party
    db.delete(action)
    db.flush()
    assert service.status_map(db, "CCM", on=on)[kaz.id] is Status.non_signatory
