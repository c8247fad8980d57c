"""Setting a node up from the command line: the database, organisations, credentials.

    kervan db upgrade
    kervan org create kz-customs "State Revenue Committee (customs)" KZ customs_authority \
        --street "Zhenis 11" --city Astana
    kervan org rotate-key kz-customs           # a new document-signing key from now on
    kervan client create kz-customs            # prints the client id and secret once
    kervan key create kz-customs               # prints the API key once
    kervan user create kz-customs officer.dostyk --password-file pw.txt
    kervan client revoke kz-customs kz-customs-1a2b3c4d5e6f
    kervan key revoke kz-customs 0123456789abcdef
    kervan user disable kz-customs officer.dostyk

These are operator commands: they act on the node's own database (KERVAN_DATABASE_URL) and key
files (KERVAN_DATA_DIR) as the node's operator, with no caller to authorise; whoever can run them
can read those files anyway. The commands take the store's types in their signatures, so this
module is imported only when one of its groups is invoked (see kervan.cli.root), and imports
the store at its top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kervan.cli.errors import report
from kervan.errors import InvalidRequestError, KervanError
from kervan.services.access import Caller, node_operator
from kervan.services.credentials import (
    DisablePerson,
    NewCredential,
    NewPerson,
    RevokeCredential,
    create_api_key,
    create_client,
    create_user,
    disable_person,
    revoke_api_key,
    revoke_client,
)
from kervan.services.members import (
    NewMember,
    RotateSigningKey,
    register_member,
    rotate_signing_key,
)
from kervan.services.node import ensure_node_organisation, utc_now
from kervan.settings import Settings, get_settings
from kervan.store.db import display_url, make_engine, make_session_factory, unit_of_work
from kervan.store.node_files import node_keys
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationAddress,
    OrganisationKind,
)
from kervan.store.schema import connect_migrated, upgrade
from kervan.store.uow import UnitOfWork

out = Console()
# The groups' help texts are kervan.cli.root's; these hold the commands.
db_app = typer.Typer(rich_markup_mode=None)
org_app = typer.Typer(rich_markup_mode=None)
client_app = typer.Typer(rich_markup_mode=None)
key_app = typer.Typer(rich_markup_mode=None)
user_app = typer.Typer(rich_markup_mode=None)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database at KERVAN_DATABASE_URL (SQLite file by default)."""
    try:
        settings = get_settings()
        url = settings.resolved_database_url
        keys = node_keys(settings)  # the passphrase before the database: refused early
        upgrade(url)
        engine = make_engine(url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                ensure_node_organisation(session, keys, settings)
        finally:
            engine.dispose()
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"[green]migrated[/]: {display_url(url)}")


#: Engines the running command opened (disposed when it ends: no connection left open).
_ENGINES: list[Engine] = []


def _sessions() -> tuple[Settings, sessionmaker[Session]]:
    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    _ENGINES.append(engine)
    return settings, make_session_factory(engine)


def _dispose() -> None:
    while _ENGINES:
        _ENGINES.pop().dispose()


def _operator(settings: Settings) -> Caller:
    """The command line acts as the node's operator."""
    return node_operator(settings.node_id, settings.node_country)


@org_app.command("create")
def org_create(
    org_id: Annotated[str, typer.Argument(help="Stable id, e.g. kz-customs, ady-container")],
    name: Annotated[str, typer.Argument(help="Legal name")],
    country: Annotated[str, typer.Argument(help="ISO 3166 alpha-2")],
    kind: Annotated[OrganisationKind, typer.Argument(help="What the organisation does")],
    street: Annotated[str, typer.Option(help="Street address")],
    city: Annotated[str, typer.Option(help="City")],
    postcode: Annotated[str | None, typer.Option(help="Postcode")] = None,
) -> None:
    """Register an organisation with its address and fresh signing keys."""
    try:
        settings, sessions = _sessions()
        member = NewMember(
            Organisation(org_id, name, country.upper(), kind, utc_now()),
            OrganisationAddress(street, city, postcode),
        )
        uow = UnitOfWork(sessions, keys=node_keys(settings))
        register_member(uow, _operator(settings), member)
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"[green]registered[/] {org_id} ({kind.value}, {country.upper()}) with signing keys")


@org_app.command("rotate-key")
def org_rotate_key(
    org_id: Annotated[str, typer.Argument(help="The organisation whose signing key to rotate")],
) -> None:
    """Give the organisation a new document-signing key: later steps are signed with it, and
    what its old key signed stays valid. Exit 18 for an organisation the node does not know."""
    try:
        settings, sessions = _sessions()
        uow = UnitOfWork(sessions, keys=node_keys(settings))
        rotated = rotate_signing_key(uow, _operator(settings), RotateSigningKey(org_id))
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(
        f"[green]rotated[/] {org_id}: {', '.join(rotated.previous_kids)} -> {rotated.kid} "
        f"(signs from {rotated.valid_from.isoformat()})",
        highlight=False,
        soft_wrap=True,
    )


@client_app.command("create")
def client_create(
    org_id: Annotated[str, typer.Argument(help="The organisation the client acts for")],
    scope: Annotated[list[str] | None, typer.Option(help="Scope to grant; repeat")] = None,
) -> None:
    """Create an OAuth2 client; its secret is printed once and stored only as a hash."""
    try:
        settings, sessions = _sessions()
        command = NewCredential(org_id, tuple(scope) if scope else None)
        issued = create_client(UnitOfWork(sessions), _operator(settings), command)
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"client_id={issued.identifier}\nclient_secret={issued.secret}", highlight=False)


@key_app.command("create")
def key_create(
    org_id: Annotated[str, typer.Argument(help="The organisation the key acts for")],
    scope: Annotated[list[str] | None, typer.Option(help="Scope to grant; repeat")] = None,
) -> None:
    """Create an API key; printed once and stored only as a hash."""
    try:
        settings, sessions = _sessions()
        command = NewCredential(org_id, tuple(scope) if scope else None)
        issued = create_api_key(UnitOfWork(sessions), _operator(settings), command)
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(issued.secret, highlight=False)


@client_app.command("revoke")
def client_revoke(
    org_id: Annotated[str, typer.Argument(help="The organisation the client acts for")],
    client_id: Annotated[str, typer.Argument(help="The client to revoke")],
) -> None:
    """Revoke an OAuth2 client: its tokens are refused from their next use."""
    try:
        settings, sessions = _sessions()
        command = RevokeCredential(org_id, client_id)
        revoke_client(UnitOfWork(sessions), _operator(settings), command)
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"[green]revoked[/] client {client_id} of {org_id}")


@key_app.command("revoke")
def key_revoke(
    org_id: Annotated[str, typer.Argument(help="The organisation the key acts for")],
    key_id: Annotated[str, typer.Argument(help="The id in kvn_<id>_<secret>")],
) -> None:
    """Revoke an API key: it is refused from its next use."""
    try:
        settings, sessions = _sessions()
        revoke_api_key(UnitOfWork(sessions), _operator(settings), RevokeCredential(org_id, key_id))
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"[green]revoked[/] API key {key_id} of {org_id}")


@user_app.command("create")
def user_create(
    org_id: Annotated[str, typer.Argument(help="The person's organisation")],
    username: Annotated[str, typer.Argument(help="Login name")],
    password_file: Annotated[Path, typer.Option(help="File holding the password (one line)")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the interface")] = None,
) -> None:
    """Create a person who logs in to the web interface (password stored as argon2)."""
    try:
        if not password_file.is_file():
            raise InvalidRequestError(f"password file {password_file} does not exist")
        password = password_file.read_text(encoding="utf-8").strip()
        settings, sessions = _sessions()
        person = NewPerson(org_id, username, password, display_name or username)
        create_user(UnitOfWork(sessions), _operator(settings), person)
    except KervanError as exc:
        raise report(exc) from None
    finally:
        _dispose()
    out.print(f"[green]created[/] user {username} of {org_id}")


@user_app.command("disable")
def user_disable(
    org_id: Annotated[str, typer.Argument(help="The person's organisation")],
    username: Annotated[str, typer.Argument(help="Login name")],
) -> None:
    """Disable a person: their login is refused and the tokens they hold stop working."""
    try:
        settings, sessions = _sessions()
        disable_person(UnitOfWork(sessions), _operator(settings), DisablePerson(org_id, username))
    except KervanError as exc:
        raise report(exc) from None
    out.print(f"[green]disabled[/] user {username} of {org_id}")
