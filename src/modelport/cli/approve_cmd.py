"""``modelport models approve REF --note ... --server URL --key KEY``.

The approval goes through the server's API, so the approver is the identity the server
proves from the API key or JWT (with the approver role), never the local OS user name.
"""

from __future__ import annotations

import os

import httpx
import typer

from modelport.cli.output import console, print_json
from modelport.errors import InvalidInput, ModelportError, PermissionDenied, Unavailable
from modelport.registry.refs import parse_ref

__all__ = ["approve"]


def approve(
    ref: str = typer.Argument(..., help="Version to approve: fraud:3."),
    note: str = typer.Option(..., "--note", help="Why (e.g. 'risk review 2026-12')."),
    server: str = typer.Option(
        None, "--server", envvar="MODELPORT_SERVER", help="Server URL, e.g. https://mp:8080."),
    key: str = typer.Option(
        None, "--key", envvar="MODELPORT_API_KEY",
        help="API key or JWT with the approver role [default: $MODELPORT_API_KEY]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Approve a version for promotion, as the approver your key or JWT proves."""
    parsed = parse_ref(ref)
    if parsed.version is None:
        raise InvalidInput(f"approve a fixed version like {parsed.name}:3, not {ref!r}")
    if not server:
        raise InvalidInput("--server URL is needed (or MODELPORT_SERVER): approvals go "
                           "through the server so that your identity is proven")
    if not key:
        raise InvalidInput("--key is needed (or MODELPORT_API_KEY): an API key or JWT with "
                           "the approver role")
    url = server.rstrip("/") + "/v2/security/approvals"
    body = {"model": parsed.name, "version": parsed.version, "note": note}
    try:
        resp = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"},
                          timeout=30, verify=os.environ.get("MODELPORT_CA_BUNDLE", True))
    except httpx.HTTPError as exc:
        raise Unavailable(f"cannot reach {url}: {exc}") from None
    if resp.status_code != 200:
        try:
            message = str(resp.json().get("error", resp.text))
        except ValueError:
            message = resp.text
        error: type[ModelportError] = PermissionDenied \
            if resp.status_code in (401, 403) else InvalidInput
        raise error(f"the server refused the approval ({resp.status_code}): {message}")
    doc = resp.json()
    if as_json:
        print_json(doc)
        return
    console.print(f"approved {parsed.name}:{parsed.version} as {doc['approver']} "
                  f"(approval {doc['id']})")
