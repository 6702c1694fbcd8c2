"""The `demarche` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings

app = typer.Typer(help="Demarche: correspondence CRM for advocacy campaigns.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
contacts_app = typer.Typer(help="Maintain the contacts directory.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.callback()
def _start() -> None:
    """Every command needs valid settings and a writable data directory: say so plainly when
    not (production without a strong DEMARCHE_SECRET_KEY stops here, before serving anything).
    Then the session hooks every process runs with (app.hooks) are installed."""
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:
        _fail(
            "Demarche cannot start: "
            + "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        )
        return
    try:
        settings.files_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        _fail(
            f"The data directory {settings.data_dir} cannot be used ({exc.strerror or exc}). "
            "Set DEMARCHE_DATA_DIR to a writable directory with free space."
        )
    from app import hooks

    hooks.install()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes")] = False,
) -> None:
    """Start the web server."""
    import signal

    import uvicorn

    from app.platform import children

    def _stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    # uvicorn stops gracefully on SIGTERM, then raises it again with the handler it found:
    # this one ends the process through Python's exit, so the renderer child is stopped too.
    signal.signal(signal.SIGTERM, _stop)
    typer.echo(f"Demarche is serving on http://{host}:{port}")
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            proxy_headers=True,
            log_level="info",
        )
    finally:
        children.stop_all()


@app.command()
def worker(
    workers: Annotated[int, typer.Option(help="Concurrent jobs")] = 2,
    worker_type: Annotated[str, typer.Option(help="thread or process")] = "thread",
) -> None:
    """Start a task-queue worker.

    On start (and every minute) it resumes the jobs of workers that died; SIGINT lets running
    jobs finish, SIGTERM stops at once (the next worker resumes them). Either way the renderer
    processes stop with it, and so they do if it is killed (see app.platform.children)."""
    from app import jobs  # noqa: F401 - every task module, so the consumer knows them all
    from app.platform import children, recovery
    from app.queue import make_consumer, storage_kind

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    typer.echo(f"Demarche worker: {workers} {worker_type} worker(s) on {storage_kind()} storage")
    consumer = make_consumer(workers=workers, worker_type=worker_type)
    try:
        consumer.run()
    finally:
        children.stop_all()
        if held := recovery.abandon_held():
            logging.getLogger(__name__).warning("stopped with %d job(s) unfinished", held)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from app import reference
    from app.db import transaction
    from app.platform.migrations import upgrade

    upgrade()
    with transaction() as session:
        reference.load(session)
    typer.echo("Database is up to date; reference data loaded.")


@app.command()
def demo() -> None:
    """Load the demo data (running it again changes nothing)."""
    from app import demo as demo_data
    from app.db import transaction

    if get_settings().env == "production":
        # The demo accounts' password is published in the README.
        typer.echo("The demo data has sign-ins with a published password: not in production.")
        raise typer.Exit(code=2)
    with transaction() as session:
        demo_data.load(session)
    typer.echo(
        f"Demo data loaded. Sign in as {demo_data.DEMO_LOGIN} "
        f"with the password {get_settings().demo_password}"
    )


@contacts_app.command("reindex")
def contacts_reindex() -> None:
    """Recompute every person's and organisation's search text and every alias's folded form
    (after an upgrade that changes how names are folded; editing keeps them current)."""
    from app.contacts import searchindex
    from app.db import transaction

    with transaction() as session:
        report = searchindex.reindex(session)
    typer.echo(
        f"Search index rebuilt: {report.people} people, {report.organisations} organisations "
        f"and {report.aliases} aliases updated."
    )


@user_app.command("add")
def user_add(
    email: str,
    role: Annotated[str, typer.Option(help="admin, coordinator or campaigner")] = "campaigner",
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted")] = None,
    name: Annotated[str, typer.Option(help="Full name")] = "",
) -> None:
    """Create a user."""
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError
    from app.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"Unknown role {role!r}: use admin, coordinator or campaigner.")
        return
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction() as session:
            service.create_user(
                session, email=email, role=role_value, password=password, full_name=name
            )
    except DomainError as exc:
        _fail(exc.detail)
    typer.echo(f"User {email} created with the {role_value.value} role.")


def _set_active(email: str, *, active: bool) -> None:
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError

    try:
        with transaction() as session:
            service.set_active(
                session, service.require_user(session, email=email), active=active, actor=None
            )
    except DomainError as exc:
        _fail(exc.detail)


@user_app.command("deactivate")
def user_deactivate(email: str) -> None:
    """Deactivate a user: signed out everywhere at once, API tokens revoked, sign-in refused."""
    _set_active(email, active=False)
    typer.echo(f"User {email} deactivated: every session ended, every API token revoked.")


@user_app.command("activate")
def user_activate(email: str) -> None:
    """Let a deactivated user sign in again (their old API tokens stay revoked)."""
    _set_active(email, active=True)
    typer.echo(f"User {email} can sign in again.")


@user_app.command("password")
def user_password(
    email: str,
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted")] = None,
) -> None:
    """Set a user's password; every session of the user ends."""
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction() as session:
            user = service.require_user(session, email=email)
            service.change_password(session, user, password=password, actor=None)
    except DomainError as exc:
        _fail(exc.detail)
    typer.echo(f"Password of {email} changed; their sessions have ended.")


@token_app.command("list")
def token_list(email: str) -> None:
    """A user's API tokens: id, state, name, created, last used (the tokens themselves are not
    stored, only their hashes)."""
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError

    try:
        with transaction() as session:
            user = service.require_user(session, email=email)
            tokens = service.list_tokens(session, user_id=user.id)
            rows = [
                (
                    t.id,
                    "revoked" if t.revoked else "active",
                    t.name or "-",
                    t.created_at.strftime("%Y-%m-%d %H:%M"),
                    t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
                )
                for t in tokens
            ]
    except DomainError as exc:
        _fail(exc.detail)
        return
    if not rows:
        typer.echo(f"{email} has no API tokens.")
        return
    typer.echo(f"{'id':>6}  {'state':<8} {'created':<16} {'last used':<16} name")
    for token_id, state, name, created, used in rows:
        typer.echo(f"{token_id:>6}  {state:<8} {created:<16} {used:<16} {name}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke an API token by its id (from 'demarche token list EMAIL'); it stops at once."""
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError

    try:
        with transaction() as session:
            token = service.revoke_token(session, token_id, actor=None)
            name = token.name
    except DomainError as exc:
        _fail(exc.detail)
        return
    typer.echo(f"API token {token_id} ({name or 'unnamed'}) revoked.")


@token_app.command("create")
def token_create(
    email: str, name: Annotated[str, typer.Option(help="What the token is for")] = "cli"
) -> None:
    """Create an API token; it is printed once, as the last line."""
    from app.auth import service
    from app.db import transaction
    from app.errors import DomainError

    try:
        with transaction() as session:
            token = service.create_token(session, email=email, name=name)
    except DomainError as exc:
        _fail(exc.detail)
        return
    typer.echo(f"API token for {email} (store it now; it is not shown again):")
    typer.echo(token)


@app.command()
def backup(path: Path) -> None:
    """Write every record and stored file to a backup archive."""
    from app.platform import backup as backup_service

    counts = backup_service.backup(path)
    typer.echo(f"Backup written to {path}: {sum(counts.values())} records in {len(counts)} tables.")


@app.command()
def restore(
    path: Path,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace the database and stored files with a backup archive."""
    import sys

    from app.errors import DomainError
    from app.platform import backup as backup_service

    if (
        not yes
        and sys.stdin.isatty()
        and not typer.confirm("Restore replaces every record in the database. Continue?")
    ):
        raise typer.Exit(1)
    try:
        counts = backup_service.restore(path)
    except DomainError as exc:
        _fail(exc.detail)
        return
    typer.echo(f"Restored {sum(counts.values())} records in {len(counts)} tables from {path}.")


if __name__ == "__main__":
    app()
