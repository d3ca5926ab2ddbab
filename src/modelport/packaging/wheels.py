"""The pinned wheels an image installs: modelport's dependency closure at the versions this
environment runs, each with its sha256, plus a wheel of modelport itself.

Wheels come from a local wheelhouse first (offline), and only what is missing is downloaded
(``pip download`` for the image's platform: CPython 3.11 on manylinux), into that wheelhouse
so the next build is offline.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from modelport.errors import InvalidInput, Unavailable

__all__ = [
    "FRAMEWORKS",
    "closure",
    "collect_wheels",
    "default_flavors",
    "frameworks_left_out",
    "source_root",
]

_ROOT = "modelport"

FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "xgboost": ("xgboost-cpu", "xgboost"),
    "lightgbm": ("lightgbm",),
    "sklearn": ("scikit-learn", "skops"),
    "onnx": ("onnxruntime",),
}
"""flavor -> the distributions only its runtime imports (runtimes import them lazily)."""


def frameworks_left_out(flavors: frozenset[str] | None) -> frozenset[str]:
    """Framework distributions an image serving only ``flavors`` does without; None keeps
    every framework."""
    if flavors is None:
        return frozenset()
    return frozenset(d for f, dists in FRAMEWORKS.items() if f not in flavors for d in dists)


def default_flavors(flavor: str | None) -> frozenset[str] | None:
    """What an image needs by default: its model's framework; everything for a ``python``
    model (its code may import any of them) and for an image without a model."""
    if flavor is None or flavor not in FRAMEWORKS:
        return None
    return frozenset({flavor})


def closure(root: str = _ROOT, *, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
    """Canonical name -> installed version of ``root`` and everything it needs here, less
    ``leave_out`` and what only they need."""
    found: dict[str, str] = {}
    skip = {canonicalize_name(n) for n in leave_out}

    def walk(name: str, extras: frozenset[str]) -> None:
        key = canonicalize_name(name)
        if key in found or key in skip:
            return
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            return  # an optional dependency this environment does not have
        found[key] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                walk(req.name, frozenset(req.extras))

    walk(root, frozenset())
    return found


def source_root() -> Path | None:
    """The source tree modelport runs from (``src/modelport`` -> the project), if any."""
    here = Path(__file__).resolve().parents[3]
    return here if (here / "pyproject.toml").exists() else None


def _platforms() -> list[str]:
    arch = platform.machine() or "x86_64"
    return [f"manylinux_2_{minor}_{arch}" for minor in range(36, 16, -1)] + [
        f"manylinux2014_{arch}"
    ]


def _pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    # A fixed zip timestamp: the same sources give the same modelport wheel, byte for byte,
    # so the image's install layer is reused from the engine's cache.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, check=False, env=env)


def _download(pins: dict[str, str], wheelhouse: Path, offline: bool) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
        reqs.write("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    args = ["download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
            "--implementation", "cp", "--dest", str(wheelhouse), "--find-links", str(wheelhouse),
            "-r", reqs.name]
    for tag in _platforms():
        args += ["--platform", tag]
    try:
        if _pip([*args, "--no-index"]).returncode == 0:
            return
        if offline:
            raise Unavailable(f"wheels missing from {wheelhouse} and --offline was given")
        done = _pip(args)
        if done.returncode != 0:
            raise Unavailable("pip download of the image's wheels failed: "
                              + done.stderr.strip().splitlines()[-1])
    finally:
        Path(reqs.name).unlink(missing_ok=True)


def _modelport_wheel(target: Path) -> Path:
    root = source_root()
    if root is None:
        raise InvalidInput("modelport is not running from a source tree, so no wheel of it "
                           "can be built: give --wheelhouse DIR holding a modelport wheel")
    with tempfile.TemporaryDirectory() as tmp:
        args = ["wheel", "--no-deps", "--wheel-dir", tmp, str(root)]
        # This environment's setuptools first (offline); an isolated build if it is too old.
        done = _pip([*args, "--no-build-isolation"])
        if done.returncode != 0:
            done = _pip(args)
        if done.returncode != 0:
            raise Unavailable("building the modelport wheel failed: "
                              + (done.stderr.strip().splitlines() or ["?"])[-1])
        (wheel,) = Path(tmp).glob("modelport-*.whl")
        return Path(shutil.copy2(wheel, target / wheel.name))


def collect_wheels(
    target: Path, wheelhouse: Path, *, offline: bool = False,
    leave_out: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Fill ``target`` with every wheel and a hash-pinned ``requirements.txt``; the pins.

    The requirements are the complete closure, installed with ``--no-deps``: what
    ``leave_out`` drops is then not pulled back in by modelport's own metadata.
    """
    pins = closure(leave_out=leave_out)
    pins.pop(_ROOT, None)
    wheelhouse.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    _download(pins, wheelhouse, offline)
    hashes: dict[str, list[str]] = {}
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if pins.get(name) == str(version):
            shutil.copy2(wheel, target / wheel.name)
            hashes.setdefault(name, []).append(_sha256(target / wheel.name))
    missing = sorted(set(pins) - set(hashes))
    if missing:
        raise Unavailable(f"no wheel found for {', '.join(missing)} in {wheelhouse}")
    own = _modelport_wheel(target)
    lines = [f"{name}=={pins[name]} " + " ".join(f"--hash=sha256:{h}" for h in hashes[name])
             for name in sorted(pins)]
    version = parse_wheel_filename(own.name)[1]
    lines.append(f"{_ROOT}=={version} --hash=sha256:{_sha256(own)}")
    (target / "requirements.txt").write_text("\n".join(lines) + "\n")
    return pins


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
