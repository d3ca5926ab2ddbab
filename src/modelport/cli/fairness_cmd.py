"""``modelport monitor fairness NAME --group COL``: per-group rates and the fairness gaps."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.output import console, print_json, print_table
from modelport.monitoring.fairness import FairnessReport, Rate, fairness_report
from modelport.monitoring.fairness_html import render_fairness_html
from modelport.registry.tables import utcnow
from modelport.security.durations import parse_duration

__all__ = ["fairness"]


def fairness(
    name: str = typer.Argument(..., help="Model (endpoint) name, e.g. fraud."),
    group: str = typer.Option(..., "--group", help="Logged input column defining the groups."),
    since: str = typer.Option("7d", help="Traffic of the last 1d, 7d, 30d, ..."),
    threshold: float = typer.Option(0.5, help="Score at or above which a row is selected."),
    min_rows: int = typer.Option(30, help="Groups smaller than this get a warning."),
    log: str | None = typer.Option(
        None, "--log", envvar="MODELPORT_INFERENCE_LOG",
        help="Inference log folder or URL [default: MODELPORT_HOME/inference-log]."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write an HTML report."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Selection rate, TPR/FPR and precision per group, with the parity and odds gaps."""
    from modelport.cli.monitor_cmd import _log_root

    start = utcnow() - parse_duration(since, option="--since")
    with open_registry() as registry:
        report = fairness_report(_log_root(log), registry.engine, name, group, since=start,
                                 threshold=threshold, min_rows=min_rows)
    if html_out is not None:
        html_out.write_text(render_fairness_html(report))
    if as_json:
        print_json(report.to_dict())
        return
    _print(report)
    if html_out is not None:
        console.print(f"wrote {html_out}")


def _show(rate: Rate) -> str:
    if rate.value is None:
        return "-"
    return f"{rate.value:.3f} [{rate.ci[0]:.2f}-{rate.ci[1]:.2f}]" if rate.ci else "-"


def _print(report: FairnessReport) -> None:
    print_table(["group", "rows", "labelled", "selection", "TPR", "FPR", "precision"], [
        [g.group + (" (small)" if g.small else ""), g.rows, g.labelled, _show(g.selection_rate),
         _show(g.tpr), _show(g.fpr), _show(g.precision)] for g in report.groups
    ], title=f"fairness of {report.model} by {report.column}")
    print_table(["gap", "value"], [[k, v] for k, v in report.gaps.items()])
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
