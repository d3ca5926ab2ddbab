"""``modelport serve``: the online server. Options are parsed here; everything else lives in
:mod:`modelport.serving`."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path

import typer

from modelport.config import RegistrySettings, load_settings
from modelport.monitoring.config import MonitoringConfig
from modelport.monitoring.json_logs import ACCESS as _ACCESS
from modelport.registry import Registry
from modelport.routing.options import RoutingOptions
from modelport.routing.service import DeploymentService
from modelport.security.config import SecurityConfig
from modelport.security.durations import parse_duration
from modelport.serving.options import ServeConfig
from modelport.serving.registry_source import RegistrySource
from modelport.serving.secure import check_serve_security
from modelport.serving.workers import serve as run_server


def serve(
    refs: list[str] = typer.Argument(
        None,
        help="Models to serve: fraud, fraud@production (follows the alias), fraud:3. "
        "None serves every registered model at its latest version.",
        show_default=False,
    ),
    host: str = typer.Option(None, help="Address to bind [default: MODELPORT_HOST or 127.0.0.1]."),
    port: int = typer.Option(None, help="REST port [default: MODELPORT_PORT or 8080]."),
    grpc_port: int = typer.Option(None, help="gRPC port [default: MODELPORT_GRPC_PORT or 8081]."),
    no_grpc: bool = typer.Option(False, "--no-grpc", help="Serve REST only."),
    workers: int = typer.Option(
        None, "--workers", "-w", help="Worker processes sharing the ports [default: cores]."
    ),
    preload: bool = typer.Option(False, help="Load every listed model at start, not on first use."),
    max_loaded_models: int = typer.Option(
        None, help="Unload least-recently-used models beyond this many [default: 16]."
    ),
    max_batch_size: int = typer.Option(
        None, help="Rows per batched predict call; 1 disables batching [default: 64]."
    ),
    max_delay_ms: float = typer.Option(
        None, help="Longest wait for a batch to fill while requests are arriving [default: 2]."
    ),
    cache_size: int = typer.Option(
        0, help="Answers kept per model for repeated inputs; 0 turns the cache off."
    ),
    cache_ttl: float = typer.Option(60.0, help="Seconds a cached answer stays valid."),
    model_batch: list[str] = typer.Option(
        None, "--model-batch",
        help="Batching for one model: NAME=MAX_SIZE[:MAX_DELAY_MS], e.g. fraud=32:1 (repeatable).",
    ),
    model_cache: list[str] = typer.Option(
        None, "--model-cache",
        help="Cache for one model: NAME=ENTRIES[:TTL_S], e.g. fraud=10000:30 (repeatable).",
    ),
    max_body_bytes: int = typer.Option(
        None, help="Larger request bodies get 413 [default: 64 MiB]."
    ),
    poll_interval: float = typer.Option(
        1.5, help="Seconds between alias checks (hot swap); 0 turns hot swapping off."
    ),
    drain_timeout: float = typer.Option(
        30.0, help="On SIGTERM, seconds in-flight requests get to finish."
    ),
    default_deadline_ms: float = typer.Option(
        None, help="Deadline of a request that sets none (x-deadline-ms header, deadline_ms "
        "parameter or gRPC deadline): still queued past it, it is dropped and answered 504.",
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="YAML settings file (registry, server, batching)."
    ),
    routing: bool = typer.Option(
        True, "--routing/--no-routing",
        help="Route endpoints by their deployments (modelport deploy); off serves names as is.",
    ),
    routing_poll_interval: float = typer.Option(
        1.0, help="Seconds between each worker's checks for deployment changes."
    ),
    controller: bool = typer.Option(
        True, "--controller/--no-controller",
        help="Run the rollout controller in this server (one worker leads).",
    ),
    controller_tick: float = typer.Option(
        1.0, help="Seconds between the rollout controller's looks at running rollouts."
    ),
    tls_cert: Path = typer.Option(None, help="PEM certificate: serve REST and gRPC over TLS."),
    tls_key: Path = typer.Option(None, help="PEM private key of --tls-cert."),
    tls_client_ca: Path = typer.Option(
        None, help="PEM CA bundle: require client certificates it signed (mutual TLS)."
    ),
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
    rate_limit: str = typer.Option(
        None, help="Per caller and worker, e.g. 100/s, 600/m or 10/s:50 (burst); 429 past it."
    ),
    request_timeout: float = typer.Option(
        None, help="Seconds a request may take before it is answered 504."
    ),
    max_concurrency_per_model: int = typer.Option(
        None, help="In-flight requests per model and worker; more are answered 503 at once."
    ),
    audit_predictions: bool = typer.Option(
        False, help="Append every prediction to the audit log (principal, version, input hash)."
    ),
    require_signed: bool = typer.Option(
        False, help="Load only artifacts signed at registration (needs --verify-key)."
    ),
    verify_key: Path = typer.Option(None, help="PEM Ed25519 public key for --require-signed."),
    metrics: bool = typer.Option(
        True, "--metrics/--no-metrics", help="Count requests; serve Prometheus at GET /metrics."
    ),
    inference_log: str = typer.Option(
        None, envvar="MODELPORT_INFERENCE_LOG",
        help="Folder or fsspec URL of the Parquet inference log [default: MODELPORT_HOME/"
        "inference-log].",
    ),
    log_requests: bool = typer.Option(
        True, "--log-requests/--no-log-requests", help="Keep the inference log (on by default)."
    ),
    log_sample: float = typer.Option(1.0, help="Share of requests logged, 0 to 1."),
    redact: list[str] = typer.Option(
        None, "--redact", help="Input/output never written to the log (repeatable)."
    ),
    hash_field: list[str] = typer.Option(
        None, "--hash", help="Input/output logged as a salted sha256 (repeatable; salt from "
        "$MODELPORT_LOG_HASH_SALT)."
    ),
    contract_policy: str = typer.Option(
        "flag", help="On a data contract violation: reject (422), flag (serve, count) or off."
    ),
    drift_interval: str = typer.Option(
        "5m", help="How often the server checks drift and performance; 0s turns it off."
    ),
    drift_window: str = typer.Option("1h", help="Live traffic compared with the reference."),
    log_retention: str = typer.Option(
        None, envvar="MODELPORT_LOG_RETENTION",
        help="Delete inference log days older than this (e.g. 30d), checked with the drift "
        "checks [default: keep]."),
    drift_alpha: float = typer.Option(0.05, help="Drift significance after correction."),
    performance_margin: float = typer.Option(
        0.05, help="Degraded when a metric is this share worse than its registered baseline."
    ),
    webhook: list[str] = typer.Option(
        None, "--webhook", help="URL alerted on drift and degradation (repeatable)."
    ),
    retrain_webhook: list[str] = typer.Option(
        None, "--retrain-webhook", help="URL told to retrain a degraded version (repeatable)."
    ),
    ui: bool = typer.Option(
        True, "--ui/--no-ui", help="Serve the web console at /ui (same keys and roles)."
    ),
) -> None:
    """Serve models over the Open Inference Protocol (REST and gRPC) until SIGTERM or Ctrl-C."""
    _log_at_info()
    settings = load_settings(config)
    serve_config = ServeConfig.from_settings(
        settings,
        tuple(refs or ()),
        host=host,
        port=port,
        grpc_port=grpc_port,
        grpc=not no_grpc,
        workers=workers,
        max_body_bytes=max_body_bytes,
        max_loaded_models=max_loaded_models,
        max_batch_size=max_batch_size,
        max_delay_ms=max_delay_ms,
        cache_size=cache_size,
        cache_ttl_s=cache_ttl,
        model_batch=tuple(model_batch or ()),
        model_cache=tuple(model_cache or ()),
        preload=preload,
        poll_interval_s=poll_interval,
        drain_timeout_s=drain_timeout,
        default_deadline_ms=default_deadline_ms,
        routing=RoutingOptions(
            enabled=routing,
            poll_interval_s=routing_poll_interval,
            flush_interval_s=routing_poll_interval,
            controller=controller,
            controller_tick_s=controller_tick,
            lease_ttl_s=max(5.0, 3 * controller_tick),
        ),
        security=SecurityConfig.from_options(
            database_url=settings.registry.resolved_database_url(),
            tls_cert=tls_cert, tls_key=tls_key, tls_client_ca=tls_client_ca,
            jwt_jwks_url=jwt_jwks_url, jwt_jwks_file=jwt_jwks_file,
            jwt_secret_file=jwt_secret_file, jwt_audience=jwt_audience, jwt_issuer=jwt_issuer,
            jwt_role_claim=jwt_role_claim, allow_anonymous=allow_anonymous,
            rate_limit=rate_limit, request_timeout_s=request_timeout,
            max_concurrency_per_model=max_concurrency_per_model,
            audit_predictions=audit_predictions, require_signed=require_signed,
            verify_key=verify_key,
        ),
        monitoring=MonitoringConfig.from_options(
            home=settings.registry.home, inference_log=inference_log,
            log_enabled=log_requests, sample=log_sample, redact=redact or (),
            hash_fields=hash_field or (), hash_salt=os.environ.get("MODELPORT_LOG_HASH_SALT", ""),
            contract_policy=contract_policy,
            drift_interval_s=_seconds(drift_interval, "--drift-interval"),
            drift_window_s=_seconds(drift_window, "--drift-window"), alpha=drift_alpha,
            margin=performance_margin, webhooks=webhook or (),
            retrain_webhooks=retrain_webhook or (), metrics=metrics,
            retention_s=_seconds(log_retention, "--log-retention") if log_retention else None,
        ),
        extensions=(CONSOLE,) if ui else (),
    )
    _check_refs(settings.registry, serve_config.models.refs, routing=routing)
    check_serve_security(serve_config.host, serve_config.security)
    code = run_server(serve_config, partial(RegistrySource.open, settings.registry))
    raise typer.Exit(code)


CONSOLE = "modelport.dashboard.mount:serving_console"
"""The web console's worker extension (imported by each worker, not here)."""


def _log_at_info() -> None:
    """A server says what it does: start-up, readiness, swaps and shutdown lines at INFO
    (``modelport --debug serve`` shows DEBUG too)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ours = logging.getLogger("modelport")
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
        # one access line per request is the JSON format's choice (--log-format json), not
        # a side effect of the start-up lines
        _ACCESS.setLevel(logging.WARNING)


def _check_refs(settings: RegistrySettings, refs: tuple[str, ...], *, routing: bool) -> None:
    """Every listed model, version and alias exists (a lazy one loads later, but exists)."""
    if not refs:
        return
    source = RegistrySource(Registry.open(settings, create=False))  # a wrong home: one line
    try:
        endpoints = ({d.endpoint for d in DeploymentService(source.registry).list()}
                     if routing else set())
        source.check(refs, endpoints=endpoints)
    finally:
        source.registry.close()


def _seconds(text: str, option: str) -> float:
    """``5m`` -> 300.0; ``0``/``0s`` -> 0 (off)."""
    if text.strip() in ("0", "0s", "off"):
        return 0.0
    return parse_duration(text, option=option).total_seconds()
