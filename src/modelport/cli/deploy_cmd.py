"""``modelport deploy``: roll versions out with a deployment file, watch and steer rollouts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_fields, print_json, print_line, print_table
from modelport.cli.render_cmd import render_manifests
from modelport.errors import InvalidInput
from modelport.governance.promotion import check_rollout
from modelport.routing.abtest import ABReport
from modelport.routing.controller import Controller
from modelport.routing.options import RoutingOptions
from modelport.routing.records import DeploymentRecord
from modelport.routing.service import DeploymentService, DeploymentStatus
from modelport.routing.sync import worker_name

app = typer.Typer(
    help="Roll model versions out safely: canary, blue-green, shadow and A/B tests.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ENDPOINT = typer.Argument(..., help="The endpoint name clients call (e.g. fraud).")

app.command("render")(render_manifests)


@contextmanager
def _service() -> Iterator[DeploymentService]:
    with open_registry() as registry:
        yield DeploymentService(registry)


@app.command("apply")
def apply(
    file: Path = typer.Option(..., "--file", "-f", help="The deployment file (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file; change nothing."),
    json: bool = JSON_OPTION,
) -> None:
    """Start the rollout a deployment file describes (running servers pick it up)."""
    try:
        text = file.read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read deployment file {str(file)!r}: {exc.strerror}") from None
    with _service() as service:
        if dry_run:
            plan = service.plan(text, label=file.name)
            summary = {"endpoint": plan.spec.endpoint, "strategy": plan.spec.strategy,
                       "stable": str(plan.stable), "candidate": str(plan.candidate),
                       "shadows": [str(s) for s in plan.shadows], "valid": True}
            if json:
                print_json(summary)
            else:
                console.print(f"{file.name} is valid: {plan.spec.strategy} of "
                              f"{plan.spec.endpoint}, {plan.stable} -> {plan.candidate}")
            return
        planned = service.plan(text, label=file.name)
        check_rollout(service.registry, planned.candidate.model, planned.candidate.version,
                      planned.spec.strategy, actor=current_actor())
        record = service.apply(text, actor=current_actor(), label=file.name)
    _show_record(record, json, f"applied: deployment {record.id} of {record.endpoint}")


@app.command("status")
def status(endpoint: str = ENDPOINT, json: bool = JSON_OPTION) -> None:
    """Weights, step, gate readings, shadow comparison, workers and history of an endpoint."""
    with _service() as service:
        found = service.status(endpoint)
    if json:
        print_json(found.to_dict())
    else:
        _print_status(found)


@app.command("list")
def list_(json: bool = JSON_OPTION) -> None:
    """Every endpoint with a deployment, and where its rollout stands."""
    with _service() as service:
        records = service.list()
    if json:
        print_json([r.to_dict() for r in records])
        return
    print_table(
        ["endpoint", "id", "strategy", "status", "stable", "candidate", "weights", "updated"],
        [(r.endpoint, r.id, r.strategy, r.status.value, str(r.stable), str(r.candidate),
          _weights(r), _when(r.updated_at)) for r in records],
        title="Deployments",
    )


@app.command("promote")
def promote(endpoint: str = ENDPOINT, json: bool = JSON_OPTION) -> None:
    """Send all traffic to the candidate now (blue-green: once its slot is ready)."""
    with _service() as service:
        record = service.promote(endpoint, actor=current_actor())
    _show_record(record, json, f"{endpoint}: {record.status.value}")


@app.command("pause")
def pause(endpoint: str = ENDPOINT, json: bool = JSON_OPTION) -> None:
    """Hold a rollout at its current weights."""
    with _service() as service:
        record = service.pause(endpoint, actor=current_actor())
    _show_record(record, json, f"{endpoint}: paused at {record.describe_step()}")


@app.command("resume")
def resume(endpoint: str = ENDPOINT, json: bool = JSON_OPTION) -> None:
    """Carry a paused rollout on; the current step's interval starts again."""
    with _service() as service:
        record = service.resume(endpoint, actor=current_actor())
    _show_record(record, json, f"{endpoint}: resumed at {record.describe_step()}")


@app.command("rollback")
def rollback(
    endpoint: str = ENDPOINT,
    reason: str = typer.Option("", help="Why, for the history."),
    json: bool = JSON_OPTION,
) -> None:
    """Send all traffic back to the stable version at once."""
    with _service() as service:
        record = service.rollback(endpoint, actor=current_actor(), reason=reason)
    _show_record(record, json, f"{endpoint}: rolled back to {record.stable}")


@app.command("ab-report")
def ab_report(
    endpoint: str = ENDPOINT,
    confidence: float = typer.Option(0.95, help="Confidence level of intervals and tests."),
    json: bool = JSON_OPTION,
) -> None:
    """Per-arm outcomes of an A/B test with confidence intervals and significance tests."""
    with _service() as service:
        report = service.ab_report(endpoint, confidence=confidence)
    if json:
        print_json(report.to_dict())
    else:
        _print_report(report)


@app.command("controller")
def controller(
    tick: float = typer.Option(1.0, help="Seconds between looks at running rollouts."),
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
    json: bool = JSON_OPTION,
) -> None:
    """Run the rollout controller here (servers run one too; one leads at a time)."""
    options = RoutingOptions(controller_tick_s=tick, lease_ttl_s=max(5.0, 3 * tick))
    with open_registry() as registry:
        runner = Controller(registry.engine, holder=f"cli:{worker_name()}", options=options)
        if not once:
            console.print(f"rollout controller running (tick {tick:g} s); Ctrl-C stops it")
            with suppress(KeyboardInterrupt):
                asyncio.run(runner.run())
            return
        changed = runner.tick() if runner.lead() else []
    if json:
        print_json([r.to_dict() for r in changed])
    else:
        for record in changed:
            console.print(f"{record.endpoint}: {record.status.value} ({_weights(record)})")


# -- printing -------------------------------------------------------------------------------


def _when(stamp: datetime | None) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S") if stamp else "-"


def _weights(record: DeploymentRecord) -> str:
    return ", ".join(f"{a.model}:{a.version} {a.weight:g}%" for a in record.weights)


def _show_record(record: DeploymentRecord, json: bool, headline: str) -> None:
    if json:
        print_json(record.to_dict())
        return
    console.print(headline)
    print_fields([("strategy", record.strategy), ("status", record.status.value),
                  ("weights", _weights(record)), ("step", record.describe_step()),
                  ("reason", record.reason)])


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _mark(reading: dict[str, Any]) -> str:
    ok = reading.get("ok")
    if ok is None:
        return "-"
    if reading["gate"] == "requests":
        return "ok" if ok else "too few"
    return "ok" if ok else "FAIL"


def _gates(record: DeploymentRecord) -> str | None:
    """Every gate a canary step must pass, with the defaults filled in."""
    canary = record.spec.canary
    if canary is None:
        return None
    limits = [f"{k} {v:g}" for k, v in canary.gates.model_dump().items() if v is not None]
    return ", ".join([f"min_requests {canary.min_requests}", *limits])


def _waiting(found: DeploymentStatus) -> str | None:
    """What the current step waits on, when its last analysis could not judge it yet."""
    record = found.deployment
    canary = record.spec.canary
    if canary is None or not record.active:
        return None
    latest = [g for g in found.gates if g.step == record.step]
    if not latest or latest[-1].verdict != "wait":
        return None
    seen = next((r.get("candidate") for r in latest[-1].readings if r["gate"] == "requests"), 0)
    return (f"min_requests: {_num(seen)} of {canary.min_requests} candidate requests in the "
            f"last interval ({canary.interval}); the gates are judged once it has enough")


def _print_status(found: DeploymentStatus) -> None:
    record = found.deployment
    print_fields([
        ("endpoint", record.endpoint), ("deployment", record.id),
        ("strategy", record.strategy), ("status", record.status.value),
        ("stable", str(record.stable)), ("candidate", str(record.candidate)),
        ("weights", _weights(record)), ("step", record.describe_step()),
        ("gates", _gates(record)),
        *([("waiting on", waiting)] if (waiting := _waiting(found)) else []),
        ("shadows", ", ".join(map(str, record.shadows)) or None),
        ("applied", f"{_when(record.created_at)} by {record.created_by}"),
        ("reason", record.reason),
    ], title=f"Deployment of {record.endpoint}")
    if found.live:
        print_table(["role", "requests", "errors", "error rate", "p99 ms"],
                    [(role, c.requests, c.errors, _num(c.error_rate),
                      _num(c.latency.quantile(0.99))) for role, c in sorted(found.live.items())],
                    title="This step so far")
    if found.gates:
        rows = [(_when(g.at), g.step + 1, g.verdict, r["gate"], _num(r.get("candidate")),
                 _num(r.get("stable")), _num(r.get("limit")), _mark(r))
                for g in found.gates for r in g.readings]
        print_table(["at", "step", "verdict", "gate", "candidate", "stable", "limit", "ok"],
                    rows, title="Gate readings")
    if found.shadows:
        print_table(
            ["shadow", "mirrored", "failed", "timed out", "skipped", "agreement",
             "mean |diff|", "shadow ms", "primary ms"],
            [(target, c.mirrored, c.failed, c.timed_out, c.skipped, *[
                _num(c.to_dict()[k]) for k in ("agreement", "mean_abs_diff",
                                               "shadow_latency_ms", "primary_latency_ms")])
             for target, c in sorted(found.shadows.items())],
            title="Shadow traffic")
    if found.workers:
        print_table(["worker", "revision", "loaded", "failed", "heartbeat"],
                    [(w.worker, w.revision, ", ".join(w.loaded), ", ".join(w.failed) or "-",
                      _when(w.heartbeat_at)) for w in found.workers],
                    title="Workers")
    print_table(["at", "actor", "action", "detail"],
                [(_when(e.at), e.actor, e.action, e.detail) for e in found.events],
                title="History")


def _print_report(report: ABReport) -> None:
    pct = f"{report.confidence:.0%}"
    rows = []
    for arm in report.arms:
        conv, value, acc = arm.conversion, arm.value, arm.accuracy
        rows.append((arm.arm, arm.target, f"{arm.weight:g}%", arm.exposures, conv.successes,
                     _num(conv.rate), f"[{_num(conv.ci_low)}, {_num(conv.ci_high)}]",
                     value.n, _num(value.mean), f"[{_num(value.ci_low)}, {_num(value.ci_high)}]",
                     acc.n, _num(acc.rate)))
    print_table(["arm", "version", "weight", "exposures", "conversions", "rate", f"rate {pct} CI",
                 "values", "mean", f"mean {pct} CI", "labelled", "accuracy"], rows,
                title=f"A/B test of {report.endpoint} (deployment {report.deployment_id}, "
                      f"{report.status})")
    print_table(["metric", "test", "difference", "statistic", "p-value", "significant"],
                [(t.metric, t.test, _num(t.difference), _num(t.statistic), _num(t.p_value),
                  "yes" if t.significant else "no") for t in report.tests],
                title="Candidate against stable")
    if report.unmatched_outcomes:
        console.print(f"{report.unmatched_outcomes} outcome(s) match no answered request yet")
    for note in report.notes:
        print_line(f"note: {note}")
