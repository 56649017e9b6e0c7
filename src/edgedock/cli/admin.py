"""Admin commands that work on the database directly: tenants, tokens, keys, migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from edgedock.cli.output import Column, OutputFormat, OutputOption, emit_list, fail, note
from edgedock.cli.server_extra import needs_server_extra

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from edgedock.crypto import Keyring

T = TypeVar("T")


def private_files(ctx: typer.Context) -> None:
    """Admin commands may create the database, its journal and the key file: owner-only.

    Set on every admin command group, as `edgedock serve` does, so that a SQLite file or key
    file first written by a command is never readable by other local users. Admin commands work
    on the database with the server's code: without its extra, they say how to install it.
    """
    os.umask(0o077)
    with needs_server_extra(f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()):
        import edgedock.config
        import edgedock.crypto
        import edgedock.db  # noqa: F401


def _group(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True, callback=private_files)


tenants = _group("Tenants: nothing ever crosses between them.")
tokens = _group("API tokens for people and scripts.")
keys = _group("The keyring that encrypts stored secrets.")
db = _group("The database schema.")


def run_in_transaction(work: Callable[[AsyncSession, Keyring], Awaitable[T]]) -> T:
    """Run `work` in one transaction with the configured database and keyring."""
    from sqlalchemy.exc import DBAPIError

    from edgedock.config import load_settings
    from edgedock.db import Database
    from edgedock.errors import EdgedockError
    from edgedock.server.app import load_keyring
    from edgedock.server.bootstrap import require_current_schema

    settings = load_settings()

    async def _main() -> T:
        await require_current_schema(settings.effective_database_url)
        database = Database.connect(settings.effective_database_url)
        try:
            async with database.transaction() as session:
                return await work(session, load_keyring(settings))
        finally:
            await database.dispose()

    try:
        return asyncio.run(_main())
    except EdgedockError as exc:
        fail(exc.message)
    except DBAPIError as exc:
        # The driver's own words, without the statement and its parameters.
        fail(f"database error: {type(exc.orig).__name__}: {exc.orig}")


@tenants.command("create")
def create_tenant(
    slug: Annotated[str, typer.Argument(help="Lower-case letters, digits and '-'.")],
) -> None:
    """Create a tenant and print its first admin API token, alone on stdout."""
    from edgedock.tenants import service as tenant_service
    from edgedock.tokens import service as token_service

    async def work(session: AsyncSession, keyring: Keyring) -> str:
        tenant = await tenant_service.create(session, slug=slug, keyring=keyring)
        _, plaintext = await token_service.create(session, tenant_id=tenant.id, name="admin")
        return plaintext

    typer.echo(run_in_transaction(work))


@tenants.command("list")
def list_tenants(output: OutputOption = OutputFormat.table) -> None:
    """Every tenant, with its id."""
    from edgedock.tenants import service as tenant_service

    async def work(session: AsyncSession, _keyring: Keyring) -> list[dict[str, object]]:
        return [
            {"slug": t.slug, "id": t.id, "created_at": t.created_at}
            for t in await tenant_service.search(session)
        ]

    emit_list(
        run_in_transaction(work),
        output,
        [Column("slug", "SLUG"), Column("id", "ID"), Column("created_at", "CREATED")],
    )


@tokens.command("create")
def create_token(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    name: Annotated[str, typer.Option(help="Shown in the audit trail.")] = "admin",
) -> None:
    """Create an API token and print it alone on stdout. It is not stored and not shown again."""
    from edgedock.tenants import service as tenant_service
    from edgedock.tokens import service as token_service

    async def work(session: AsyncSession, _keyring: Keyring) -> str:
        row = await tenant_service.get_by_slug(session, slug=tenant)
        _, plaintext = await token_service.create(session, tenant_id=row.id, name=name)
        return plaintext

    typer.echo(run_in_transaction(work))


@tokens.command("list")
def list_tokens(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    output: OutputOption = OutputFormat.table,
) -> None:
    """A tenant's API tokens (never the tokens themselves): when made, last used, revoked."""
    from edgedock.tenants import service as tenant_service
    from edgedock.tokens import service as token_service

    async def work(session: AsyncSession, _keyring: Keyring) -> list[dict[str, object]]:
        row = await tenant_service.get_by_slug(session, slug=tenant)
        return [
            {
                "id": t.id,
                "name": t.name,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t in await token_service.search(session, tenant_id=row.id)
        ]

    emit_list(
        run_in_transaction(work),
        output,
        [
            Column("id", "ID"),
            Column("name", "NAME"),
            Column("created_at", "CREATED"),
            Column("last_used_at", "LAST USED"),
            Column("revoked_at", "REVOKED"),
        ],
    )


@tokens.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `tokens list`).")],
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
) -> None:
    """Revoke an API token: it stops working at once."""
    import uuid

    from edgedock.tenants import service as tenant_service
    from edgedock.tokens import service as token_service

    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        fail(f"token {token_id} does not exist")

    async def work(session: AsyncSession, _keyring: Keyring) -> None:
        row = await tenant_service.get_by_slug(session, slug=tenant)
        await token_service.revoke(session, tenant_id=row.id, token_id=parsed)

    run_in_transaction(work)
    note(f"revoked {token_id}")


@keys.command("init")
def init_keys() -> None:
    """Create the key file in the data dir (mode 0600), unless EDGEDOCK_SECRET_KEYS is set."""
    from edgedock.config import load_settings
    from edgedock.crypto import FileKeyStore

    settings = load_settings()
    if settings.secret_keys:
        fail("EDGEDOCK_SECRET_KEYS is set: the keyring comes from the environment")
    store = FileKeyStore(settings.key_file)
    empty = store.is_empty()
    if store.path.exists() and not empty:
        fail(f"{store.path} already exists")
    _on_key_file(lambda: store.create(replace_empty=empty))
    typer.echo(f"created {store.path}", err=True)


@keys.command("rotate")
def rotate_keys() -> None:
    """Add a new current key (key file) and re-encrypt every stored secret with it.

    With EDGEDOCK_SECRET_KEYS, add the new key (from `edgedock keys generate`) at the end of
    the variable on every server first; this then re-encrypts everything to it.
    """
    from edgedock.config import load_settings
    from edgedock.credentials import service as credential_service
    from edgedock.crypto import FileKeyStore, generate_key
    from edgedock.registries import service as registry_service

    settings = load_settings()
    if not settings.secret_keys:
        store = FileKeyStore(settings.key_file)
        new_id = _next_key_id(list(_on_key_file(store.load)))
        _on_key_file(lambda: store.append(new_id, generate_key()))
        typer.echo(f"added key {new_id}", err=True)

    async def work(session: AsyncSession, keyring: Keyring) -> tuple[int, int, str]:
        moved = await credential_service.rotate_keys(session, keyring=keyring)
        signing = await registry_service.rotate_keys(session, keyring=keyring)
        return moved, signing, keyring.current_id

    moved, signing, current = run_in_transaction(work)
    typer.echo(f"re-encrypted {moved} secret(s) with key {current}", err=True)
    if signing:
        typer.echo(
            f"rotated the brokered registries' signing keys ({signing} key(s) sealed); "
            "publish each registry's new bundle before the next rotation",
            err=True,
        )


@keys.command("retire")
def retire_key(key_id: Annotated[str, typer.Argument(help="The key's id, e.g. k1.")]) -> None:
    """Remove a key from the key file once no stored secret uses it."""
    from edgedock.config import load_settings
    from edgedock.credentials import service as credential_service
    from edgedock.crypto import FileKeyStore
    from edgedock.registries import service as registry_service

    settings = load_settings()
    if settings.secret_keys:
        fail("EDGEDOCK_SECRET_KEYS is set: remove the key from the variable instead")

    async def work(session: AsyncSession, _keyring: Keyring) -> set[str]:
        return await credential_service.key_ids_in_use(
            session
        ) | await registry_service.key_ids_in_use(session)

    store = FileKeyStore(settings.key_file)
    existing = _on_key_file(store.load)
    if key_id not in existing:
        fail(f"key {key_id} is not in {store.path}")
    if key_id == next(reversed(existing)):
        fail(f"key {key_id} is the current key; rotate first")
    if key_id in run_in_transaction(work):
        fail(f"key {key_id} still encrypts stored secrets; run `edgedock keys rotate` first")
    _on_key_file(lambda: store.remove(key_id))
    typer.echo(f"retired key {key_id}", err=True)


@keys.command("generate")
def generate_key_entry(
    key_id: Annotated[str, typer.Argument(help="The new key's id, e.g. k2.")],
) -> None:
    """Print a new `id:base64key` entry to append to EDGEDOCK_SECRET_KEYS."""
    from edgedock.crypto import format_key, generate_key

    typer.echo(format_key(key_id, generate_key()))


def _on_key_file(action: Callable[[], T]) -> T:
    """Run a key-file operation; its failure is one line on stderr, never a traceback."""
    from edgedock.errors import EdgedockError

    try:
        return action()
    except EdgedockError as exc:
        fail(exc.message)


def _next_key_id(existing: list[str]) -> str:
    numbers = [int(k[1:]) for k in existing if k.startswith("k") and k[1:].isdigit()]
    return f"k{max(numbers, default=0) + 1}"


@db.command("upgrade")
def upgrade_database(
    revision: Annotated[
        str, typer.Argument(help="The migration to reach; head is the newest.")
    ] = "head",
) -> None:
    """Apply the migrations to the configured database."""
    from edgedock.config import load_settings
    from edgedock.migrations import upgrade

    settings = load_settings()
    upgrade(settings.effective_database_url, revision)
    typer.echo(f"database at {revision}", err=True)
