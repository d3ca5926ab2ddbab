"""``modelport models``: register, list, show, alias and delete model versions."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.approve_cmd import approve
from modelport.cli.common import (
    JSON_OPTION,
    current_actor,
    open_registry,
    parse_metrics,
    parse_pairs,
    registry_location,
    registry_missing,
)
from modelport.cli.governance_view import print_card_evaluations
from modelport.cli.output import (
    console,
    print_fields,
    print_json,
    print_line,
    print_table,
)
from modelport.errors import InvalidInput, ModelportError
from modelport.governance.promotion import check_promotion, refuse_protected_alias
from modelport.governance.store import evaluations_of
from modelport.protocol.signature import Signature
from modelport.registry import Registry, VersionInfo, parse_ref
from modelport.registry.intake import Registration, register_artifact
from modelport.security.audit import append_audit
from modelport.security.signing import SIGNATURE_TAG, load_signing_key, sign_artifact

app = typer.Typer(
    help="Register models and manage their versions and aliases.", no_args_is_help=True
)


@app.command()
def register(
    artifact: Path = typer.Argument(
        ..., help="Model file or folder (xgboost .json, .skops, .onnx, ...)."
    ),
    name: str = typer.Option(
        ..., "--name", "-n", help="Model name; versions are numbered per name."
    ),
    flavor: str | None = typer.Option(
        None, help="Framework, when it cannot be detected from the file."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="KEY=NUMBER, repeatable (e.g. auc=0.97)."
    ),
    param: list[str] = typer.Option(
        [], "--param", help="KEY=VALUE training parameter, repeatable."
    ),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE tag, repeatable."),
    train_data: Path | None = typer.Option(
        None, help="Training table (CSV/Parquet/JSONL): recorded in lineage, sampled as reference."
    ),
    alias: str | None = typer.Option(None, help="Point this alias at the new version."),
    card: Path | None = typer.Option(None, help="Markdown model card file."),
    description: str | None = typer.Option(None, help="Model description (first registration)."),
    parent: int | None = typer.Option(
        None, "--parent-version", help="Version this one derives from."
    ),
    signature: Path | None = typer.Option(None, help="JSON signature file, overriding inference."),
    trust_pickle: bool = typer.Option(
        False,
        help="Allow a pickle/joblib artifact (loading it runs arbitrary code: trusted files only).",
    ),
    sign_key: Path | None = typer.Option(
        None, help="Ed25519 private key (PEM): sign the artifact for 'serve --require-signed'."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Register a model file as the next version of NAME."""
    sig = _read_signature(signature) if signature else None
    reg = Registration(
        name=name,
        artifact=artifact,
        registered_by=current_actor(),
        flavor=flavor,
        signature=sig,
        trust_pickle=trust_pickle,
        train_data=train_data,
        metrics=parse_metrics(metric),
        params=parse_pairs("--param", param),
        tags=parse_pairs("--tag", tag),
        alias=alias,
        card=_read_text(card) if card else None,
        description=description,
        parent_version=parent,
    )
    signer = load_signing_key(sign_key) if sign_key else None
    with open_registry(create=True) as registry:
        refuse_protected_alias(registry, name, alias)
        info = register_artifact(registry, reg)
        same = [v.version for v in registry.list_versions(info.name)
                if v.artifact_sha256 == info.artifact_sha256 and v.version != info.version]
        if signer is not None:
            signed = sign_artifact(signer, name=info.name, version=info.version,
                                   sha256=info.artifact_sha256)
            info = registry.set_tags(info.name, info.version, {SIGNATURE_TAG: signed})
        _audit_registration(registry, info)
        if info.lineage.reference_uri:
            _derive_contract(registry, info)
    if json_out:
        print_json(info.to_dict())
        return
    aliases = f" (aliases: {', '.join(info.aliases)})" if info.aliases else ""
    console.print(
        f"registered [bold]{info.ref}[/] ({info.flavor}, "
        f"sha256 {info.artifact_sha256[:12]}){aliases}"
    )
    if same:
        console.print(f"note: the artifact is identical to version {same[-1]} of {info.name} "
                      f"(same sha256); {info.ref} is a new version of the same model file",
                      highlight=False)


@app.command("import-mlflow")
def import_mlflow(
    model_dir: Path = typer.Argument(
        ..., help="An MLflow model directory (holding an MLmodel file)."
    ),
    name: str = typer.Option(..., "--name", "-n", help="Model name to register under."),
    alias: str | None = typer.Option(None, help="Point this alias at the new version."),
    trust_pickle: bool = typer.Option(
        False, help="Allow the pickle files MLflow writes for sklearn models (runs code on load)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Register an MLflow model (flavors sklearn, xgboost, lightgbm, onnx) with its signature."""
    from modelport.runtimes.mlflow_model import read_mlflow_model

    mlflow_model = read_mlflow_model(model_dir)
    reg = Registration(
        name=name,
        artifact=mlflow_model.artifact_path,
        registered_by=current_actor(),
        flavor=mlflow_model.flavor,
        signature=mlflow_model.signature,
        trust_pickle=trust_pickle,
        alias=alias,
        tags={"source": "mlflow", "mlflow.model_dir": str(model_dir.resolve())},
    )
    with open_registry(create=True) as registry:
        refuse_protected_alias(registry, name, alias)
        info = register_artifact(registry, reg)
        _audit_registration(registry, info)
    if json_out:
        print_json(info.to_dict())
        return
    console.print(f"imported MLflow model as [bold]{info.ref}[/] ({info.flavor})")


@app.command("list")
def list_models(json_out: bool = JSON_OPTION) -> None:
    """List registered models with their latest version and aliases."""
    models = []
    if not registry_missing():  # nothing registered yet: say where, create nothing
        with open_registry() as registry:
            models = registry.list_models()
    if json_out:
        print_json(
            [
                {
                    "name": m.name,
                    "description": m.description,
                    "latest_version": m.latest_version,
                    "versions": m.version_count,
                    "aliases": dict(m.aliases),
                    "created_at": m.created_at.isoformat(),
                }
                for m in models
            ]
        )
        return
    if not models:
        console.print(f"no models registered yet in {registry_location()}; register one with "
                      f"'modelport models register FILE --name NAME', or point "
                      f"MODELPORT_HOME or MODELPORT_DATABASE_URL at another registry",
                      soft_wrap=True, highlight=False, markup=False)
        return
    print_table(
        ["model", "latest", "versions", "aliases", "created"],
        [
            (
                m.name,
                m.latest_version,
                m.version_count,
                ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or None,
                m.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for m in models
        ],
    )


@app.command()
def versions(
    name: str = typer.Argument(..., help="Model name."), json_out: bool = JSON_OPTION
) -> None:
    """List the versions of a model."""
    with open_registry() as registry:
        infos = registry.list_versions(name)
    if json_out:
        print_json([i.to_dict() for i in infos])
        return
    _versions_table(name, infos)


def _versions_table(name: str, infos: list[VersionInfo]) -> None:
    print_table(
        ["version", "flavor", "status", "aliases", "metrics", "registered by", "created"],
        [
            (
                i.version,
                i.flavor,
                i.status,
                list(i.aliases) or None,
                ", ".join(f"{k}={v:.4g}" for k, v in sorted(i.metrics.items())) or None,
                i.registered_by,
                i.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for i in infos
        ],
        title=f"{name}: {len(infos)} version(s)",
    )


app.command("approve")(approve)


@app.command()
def show(
    ref: str = typer.Argument(
        ..., help="A model name for its overview, or name@alias / name:version for one version."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show a model (every version with its aliases, metrics and status, then the latest
    version's details) or one version (signature, request forms, lineage, metrics, card)."""
    parsed = parse_ref(ref)
    with open_registry() as registry:
        if parsed.version is not None or parsed.alias is not None:
            info = registry.resolve(parsed)
            infos = None
        else:
            infos = registry.list_versions(parsed.name)
            info = registry.resolve(parsed)
        evaluations = evaluations_of(registry.engine, info.name, info.version)
    if json_out:
        doc = info.to_dict()
        print_json(doc if infos is None else {"name": parsed.name, "versions": [
            i.to_dict() for i in infos], "latest": doc})
        return
    if infos is not None:
        _versions_table(parsed.name, infos)
    _show_version(info)
    print_card_evaluations(evaluations)


@app.command()
def alias(
    name: str = typer.Argument(..., help="Model name."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="Alias, e.g. production."),
    version: int = typer.Argument(..., help="Version the alias should point at."),
) -> None:
    """Point ALIAS of model NAME at VERSION (atomic; recorded in the alias history)."""
    with open_registry() as registry:
        check_promotion(registry, name, alias_name, version, actor=current_actor())
        move = registry.set_alias(name, alias_name, version, actor=current_actor())
        append_audit(registry.engine, action="alias.move", actor=current_actor(),
                     target=f"{name}@{alias_name}",
                     details={"from": move.from_version, "to": move.to_version})
        routed = _routed_elsewhere(registry, name, version)
    before = f"{move.from_version} → " if move.from_version is not None else ""
    console.print(f"{name}@{alias_name}: {before}{move.to_version}")
    if routed:
        console.print(f"note: {routed}", highlight=False, soft_wrap=True)


@app.command()
def unalias(
    name: str = typer.Argument(..., help="Model name."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="Alias to remove."),
) -> None:
    """Remove ALIAS from model NAME (recorded in the alias history)."""
    with open_registry() as registry:
        move = registry.delete_alias(name, alias_name, actor=current_actor())
        append_audit(registry.engine, action="alias.delete", actor=current_actor(),
                     target=f"{name}@{alias_name}", details={"from": move.from_version})
    console.print(f"{name}@{alias_name} removed (was version {move.from_version})",
                  highlight=False)


@app.command()
def delete(
    ref: str = typer.Argument(..., help="name:version of the version to delete."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete one version (refused while an alias points at it)."""
    parsed = parse_ref(ref)
    if parsed.version is None:
        raise InvalidInput(f"give an exact version to delete, e.g. {parsed.name}:3 (got {ref!r})")
    if not yes:
        typer.confirm(f"delete {parsed.name}:{parsed.version}?", abort=True)
    with open_registry() as registry:
        registry.delete_version(parsed.name, parsed.version)
        append_audit(registry.engine, action="model.delete", actor=current_actor(),
                     target=f"{parsed.name}:{parsed.version}")
    console.print(f"deleted {parsed.name}:{parsed.version}")


def _routed_elsewhere(registry: Registry, endpoint: str, version: int) -> str | None:
    """Why moving the alias does not move the endpoint's traffic, when a deployment routes it
    to another version (see README "Rollouts and aliases follow one rule")."""
    from modelport.routing.service import DeploymentService

    found = [d for d in DeploymentService(registry).list() if d.endpoint == endpoint]
    if not found:
        return None
    record = found[0]
    answering = {a.version for a in record.weights if a.model == endpoint and a.weight > 0}
    if answering == {version}:
        return None
    state = "is rolling out" if record.active else f"ended {record.status.value} and still routes"
    return (f"deployment {record.id} of endpoint {endpoint!r} {state} "
            f"({', '.join(f'{a.model}:{a.version} {a.weight:g}%' for a in record.weights)}); "
            f"servers with routing follow it, not the alias: apply a new deployment "
            f"(modelport deploy apply -f FILE) to move the endpoint's traffic")


def _audit_registration(registry: Registry, info: VersionInfo) -> None:
    append_audit(registry.engine, action="model.register", actor=info.registered_by,
                 target=info.ref, details={"flavor": info.flavor, "sha256": info.artifact_sha256,
                                           "aliases": list(info.aliases),
                                           "signed": SIGNATURE_TAG in info.tags})


def _show_version(info: VersionInfo) -> None:
    lin = info.lineage
    print_fields(
        [
            ("version", info.ref),
            ("aliases", list(info.aliases) or None),
            ("flavor", info.flavor),
            ("artifact", f"{info.artifact_uri} ({info.artifact_size:,} bytes)"),
            ("sha256", info.artifact_sha256),
            ("registered", f"{info.created_at:%Y-%m-%d %H:%M:%S} by {info.registered_by}"),
            ("trust pickle", "yes" if info.trust_pickle else "no"),
            ("training data", lin.training_data_uri),
            ("data sha256", lin.training_data_sha256),
            ("code revision", lin.code_revision),
            ("parent version", lin.parent_version),
            ("reference data", lin.reference_uri),
            ("metrics", ", ".join(f"{k}={v:.6g}" for k, v in sorted(info.metrics.items())) or None),
            ("params", ", ".join(f"{k}={v}" for k, v in sorted(info.params.items())) or None),
            ("tags", ", ".join(f"{k}={v}" for k, v in sorted(info.tags.items())
                               if not k.startswith(("modelport.converted_from",
                                                    "modelport.parity"))) or None),
        ],
        title=info.ref,
    )
    sig = info.signature
    print_table(
        ["", "name", "datatype", "shape"],
        [("input", s.name, s.datatype, str(list(s.shape))) for s in sig.inputs]
        + [("output", s.name, s.datatype, str(list(s.shape))) for s in sig.outputs],
        title="signature",
    )
    matrix = sig.matrix
    if matrix is not None:
        print_line(
            f"request forms: one {matrix.datatype} tensor of shape [N, {matrix.shape[1]}] "
            f"(advertised as {matrix.name!r}; any name is accepted), its columns the inputs "
            f"above in order; or one [N] tensor per input, named as above"
        )
    from modelport.cli.convert_cmd import print_conversion

    print_conversion(info)
    if info.card:
        from rich.markdown import Markdown

        console.rule("model card")
        console.print(Markdown(info.card))


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_signature(path: Path) -> Signature:
    """A ``--signature`` file, or InvalidInput saying what a signature file holds."""
    try:
        return Signature.from_dict(_read_json(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{path} is not a signature: expected {{\"inputs\": [{{\"name\", \"datatype\", "
            f"\"shape\"}}, ...], \"outputs\": [...]}} ({type(exc).__name__}: {exc})"
        ) from None


def _read_json(path: Path) -> dict[str, object]:
    import orjson

    try:
        data = orjson.loads(_read_text(path))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a JSON object with 'inputs' and 'outputs'")
    return data


def _derive_contract(registry: Registry, info: VersionInfo) -> None:
    """The model's data contract, from this version's reference data when it has none yet."""
    from modelport.monitoring.contract_store import ensure_contract

    try:
        ensure_contract(registry, info, actor=current_actor())
    except ModelportError as exc:  # the version is registered; the contract can come later
        print_line(f"warning: no data contract derived for {info.ref}: {exc.message}", err=True)
