"""create_app(): middleware, routers, error handlers and static files."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__, hooks
from app.auth.secret_key import session_secret
from app.config import PROJECT_ROOT, get_settings
from app.web import templating
from app.web.errors import install_error_handlers
from app.web.security import (
    BodySizeLimitMiddleware,
    NulCharacterGuard,
    SecurityHeadersMiddleware,
)
from app.web.templating import templates

log = logging.getLogger("demarche")

API_DESCRIPTION = """
The Demarche JSON API. Authenticate with `Authorization: Bearer <token>`; create a token with
`demarche token create EMAIL`. Errors are `application/problem+json` (RFC 9457).
"""


def _routers() -> list[APIRouter]:
    from app.auth import api as auth_api
    from app.auth import views as auth_views
    from app.campaigns import api as campaigns_api
    from app.campaigns import feeds as campaigns_feeds
    from app.campaigns import views as campaigns_views
    from app.contacts import api as contacts_api
    from app.contacts import bulk_api as contacts_bulk_api
    from app.contacts import bulk_views as contacts_bulk_views
    from app.contacts import identity_api as contacts_identity_api
    from app.contacts import identity_views as contacts_identity_views
    from app.contacts import segment_views as contacts_segment_views
    from app.contacts import views as contacts_views
    from app.contacts.imports import api as contacts_import_api
    from app.contacts.imports import views as contacts_import_views
    from app.correspondence import api as correspondence_api
    from app.correspondence import views as correspondence_views
    from app.cosigners import api as cosigners_api
    from app.cosigners import views as cosigners_views
    from app.dashboard import views as dashboard_views
    from app.exports import api as exports_api
    from app.exports import views as exports_views
    from app.letters import api as letters_api
    from app.letters import views as letters_views
    from app.mailmerge import api as merge_api
    from app.mailmerge import views as merge_views
    from app.notifications import api as notifications_api
    from app.notifications import views as notifications_views
    from app.platform import views as platform_views
    from app.replies import api as replies_api
    from app.replies import views as replies_views
    from app.replies.positions_views import positions_router as replies_positions_router
    from app.replies.tracker_views import tracker_router as replies_tracker_router
    from app.settings_admin import api as admin_api
    from app.settings_admin import views as admin_views
    from app.treaties import api as treaties_api
    from app.treaties import views as treaties_views

    return [
        platform_views.router,
        auth_views.router,
        auth_views.signed_in_router,
        auth_api.router,
        dashboard_views.router,
        cosigners_views.router,
        admin_views.router,
        admin_api.router,
        cosigners_api.router,
        treaties_api.router,
        treaties_views.router,
        campaigns_api.router,
        campaigns_views.router,
        campaigns_feeds.router,
        notifications_api.router,
        notifications_views.router,
        letters_views.router,
        letters_api.router,
        contacts_api.router,
        contacts_views.router,
        contacts_segment_views.router,
        contacts_import_api.imports_router,
        contacts_import_api.merge_router,
        contacts_import_api.batches_router,
        contacts_import_views.router,
        contacts_import_views.merge_router,
        contacts_identity_api.router,
        contacts_identity_views.router,
        contacts_bulk_api.router,
        contacts_bulk_views.router,
        replies_api.router,
        replies_api.positions_router,
        replies_api.tracker_router,
        replies_views.router,
        replies_positions_router,
        replies_tracker_router,
        merge_views.router,
        merge_api.router,
        correspondence_views.router,
        correspondence_api.router,
        exports_api.router,
        exports_views.router,
    ]


# (label, route name, minimum role) for the navigation bar; domains append theirs.
NAV = [
    ("Dashboard", "dashboard", "campaigner"),
    ("Campaigns", "campaigns_home", "campaigner"),
    ("Contacts", "contacts_home", "campaigner"),
    ("Templates", "templates", "campaigner"),
    ("Mail merge", "merges", "campaigner"),
    ("Correspondence", "correspondence_home", "campaigner"),
    ("Replies", "replies_home", "campaigner"),
    ("Treaties", "treaties_home", "campaigner"),
    ("Import", "contacts_import", "coordinator"),
    ("Exports", "exports_home", "coordinator"),
    ("Notifications", "notifications", "campaigner"),
    ("Settings", "admin_home", "admin"),
    ("Account", "account", "campaigner"),
]


@functools.cache
def freeze_startup_objects() -> None:
    """What is alive once the app has started (modules, routes, templates, mappers) lives as long
    as the process: frozen, the collector stops scanning it on every full collection, time that
    otherwise lands on whichever request triggered the collection (``python -m bench load``
    measures it). Once per process."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.files_dir.mkdir(parents=True, exist_ok=True)
    templating.warm_up()
    freeze_startup_objects()
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Demarche",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    hooks.install()
    install_error_handlers(app)
    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "app" / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="demarche_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(NulCharacterGuard)
    # level 1, as nginx does by default, not Starlette's 9: on the largest pages (a treaty's map
    # and table of every state) the higher levels cost far more CPU than the bytes they save
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    # Outermost: a request for another host name (a forged Host header, DNS rebinding) gets a
    # 400 before anything reads it.
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
    )
    templates.env.globals["nav_sections"] = NAV
    templates.env.globals["app_version"] = __version__
    return app
