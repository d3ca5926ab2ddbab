"""Ed25519 signatures over registered artifacts.

At registration the signer signs ``modelport-artifact-v1|<name>|<version>|<sha256>``; the
signature is kept as the version's tag :data:`SIGNATURE_TAG`. A server started with
``--require-signed --verify-key pub.pem`` loads a version only when that signature checks
out with the public key; the artifact's bytes are then checked against the sha256 on load,
so swapping bytes, versions or models all fail. The private key never leaves the signer.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from modelport.errors import InvalidInput, UnsafeArtifact

__all__ = [
    "SIGNATURE_TAG",
    "generate_signing_key",
    "load_signing_key",
    "load_verify_key",
    "sign_artifact",
    "verify_artifact",
]

SIGNATURE_TAG = "modelport.signature.ed25519"


def _message(name: str, version: int, sha256: str) -> bytes:
    return f"modelport-artifact-v1|{name}|{version}|{sha256}".encode()


def generate_signing_key(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair as PEM (the private file readable by its owner only)."""
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(b"")
    private_path.chmod(0o600)
    private_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    ))


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    data = _read(path, "--sign-key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"--sign-key {path} is not an unencrypted PEM private key; create one with "
            "modelport auth signing-key create"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"--sign-key {path} is not an Ed25519 key")
    return key


def load_verify_key(path: Path) -> Ed25519PublicKey:
    data = _read(path, "--verify-key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InvalidInput(f"--verify-key {path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"--verify-key {path} is not an Ed25519 public key")
    return key


def sign_artifact(key: Ed25519PrivateKey, *, name: str, version: int, sha256: str) -> str:
    """The base64 signature to store in the :data:`SIGNATURE_TAG` tag."""
    return base64.b64encode(key.sign(_message(name, version, sha256))).decode()


def verify_artifact(
    key: Ed25519PublicKey, *, name: str, version: int, sha256: str, signature: str | None
) -> None:
    """Nothing when the signature is good; UnsafeArtifact when missing or wrong."""
    ref = f"{name}:{version}"
    if not signature:
        raise UnsafeArtifact(
            f"model {ref} is not signed and this server requires signed artifacts; sign it "
            f"at registration with: modelport models register ... --sign-key key.pem"
        )
    try:
        key.verify(base64.b64decode(signature, validate=True), _message(name, version, sha256))
    except (InvalidSignature, binascii.Error, ValueError):
        raise UnsafeArtifact(
            f"model {ref}: its signature does not verify with the server's --verify-key "
            "(the artifact, its record or its signature was changed, or another key signed it)"
        ) from None


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {option} {path}: {exc.strerror}") from None
