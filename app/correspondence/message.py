"""What a letter looks like when it leaves: its text with the merge fields filled in, its PDF,
and the email that carries both (HTML and plain text, Reply-To with the reference)."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.correspondence.addressing import address_token, reply_address
from app.errors import InvalidInput
from app.mail import service as mail_service
from app.models import Letter


def _render_text(source: str, context: dict[str, Any], max_chars: int) -> str:
    from app.letters.sandbox import TemplateProblem, render_capped

    try:
        return str(render_capped(source, context or {}, max_chars=max_chars))
    except TemplateProblem as exc:
        raise InvalidInput(f"Letter {source[:40]!r}… could not be filled in: {exc}") from exc


def rendered_subject(letter: Letter) -> str:
    """The subject with its merge fields filled in (the stored text if that fails)."""
    if "{" not in letter.subject:
        return letter.subject
    try:
        return html.unescape(_render_text(letter.subject, letter.context, 1000))
    except InvalidInput:
        return letter.subject


def rendered_body(letter: Letter) -> str:
    """The body as HTML, merge fields filled in from the letter's frozen context."""
    return _render_text(letter.body_html, letter.context, 400_000)


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
    """The letter's PDF: the rendered file when the merge made one, else rendered now from
    the stored subject, text and context."""
    if letter.pdf_path:
        path = Path(letter.pdf_path)
        if not path.is_absolute():
            path = get_settings().files_dir / path
        if path.is_file():
            return path.read_bytes()
    from app.letters import render
    from app.letters import service as letters_service

    layout = "a4"
    if letter.template_version_id is not None:
        version = letters_service.get_version(session, letter.template_version_id)
        layout = letters_service.get(session, version.template_id).layout
    job = render.LetterJob(
        body=letter.body_html,
        subject=letter.subject,
        context=letter.context or {},
        language=letter.language,
        layout=layout,
        limits=render.default_limits(),
    )
    try:
        return render.render_pdf(job).pdf
    except (render.RenderError, ValueError) as exc:
        raise InvalidInput(f"Letter {letter.reference} could not be rendered: {exc}") from exc


def build_email(session: Session, letter: Letter) -> EmailMessage:
    """The email for a letter: PDF attached, HTML and plain text, Reply-To with the reference."""
    body = rendered_body(letter)
    subject = rendered_subject(letter)
    text = html_to_text(body)
    token = address_token(letter.reference)
    footer = f"Our reference: {letter.reference}. Please quote it in your reply."
    page = (
        f'<!doctype html><html lang="{html.escape(letter.language)}"><body>'
        f"{body}<hr><p><small>{html.escape(footer)}</small></p></body></html>"
    )
    attachment = mail_service.Attachment(f"{token}.pdf", letter_pdf(session, letter))
    message = mail_service.build_message(
        to=[letter.email_to],
        subject=subject,
        text=f"{text}\n--\n{footer}\n",
        html=page,
        reply_to=reply_address(letter.reference),
        attachments=[attachment],
        headers={"X-Demarche-Reference": letter.reference},
    )
    return message
