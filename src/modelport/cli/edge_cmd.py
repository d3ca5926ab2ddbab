"""``modelport edge``: bundles for devices, the OTA agent, staged rollouts and the fleet."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_json, print_table
from modelport.errors import InvalidInput
from modelport.registry import parse_ref
from modelport.security.audit import append_audit

__all__ = ["app"]

app = typer.Typer(help="Edge bundles, the OTA agent, staged rollouts and device fleets.",
                  no_args_is_help=True)


@app.command()
def bundle(
    ref: str = typer.Argument(..., help="An ONNX version: name:version, name@alias or name."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (must not exist)."),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Ed25519 public key (PEM) to ship for checking signatures."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bundle."),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="Ed25519 private key (PEM): sign the version if it is not yet."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Write a signed bundle: artifact, manifest with reference rows, and run.py."""
    from modelport.edge.bundle import write_bundle
    from modelport.security.signing import SIGNATURE_TAG, load_signing_key, sign_artifact

    signer = load_signing_key(sign_key) if sign_key else None
    with open_registry() as registry:
        info = registry.resolve(ref)
        if signer is not None and SIGNATURE_TAG not in info.tags:
            signed = sign_artifact(signer, name=info.name, version=info.version,
                                   sha256=info.artifact_sha256)
            info = registry.set_tags(info.name, info.version, {SIGNATURE_TAG: signed})
        done = write_bundle(registry, info, out, public_key=public_key, overwrite=overwrite)
    if json_out:
        print_json({"folder": str(done.folder), "files": done.files, "size": done.size})
        return
    print_table(["file", "bytes"], [(n, f"{s:,}") for n, s in done.files.items()],
                title=f"{info.ref} bundle in {done.folder}")
    console.print(f"total {done.size:,} bytes; check it on a device with: python "
                  f"{done.folder}/run.py --check")


@app.command()
def rollout(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Argument(None, help="Version to roll out to devices."),
    alias: str = typer.Option("edge", "--alias", help="The alias devices follow."),
    percent: float = typer.Option(100.0, "--percent", help="Share of devices (stable by id)."),
    abort: bool = typer.Option(False, "--abort", help="End the rollout; devices go back."),
) -> None:
    """Stage VERSION to PERCENT of the devices following NAME@ALIAS; widen by running it again."""
    from modelport.edge.fleet import Fleet

    with open_registry() as registry:
        fleet = Fleet(registry)
        if abort:
            ended = fleet.abort(name, alias)
            console.print(f"{name}@{alias}: rollout ended" if ended else
                          f"{name}@{alias}: no rollout in progress")
            return
        if version is None:
            raise InvalidInput("give the VERSION to roll out, or --abort")
        said = fleet.stage(name, alias, version, percent, actor=current_actor())
        append_audit(registry.engine, action="edge.rollout", actor=current_actor(),
                     target=f"{name}@{alias}", details={"version": version, "percent": percent})
    console.print(said)


@app.command()
def fleet(
    name: str = typer.Argument(..., help="Model name."),
    stale_after: float = typer.Option(300.0, help="Seconds without a heartbeat = stale."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Which device runs which version, when it was last seen, its last error."""
    from modelport.edge.fleet import Fleet

    with open_registry() as registry:
        registry.get_model(name)
        devices = Fleet(registry).devices(name)
    if json_out:
        print_json([d.to_dict() for d in devices])
        return
    now = datetime.now(UTC)
    counts: dict[int | None, int] = {}
    for d in devices:
        counts[d.version] = counts.get(d.version, 0) + 1
    print_table(
        ["device", "version", "last seen (s ago)", "state", "predictions", "last error"],
        [(d.device_id, d.version, f"{(now - d.last_seen).total_seconds():.0f}",
          "stale" if (now - d.last_seen).total_seconds() > stale_after else "ok",
          d.stats.get("predictions"), (d.last_error or "")[:60]) for d in devices],
        title=f"{name}: {len(devices)} device(s); by version: "
              + ", ".join(f"{v}: {n}" for v, n in sorted(counts.items(), key=str)),
    )


@app.command()
def agent(
    server: str = typer.Option(..., "--server", help="Base URL of the modelport server."),
    model: str = typer.Option(..., "--model", help="name@alias to follow, e.g. fraud@edge."),
    directory: Path = typer.Option(..., "--dir", help="The device's model folder."),
    verify_key: Path | None = typer.Option(
        None, "--verify-key", help="Pinned Ed25519 public key (PEM) the versions must be "
        "signed with."
    ),
    allow_unsigned: bool = typer.Option(
        False, "--allow-unsigned", help="Install versions without checking signatures."
    ),
    api_key: str | None = typer.Option(
        None, "--key", envvar="MODELPORT_API_KEY", help="A device API key (role device)."
    ),
    device_id: str = typer.Option(
        socket.gethostname(), "--device-id", help="This device's stable id (default: hostname)."
    ),
    interval: float = typer.Option(30.0, "--interval", help="Seconds between polls."),
    max_rate: float | None = typer.Option(None, "--max-rate", help="Download cap, bytes/s."),
    health_failures: int = typer.Option(3, help="Failed checks in a row before a rollback."),
    listen: str | None = typer.Option(
        None, "--listen", help="HOST:PORT of the local predict endpoint (e.g. 127.0.0.1:9090)."
    ),
    once: bool = typer.Option(False, "--once", help="Run one update cycle and exit."),
) -> None:
    """Keep NAME@ALIAS current on this device: verified, atomic updates with rollback."""
    from modelport.edge.agent import AgentConfig, EdgeAgent
    from modelport.edge.agent_http import serve_local

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parse_ref(model)
    edge = EdgeAgent(AgentConfig(
        server=server, model=model, directory=directory, device_id=device_id, api_key=api_key,
        verify_key=verify_key, allow_unsigned=allow_unsigned, poll_interval_s=interval,
        max_rate=max_rate, health_failures=health_failures))
    edge.start()
    local = None
    if listen:
        host, _, port = listen.rpartition(":")
        if not port.isdigit():
            raise InvalidInput(f"--listen must be HOST:PORT, got {listen!r}")
        local = serve_local(edge, host or "127.0.0.1", int(port))
        console.print(f"local endpoint on http://{host or '127.0.0.1'}:{port}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await edge.run(stop, once=once)

    try:
        asyncio.run(main())
    finally:
        if local is not None:
            local.shutdown()
    console.print(f"version {edge.version}; last error: {edge.last_error or 'none'}")
