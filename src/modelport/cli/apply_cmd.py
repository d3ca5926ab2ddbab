"""``modelport apply -f DIR`` and ``modelport export DIR``: model state as files in git.

``apply`` shows the difference (dry run) unless given ``--yes``; everything is checked before
anything changes, and a second apply changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_json, print_table
from modelport.gitops import execute, export_state, plan_changes, read_folder

__all__ = ["apply", "export"]


def apply(
    folder: Path = typer.Option(..., "--file", "-f", help="Folder of model files (YAML)."),
    yes: bool = typer.Option(False, "--yes", help="Make the changes (default: only show them)."),
    revision: str = typer.Option(
        "", "--revision", help="Where the files come from (e.g. the git commit), audited."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Make the registry match the declared models, versions, aliases, policies, rollouts."""
    models = read_folder(folder)
    with open_registry(create=True) as registry:
        plan = plan_changes(registry, models)
        done = execute(registry, plan, actor=current_actor(), revision=revision) \
            if yes and plan.changes else []
    rows = [{"kind": c.kind, "model": c.model, "change": c.summary} for c in plan.changes]
    if as_json:
        print_json({"changes": rows, "applied": bool(yes), "revision": revision})
        return
    if not plan.changes:
        console.print("no changes: the registry matches the declared state")
        return
    print_table(["kind", "model", "change"], [[r["kind"], r["model"], r["change"]] for r in rows],
                title="applied" if yes else "plan (dry run: add --yes to apply)")
    if yes:
        console.print(f"applied {len(done)} change(s)" + (f" from {revision}" if revision else ""))


def export(
    folder: Path = typer.Argument(..., help="Folder to write one YAML file per model into."),
    artifacts: bool = typer.Option(True, "--artifacts/--no-artifacts",
                                   help="Copy each version's artifact beside the files."),
) -> None:
    """Write the registry's models, versions, aliases, policies and rollouts as files."""
    with open_registry() as registry:
        written = export_state(registry, folder, artifacts=artifacts)
    console.print(f"wrote {len(written)} model file(s) to {folder}")
