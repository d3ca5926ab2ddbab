"""``modelport pipelines``: register, check, list and show inference pipelines."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_json, print_table
from modelport.errors import InvalidInput, NotFound
from modelport.pipelines import PIPELINE_FLAVOR, Plan, check_pipeline, register_pipeline
from modelport.pipelines.runtime import PIPELINE_FILE
from modelport.pipelines.spec import EnsembleStep, ModelStep, RulesStep, SwitchStep
from modelport.registry import parse_ref
from modelport.security.audit import append_audit

app = typer.Typer(
    help="Inference pipelines: transforms, models, ensembles and business rules served as one.",
    no_args_is_help=True,
)

FILE_OPTION = typer.Option(..., "--file", "-f", help="The pipeline YAML file.")


@app.command()
def register(
    name: str = typer.Argument(..., help="Pipeline name; served and deployed like a model."),
    file: Path = FILE_OPTION,
    alias: str | None = typer.Option(None, help="Point this alias at the new version."),
    description: str | None = typer.Option(None, help="Description (first registration)."),
    parent: int | None = typer.Option(
        None, "--parent-version", help="Version this one derives from."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Validate FILE against the registry and register it as the next version of NAME."""
    text = _read(file)
    with open_registry() as registry:
        info, plan = register_pipeline(
            registry, name, text, registered_by=current_actor(), source=str(file), alias=alias,
            description=description, parent_version=parent,
        )
        append_audit(registry.engine, action="model.register", actor=info.registered_by,
                     target=info.ref, details={"flavor": info.flavor,
                                               "sha256": info.artifact_sha256,
                                               "aliases": list(info.aliases),
                                               "steps": dict(plan.refs)})
    if json_out:
        print_json(info.to_dict())
        return
    aliases = f" (aliases: {', '.join(info.aliases)})" if info.aliases else ""
    console.print(f"registered pipeline [bold]{info.ref}[/] with {len(plan.steps)} step(s)"
                  f"{aliases}", highlight=False)
    _steps_table(plan)


@app.command()
def check(file: Path = FILE_OPTION) -> None:
    """Validate FILE against the registry without registering it."""
    with open_registry() as registry:
        plan = check_pipeline(registry, _read(file), source=str(file))
    console.print(f"{file}: valid, {len(plan.steps)} step(s)", highlight=False)
    _steps_table(plan)


@app.command("list")
def list_pipelines(json_out: bool = JSON_OPTION) -> None:
    """List registered pipelines with their latest version and aliases."""
    with open_registry() as registry:
        rows = []
        for model in registry.list_models():
            if model.latest_version is None:
                continue
            versions = registry.list_versions(model.name)
            if versions and versions[-1].flavor == PIPELINE_FLAVOR:
                rows.append((model, versions[-1]))
    if json_out:
        print_json([{"name": m.name, "latest_version": m.latest_version,
                     "aliases": dict(m.aliases), "steps": dict(latest.params)}
                    for m, latest in rows])
        return
    print_table(
        ["pipeline", "latest", "aliases", "steps"],
        [(m.name, m.latest_version,
          ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or None,
          ", ".join(f"{k.removeprefix('step.')}={v}" for k, v in sorted(latest.params.items())))
         for m, latest in rows],
        title=None if rows else "no pipelines yet: modelport pipelines register NAME -f FILE",
    )


@app.command()
def show(
    ref: str = typer.Argument(..., help="NAME, NAME@alias or NAME:version."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show a pipeline version: its file, its steps and the versions they resolve to now."""
    with open_registry() as registry:
        info = registry.resolve(parse_ref(ref))
        if info.flavor != PIPELINE_FLAVOR:
            raise NotFound(f"{info.ref} is a {info.flavor} model, not a pipeline; see "
                           f"modelport models show {info.name}")
        text = (registry.fetch_artifact(info) / PIPELINE_FILE).read_text(encoding="utf-8")
        plan = check_pipeline(registry, text, source=info.ref)
    if json_out:
        print_json({**info.to_dict(), "pipeline": text, "steps_now": dict(plan.refs)})
        return
    console.print(f"[bold]{info.ref}[/] aliases: {', '.join(info.aliases) or 'none'}; "
                  f"registered {info.created_at:%Y-%m-%d %H:%M} by {info.registered_by}",
                  highlight=False)
    _steps_table(plan)
    print_table(["output", "datatype", "shape"],
                [(s.name, s.datatype, str(list(s.shape))) for s in plan.signature.outputs])


def _steps_table(plan: Plan) -> None:
    rows = []
    for planned in plan.steps:
        step = planned.step
        if isinstance(step, RulesStep):
            what = f"{len(step.rules)} rule(s), default {step.default}"
            kind = "rules"
        elif isinstance(step, SwitchStep):
            what = " | ".join(f"{when} → {m.ref}" for (when, _), m in zip(
                step.cases, planned.members, strict=False)) + f" | else → {planned.members[-1].ref}"
            kind = "switch"
        elif isinstance(step, EnsembleStep):
            what = f"{step.combine} of " + ", ".join(m.ref for m in planned.members)
            kind = "ensemble"
        else:
            assert isinstance(step, ModelStep)
            what = f"{step.ref} → {planned.members[0].ref}"
            kind = "transform" if step.transform else "model"
        rows.append((step.name, kind, what, ", ".join(planned.outputs)))
    print_table(["step", "kind", "runs", "outputs"], rows)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no pipeline file at {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from None
