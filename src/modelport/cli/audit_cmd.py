"""``modelport audit``: read the audit log and prove nobody changed it."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.padding import Padding
from rich.text import Text

from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.output import console, print_error, print_json, print_table
from modelport.errors import InvalidInput
from modelport.registry.tables import utcnow
from modelport.security.audit import AuditEntry, list_audit, verify_audit
from modelport.security.durations import parse_duration

app = typer.Typer(help="Read and verify the tamper-evident audit log.", no_args_is_help=True)


@app.command("list")
def list_entries(
    since: str = typer.Option(None, "--since", help="Only the last ..., e.g. 1d, 12h, 30m."),
    actor: str = typer.Option(None, "--actor", help="Only this actor (user or key:ID)."),
    action: str = typer.Option(
        None, "--action", help="Only actions starting with this, e.g. key. or model.load."
    ),
    limit: int = typer.Option(200, "--limit", help="At most this many (the newest)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show audit entries, oldest first."""
    start = utcnow() - parse_duration(since, option="--since") if since else None
    with open_registry() as registry:
        entries = list_audit(registry.engine, since=start, actor=actor, action=action,
                             limit=limit)
    if json_out:
        print_json([e.to_dict() for e in entries])
        return
    if entries and console.width < _WIDE:
        _print_entries(entries)
        return
    print_table(
        ["#", "at (UTC)", "actor", "action", "target", "details"],
        [
            (e.seq, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target or None,
             ", ".join(f"{k}={v}" for k, v in sorted(e.details.items())) or None)
            for e in entries
        ],
        title=None if entries else "no audit entries match",
    )


_WIDE = 120
"""Below this many columns the six-column table squeezes every cell: print entries as lines."""


def _print_entries(entries: Sequence[AuditEntry]) -> None:
    """Each entry on one line (seq, time, actor, action, target), its details wrapped below."""
    for e in entries:
        head = Text.assemble((f"#{e.seq}", "bold"), f"  {e.at:%Y-%m-%d %H:%M:%S}  ",
                             (e.actor, "cyan"), "  ", (e.action, "bold"),
                             f"  {e.target}" if e.target else "")
        console.print(head, highlight=False)
        details = ", ".join(f"{k}={v}" for k, v in sorted(e.details.items()))
        if details:
            console.print(Padding(Text(details), (0, 0, 0, 4), expand=False), highlight=False)


@app.command("verify")
def verify(
    anchor: str = typer.Option(
        None, "--anchor",
        help="SEQ:HASH printed by an earlier verify and kept elsewhere; also catches rows "
        "cut from the end or a rewritten log.",
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Walk the hash chain; name every edited, inserted or deleted row. Exits 1 if any."""
    pinned = _anchor(anchor) if anchor else None
    with open_registry() as registry:
        report = verify_audit(registry.engine, anchor=pinned)
    head = f"{report.head_seq}:{report.head_hash}" if report.head_seq else None
    if json_out:
        print_json({"ok": report.ok, "rows": report.rows, "head": head,
                    "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message}
                                 for p in report.problems]})
    elif report.ok:
        console.print(f"audit log intact: {report.rows} row(s); head {head or '-'} "
                      "(keep it to pass back as --anchor)")
    else:
        for problem in report.problems:
            print_error(problem.message)
        console.print(f"{len(report.problems)} problem(s) in {report.rows} row(s)")
    if not report.ok:
        raise typer.Exit(1)


def _anchor(text: str) -> tuple[int, str]:
    seq, sep, digest = text.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise InvalidInput(f"--anchor {text!r} must look like SEQ:HASH, as printed by "
                           "'modelport audit verify'")
    return int(seq), digest
