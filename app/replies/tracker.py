"""The reply tracker of a campaign: every target, its letter, its answer, its position."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns import service as campaigns_service
from app.maps.service import LegendItem, WorldMap, world_map
from app.models import (
    Campaign,
    Country,
    Letter,
    LetterStatus,
    Reply,
    ReplyKind,
    ReplyLetter,
    ReplyStatus,
)
from app.replies import positions
from app.replies.schemas import STANCE_LABELS
from app.treaties import service as treaties_service
from app.treaties.rules import STATUS_LABELS, Status

# Reply status of a target, as the tracker, its filter and its map show it.
CATEGORIES = {
    "replied": ("Replied", "#1e7d4f"),
    "overdue": ("Overdue", "#b42318"),
    "waiting": ("Waiting for a reply", "#d9a400"),
    "failed": ("Failed or bounced", "#6b3fa0"),
    "not_sent": ("Not sent yet", "#8fb3d9"),
    "closed": ("Closed", "#7a8794"),
    "no_letter": ("No letter", "#c4ccd4"),
}
PRIORITY = ["replied", "overdue", "waiting", "failed", "not_sent", "closed", "no_letter"]
TREATY_COLORS = {
    Status.state_party: "#1e7d4f",
    Status.signatory: "#8fb3d9",
    Status.non_signatory: "#b42318",
    Status.withdrawn: "#6b3fa0",
}
SORTS = {"state", "sent", "days", "status", "position", "addressee"}
MAP_MODES = {"status": "Reply status", "position": "Position", "treaty": "Treaty status"}
SENT_STATUSES = (LetterStatus.sent, LetterStatus.replied, LetterStatus.closed)


@dataclass
class TrackerRow:
    country_id: int | None
    iso2: str
    iso3: str
    country_name: str
    letter_id: int | None
    reference: str
    addressee: str
    sent_on: date | None
    channel: str
    letter_status: str
    category: str
    days_waiting: int | None
    replied_on: date | None
    reply_id: int | None
    position: str  # stance value or ""
    # An acknowledgement of receipt and no answer yet: the letter still waits (or is overdue).
    acknowledged_on: date | None = None
    acknowledgement_id: int | None = None

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category][0]

    @property
    def overdue(self) -> bool:
        return self.category == "overdue"

    @property
    def position_label(self) -> str:
        return STANCE_LABELS[positions.PositionStance(self.position)] if self.position else ""


@dataclass
class Tracker:
    campaign: Campaign
    rows: list[TrackerRow]
    counts: dict[str, float]


def _category(letter: Letter, replied_on: date | None, today: date) -> str:
    if replied_on is not None or letter.status is LetterStatus.replied:
        return "replied"
    if letter.status is LetterStatus.sent:
        if letter.reply_due_on and letter.reply_due_on < today:
            return "overdue"
        return "waiting"
    if letter.status in (LetterStatus.failed, LetterStatus.bounced):
        return "failed"
    if letter.status is LetterStatus.closed:
        return "closed"
    return "not_sent"


def _first_answers(
    session: Session, campaign_id: int, kind: ReplyKind
) -> dict[int, tuple[date, int]]:
    """Per letter of the campaign, the first logged reply of this kind: (received, reply id)."""
    rows = session.execute(
        select(ReplyLetter.letter_id, func.min(Reply.received_on), func.min(Reply.id))
        .join(Reply, Reply.id == ReplyLetter.reply_id)
        .join(Letter, Letter.id == ReplyLetter.letter_id)
        .where(
            Letter.campaign_id == campaign_id,
            Reply.status == ReplyStatus.logged,
            Reply.kind == kind,
        )
        .group_by(ReplyLetter.letter_id)
    ).all()
    return {letter_id: (received, reply_id) for letter_id, received, reply_id in rows}


def build(session: Session, campaign_id: int, *, today: date | None = None) -> Tracker:
    today = today or date.today()
    campaign = campaigns_service.get(session, campaign_id)
    letters = session.execute(
        select(Letter, Country)
        .outerjoin(Country, Country.id == Letter.country_id)
        .where(Letter.campaign_id == campaign.id, Letter.follow_up_of_id.is_(None))
        .order_by(Letter.id)
    ).all()
    first_reply = _first_answers(session, campaign.id, ReplyKind.reply)
    # "Your letter has been received and forwarded": worth showing, but not an answer.
    acknowledged = _first_answers(session, campaign.id, ReplyKind.acknowledgement)
    country_ids = {c.id for _, c in letters if c is not None}
    targets = campaigns_service.targets(session, campaign)
    country_ids |= {t.country.id for t in targets}
    stances = (
        positions.current(session, treaty_id=campaign.treaty_id, country_ids=list(country_ids))
        if campaign.treaty_id
        else {}
    )
    rows: list[TrackerRow] = []
    for letter, country in letters:
        replied_on, reply_id = first_reply.get(letter.id, (None, None))
        acknowledged_on, acknowledgement_id = acknowledged.get(letter.id, (None, None))
        category = _category(letter, replied_on, today)
        days = None
        if letter.sent_on:
            days = ((replied_on or today) - letter.sent_on).days
            if category not in {"replied", "waiting", "overdue"}:
                days = None
        stance = stances.get(country.id) if country else None
        rows.append(
            TrackerRow(
                country_id=country.id if country else None,
                iso2=country.iso2 if country else "",
                iso3=country.iso3 if country else "",
                country_name=country.name if country else "",
                letter_id=letter.id,
                reference=letter.reference,
                addressee=letter.recipient_name,
                sent_on=letter.sent_on,
                channel=letter.channel.value,
                letter_status=letter.status.value,
                category=category,
                days_waiting=days,
                replied_on=replied_on,
                reply_id=reply_id,
                position=stance.stance.value if stance else "",
                acknowledged_on=acknowledged_on if replied_on is None else None,
                acknowledgement_id=acknowledgement_id if replied_on is None else None,
            )
        )
    written = {r.country_id for r in rows}
    for t in targets:
        if t.country.id in written:
            continue
        stance = stances.get(t.country.id)
        rows.append(
            TrackerRow(
                country_id=t.country.id,
                iso2=t.country.iso2,
                iso3=t.country.iso3,
                country_name=t.country.name,
                letter_id=None,
                reference="",
                addressee="",
                sent_on=None,
                channel="",
                letter_status="",
                category="no_letter",
                days_waiting=None,
                replied_on=None,
                reply_id=None,
                position=stance.stance.value if stance else "",
            )
        )
    return Tracker(campaign=campaign, rows=rows, counts=_counts(rows))


def _counts(rows: Sequence[TrackerRow]) -> dict[str, float]:
    sent = sum(1 for r in rows if r.sent_on and r.category in {"replied", "waiting", "overdue"})
    replied = sum(1 for r in rows if r.category == "replied")
    overdue = sum(1 for r in rows if r.category == "overdue")
    return {
        "targets": len({r.country_id for r in rows}),
        "letters": sum(1 for r in rows if r.letter_id),
        "sent": sent,
        "replied": replied,
        "overdue": overdue,
        "waiting": sum(1 for r in rows if r.category == "waiting"),
        "response_rate": round(100 * replied / sent, 1) if sent else 0.0,
    }


def filter_rows(
    rows: Sequence[TrackerRow],
    *,
    q: str = "",
    category: str = "",
    position: str = "",
    sort: str = "state",
    descending: bool = False,
) -> list[TrackerRow]:
    needle = q.strip().lower()
    out = [
        r
        for r in rows
        if (not category or r.category == category)
        and (not position or r.position == position or (position == "none" and not r.position))
        and (
            not needle
            or needle in r.country_name.lower()
            or needle in r.addressee.lower()
            or needle in r.reference.lower()
            or needle == r.iso3.lower()
        )
    ]
    keys = {
        "state": lambda r: (r.country_name, r.reference),
        "addressee": lambda r: (r.addressee.lower(), r.country_name),
        "sent": lambda r: (r.sent_on or date.min, r.country_name),
        "days": lambda r: (r.days_waiting if r.days_waiting is not None else -1, r.country_name),
        "status": lambda r: (PRIORITY.index(r.category), r.country_name),
        "position": lambda r: (r.position or "~", r.country_name),
    }
    out.sort(key=keys.get(sort, keys["state"]), reverse=descending)
    return out


# --- map and chart --------------------------------------------------------------------------


def tracker_map(session: Session, tracker: Tracker, mode: str) -> WorldMap:
    campaign = tracker.campaign
    categories: dict[str, str] = {}
    details: dict[str, str] = {}
    if mode == "position":
        legend = [
            LegendItem(stance.value, label, positions.STANCE_COLORS[stance])
            for stance, label in STANCE_LABELS.items()
        ]
        legend.append(LegendItem("unknown", "Position not known", "#c4ccd4"))
        for r in tracker.rows:
            if r.iso2:
                categories[r.iso2] = r.position or "unknown"
    elif mode == "treaty" and campaign.treaty:
        legend = [LegendItem(s.value, STATUS_LABELS[s], TREATY_COLORS[s]) for s in Status]
        statuses = treaties_service.statuses(session, campaign.treaty)
        for r in tracker.rows:
            if r.iso2 and r.country_id in statuses:
                categories[r.iso2] = statuses[r.country_id].value
    else:
        legend = [LegendItem(k, label, color) for k, (label, color) in CATEGORIES.items()]
        best: dict[str, str] = {}
        for r in tracker.rows:
            if r.iso2 and (
                r.iso2 not in best or PRIORITY.index(r.category) < PRIORITY.index(best[r.iso2])
            ):
                best[r.iso2] = r.category
        categories = best
    for r in tracker.rows:
        if r.iso2 and r.addressee:
            details.setdefault(r.iso2, f"{r.addressee} ({r.category_label.lower()})")
    title = f"{campaign.name}: {MAP_MODES.get(mode, MAP_MODES['status']).lower()}"
    return world_map(categories, legend, title=title, details=details)


def replies_by_month(session: Session, campaign_id: int) -> list[tuple[str, int, int]]:
    """[(YYYY-MM, letters sent, replies received)] from the first letter to the last reply;
    by year (YYYY) when that spans more than three years."""
    sent = Counter(
        d.strftime("%Y-%m")
        for d in session.scalars(
            select(Letter.sent_on).where(
                Letter.campaign_id == campaign_id, Letter.sent_on.is_not(None)
            )
        )
        if d
    )
    received = Counter(
        d.strftime("%Y-%m")
        for d in session.scalars(
            select(Reply.received_on)
            .join(ReplyLetter, ReplyLetter.reply_id == Reply.id)
            .join(Letter, Letter.id == ReplyLetter.letter_id)
            .where(Letter.campaign_id == campaign_id, Reply.status == ReplyStatus.logged)
            .distinct()
        )
    )
    months = sorted(set(sent) | set(received))
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    last = months[-1]
    out = []
    while True:
        key = f"{year:04d}-{month:02d}"
        out.append((key, sent.get(key, 0), received.get(key, 0)))
        if key >= last or len(out) > 240:
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if len(out) > 36:  # a long campaign reads better by year
        years: dict[str, list[int]] = {}
        for key, s, r in out:
            totals = years.setdefault(key[:4], [0, 0])
            totals[0] += s
            totals[1] += r
        return [(y, s, r) for y, (s, r) in years.items()]
    return out


def chart_svg(series: Sequence[tuple[str, int, int]]) -> Markup:
    """Bars per month (letters sent, replies received) and the cumulative replies as a line."""
    width, height, pad_l, pad_b, pad_t = 640, 220, 36, 40, 16
    if not series:
        return Markup("")
    peak = max(max(s, r) for _, s, r in series) or 1
    total_replies = sum(r for _, _, r in series) or 1
    plot_w, plot_h = width - pad_l - 8, height - pad_b - pad_t
    slot = plot_w / len(series)
    bar = max(2.0, slot * 0.38)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        'class="reply-chart" role="img" aria-label="Letters sent and replies received over time">',
        "<title>Letters sent and replies received over time</title>",
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 8}" y2="{pad_t + plot_h}" '
        'stroke="#8a96a3"/>',
        f'<text x="{pad_l - 6}" y="{pad_t + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{pad_l - 6}" y="{pad_t + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    cumulative, points = 0, []
    label_every = max(1, len(series) // 12)
    for i, (month, sent, received) in enumerate(series):
        x = pad_l + i * slot + slot * 0.1
        for j, (value, color, what) in enumerate(
            ((sent, "#8fb3d9", "letters sent"), (received, "#1e7d4f", "replies"))
        ):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{pad_t + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}" data-month="{escape(month)}">'
                f"<title>{escape(month)}: {value} {what}</title></rect>"
            )
        cumulative += received
        points.append(
            f"{pad_l + i * slot + slot / 2:.1f},"
            f"{pad_t + plot_h - plot_h * cumulative / total_replies:.1f}"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{pad_l + i * slot + slot / 2:.1f}" y="{height - pad_b + 16}" '
                f'text-anchor="middle" font-size="10">{escape(month)}</text>'
            )
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#b42318" stroke-width="2">'
        "<title>Share of all replies received so far</title></polyline>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


# --- CSV export -----------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """A spreadsheet will not run a cell that starts like a formula: prefix it with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def to_csv(rows: Sequence[TrackerRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "State",
            "ISO3",
            "Addressee",
            "Reference",
            "Sent on",
            "Channel",
            "Status",
            "Days waiting",
            "Replied on",
            "Position",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    r.country_name,
                    r.iso3,
                    r.addressee,
                    r.reference,
                    r.sent_on.isoformat() if r.sent_on else "",
                    r.channel,
                    r.category_label,
                    "" if r.days_waiting is None else r.days_waiting,
                    r.replied_on.isoformat() if r.replied_on else "",
                    r.position_label,
                )
            ]
        )
    return out.getvalue()
