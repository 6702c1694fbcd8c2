"""What a letter looks like when it leaves: its text with the merge fields filled in, its PDF,
and the email that carries both: from the organisation, in the letter's language, signed by its
signatory, with the reference in its footer and in the Reply-To address."""

from __future__ import annotations

import html
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.correspondence.addressing import address_token, reply_address
from app.errors import InvalidInput
from app.letters.context import (
    LABELS,
    RTL_LANGUAGES,
    in_language,
    language_or_default,
    sender_from_profile,
)
from app.mail import service as mail_service
from app.models import Letter
from app.settings_admin import service as profile_service


def fill_in(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """A letter's subject (plain text) and text (HTML) filled in from its context, in the
    renderer under its limits (never in this process); a failure is a 422 saying why."""
    from app.letters import render

    job = render.TextJob(
        subject=subject, body=body, context=context or {}, limits=render.default_limits()
    )
    try:
        return render.fill_isolated(job)
    except render.RenderError as exc:
        raise InvalidInput(f"Letter {body[:40]!r}… could not be filled in: {exc}") from exc


def _literal_subject(subject: str) -> str | None:
    """The subject as it prints when it is stored filled in (``sandbox.own_text``: its only
    Jinja is the escape of a "{"), without running it; None when it holds other Jinja."""
    from app.letters.sandbox import LITERAL_BRACE

    if "{" not in subject:
        return subject
    plain = subject.replace(LITERAL_BRACE, "")
    if any(mark in plain for mark in ("{{", "{%", "{#")):
        return None
    return html.unescape(subject.replace(LITERAL_BRACE, "{"))


def display_subject(letter: Letter) -> str:
    """The subject as lists show it: the stored filled-in subject, never rendered on view (a
    subject still holding merge fields shows them as written)."""
    literal = _literal_subject(letter.subject)
    return letter.subject if literal is None else literal


def rendered_subject(letter: Letter) -> str:
    """The subject with its merge fields filled in (the stored text if that fails)."""
    literal = _literal_subject(letter.subject)
    if literal is not None:
        return literal
    try:
        return fill_in(letter.subject, "", letter.context)[0]
    except InvalidInput:
        return letter.subject


def rendered_body(letter: Letter) -> str:
    """The body as HTML, merge fields filled in from the letter's frozen context."""
    return fill_in("", letter.body_html, letter.context)[1]


class _TextOf(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n" if tag != "br" else "\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _TextOf()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def letter_pdf(session: Session, letter: Letter) -> bytes:
    """The letter's PDF: the rendered file when the merge made one, else rendered now as every
    other path renders it (``app.letters.stored``: its template's layout, its merge's print
    options)."""
    if letter.pdf_path:
        path = Path(letter.pdf_path)
        if not path.is_absolute():
            path = get_settings().files_dir / path
        if path.is_file():
            return path.read_bytes()
    from app.letters import render, stored

    job = stored.letter_job(session, letter)
    try:
        return render.render_isolated(job).pdf  # in the renderer, bounded
    except (render.RenderError, ValueError) as exc:
        raise InvalidInput(f"Letter {letter.reference} could not be rendered: {exc}") from exc


def sender_address(session: Session, letter: Letter) -> str:
    """The From of a letter's email: the organisation's name in the letter's language (its
    registered name when the profile has none in that language) and the profile's email address;
    the configured ``mail_from`` address when the profile has no usable one."""
    sender, _ = sender_from_profile(profile_service.get_profile(session))
    lang = language_or_default(letter.language)
    name = in_language(sender, "name", sender["name"], lang) or sender["name"]
    name = " ".join(name.split())  # one line, whatever the profile holds
    for candidate in (sender["email"], get_settings().mail_from):
        address = parseaddr(candidate)[1]
        if "@" not in address:
            continue
        try:
            return str(Address(display_name=name, addr_spec=address))
        except (ValueError, IndexError):  # an address the email package cannot write
            continue
    raise InvalidInput(
        "No sender address: give the organisation an email address in Settings "
        "(or configure DEMARCHE_MAIL_FROM)."
    )


def signature_lines(letter: Letter) -> list[str]:
    """Who signs the email, from the letter's frozen context (already in its language): the
    signatory's name and title and the organisation, leaving out what is blank."""
    context = letter.context or {}
    signatory = context.get("signatory") or {}
    sender = context.get("sender") or {}
    organisation = sender.get("name") or sender.get("own_name") or ""
    lines = [signatory.get("name"), signatory.get("title"), organisation]
    return [str(line).strip() for line in lines if line and str(line).strip()]


def footer_text(letter: Letter) -> str:
    """ "Our reference: …" in the letter's language (the layouts' labels hold the wording)."""
    lang = language_or_default(letter.language)
    wording = LABELS.get(lang, LABELS["en"])["email_footer"]
    reference = letter.reference
    if lang in RTL_LANGUAGES:  # the Latin reference keeps its order inside right-to-left text
        reference = f"\u2066{reference}\u2069"
    return wording.replace("{reference}", reference)


def build_email(session: Session, letter: Letter) -> EmailMessage:
    """The email for a letter: from the organisation, PDF attached, HTML and plain text in the
    letter's language ending with the signatory, Reply-To with the reference."""
    lang = language_or_default(letter.language)
    body = rendered_body(letter)
    subject = rendered_subject(letter)
    text = html_to_text(body)
    token = address_token(letter.reference)
    footer = footer_text(letter)
    signature = signature_lines(letter)
    direction = "rtl" if lang in RTL_LANGUAGES else "ltr"
    signature_html = "<br>".join(html.escape(line) for line in signature)
    page = (
        f'<!doctype html><html lang="{html.escape(lang)}" dir="{direction}"><body>'
        f"{body}"
        + (f'<p class="signature">{signature_html}</p>' if signature else "")
        + f"<hr><p><small>{html.escape(footer)}</small></p></body></html>"
    )
    signed = text.rstrip("\n") + ("\n\n" + "\n".join(signature) if signature else "")
    attachment = mail_service.Attachment(f"{token}.pdf", letter_pdf(session, letter))
    message = mail_service.build_message(
        to=[letter.email_to],
        subject=subject,
        text=f"{signed}\n\n--\n{footer}\n",
        html=page,
        sender=sender_address(session, letter),
        reply_to=reply_address(letter.reference),
        attachments=[attachment],
        headers={"X-Demarche-Reference": letter.reference},
    )
    return message
