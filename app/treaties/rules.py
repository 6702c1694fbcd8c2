"""Treaty date rules, pure (no database): status, entry into force and obligation deadlines.

The two shipped treaties share the same entry-into-force article (CCM and MBT Art. 17):

* 17(1): the treaty enters into force on the first day of the sixth month after the month in
  which the Nth instrument (30th CCM, 40th MBT) was deposited;
* 17(2): for a state depositing *after the date* of the Nth deposit, on the first day of the
  sixth month after the date of its own deposit.

Both read as "first day of the month, six calendar months after the deposit's month"; the
parameters (N, months) are data on the treaty so another treaty can use other values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


class Status(enum.StrEnum):
    non_signatory = "non_signatory"
    signatory = "signatory"
    state_party = "state_party"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    Status.non_signatory: "Not a signatory",
    Status.signatory: "Signatory (not bound)",
    Status.state_party: "State party",
    Status.withdrawn: "Withdrawn",
}


class ActionKind(enum.StrEnum):
    signature = "signature"
    ratification = "ratification"
    acceptance = "acceptance"
    approval = "approval"
    accession = "accession"
    succession = "succession"
    withdrawal = "withdrawal"

    @property
    def is_instrument(self) -> bool:
        """An instrument of consent to be bound (counts towards entry into force)."""
        return self in INSTRUMENTS


INSTRUMENTS = frozenset(
    {
        ActionKind.ratification,
        ActionKind.acceptance,
        ActionKind.approval,
        ActionKind.accession,
        ActionKind.succession,
    }
)


@dataclass(frozen=True)
class EifRule:
    trigger_count: int
    months_after: int = 6


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    on: date
    effective: date | None = None  # withdrawals: the date they take effect


@dataclass(frozen=True)
class ObligationRule:
    code: str
    label: str
    years: int = 0
    months: int = 0
    days: int = 0
    annual_month: int | None = None  # a fixed yearly date (e.g. 30 April) instead of a period
    annual_day: int | None = None

    @property
    def is_annual(self) -> bool:
        return self.annual_month is not None


@dataclass(frozen=True)
class Extension:
    new_deadline: date
    granted_by: str = ""
    source: str = ""


@dataclass(frozen=True)
class Deadline:
    code: str
    label: str
    original: date
    extensions: tuple[Extension, ...] = field(default_factory=tuple)

    @property
    def current(self) -> date:
        """The deadline in force: the latest extension supersedes the original."""
        if not self.extensions:
            return self.original
        return max(self.extensions, key=lambda e: e.new_deadline).new_deadline

    @property
    def extended(self) -> bool:
        return bool(self.extensions)


def first_of_month_after(day: date, months: int) -> date:
    """The first day of the ``months``-th month after the month of ``day``."""
    return day.replace(day=1) + relativedelta(months=months)


def treaty_eif(deposits: Iterable[date], rule: EifRule) -> date | None:
    """Entry into force of the treaty itself, or None while fewer than N instruments exist."""
    ordered = sorted(deposits)
    if len(ordered) < rule.trigger_count:
        return None
    return first_of_month_after(ordered[rule.trigger_count - 1], rule.months_after)


def trigger_date(deposits: Iterable[date], rule: EifRule) -> date | None:
    """The date of the Nth deposit."""
    ordered = sorted(deposits)
    return ordered[rule.trigger_count - 1] if len(ordered) >= rule.trigger_count else None


def state_eif(deposit: date, all_deposits: Sequence[date], rule: EifRule) -> date | None:
    """When the treaty enters into force for a state that deposited on ``deposit``.

    Deposits on or before the Nth deposit's date share the treaty's date (17(1)); later
    deposits get their own date (17(2)). None while the treaty is not yet in force.
    """
    nth = trigger_date(all_deposits, rule)
    if nth is None:
        return None
    if deposit <= nth:
        return first_of_month_after(nth, rule.months_after)
    return first_of_month_after(deposit, rule.months_after)


def instrument(actions: Iterable[Action]) -> Action | None:
    """The state's first instrument of consent to be bound."""
    found = [a for a in actions if a.kind.is_instrument]
    return min(found, key=lambda a: a.on) if found else None


def status(actions: Sequence[Action], eif_for_state: date | None, on: date) -> Status:
    """The state's status on ``on``.

    A state that deposited but for which the treaty is not yet in force is not bound: it
    counts as a signatory (it has expressed consent, as a signature does).
    """
    for action in actions:
        if action.kind is ActionKind.withdrawal and (action.effective or action.on) <= on:
            return Status.withdrawn
    if eif_for_state is not None and eif_for_state <= on:
        return Status.state_party
    if any(a.on <= on for a in actions if a.kind is not ActionKind.withdrawal):
        return Status.signatory
    return Status.non_signatory


def deadline(rule: ObligationRule, eif: date, on: date | None = None) -> date:
    """The original deadline of an obligation for a state bound from ``eif``.

    A period runs from the state's entry into force; a yearly date (reports due 30 April) is the
    next occurrence after entry into force and on or after ``on`` when given.
    """
    if rule.is_annual:
        assert rule.annual_month is not None and rule.annual_day is not None
        start = max(eif + timedelta(days=1), on or eif)
        due = date(start.year, rule.annual_month, rule.annual_day)
        return due if due >= start else date(start.year + 1, rule.annual_month, rule.annual_day)
    return eif + relativedelta(years=rule.years, months=rule.months, days=rule.days)


def deadlines(
    rules: Iterable[ObligationRule],
    eif: date,
    extensions: dict[str, list[Extension]] | None = None,
    on: date | None = None,
) -> list[Deadline]:
    extensions = extensions or {}
    out = [
        Deadline(
            code=r.code,
            label=r.label,
            original=deadline(r, eif, on),
            extensions=tuple(sorted(extensions.get(r.code, []), key=lambda e: e.new_deadline)),
        )
        for r in rules
    ]
    return sorted(out, key=lambda d: d.original)


def countdown(due: date, today: date, what: str = "") -> str:
    """'100 days to entry into force', 'today', '3 days ago'."""
    delta = (due - today).days
    label = f" {what}" if what else ""
    if delta == 0:
        return f"today{': ' + what if what else ''}"
    if delta > 0:
        unit = "day" if delta == 1 else "days"
        return f"{delta} {unit} to{label}" if what else f"in {delta} {unit}"
    unit = "day" if delta == -1 else "days"
    return f"{-delta} {unit} ago"
