"""``modelport auth``: API keys (create, list, revoke) and artifact signing keys.

Whoever can run these against the registry database administers the server: the CLI talks
to the database directly, as the ``admin`` role would.
"""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, err_console, print_json, print_table
from modelport.errors import InvalidInput
from modelport.registry.tables import utcnow
from modelport.security.durations import parse_duration
from modelport.security.keys import KeyStore
from modelport.security.signing import generate_signing_key

app = typer.Typer(help="API keys and signing keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
signing_app = typer.Typer(help="Ed25519 keys that sign registered artifacts.",
                          no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(signing_app, name="signing-key")


@keys_app.command("create")
def create_key(
    name: str = typer.Option(..., "--name", "-n", help="What the key is for, e.g. checkout-svc."),
    role: str = typer.Option(
        ..., "--role", "-r", help="device, viewer, predictor, deployer or admin."
    ),
    models: str = typer.Option(
        None, "--models", help="Limit the key to these models or endpoints, e.g. fraud,churn."
    ),
    expires: str = typer.Option(None, "--expires", help="Lifetime, e.g. 90d or 12h [never]."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create an API key. The key is printed once: store it now, it cannot be shown again."""
    lifetime = parse_duration(expires, option="--expires") if expires else None
    with open_registry(create=True) as registry:
        new = KeyStore(registry.engine).create(
            name=name, role=role, models=models, expires_in=lifetime, actor=current_actor()
        )
    if json_out:
        print_json({"key": new.token, **new.record.to_dict()})
        return
    record = new.record
    scope = ", ".join(sorted(record.models)) if record.models else "all models"
    until = f"until {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "no expiry"
    err_console.print(
        f"created key [bold]{record.key_id}[/] ({record.name}, role {record.role.label}, "
        f"{scope}, {until}). It is shown once; send it as 'Authorization: Bearer KEY':",
        highlight=False,
    )
    typer.echo(new.token)


@keys_app.command("list")
def list_keys(json_out: bool = JSON_OPTION) -> None:
    """List API keys (never their secrets)."""
    with open_registry() as registry:
        records = KeyStore(registry.engine).list()
    now = utcnow()
    if json_out:
        print_json([r.to_dict(now) for r in records])
        return
    print_table(  # few columns, so the key id (what revoke takes) is never cut short
        ["key id", "name", "role", "models", "state", "expires"],
        [
            (
                r.key_id, r.name, r.role.label,
                sorted(r.models) if r.models else "all", r.state(now),
                r.expires_at.strftime("%Y-%m-%d") if r.expires_at else None,
            )
            for r in records
        ],
        title=None if records else
        "no API keys yet: modelport auth keys create --name NAME --role predictor",
    )


@keys_app.command("revoke")
def revoke_key(key_id: str = typer.Argument(..., help="The key id shown by 'auth keys list'.")
               ) -> None:
    """Revoke a key; every server refuses it within a few seconds."""
    with open_registry() as registry:
        record = KeyStore(registry.engine).revoke(key_id, actor=current_actor())
    console.print(f"revoked key [bold]{record.key_id}[/] ({record.name})")


@signing_app.command("create")
def create_signing_key(
    out: Path = typer.Option(..., "--out", "-o", help="Private key file to write, e.g. key.pem."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Write an Ed25519 key pair: OUT (private, for 'models register --sign-key') and
    OUT with .pub.pem (public, for 'serve --verify-key')."""
    public = out.with_name(out.stem + ".pub.pem")
    for path in (out, public):
        if path.exists() and not force:
            raise InvalidInput(f"{path} exists; pass --force to overwrite it")
    generate_signing_key(out, public)
    console.print(f"wrote {out} (private: keep it secret) and {public} (public)")
