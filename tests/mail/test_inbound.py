"""Parsing incoming email: headers, threading ids, reply address references, bodies, attachments."""

from __future__ import annotations

import contextlib
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.mail.inbound import html_to_text, parse
from app.mail.limits import BoundExceeded
from app.mail.reader import NotAnEmail, read


def _reply() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Embassy of Pakistan <parepwashington@mofa.example>"
    msg["To"] = "Cluster Munition Coalition <replies+CMC-2009-PAK-0007@cmc.example>"
    msg["Subject"] = "Re: Cluster munitions policy"
    msg["Date"] = "Tue, 24 Feb 2009 10:00:00 -0500"
    msg["Message-ID"] = "<reply-1@mofa.example>"
    msg["In-Reply-To"] = "<letter-7@cmc.example>"
    msg["References"] = "<letter-7@cmc.example> <other@cmc.example>"
    msg.set_content("Reference your letter dated 30 January 2009.")
    msg.add_alternative(
        "<p>Reference your letter dated <b>30 January 2009</b>.</p>", subtype="html"
    )
    msg.add_attachment(
        b"%PDF-1.4 scan", maintype="application", subtype="pdf", filename="No.Pol.9-4-09.pdf"
    )
    return msg


def test_parses_headers_threading_and_plus_reference() -> None:
    parsed = parse(_reply().as_bytes())
    assert parsed.sender_email == "parepwashington@mofa.example"
    assert parsed.sender_name == "Embassy of Pakistan"
    assert parsed.in_reply_to == ["<letter-7@cmc.example>"]
    assert parsed.references == ["<letter-7@cmc.example>", "<other@cmc.example>"]
    assert parsed.plus_references == ["CMC-2009-PAK-0007"]
    assert parsed.date is not None and parsed.date.isoformat() == "2009-02-24T10:00:00-05:00"
    assert parsed.text == "Reference your letter dated 30 January 2009."
    assert [(a.filename, a.content_type, a.content) for a in parsed.attachments] == [
        ("No.Pol.9-4-09.pdf", "application/pdf", b"%PDF-1.4 scan")
    ]


def test_html_only_body_becomes_text_without_markup() -> None:
    msg = EmailMessage()
    msg["From"] = "desk@mfa.example"
    msg["Message-ID"] = "<x@mfa.example>"
    msg.set_content(
        "<html><head><style>p{}</style></head><body><p>We support</p><script>x</script>"
        "<p>a ban.</p></body></html>",
        subtype="html",
    )
    assert parse(msg.as_bytes()).text == "We support\na ban."


@pytest.mark.parametrize("raw", [b"", b"   ", b"just some words\n", b"\x00\x01\x02"])
def test_non_emails_are_refused_clearly(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    """The reader the child process runs, called in-process (a child per example is slow)."""
    with contextlib.suppress(NotAnEmail, BoundExceeded):
        read(raw)


@settings(max_examples=10, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_through_the_child_never_crash(raw: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse(raw)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_html_to_text_never_keeps_tags(text: str) -> None:
    out = html_to_text(f"<p>{text.replace('<', '').replace('>', '')}</p><script>alert(1)</script>")
    assert "<script" not in out and "alert(1)" not in out
