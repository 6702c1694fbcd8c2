"""Settings → Co-signers: list, form with each letter language, logo, delete (admins, CSRF)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cosigners import service
from app.models import Role
from app.settings_admin import images
from tests.cosigners.conftest import HI, gif, make_cosigner, png
from tests.factories import login, make_user


def test_list_shows_an_empty_state_then_the_cosigners(client: TestClient, db: Session) -> None:
    login(client, make_user(db, Role.admin))
    page = client.get("/settings/cosigners")
    assert page.status_code == 200 and "No co-signer yet" in page.text
    assert '/settings/cosigners" class="btn">Co-signers</a>' in client.get("/settings").text
    make_cosigner(db, HI)
    page = client.get("/settings/cosigners")
    assert "Handicap International" in page.text and "No co-signer yet" not in page.text
    assert "No co-signer matches" in client.get("/settings/cosigners?q=zzz").text


def test_admin_adds_and_edits_a_cosigner_in_each_language(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.admin))
    form = {
        "csrf_token": token,
        "name": "Human Rights Watch",
        "signatory_name": "Steve Goose",
        "signatory_title": "Director, Arms Division",
        "tr-ru-name": "Хьюман Райтс Вотч",
        "tr-ar-signatory_name": "ستيف غوس",
        "tr-zh-name": " ",
    }
    resp = client.post("/settings/cosigners", data=form, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    [hrw] = service.list_cosigners(db)[0]
    assert hrw.translations == {
        "ru": {"name": "Хьюман Райтс Вотч"},
        "ar": {"signatory_name": "ستيف غوس"},
    }
    edit = client.get(resp.headers["location"])
    assert edit.status_code == 200 and 'value="Хьюман Райтс Вотч"' in edit.text

    form.update({"version": str(hrw.version), "tr-fr-name": "Human Rights Watch (HRW)"})
    saved = client.post(f"/settings/cosigners/{hrw.id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    db.expire_all()
    assert service.get(db, hrw.id).translations["fr"] == {"name": "Human Rights Watch (HRW)"}


def test_bad_input_is_shown_inline_and_nothing_is_written(client: TestClient, db: Session) -> None:
    token = login(client, make_user(db, Role.admin))
    resp = client.post(
        "/settings/cosigners",
        data={"csrf_token": token, "name": "", "tr-ru-name": "Хьюман Райтс Вотч"},
    )
    assert resp.status_code == 422
    assert 'class="error"' in resp.text and 'value="Хьюман Райтс Вотч"' in resp.text
    make_cosigner(db, HI)
    taken = client.post("/settings/cosigners", data={"csrf_token": token, "name": HI["name"]})
    assert taken.status_code == 422 and "Another co-signer has this name." in taken.text
    assert service.list_cosigners(db)[1] == 1


def test_forms_need_the_csrf_token_and_the_admin_role(client: TestClient, db: Session) -> None:
    hi = make_cosigner(db, HI)
    token = login(client, make_user(db, Role.admin))
    forged = client.post(f"/settings/cosigners/{hi.id}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    client.cookies.clear()
    token = login(client, make_user(db, Role.coordinator))
    assert client.get("/settings/cosigners").status_code == 403
    refused = client.post(f"/settings/cosigners/{hi.id}/delete", data={"csrf_token": token})
    assert refused.status_code == 403
    assert service.get(db, hi.id).name == HI["name"]


def test_logo_upload_remove_and_delete_with_confirmation(client: TestClient, db: Session) -> None:
    hi = make_cosigner(db, HI)
    token = login(client, make_user(db, Role.admin))
    url = f"/settings/cosigners/{hi.id}"

    refused = client.post(
        f"{url}/logo", data={"csrf_token": token}, files={"file": ("a.gif", gif(), "image/gif")}
    )
    assert refused.status_code == 422 and "This file is a GIF image" in refused.text
    uploaded = client.post(
        f"{url}/logo",
        data={"csrf_token": token},
        files={"file": ("a.png", png(), "image/png")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    page = client.get(url).text
    assert 'src="data:image/png;base64,' in page
    confirms = re.findall(r'data-confirm="([^"]+)"', page)
    assert any("Remove the logo" in c for c in confirms)
    assert any("Remove the co-signer" in c for c in confirms)

    removed = client.post(f"{url}/logo/delete", data={"csrf_token": token}, follow_redirects=False)
    assert removed.status_code == 303 and list(images.directory().glob("cosigner-*")) == []
    gone = client.post(f"{url}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert service.list_cosigners(db)[1] == 0
    assert client.get(url).status_code == 404
