"""Secure by default: who may start open, and option mistakes that teach."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import InvalidInput
from modelport.security.config import SecurityConfig, TlsConfig, check_start, is_loopback
from modelport.security.jwt_auth import JwtConfig


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.8.9.10"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com"])
def test_exposed_hosts_refuse_to_run_open(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(InvalidInput, match=r"refusing to serve.*--allow-anonymous"):
        check_start(host, SecurityConfig(), keys_exist=False)
    assert check_start(host, SecurityConfig(allow_anonymous=True), keys_exist=False) is False


def test_authentication_is_on_with_a_key_or_a_jwt_key(tmp_path: Path) -> None:
    assert check_start("0.0.0.0", SecurityConfig(), keys_exist=True) is True
    secret = tmp_path / "s"
    secret.write_text("x" * 40)
    jwt = SecurityConfig(jwt=JwtConfig(secret_file=secret))
    assert check_start("0.0.0.0", jwt, keys_exist=False) is True
    assert check_start("127.0.0.1", SecurityConfig(), keys_exist=False) is False


def test_option_mistakes_teach(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="--require-signed needs --verify-key"):
        SecurityConfig(require_signed=True)
    with pytest.raises(InvalidInput, match="only used with --require-signed"):
        SecurityConfig(verify_key=tmp_path / "k")
    with pytest.raises(InvalidInput, match="--request-timeout must be > 0"):
        SecurityConfig(request_timeout_s=0)
    with pytest.raises(InvalidInput, match="--max-concurrency-per-model"):
        SecurityConfig(max_concurrency_per_model=0)
    with pytest.raises(InvalidInput, match=r"--tls-cert .* is not a readable file"):
        TlsConfig(cert=tmp_path / "none.pem", key=tmp_path / "none.key")
