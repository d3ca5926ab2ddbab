"""Encryption at rest of the inference log: Parquet modular encryption, AES-256-GCM.

Every column and the footer of each log file are encrypted (``AES_GCM_V1``) with a random data
key per file; that data key is wrapped (AES-256-GCM) by a master key the operator holds, and
the wrapped key plus the master key's id travel in the file's metadata. Without the master
key pyarrow cannot even read the schema.

Master keys come from ``MODELPORT_LOG_KEY_FILE`` (a file) or ``MODELPORT_LOG_KEY`` (the
environment): one key per line (or comma-separated), each ``ID=KEY`` with KEY 32 bytes in
base64 or hex. The last key encrypts new files; every listed key decrypts. To rotate: append a
new key, restart the servers (new files use it), then ``modelport privacy rotate-key``
re-encrypts old files with it; remove the old key afterwards.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import InvalidInput

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "LogKeys", "log_keys"]

KEY_ENV = "MODELPORT_LOG_KEY"
KEY_FILE_ENV = "MODELPORT_LOG_KEY_FILE"


@dataclass(frozen=True, slots=True)
class LogKeys:
    """Master keys by id; ``current`` encrypts new files."""

    keys: dict[str, bytes]
    current: str

    def encryption(self) -> Any:
        """``FileEncryptionProperties`` for one new file (a fresh data key)."""
        import pyarrow.parquet.encryption as pe

        config = pe.EncryptionConfiguration(
            footer_key=self.current, uniform_encryption=True,
            encryption_algorithm="AES_GCM_V1", double_wrapping=False,
        )
        return self._factory().file_encryption_properties(pe.KmsConnectionConfig(), config)

    def decryption(self) -> Any:
        import pyarrow.parquet.encryption as pe

        return self._factory().file_decryption_properties(pe.KmsConnectionConfig())

    def _factory(self) -> Any:
        import pyarrow.parquet.encryption as pe
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        keys = self.keys

        class _Kms(pe.KmsClient):  # type: ignore[misc]
            """Wraps data keys with the operator's master keys, in process."""

            def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
                nonce = os.urandom(12)
                sealed = AESGCM(_key(keys, master_key_identifier)).encrypt(
                    nonce, key_bytes, master_key_identifier.encode())
                return base64.b64encode(nonce + sealed).decode()

            def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
                raw = base64.b64decode(wrapped_key)
                opened: bytes = AESGCM(_key(keys, master_key_identifier)).decrypt(
                    raw[:12], raw[12:], master_key_identifier.encode())
                return opened

        return pe.CryptoFactory(lambda _config: _Kms())


def _key(keys: dict[str, bytes], key_id: str) -> bytes:
    try:
        return keys[key_id]
    except KeyError:
        raise InvalidInput(
            f"the inference log file was encrypted with master key {key_id!r}, which is not in "
            f"{KEY_FILE_ENV} / {KEY_ENV}; add it back (keys: {', '.join(sorted(keys))})"
        ) from None


def log_keys(environ: dict[str, str] | None = None) -> LogKeys | None:
    """The configured master keys, or None when the log is not encrypted."""
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE_ENV)
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InvalidInput(f"cannot read {KEY_FILE_ENV} {path!r}: {exc.strerror}") from None
        where = f"{KEY_FILE_ENV} {path}"
    else:
        text = env.get(KEY_ENV, "")
        where = KEY_ENV
    entries = [e.strip() for e in text.replace(",", "\n").splitlines()
               if e.strip() and not e.strip().startswith("#")]
    if not entries:
        return None
    keys: dict[str, bytes] = {}
    current = ""
    for n, entry in enumerate(entries, 1):
        key_id, sep, value = entry.partition("=")
        if not sep or not key_id.strip():
            raise InvalidInput(f"{where} entry {n}: write ID=KEY (KEY: 32 bytes, base64 or hex)")
        current = key_id.strip()
        keys[current] = _decode(value.strip(), f"{where} entry {n} ({current})")
    return LogKeys(keys, current)


def _decode(value: str, where: str) -> bytes:
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            raw = decode(value)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    raise InvalidInput(f"{where}: the key must be 32 bytes (AES-256) in hex or base64; make "
                       "one with: python -c \"import os,base64;print(base64.b64encode("
                       "os.urandom(32)).decode())\"")
