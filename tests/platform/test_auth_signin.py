"""Sign-in: throttling slows guessing without letting strangers lock anyone out; unknown and known
emails cost one password hash each; `next` stays on the site; the Host header is checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.views import safe_next
from app.config import get_settings
from app.models import LoginFailure
from app.models.base import utcnow
from tests.factories import PASSWORD, csrf_from, login, make_user

ATTACKER = "198.51.100.7"
VICTIM_HOME = "203.0.113.20"


def _browser(web_app: FastAPI, ip: str) -> TestClient:
    return TestClient(web_app, base_url="http://testserver", client=(ip, 40000))


def _sign_in(browser: TestClient, email: str, password: str, **extra: str) -> Any:
    token = csrf_from(browser.get("/login").text)
    data = {"email": email, "password": password, "csrf_token": token, **extra}
    return browser.post("/login", data=data, follow_redirects=False)


def _fail(db: Session, email: str, ip: str, count: int, *, ago: timedelta = timedelta()) -> None:
    """Failures recorded as the service records them, at a chosen time."""
    at = utcnow() - ago
    db.add_all(LoginFailure(email=email, client_ip=ip, at=at) for _ in range(count))
    db.flush()


def _failures(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(LoginFailure)) or 0


# --- throttling ----------------------------------------------------------------------------------


def test_failures_from_one_address_never_refuse_the_right_password_from_another(
    web_app: FastAPI, client: TestClient, db: Session
) -> None:
    victim = make_user(db)
    attacker = _browser(web_app, ATTACKER)
    for _ in range(get_settings().login_max_failures):
        assert _sign_in(attacker, victim.email, "guess-guess-guess").status_code == 401
    # The attacker now waits, even with the right password...
    refused = _sign_in(attacker, victim.email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    assert int(refused.headers["retry-after"]) >= 1
    # ...while the owner, elsewhere, signs in at once.
    owner = _browser(web_app, VICTIM_HOME)
    assert _sign_in(owner, victim.email, PASSWORD).status_code == 303


def test_the_delay_doubles_with_each_failure_up_to_the_cap(db: Session) -> None:
    settings = get_settings()
    email = make_user(db).email
    base, cap = settings.login_delay_seconds, settings.login_delay_max_seconds
    assert service.throttle_wait(db, email=email, client_ip=ATTACKER) == 0
    _fail(db, email, ATTACKER, settings.login_max_failures - 1)
    assert service.throttle_wait(db, email=email, client_ip=ATTACKER) == 0
    waits = []
    for _ in range(10):
        _fail(db, email, ATTACKER, 1)
        waits.append(service.throttle_wait(db, email=email, client_ip=ATTACKER))
    expected = [min(base * 2**n, cap) for n in range(10)]
    # a second may have passed between recording and asking
    assert all(e - 1 <= w <= e for w, e in zip(waits, expected, strict=True)), (waits, expected)
    assert waits[-1] == cap or waits[-1] == cap - 1
    # The same account from another address: no wait at all.
    assert service.throttle_wait(db, email=email, client_ip=VICTIM_HOME) == 0


def test_the_delay_runs_from_the_last_failure_and_failures_age_out(db: Session) -> None:
    settings = get_settings()
    email = make_user(db).email
    _fail(db, email, ATTACKER, settings.login_max_failures, ago=timedelta(seconds=30))
    assert settings.login_delay_seconds < 30
    assert service.throttle_wait(db, email=email, client_ip=ATTACKER) == 0
    _fail(db, email, ATTACKER, 20, ago=timedelta(seconds=settings.login_window_seconds + 5))
    assert service.throttle_wait(db, email=email, client_ip=ATTACKER) == 0


def test_an_address_guessing_many_accounts_slows_down_on_all_of_them(
    web_app: FastAPI, db: Session
) -> None:
    settings = get_settings()
    for n in range(settings.login_ip_max_failures):
        _fail(db, f"someone-{n}@example.org", ATTACKER, 1)
    fresh = make_user(db)
    wait = service.throttle_wait(db, email=fresh.email, client_ip=ATTACKER)
    assert wait >= settings.login_delay_seconds - 1 and wait > 0
    assert _sign_in(_browser(web_app, ATTACKER), fresh.email, PASSWORD).status_code == 429
    # The account's owner elsewhere is not slowed by that address.
    assert service.throttle_wait(db, email=fresh.email, client_ip=VICTIM_HOME) == 0
    assert _sign_in(_browser(web_app, VICTIM_HOME), fresh.email, PASSWORD).status_code == 303


def test_a_refused_attempt_is_not_counted_and_checks_no_password(
    web_app: FastAPI, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(db)
    _fail(db, user.email, ATTACKER, get_settings().login_max_failures)
    before = _failures(db)
    calls = _count_verifications(monkeypatch)
    resp = _sign_in(_browser(web_app, ATTACKER), user.email, "another-guess-here")
    assert resp.status_code == 429
    assert _failures(db) == before
    assert calls == []


def test_success_clears_only_that_account_and_address(web_app: FastAPI, db: Session) -> None:
    user = make_user(db)
    _fail(db, user.email, VICTIM_HOME, 2, ago=timedelta(minutes=1))
    _fail(db, user.email, ATTACKER, 3, ago=timedelta(minutes=1))
    _fail(db, "other@example.org", VICTIM_HOME, 1, ago=timedelta(minutes=1))
    assert _sign_in(_browser(web_app, VICTIM_HOME), user.email, PASSWORD).status_code == 303
    rows = db.execute(select(LoginFailure.email, LoginFailure.client_ip)).all()
    assert sorted(rows) == sorted(
        [(user.email, ATTACKER)] * 3 + [("other@example.org", VICTIM_HOME)]
    )


def test_old_failures_of_the_account_and_address_are_pruned(db: Session) -> None:
    settings = get_settings()
    email = make_user(db).email
    _fail(db, email, "192.0.2.1", 4, ago=timedelta(seconds=settings.login_window_seconds + 60))
    _fail(
        db, "x@example.org", ATTACKER, 4, ago=timedelta(seconds=settings.login_window_seconds * 2)
    )
    assert not service.authenticate(
        db, email=email, password="wrong-wrong-wrong", client_ip=ATTACKER
    )
    rows = db.execute(select(LoginFailure.email, LoginFailure.client_ip)).all()
    assert rows == [(email, ATTACKER)]


# --- one hash for known and unknown emails --------------------------------------------------------


def _count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = service._hasher.verify

    def counting(password: str, hash: str) -> bool:  # noqa: A002 - pwdlib's parameter name
        calls.append(hash)
        return real(password, hash)

    monkeypatch.setattr(service._hasher, "verify", counting)
    return calls


def test_unknown_and_known_emails_each_cost_one_hash_verification(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(db)
    inactive = make_user(db)
    inactive.is_active = False
    db.flush()
    calls = _count_verifications(monkeypatch)

    for email in ("nobody-here@example.org", user.email, inactive.email):
        calls.clear()
        assert (
            service.authenticate(db, email=email, password="wrong-guess", client_ip="192.0.2.9")
            is None
        )
        assert len(calls) == 1, email
    # The unknown email was checked against the dummy hash, made like a real one.
    calls.clear()
    service.authenticate(
        db, email="nobody-here@example.org", password=PASSWORD, client_ip="192.0.2.9"
    )
    assert calls == [service._dummy_hash()]
    real_params = user.password_hash.rsplit("$", 2)[0]
    assert service._dummy_hash().rsplit("$", 2)[0] == real_params
    # The right password of an inactive account is still one verification, and still refused.
    calls.clear()
    assert (
        service.authenticate(db, email=inactive.email, password=PASSWORD, client_ip="192.0.2.9")
        is None
    )
    assert calls == [inactive.password_hash]


# --- next -----------------------------------------------------------------------------------------

OFF_SITE = [
    "/%5Cevil.example/phish",
    "/%5cevil.example",
    "/%255Cevil.example",
    "//evil.example/",
    "///evil.example",
    "/%2F%2Fevil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "/%0d%0a/evil.example",
    "/\x7f/evil.example",
    "/\u200b/evil.example",
    "evil.example",
    "",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_anything_but_a_same_site_path(target: str) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/contacts?page=2", "/letters/12#history", "/a%20b"])
def test_safe_next_keeps_a_same_site_path(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target", ["/%5Cevil.example/phish", "//evil", "https://evil", "/\\evil", "/%09/evil"]
)
def test_a_signed_in_user_is_not_redirected_off_site(
    client: TestClient, db: Session, target: str
) -> None:
    login(client, make_user(db))
    resp = client.get("/login", params={"next": target}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/"


@pytest.mark.parametrize("target", ["/%5Cevil.example/phish", "//evil", "https://evil", "/\\evil"])
def test_signing_in_is_not_redirected_off_site(
    client: TestClient, db: Session, target: str
) -> None:
    resp = _sign_in(client, make_user(db).email, PASSWORD, next=target)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/"


def test_signing_in_goes_to_a_same_site_next(client: TestClient, db: Session) -> None:
    resp = _sign_in(client, make_user(db).email, PASSWORD, next="/contacts?page=2")
    assert resp.headers["location"] == "/contacts?page=2"


# --- Host header ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "testserver.evil.example", "evil.example:80"])
def test_a_request_for_another_host_is_refused(client: TestClient, host: str) -> None:
    resp = client.get("/login", headers={"Host": host})
    assert resp.status_code == 400
    assert "host" in resp.text.lower()


@pytest.mark.parametrize("host", ["testserver", "127.0.0.1:8000", "localhost"])
def test_the_configured_and_loopback_hosts_are_served(client: TestClient, host: str) -> None:
    assert client.get("/login", headers={"Host": host}).status_code == 200
