"""The signed session cookie as the web layer reads it: its keys, and the CSRF token it carries.

Who the user is comes from app.auth, which fills these keys at sign-in and checks them on every
request; the web layer (templates, error pages, forms) only needs to read them, so they live
here, below both.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from app.errors import Forbidden

# The session cookie (signed, not encrypted) carries who, which of their session versions, when
# they signed in and when they were last seen; the server checks all four on every request.
SESSION_USER_KEY = "uid"
SESSION_VERSION_KEY = "sv"
SESSION_SINCE_KEY = "since"
SESSION_SEEN_KEY = "seen"
SESSION_CSRF_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF_KEY] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing web request without the session's CSRF token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden(
            "This form has expired or did not come from Demarche (missing or wrong CSRF token). "
            "Reload the page and try again.",
            title="CSRF check failed",
        )
