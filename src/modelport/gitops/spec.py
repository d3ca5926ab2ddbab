"""Declared state: one YAML file per model in a folder (what ``modelport apply -f`` reads and
``modelport export`` writes)::

    model: fraud
    description: Card fraud scores            # optional
    versions:
      - version: 1                            # the number this version has (or gets)
        artifact: ../artifacts/fraud-1.json   # relative to this file
        sha256: 4f1c...                       # must match the artifact's bytes
        flavor: xgboost                       # optional: detected when left out
        trust_pickle: false                   # optional
        metrics: {auc: 0.97}                  # optional
    aliases:
      production: 1
    policy:                                   # optional: the promotion policy
      protected: [production]
      require_evaluation: true
      require_approval: false
      criteria: ["auc >= 0.95"]
    deployments:                              # optional: deployment files' content
      - {endpoint: fraud, strategy: blue-green, stable: fraud:1, candidate: fraud:2}

Every problem names the file, the line and the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import InvalidInput
from modelport.governance.policy import Policy
from modelport.registry.refs import check_alias_name, check_model_name
from modelport.routing.yaml_lines import LineIndex, load_with_lines

__all__ = ["DeclaredModel", "DeclaredVersion", "read_folder"]

_TOP = {"model", "description", "versions", "aliases", "policy", "deployments"}
_VERSION = {"version", "artifact", "sha256", "flavor", "trust_pickle", "metrics"}


@dataclass(frozen=True, slots=True)
class DeclaredVersion:
    version: int
    artifact: Path
    sha256: str
    flavor: str | None
    trust_pickle: bool
    metrics: dict[str, float]
    where: str


@dataclass(slots=True)
class DeclaredModel:
    name: str
    file: Path
    description: str | None = None
    versions: list[DeclaredVersion] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    policy: Policy | None = None
    deployments: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    lines: LineIndex | None = None


class _Problems:
    def __init__(self, file: Path, lines: LineIndex) -> None:
        self.file, self.lines = file, lines
        self.found: list[str] = []

    def add(self, path: tuple[str | int, ...], reason: str) -> None:
        where = ".".join(str(p) for p in path)
        self.found.append(f"{self.file} line {self.lines.line(path)}: {where}: {reason}")

    def at(self, path: tuple[str | int, ...]) -> str:
        return f"{self.file} line {self.lines.line(path)}"


def read_folder(folder: Path) -> list[DeclaredModel]:
    """Every ``*.yaml``/``*.yml`` in ``folder``; one InvalidInput listing every problem."""
    if not folder.is_dir():
        raise InvalidInput(f"-f {folder}: not a folder of model files")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise InvalidInput(f"{folder} holds no .yaml files; write one per model (see "
                           "'modelport export')")
    models, problems = [], []
    names: dict[str, Path] = {}
    for path in files:
        model, found = _read_file(path)
        problems.extend(found)
        if model is not None:
            if model.name in names:
                problems.append(f"{path}: model {model.name!r} is declared again (first in "
                                f"{names[model.name]})")
            names[model.name] = path
            models.append(model)
    if problems:
        raise InvalidInput("the declared state has problems, nothing was changed:\n  "
                           + "\n  ".join(problems), details={"problems": problems})
    return models


def _read_file(path: Path) -> tuple[DeclaredModel | None, list[str]]:
    try:
        doc, lines = load_with_lines(path.read_text(), str(path))
    except InvalidInput as exc:
        return None, [exc.message]
    p = _Problems(path, lines)
    if not isinstance(doc, dict):
        return None, [f"{path} line 1: a model file is a mapping with 'model:' and 'versions:'"]
    for key in sorted(set(doc) - _TOP):
        p.add((str(key),), f"unknown field; known fields: {', '.join(sorted(_TOP))}")
    name = doc.get("model")
    try:
        check_model_name(name if isinstance(name, str) else "")
    except InvalidInput as exc:
        p.add(("model",), exc.message)
        return None, p.found
    model = DeclaredModel(name=str(name), file=path, lines=lines)
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        p.add(("description",), "must be text")
    model.description = description if isinstance(description, str) else None
    _versions(doc.get("versions", []), model, p)
    _aliases(doc.get("aliases", {}), model, p)
    if "policy" in doc:
        try:
            model.policy = Policy.from_dict(doc["policy"], where="policy")
        except InvalidInput as exc:
            p.add(("policy",), exc.message)
    deployments = doc.get("deployments", [])
    if not isinstance(deployments, list):
        p.add(("deployments",), "must be a list of deployment specs")
    else:
        for i, spec in enumerate(deployments):
            if not isinstance(spec, dict):
                p.add(("deployments", i), "must be a mapping like a deployment file")
            else:
                model.deployments.append((spec, p.at(("deployments", i))))
    return model, p.found


def _versions(raw: Any, model: DeclaredModel, p: _Problems) -> None:
    if not isinstance(raw, list):
        p.add(("versions",), "must be a list of versions")
        return
    seen: set[int] = set()
    for i, entry in enumerate(raw):
        at = ("versions", i)
        if not isinstance(entry, dict):
            p.add(at, "must be a mapping with version, artifact and sha256")
            continue
        for key in sorted(set(entry) - _VERSION):
            p.add((*at, str(key)), f"unknown field; known: {', '.join(sorted(_VERSION))}")
        number = entry.get("version")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            p.add((*at, "version"), f"must be a version number >= 1, got {number!r}")
            continue
        if number in seen:
            p.add((*at, "version"), f"version {number} is declared twice")
        seen.add(number)
        artifact, sha = entry.get("artifact"), entry.get("sha256")
        if not isinstance(artifact, str):
            p.add((*at, "artifact"), "must be the artifact's path (relative to this file)")
            continue
        path = (model.file.parent / artifact).resolve()
        if not isinstance(sha, str) or len(sha) != 64:
            p.add((*at, "sha256"), "must be the artifact's 64-hex-digit sha256")
            continue
        if not path.exists():
            p.add((*at, "artifact"), f"no file at {path}")
            continue
        actual = _sha256(path)
        if actual != sha.lower():
            p.add((*at, "sha256"), f"does not match {artifact} (its sha256 is {actual})")
            continue
        metrics = entry.get("metrics", {})
        if not isinstance(metrics, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values()):
            p.add((*at, "metrics"), "must map metric names to numbers")
            metrics = {}
        flavor = entry.get("flavor")
        model.versions.append(DeclaredVersion(
            version=number, artifact=path, sha256=actual,
            flavor=flavor if isinstance(flavor, str) else None,
            trust_pickle=entry.get("trust_pickle") is True,
            metrics={str(k): float(v) for k, v in metrics.items()}, where=p.at(at)))
    model.versions.sort(key=lambda v: v.version)


def _aliases(raw: Any, model: DeclaredModel, p: _Problems) -> None:
    if not isinstance(raw, dict):
        p.add(("aliases",), "must map alias names to version numbers")
        return
    declared = {v.version for v in model.versions}
    for alias, version in raw.items():
        at = ("aliases", str(alias))
        try:
            check_alias_name(str(alias))
        except InvalidInput as exc:
            p.add(at, exc.message)
            continue
        if isinstance(version, bool) or not isinstance(version, int):
            p.add(at, f"must be a version number, got {version!r}")
        elif version not in declared:
            p.add(at, f"version {version} is not among this file's versions")
        else:
            model.aliases[str(alias)] = version


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; declare single-file artifacts")
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
