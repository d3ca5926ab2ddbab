"""Ed25519 artifact signatures: good, missing, tampered, or made by another key."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.security.signing import (
    generate_signing_key,
    load_signing_key,
    load_verify_key,
    sign_artifact,
    verify_artifact,
)

SHA = "ab" * 32


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "key.pem", tmp_path / "key.pub.pem"
    generate_signing_key(private, public)
    return private, public


def test_signature_verifies_and_binds_name_version_and_hash(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert private.stat().st_mode & 0o077 == 0
    signature = sign_artifact(load_signing_key(private), name="fraud", version=3, sha256=SHA)
    pub = load_verify_key(public)
    verify_artifact(pub, name="fraud", version=3, sha256=SHA, signature=signature)
    for name, version, sha in (("churn", 3, SHA), ("fraud", 2, SHA), ("fraud", 3, "cd" * 32)):
        with pytest.raises(UnsafeArtifact, match="does not verify"):
            verify_artifact(pub, name=name, version=version, sha256=sha, signature=signature)
    with pytest.raises(UnsafeArtifact, match="does not verify"):
        verify_artifact(pub, name="fraud", version=3, sha256=SHA, signature="not base64!")


def test_unsigned_and_foreign_signatures_are_refused(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    pub = load_verify_key(keys[1])
    with pytest.raises(UnsafeArtifact, match=r"is not signed.*--sign-key"):
        verify_artifact(pub, name="fraud", version=1, sha256=SHA, signature=None)
    other, other_pub = tmp_path / "o.pem", tmp_path / "o.pub"
    generate_signing_key(other, other_pub)
    forged = sign_artifact(load_signing_key(other), name="fraud", version=1, sha256=SHA)
    with pytest.raises(UnsafeArtifact, match="another key signed it"):
        verify_artifact(pub, name="fraud", version=1, sha256=SHA, signature=forged)


def test_wrong_key_files_teach(keys: tuple[Path, Path], tmp_path: Path) -> None:
    private, public = keys
    with pytest.raises(InvalidInput, match="not an unencrypted PEM private key"):
        load_signing_key(public)
    with pytest.raises(InvalidInput, match="not a PEM public key"):
        load_verify_key(private)
    with pytest.raises(InvalidInput, match="cannot read --sign-key"):
        load_signing_key(tmp_path / "missing.pem")
