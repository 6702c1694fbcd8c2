"""Hostile email: bounds checked on the raw bytes before parsing, and the parse itself in a
child process whose memory and time are capped, killed with its parent."""

from __future__ import annotations

import email.policy
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from app.mail import inbound
from app.mail.inbound import EmailTooLarge, UnreadableEmail, parse
from app.mail.limits import BoundExceeded, Limits, prescan
from app.mail.reader import check_structure
from tests.support.waiting import eventually

MB = 1024 * 1024


def encoded_subject(words: int) -> bytes:
    """The message of the bug report: a Subject of ``words`` RFC 2047 encoded words."""
    subject = b" ".join(b"=?utf-8?b?w6k=?=" for _ in range(words))
    return (
        b"From: Sender <sender@example.org>\r\nTo: replies@demarche.example\r\n"
        b"Message-ID: <hostile-subject@example.org>\r\nSubject: " + subject + b"\r\n\r\nHello\r\n"
    )


def many_parts(parts: int) -> bytes:
    body = b"".join(
        b'--sep\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="p%d.txt"'
        b"\r\n\r\npart %d\r\n" % (i, i)
        for i in range(parts)
    )
    return (
        b"From: sender@example.org\r\nMessage-ID: <many-parts@example.org>\r\n"
        b'Content-Type: multipart/mixed; boundary="sep"\r\n\r\n' + body + b"--sep--\r\n"
    )


def deep_multipart(levels: int) -> bytes:
    nest = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(levels)
    )
    return (
        b"From: sender@example.org\r\nMessage-ID: <deep@example.org>\r\n"
        + nest
        + b"Content-Type: text/plain\r\n\r\nthe bottom\r\n"
    )


def deep_forwards(levels: int) -> bytes:
    """A message attached to a message attached to a message ... (message/rfc822)."""
    inner = b"From: a@example.org\r\nSubject: bottom\r\n\r\nbottom\r\n"
    for i in range(levels):
        inner = b"From: f%d@example.org\r\nContent-Type: message/rfc822\r\n\r\n" % i + inner
    return inner


# --- the cheap scan before parsing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "limits", "says"),
    [
        (encoded_subject(16_000), Limits(), "Subject field is longer than 65536 bytes"),
        (
            encoded_subject(16_000),
            Limits(max_header_bytes=MB),
            "Subject field holds 16000 encoded words (at most 500)",
        ),
        (
            b"From: a@example.org\r\n"
            + b"".join(b"Subject: =?utf-8?q?a?= =?utf-8?q?b?=\r\n" for _ in range(400))
            + b"\r\nbody",
            Limits(max_encoded_words=500),
            "more than 500 encoded words",
        ),
        (
            b"From: a@example.org\r\n"
            + b"".join(b"X-Trace-%d: x\r\n" % i for i in range(501))
            + b"\r\nbody",
            Limits(),
            "more than 500 fields",
        ),
        (many_parts(10_000), Limits(), "more than 1000 MIME parts"),
        (deep_multipart(21), Limits(), "more than 20 levels deep"),
        (deep_forwards(21), Limits(), "more than 20 levels deep"),
    ],
    ids=[
        "header-length",
        "encoded-words-field",
        "encoded-words-total",
        "fields",
        "parts",
        "multipart-depth",
        "message-depth",
    ],
)
def test_bounds_are_checked_on_the_raw_bytes(raw: bytes, limits: Limits, says: str) -> None:
    with pytest.raises(BoundExceeded) as caught:
        prescan(raw, limits)
    assert says in caught.value.reason
    with pytest.raises(UnreadableEmail) as refused:
        parse(raw, limits=limits)
    assert refused.value.status == 422 and says in refused.value.detail


def test_size_is_a_413() -> None:
    raw = b"From: a@example.org\r\n\r\n" + b"x" * (2 * MB)
    with pytest.raises(EmailTooLarge) as caught:
        parse(raw, limits=Limits(max_bytes=MB))
    assert caught.value.status == 413 and "larger than 1 MB" in caught.value.detail


def test_real_messages_stay_within_the_bounds() -> None:
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?Ministère_des_Affaires_étrangères?= <cabinet@diplomatie.example>"
    msg["To"] = ", ".join(
        f"=?utf-8?q?D=C3=A9l=C3=A9gu=C3=A9_{i}?= <d{i}@x.example>" for i in range(60)
    )
    msg["Subject"] = "Réponse : Convention sur les armes à sous-munitions " * 4
    msg["Message-ID"] = "<ok@diplomatie.example>"
    msg["References"] = " ".join(f"<m{i}@x.example>" for i in range(300))
    for i in range(80):
        msg[f"Received-{i}"] = f"from relay{i}.example by relay{i + 1}.example; Tue, 3 Mar 2009"
    msg.set_content("Nous accusons réception de votre lettre.")
    msg.add_alternative("<p>Nous accusons réception de votre lettre.</p>", subtype="html")
    for i in range(30):
        msg.add_attachment(
            b"%PDF-1.4 page", maintype="application", subtype="pdf", filename=f"annexe-{i}.pdf"
        )
    raw = msg.as_bytes(policy=email.policy.SMTP)
    prescan(raw)
    parsed = parse(raw)
    assert parsed.sender_email == "cabinet@diplomatie.example"
    assert len(parsed.to) == 60 and len(parsed.references) == 300
    assert len(parsed.attachments) == 30


# --- the parse in a child process ---------------------------------------------------------------


MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from app.mail.inbound import UnreadableEmail, parse
    from app.mail.limits import Limits

    def rss_kb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    raw = Path(sys.argv[1]).read_bytes()
    limits = Limits(**json.loads(sys.argv[2]))
    before = rss_kb()
    try:
        parsed = parse(raw, limits=limits)
        last = parsed.attachments[-1].content.decode()
        outcome = {"parts": len(parsed.attachments), "last": last}
    except UnreadableEmail as exc:
        outcome = {"refused": exc.detail}
    outcome["parent_growth_kb"] = rss_kb() - before
    outcome["reader_peak_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(outcome))
    """
)


def measured_parse(tmp_path: Path, raw: bytes, **limits: Any) -> dict[str, Any]:
    """Parse in a fresh process: its RSS growth, and the peak RSS of its only child, the
    reader (ru_maxrss of children), are this parse's alone."""
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), json.dumps(limits)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_encoded_word_bomb_kills_only_the_child(tmp_path: Path) -> None:
    """With the scan's bounds lifted, the 16,000-word Subject (2 GB in-process) reaches the
    parser: the child hits its 256 MB address space and ends; the parent stays small."""
    raw = encoded_subject(16_000)
    assert 0.2 * MB < len(raw) < 0.3 * MB
    outcome = measured_parse(
        tmp_path,
        raw,
        max_header_bytes=MB,
        max_encoded_words=10**6,
        max_encoded_words_per_field=10**6,
        memory_bytes=256 * MB,
    )
    assert "256 MB" in outcome["refused"]
    assert outcome["parent_growth_kb"] < 50 * 1024
    assert outcome["reader_peak_kb"] <= 256 * 1024  # resident within its address space cap


def test_ten_thousand_parts_are_parsed_in_the_child_under_a_memory_cap(tmp_path: Path) -> None:
    outcome = measured_parse(tmp_path, many_parts(10_000), max_parts=20_000, memory_bytes=384 * MB)
    assert (outcome["parts"], outcome["last"]) == (10_000, "part 9999")
    # The parent holds the result (10,000 small attachments), not the parser's objects.
    assert outcome["parent_growth_kb"] < 50 * 1024
    assert outcome["reader_peak_kb"] <= 384 * 1024


def test_the_tree_is_checked_again_after_parsing() -> None:
    """The parser's reading of a message may differ from the scan's: the child counts the
    parts and levels it built, without recursion."""
    deep = email.message_from_bytes(deep_multipart(60), policy=email.policy.default)
    with pytest.raises(BoundExceeded, match="levels deep"):
        check_structure(deep, Limits(max_depth=20))
    check_structure(deep, Limits(max_depth=100))
    wide = email.message_from_bytes(many_parts(1_500), policy=email.policy.default)
    with pytest.raises(BoundExceeded, match="more than 1000 MIME parts"):
        check_structure(wide, Limits())


def test_a_slow_parse_is_killed_at_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(UnreadableEmail, match="took longer than 0.2 seconds"):
        parse(many_parts(10_000), limits=Limits(max_parts=20_000, timeout_seconds=0.2))
    assert time.monotonic() - started < 10


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found.append(int(child))
            found += _descendants(int(child))
    return found


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    """A parent killed mid-parse (SIGKILL: no cleanup runs) takes the reader with it."""
    message = tmp_path / "parts.eml"
    message.write_bytes(many_parts(10_000))
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.mail.inbound import parse
        from app.mail.limits import Limits
        parse(Path({str(message)!r}).read_bytes(), limits=Limits(max_parts=20_000))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        readers = eventually(
            lambda: _descendants(parent.pid), 20, interval=0.02, what="the reader to start"
        )
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        eventually(
            lambda: not any(_alive(pid) for pid in readers),
            5,
            interval=0.02,
            what="the reader to end with its parent",
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _alive(pid: int) -> bool:
    """Running and not a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_the_reader_runs_isolated_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-I: a PYTHONPATH cannot slip a module of its own into the child (here an ``email``
    package that would break every parse)."""
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    parsed = inbound.parse(b"From: a@example.org\r\nMessage-ID: <i@x>\r\n\r\nhello\r\n")
    assert parsed.text == "hello"
