"""TLS for both transports from one :class:`~modelport.security.config.TlsConfig`.

REST gets an ``ssl.SSLContext`` (TLS 1.2 or newer; client certificates required and checked
against ``client_ca`` when one is given); gRPC gets server credentials from the same files
(gRPC's TLS stack negotiates 1.2 or newer).
"""

from __future__ import annotations

import ssl
from typing import Any

import grpc
import uvicorn

from modelport.errors import InvalidInput
from modelport.security.config import TlsConfig

__all__ = ["grpc_credentials", "server_ssl_context", "use_tls"]


def server_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(tls.cert), str(tls.key))
    except (ssl.SSLError, OSError) as exc:
        raise InvalidInput(
            f"--tls-cert {tls.cert} and --tls-key {tls.key} do not form a usable PEM "
            f"certificate and private key: {exc}"
        ) from None
    if tls.client_ca is not None:
        try:
            context.load_verify_locations(cafile=str(tls.client_ca))
        except (ssl.SSLError, OSError) as exc:
            raise InvalidInput(
                f"--tls-client-ca {tls.client_ca} is not a PEM CA bundle: {exc}"
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def use_tls(config: uvicorn.Config, tls: TlsConfig) -> None:
    """Make a not-yet-started uvicorn config serve HTTPS with our context."""
    context = server_ssl_context(tls)
    config.ssl_certfile, config.ssl_keyfile = str(tls.cert), str(tls.key)
    if not config.loaded:
        config.load()
    config.ssl = context


def grpc_credentials(tls: TlsConfig) -> Any:
    try:
        key, cert = tls.key.read_bytes(), tls.cert.read_bytes()
        root = tls.client_ca.read_bytes() if tls.client_ca is not None else None
    except OSError as exc:
        raise InvalidInput(f"cannot read a TLS file: {exc}") from None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=root, require_client_auth=root is not None
    )
