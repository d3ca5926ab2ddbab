"""``modelport ui``: the web console alone, against the registry (no models served here).

``modelport serve`` already serves the same console at ``/ui``; this command is for looking
at a registry, its deployments, monitoring and audit log without running a server.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path

import typer
import uvicorn

from modelport.cli.output import console
from modelport.config import RegistrySettings, load_settings
from modelport.security.config import SecurityConfig
from modelport.serving.secure import WorkerSecurity, check_serve_security


def ui(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8090, help="Port of the console."),
    config: Path = typer.Option(
        None, "--config", "-c", help="YAML settings file (registry location)."
    ),
    inference_log: str = typer.Option(
        None, envvar="MODELPORT_INFERENCE_LOG",
        help="Inference log folder or URL for drift checks [default: MODELPORT_HOME/"
        "inference-log].",
    ),
    tls_cert: Path = typer.Option(None, help="PEM certificate: serve over HTTPS."),
    tls_key: Path = typer.Option(None, help="PEM private key of --tls-cert."),
    jwt_jwks_url: str = typer.Option(None, help="Issuer's JWKS URL: accept RS256/ES256 JWTs."),
    jwt_jwks_file: Path = typer.Option(None, help="JWKS file: accept RS256/ES256 JWTs."),
    jwt_secret_file: Path = typer.Option(
        None, help="File with the HS256 secret [default: $MODELPORT_JWT_SECRET]."
    ),
    jwt_audience: str = typer.Option(None, help="Required JWT 'aud'."),
    jwt_issuer: str = typer.Option(None, help="Required JWT 'iss'."),
    jwt_role_claim: str = typer.Option(
        "role", help="JWT claim (dotted path) with the role or list of roles."
    ),
    allow_anonymous: bool = typer.Option(
        False, help="Serve a non-loopback address without any API key or JWT key."
    ),
) -> None:
    """Serve the web console (models, deployments, monitoring, audit) for the registry."""
    from modelport.dashboard.mount import standalone_app
    from modelport.registry import Registry

    settings = load_settings(config)
    registry_settings: RegistrySettings = settings.registry
    security = SecurityConfig.from_options(
        database_url=registry_settings.resolved_database_url(), tls_cert=tls_cert,
        tls_key=tls_key, jwt_jwks_url=jwt_jwks_url, jwt_jwks_file=jwt_jwks_file,
        jwt_secret_file=jwt_secret_file, jwt_audience=jwt_audience, jwt_issuer=jwt_issuer,
        jwt_role_claim=jwt_role_claim, allow_anonymous=allow_anonymous,
    )
    check_serve_security(host, security)
    log_root = inference_log or str((registry_settings.home / "inference-log").resolve())
    with Registry.open(registry_settings) as registry:
        worker = WorkerSecurity(security, host)
        app = standalone_app(registry, worker.authn, log_root=log_root,
                             secure_cookies=security.tls is not None)
        server_config = uvicorn.Config(app, host=host, port=port, lifespan="off",
                                       log_config=None, access_log=False)
        worker.prepare_uvicorn(server_config)
        scheme = "https" if security.tls is not None else "http"
        console.print(f"modelport console on {scheme}://{host}:{port}/ui (Ctrl-C stops it)",
                      highlight=False, soft_wrap=True)
        with suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down cleanly first
            asyncio.run(_serve(uvicorn.Server(server_config), worker))


async def _serve(server: uvicorn.Server, worker: WorkerSecurity) -> None:
    await worker.start()  # notices the first API key being created
    try:
        await server.serve()
    finally:
        await worker.close()
