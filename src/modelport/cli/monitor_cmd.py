"""``modelport monitor``: drift, live performance, data contracts and monitoring events.

``drift`` and ``performance`` exit 0 when all is well and 3 when something drifted or
degraded, so a cron job or CI step can act on the exit status alone.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import click
import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry, parse_pairs
from modelport.cli.output import console, print_fields, print_json, print_line, print_table
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput, NotFound
from modelport.monitoring.config import DriftConfig
from modelport.monitoring.contract import Contract, derive_contract
from modelport.monitoring.contract_store import (
    ensure_contract,
    load_contract,
    read_reference,
    save_contract,
)
from modelport.monitoring.drift_check import DriftReport, check_drift
from modelport.monitoring.drift_html import render_html
from modelport.monitoring.events import list_events
from modelport.monitoring.performance import VersionPerformance, evaluate
from modelport.registry import parse_ref
from modelport.registry import tables as t
from modelport.security.durations import parse_duration

__all__ = ["DRIFTED", "app"]

DRIFTED = 3
"""Exit status of ``drift`` and ``performance`` when something drifted or degraded."""

app = typer.Typer(
    help="Watch served models: drift, live performance, data contracts, events.",
    no_args_is_help=True,
)

LOG_OPTION = typer.Option(
    None, "--log", envvar="MODELPORT_INFERENCE_LOG",
    help="Inference log folder or URL [default: MODELPORT_HOME/inference-log].",
)


def _log_root(given: str | None) -> str:
    return given or str((RegistrySettings().home / "inference-log").resolve())


@app.command()
def drift(
    ref: str = typer.Argument(..., help="Version to check: fraud@production, fraud:3, fraud."),
    since: str = typer.Option("1h", help="Live window: traffic of the last 30m, 1h, 1d, ..."),
    log: str | None = LOG_OPTION,
    alpha: float = typer.Option(0.05, help="Significance after the correction."),
    correction: str = typer.Option("bh", help="bh (Benjamini-Hochberg) or holm."),
    min_rows: int = typer.Option(50, help="Features with fewer live rows are not tested."),
    predictions: bool = typer.Option(
        True, "--predictions/--no-predictions",
        help="Also compare live predictions with the model's predictions on its reference.",
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a self-contained HTML report with a plot per feature."
    ),
    json: bool = JSON_OPTION,
) -> None:
    """Test live traffic against the version's reference data, feature by feature."""
    window = parse_duration(since, option="--since")
    config = DriftConfig(alpha=alpha, correction=correction,  # type: ignore[arg-type]
                         min_rows=min_rows)
    with open_registry() as registry:
        report = check_drift(registry, _log_root(log), ref, window=window, config=config,
                             predictions=predictions)
    if html is not None:
        html.write_text(render_html(report), encoding="utf-8")
    if json:
        print_json({**report.to_dict(), "html": str(html) if html else None})
    else:
        _print_drift(report, html)
    raise typer.Exit(DRIFTED if report.drifted else 0)


def _print_drift(report: DriftReport, html: Path | None) -> None:
    rows = [
        (f.feature + (" (prediction)" if f.prediction else ""), f.test, f.statistic,
         f.p_adjusted, f.psi, f.live_rows, f.verdict + (f" ({f.note})" if f.note else ""))
        for f in report.features
    ]
    title = (f"{report.model}:{report.version}, last "
             f"{_span(report.until - report.since)} ({report.live_rows} live rows)")
    print_table(("feature", "test", "statistic", "p-value", "PSI", "live rows", "verdict"), rows,
                title=title)
    for note in report.notes:
        print_line(f"note: {note}")
    verdict = ("[bold red]drift[/] in " + ", ".join(report.drifted_features)
               if report.drifted else "[green]no drift[/]")
    console.print(f"{verdict} (alpha {report.alpha}, {report.correction.upper()} corrected "
                  "p-values)", highlight=False, soft_wrap=True)
    if html is not None:
        console.print(f"HTML report: {html.resolve()}", highlight=False, soft_wrap=True)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command()
def performance(
    ref: str = typer.Argument(..., help="Model (all versions) or version to judge."),
    since: str = typer.Option("7d", help="Feedback received in the last 1d, 7d, ..."),
    margin: float = typer.Option(
        0.05, help="Degraded when a metric is this share worse than its registered baseline."
    ),
    min_labels: int = typer.Option(30, help="No verdict on fewer labels than this."),
    json: bool = JSON_OPTION,
) -> None:
    """Accuracy, AUC, precision, recall (or MAE, RMSE) from feedback, per version."""
    window = parse_duration(since, option="--since")
    parsed = parse_ref(ref)
    with open_registry() as registry:
        infos = registry.list_versions(parsed.name)
        target = registry.resolve(ref) if (parsed.alias or parsed.version) else None
        baselines = {str(i.version): dict(i.metrics) for i in infos}
        results = evaluate(registry.engine, parsed.name, baselines,
                           since=t.utcnow() - window, margin=margin, min_labels=min_labels)
    if target is not None:
        results = [r for r in results if r.version == str(target.version)]
    if json:
        print_json([r.to_dict() for r in results])
    else:
        _print_performance(parsed.name, results, window)
    raise typer.Exit(DRIFTED if any(r.degraded for r in results) else 0)


def _print_performance(model: str, results: list[VersionPerformance], window: timedelta
                       ) -> None:
    if not results:
        console.print(f"no feedback for {model} in the last {_span(window)}; send ground truth "
                      f"to POST /v2/models/{model}/feedback", highlight=False, soft_wrap=True)
        return
    rows = []
    for r in results:
        for metric, value in sorted(r.metrics.items()):
            base = r.baseline.get(metric)
            state = "-" if base is None or not r.enough else (
                "DEGRADED" if metric in r.degraded else "ok")
            rows.append((r.version, r.task, r.labels, metric, f"{value:.4f}",
                         "-" if base is None else f"{base:.4f}", state))
    print_table(("version", "task", "labels", "metric", "live", "baseline", "state"), rows,
                title=f"{model}: feedback of the last {_span(window)}")
    for r in results:
        detail = f" ({', '.join(r.degraded)})" if r.degraded else ""
        console.print(f"version {r.version}: {r.verdict}{detail}", highlight=False,
                      soft_wrap=True)


@app.command()
def contract(
    name: str = typer.Argument(..., help="Model name (or a version to derive from: fraud:3)."),
    set_: list[str] = typer.Option(
        [], "--set", help="FIELD.RULE=VALUE, e.g. amount.max=5000, country.categories=FR,DE, "
        "hour.nullable=true, policy=reject. Repeatable."
    ),
    edit: bool = typer.Option(False, "--edit", help="Open the contract in $EDITOR as YAML."),
    export: Path | None = typer.Option(None, "--export", help="Write the contract as YAML."),
    import_: Path | None = typer.Option(
        None, "--import", help="Replace the contract with this YAML file."
    ),
    derive: bool = typer.Option(
        False, "--derive", help="Derive it again from the version's reference data."
    ),
    json: bool = JSON_OPTION,
) -> None:
    """Show (and edit) a model's data contract; derived from reference data on first use."""
    parsed = parse_ref(name)
    with open_registry() as registry:
        info = registry.resolve(name)
        if derive:
            found: Contract = derive_contract(
                info.name, info.signature, read_reference(registry, info), derived_from=info.ref)
        else:
            found = ensure_contract(registry, info, actor=current_actor())
        changed = derive
        if import_ is not None:
            if not import_.is_file():
                raise NotFound(f"contract file {import_} does not exist")
            found = _same_model(Contract.from_yaml(import_.read_text()), parsed.name)
            changed = True
        if set_:
            found = found.with_settings(parse_pairs("--set", set_))
            changed = True
        if edit:
            text = click.edit(found.to_yaml(), extension=".yaml",
                              editor=os.environ.get("EDITOR"))
            if text is not None:
                found = _same_model(Contract.from_yaml(text), parsed.name)
                changed = True
        if changed:
            save_contract(registry.engine, found, actor=current_actor())
        stored = load_contract(registry.engine, parsed.name) or found
    if export is not None:
        export.write_text(stored.to_yaml(), encoding="utf-8")
    if json:
        print_json(stored.to_dict())
        return
    _print_contract(stored)
    if export is not None:
        console.print(f"written to {export}", highlight=False, soft_wrap=True)


def _same_model(contract: Contract, name: str) -> Contract:
    if contract.model and contract.model != name:
        raise InvalidInput(
            f"this contract is for model {contract.model!r}, not {name!r}; fix its 'model' key"
        )
    return Contract(model=name, fields=contract.fields, policy=contract.policy,
                    derived_from=contract.derived_from, margin=contract.margin)


def _print_contract(found: Contract) -> None:
    print_fields([
        ("model", found.model), ("policy", found.policy or "server default (--contract-policy)"),
        ("derived from", found.derived_from), ("margin", found.margin),
    ])
    rows = [
        (f.name, f.datatype, f.kind, f.min, f.max,
         "any" if f.categories is None else ", ".join(f.categories[:10])
         + (f" (+{len(f.categories) - 10})" if len(f.categories) > 10 else ""),
         "yes" if f.nullable else "no")
        for f in found.fields
    ]
    print_table(("field", "type", "kind", "min", "max", "categories", "missing ok"), rows)


@app.command()
def events(
    name: str | None = typer.Argument(None, help="Only this model."),
    since: str = typer.Option("7d", help="Events of the last 1d, 7d, ..."),
    kind: list[str] = typer.Option([], "--kind", help="drift, degraded, retrain, ..."),
    limit: int = typer.Option(50, help="Newest first, at most this many."),
    json: bool = JSON_OPTION,
) -> None:
    """What monitoring noticed: drift, degraded performance, retraining requests."""
    window = parse_duration(since, option="--since")
    with open_registry() as registry:
        found = list_events(registry.engine, model=name, kinds=tuple(kind),
                            since=t.utcnow() - window, limit=limit)
    if json:
        print_json([e.to_dict() for e in found])
        return
    print_table(("at", "model", "version", "kind", "summary"),
                [(f"{e.at:%Y-%m-%d %H:%M:%S}", e.model, e.version, e.kind, e.summary)
                 for e in found])


def _register_fairness() -> None:
    from modelport.cli.fairness_cmd import fairness

    app.command("fairness")(fairness)


_register_fairness()
