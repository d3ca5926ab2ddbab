"""``modelport registry``: look after the registry database itself (backups)."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION
from modelport.cli.output import console, print_json
from modelport.config import RegistrySettings
from modelport.registry.backup import backup_database

app = typer.Typer(help="Look after the registry database: backups.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Look after the registry database itself (more commands may join backup)."""


@app.command()
def backup(
    file: Path = typer.Argument(..., help="The backup file to write (a SQLite database)."),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE when it exists."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Copy the SQLite registry to FILE while servers keep running (online backup API).

    Copying registry.db with cp can lose recent commits still in its write-ahead log; this
    copies them too. For PostgreSQL it prints the pg_dump command to use instead. Artifacts
    live in their own store; copy that folder (or bucket) as well.
    """
    settings = RegistrySettings()
    result = backup_database(settings, file, overwrite=force)
    if json_out:
        print_json({"source": str(result.source), "target": str(result.target),
                    "size_bytes": result.size_bytes, "models": result.models,
                    "versions": result.versions,
                    "artifact_root": settings.resolved_artifact_root()})
        return
    console.print(
        f"backed up {result.source} to {result.target} ({result.size_bytes:,} bytes, "
        f"{result.models} model(s), {result.versions} version(s)); artifacts are in "
        f"{settings.resolved_artifact_root()}: copy that too. Restore by pointing "
        f"MODELPORT_HOME at a folder holding the copy as registry.db",
        highlight=False, markup=False, soft_wrap=True,
    )
