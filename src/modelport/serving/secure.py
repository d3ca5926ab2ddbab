"""Security for one worker, assembled from :class:`~modelport.security.config.SecurityConfig`.

The worker (the composition root) asks this one object for each piece: the source wrapper
(signatures), the pipeline stage, the REST wrapper, the gRPC interceptors and credentials,
and the uvicorn TLS set-up. With no security configured every piece is the identity, so a
plain server pays nothing.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from modelport.registry import db
from modelport.security.audit_writer import AuditWriter
from modelport.security.authn import Authenticator
from modelport.security.config import SecurityConfig, check_start
from modelport.security.jwt_auth import JwtVerifier
from modelport.security.keys import KeyStore
from modelport.security.limits import ConcurrencyCap
from modelport.security.signing import load_verify_key
from modelport.security.stage import security_stage
from modelport.serving.pipeline import Stage
from modelport.serving.source import ModelSource

__all__ = ["WorkerSecurity", "check_serve_security"]

log = logging.getLogger(__name__)


def check_serve_security(host: str, config: SecurityConfig | None) -> bool:
    """Before starting: validate the settings and refuse an open, exposed server.

    Returns whether authentication is on from the start.
    """
    config = config or SecurityConfig()
    if config.jwt_enabled:
        assert config.jwt is not None
        JwtVerifier(config.jwt)  # reads the secret now: a bad file fails here, not per request
    if config.verify_key is not None:
        load_verify_key(config.verify_key)
    keys_exist = False
    if config.database_url is not None:
        url = sa.make_url(config.database_url)
        if url.get_backend_name() == "sqlite" and url.database:  # a fresh MODELPORT_HOME
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = db.open_engine(config.database_url)
        try:
            keys_exist = KeyStore(engine).exists()
        finally:
            engine.dispose()
    enforcing = check_start(host, config, keys_exist=keys_exist)
    if not enforcing:
        log.warning("no API key exists and no JWT key is configured: serving WITHOUT "
                    "authentication on %s until the first key is created", host)
    return enforcing


class WorkerSecurity:
    """Everything security contributes to one worker; build it after the fork."""

    def __init__(self, config: SecurityConfig | None, host: str) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.authn: Authenticator | None = None
        self.audit: AuditWriter | None = None
        self._watch: asyncio.Task[None] | None = None
        if config is None:  # nothing configured: fine on loopback only
            check_start(host, SecurityConfig(), keys_exist=False)
            return
        keys = None
        if config.database_url is not None:
            self.engine = db.open_engine(config.database_url)
            keys = KeyStore(self.engine)
            self.audit = AuditWriter(self.engine)
        jwt = JwtVerifier(config.jwt) if config.jwt_enabled and config.jwt else None
        self.authn = Authenticator(keys=keys, jwt=jwt, cache_ttl_s=config.key_cache_ttl_s)
        self.authn.enforcing = check_start(
            host, config, keys_exist=keys.exists() if keys is not None else False
        ) or jwt is not None

    @property
    def active(self) -> bool:
        return self.authn is not None

    def wrap_source(self, source: ModelSource) -> ModelSource:
        if self.config is None or not self.config.require_signed:
            return source
        from modelport.serving.signed_source import SignedSource

        assert self.config.verify_key is not None
        return SignedSource(source, load_verify_key(self.config.verify_key))

    def stages(self) -> list[Stage]:
        cfg = self.config
        if cfg is None or (cfg.max_concurrency_per_model is None and not cfg.audit_predictions):
            return []
        cap = ConcurrencyCap(cfg.max_concurrency_per_model) \
            if cfg.max_concurrency_per_model else None
        stage: Stage = security_stage(cap=cap, audit=self.audit if cfg.audit_predictions
                                      else None)
        return [stage]

    def wrap_rest(self, app: Any) -> Any:
        if self.authn is None or self.config is None:
            return app
        from modelport.serving.rest_auth import SecureApp
        from modelport.serving.rest_security import SecurityRoutes

        return SecureApp(
            app, self.authn, rate_limit=self.config.rate_limit,
            timeout_s=self.config.request_timeout_s, audit=self.audit,
            routes=SecurityRoutes(self.engine),
        )

    def grpc_interceptors(self) -> list[Any]:
        if self.authn is None or self.config is None:
            return []
        from modelport.serving.grpc_auth import SecureInterceptor

        return [SecureInterceptor(
            self.authn, rate_limit=self.config.rate_limit,
            timeout_s=self.config.request_timeout_s, audit=self.audit,
        )]

    def grpc_credentials(self) -> Any:
        if self.config is None or self.config.tls is None:
            return None
        from modelport.serving.tls import grpc_credentials

        return grpc_credentials(self.config.tls)

    def prepare_uvicorn(self, config: uvicorn.Config) -> None:
        if self.config is not None and self.config.tls is not None:
            from modelport.serving.tls import use_tls

            use_tls(config, self.config.tls)

    async def start(self) -> None:
        if self.audit is not None:
            self.audit.start()
        if self.authn is not None and not self.authn.enforcing and self.authn.keys is not None:
            self._watch = asyncio.create_task(self.authn.watch())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self.audit is not None:
            await asyncio.to_thread(self.audit.close)
        if self.engine is not None:
            self.engine.dispose()
