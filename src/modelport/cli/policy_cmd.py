"""``modelport policy``: a model's promotion policy and acceptance criteria."""

from __future__ import annotations

from dataclasses import replace

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_fields, print_json
from modelport.governance.policy import PROTECT_ALL_ENV, Policy
from modelport.governance.store import get_policy, set_policy
from modelport.security.audit import append_audit

__all__ = ["app"]

app = typer.Typer(help="Promotion policy: protected aliases, evaluations, approvals, criteria.",
                  no_args_is_help=True)


@app.command("show")
def show(name: str = typer.Argument(..., help="Model name."), as_json: bool = JSON_OPTION
         ) -> None:
    """Show the policy of model NAME (none: its aliases move freely)."""
    with open_registry() as registry:
        registry.get_model(name)
        policy = get_policy(registry.engine, name)
    if as_json:
        print_json(policy.to_dict() if policy else None)
        return
    if policy is None:
        console.print(f"{name} has no policy: its aliases move freely (set one with "
                      f"'modelport policy set {name}', or {PROTECT_ALL_ENV}=1 for every model)")
        return
    print_fields([("protected aliases", ", ".join(policy.protected) or "none"),
                  ("evaluation required", policy.require_evaluation),
                  ("approval required", policy.require_approval),
                  ("acceptance criteria", "; ".join(policy.criteria) or "none (a completed "
                   "evaluation passes)")], title=f"policy of {name}")


@app.command("set")
def set_(
    name: str = typer.Argument(..., help="Model name."),
    protect: list[str] = typer.Option(
        [], "--protect", help="Protected alias (repeatable; replaces the list) [default: "
        "production]."),
    require_evaluation: bool = typer.Option(
        None, "--require-evaluation/--no-require-evaluation",
        help="A passing evaluation is needed to take a protected alias."),
    require_approval: bool = typer.Option(
        None, "--require-approval/--no-require-approval",
        help="An approval by another approver is needed (four eyes)."),
    criterion: list[str] = typer.Option(
        [], "--criterion", help="Acceptance criterion, e.g. 'auc >= 0.95', 'auc >= production "
        "- 0.005', 'p99_ms <= 15' (repeatable; replaces the list)."),
    clear_criteria: bool = typer.Option(False, help="Remove every acceptance criterion."),
) -> None:
    """Create or change the policy of model NAME (unset options keep their value)."""
    actor = current_actor()
    with open_registry() as registry:
        registry.get_model(name)
        policy = get_policy(registry.engine, name) or Policy()
        if protect:
            policy = replace(policy, protected=tuple(protect))
        if require_evaluation is not None:
            policy = replace(policy, require_evaluation=require_evaluation)
        if require_approval is not None:
            policy = replace(policy, require_approval=require_approval)
        if criterion or clear_criteria:
            policy = replace(policy, criteria=tuple(criterion))
        set_policy(registry.engine, name, policy, actor=actor)
        append_audit(registry.engine, action="policy.set", actor=actor, target=name,
                     details=policy.to_dict())
    console.print(f"policy of {name}: protects {', '.join(policy.protected) or 'nothing'}; "
                  f"evaluation {'required' if policy.require_evaluation else 'not required'}; "
                  f"approval {'required' if policy.require_approval else 'not required'}; "
                  f"{len(policy.criteria)} criteria")
