"""The date rules, on published cases and as properties over any deposit date."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.treaties import rules
from app.treaties.rules import Action, ActionKind, EifRule, ObligationRule, Status

CCM = EifRule(trigger_count=30)
MBT = EifRule(trigger_count=40)
# 29 earlier deposits, then the 29th and 30th (Burkina Faso, Moldova) on 16 Feb 2010.
CCM_FIRST_30 = [date(2009, 1, 1) + timedelta(days=i * 10) for i in range(28)] + [
    date(2010, 2, 16),
    date(2010, 2, 16),
]
MBT_FIRST_40 = [date(1998, 1, 1) + timedelta(days=i) for i in range(38)] + [
    date(1998, 9, 16),
    date(1998, 9, 16),
]
CLEARANCE_MBT = ObligationRule("clearance", "Clearance", years=10)
STOCKPILE_CCM = ObligationRule("stockpile", "Stockpile", years=8)
INITIAL = ObligationRule("initial_report", "Initial report", days=180)
ANNUAL = ObligationRule("annual_report", "Annual report", annual_month=4, annual_day=30)


def test_ccm_enters_into_force_on_1_august_2010_from_the_30th_deposit() -> None:
    assert rules.trigger_date(CCM_FIRST_30, CCM) == date(2010, 2, 16)
    assert rules.treaty_eif(CCM_FIRST_30, CCM) == date(2010, 8, 1)


def test_treaty_not_in_force_before_the_nth_instrument() -> None:
    assert rules.treaty_eif(CCM_FIRST_30[:29], CCM) is None
    assert rules.state_eif(date(2009, 5, 1), CCM_FIRST_30[:29], CCM) is None


def test_mbt_enters_into_force_on_1_march_1999() -> None:
    assert rules.treaty_eif(MBT_FIRST_40, MBT) == date(1999, 3, 1)


def test_bolivia_and_iraq_ccm() -> None:
    assert rules.state_eif(date(2013, 4, 30), CCM_FIRST_30, CCM) == date(2013, 10, 1)
    assert rules.state_eif(date(2013, 5, 14), CCM_FIRST_30, CCM) == date(2013, 11, 1)


def test_same_day_as_the_30th_shares_the_treaty_date_and_samoa_gets_its_own() -> None:
    assert rules.state_eif(date(2010, 2, 16), CCM_FIRST_30, CCM) == date(2010, 8, 1)
    assert rules.state_eif(date(2009, 3, 1), CCM_FIRST_30, CCM) == date(2010, 8, 1)
    assert rules.state_eif(date(2010, 4, 28), CCM_FIRST_30, CCM) == date(2010, 10, 1)


def test_tajikistan_mbt_clearance_deadline_and_cartagena_extension() -> None:
    eif = rules.state_eif(date(1999, 10, 12), MBT_FIRST_40, MBT)
    assert eif == date(2000, 4, 1)
    ext = rules.Extension(date(2020, 4, 1), "Cartagena Summit")
    (d,) = rules.deadlines([CLEARANCE_MBT], eif, {"clearance": [ext]})
    assert d.original == date(2010, 4, 1)
    assert d.current == date(2020, 4, 1)
    assert d.extended


def test_later_extension_supersedes_earlier_one() -> None:
    exts = [rules.Extension(date(2025, 12, 31)), rules.Extension(date(2020, 4, 1))]
    (d,) = rules.deadlines([CLEARANCE_MBT], date(2000, 4, 1), {"clearance": exts})
    assert d.current == date(2025, 12, 31)
    assert d.original == date(2010, 4, 1)


def test_iraq_ccm_stockpile_and_initial_report() -> None:
    eif = date(2013, 11, 1)
    assert rules.deadline(STOCKPILE_CCM, eif) == date(2021, 11, 1)
    assert rules.deadline(INITIAL, eif) == date(2014, 4, 30)


def test_annual_report_is_next_30_april_after_eif() -> None:
    assert rules.deadline(ANNUAL, date(2013, 11, 1)) == date(2014, 4, 30)
    assert rules.deadline(ANNUAL, date(2013, 11, 1), on=date(2026, 5, 1)) == date(2027, 4, 30)
    assert rules.deadline(ANNUAL, date(2010, 8, 1), on=date(2026, 4, 30)) == date(2026, 4, 30)


def test_status_over_time() -> None:
    actions = [
        Action(ActionKind.signature, date(2008, 12, 3)),
        Action(ActionKind.ratification, date(2009, 6, 16)),
        Action(ActionKind.withdrawal, date(2024, 9, 6), effective=date(2025, 3, 6)),
    ]
    eif = date(2010, 8, 1)
    assert rules.status(actions, eif, date(2008, 12, 2)) is Status.non_signatory
    assert rules.status(actions, eif, date(2009, 1, 1)) is Status.signatory
    assert rules.status(actions, eif, date(2010, 7, 31)) is Status.signatory
    assert rules.status(actions, eif, date(2010, 8, 1)) is Status.state_party
    assert rules.status(actions, eif, date(2025, 3, 5)) is Status.state_party
    assert rules.status(actions, eif, date(2025, 3, 6)) is Status.withdrawn


def test_countdown_wording() -> None:
    today = date(2026, 1, 1)
    assert rules.countdown(date(2026, 4, 11), today, "entry into force") == (
        "100 days to entry into force"
    )
    assert rules.countdown(date(2025, 12, 29), today) == "3 days ago"
    assert rules.countdown(today, today) == "today"
    assert rules.countdown(date(2026, 1, 2), today) == "in 1 day"


deposits = st.dates(min_value=date(2010, 2, 17), max_value=date(2100, 12, 31))


@given(deposits)
def test_state_eif_is_first_of_a_month_five_to_six_months_later(deposit: date) -> None:
    eif = rules.state_eif(deposit, CCM_FIRST_30, CCM)
    assert eif is not None
    assert eif.day == 1
    months = (eif.year - deposit.year) * 12 + eif.month - deposit.month
    assert months == 6
    assert 151 <= (eif - deposit).days <= 184


@given(deposits, deposits)
def test_state_eif_is_monotone_in_the_deposit_date(a: date, b: date) -> None:
    early, late = sorted([a, b])
    ea = rules.state_eif(early, CCM_FIRST_30, CCM)
    eb = rules.state_eif(late, CCM_FIRST_30, CCM)
    assert ea is not None and eb is not None
    assert ea <= eb


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2010, 2, 16)))
def test_early_deposits_all_share_the_treaty_date(deposit: date) -> None:
    assert rules.state_eif(deposit, CCM_FIRST_30, CCM) == date(2010, 8, 1)


@given(st.lists(st.dates(min_value=date(2000, 1, 1), max_value=date(2050, 1, 1)), min_size=30))
def test_treaty_eif_never_later_than_any_later_states_eif(all_deposits: list[date]) -> None:
    treaty = rules.treaty_eif(all_deposits, CCM)
    assert treaty is not None
    for d in all_deposits:
        own = rules.state_eif(d, all_deposits, CCM)
        assert own is not None and own >= treaty


@given(deposits, st.dates(min_value=date(2010, 1, 1), max_value=date(2120, 1, 1)))
def test_annual_deadline_is_30_april_after_eif_and_not_before_on(deposit: date, on: date) -> None:
    eif = rules.state_eif(deposit, CCM_FIRST_30, CCM)
    assert eif is not None
    due = rules.deadline(ANNUAL, eif, on=on)
    assert (due.month, due.day) == (4, 30)
    assert due > eif and due >= on
    assert (due - max(on, eif)).days <= 366
