"""Building with podman or docker: pick one that can actually build, run it, measure the image.

A ``docker`` client with no daemon behind it cannot build, so an engine counts only when its
``info`` answers. podman builds in Docker format, because its default OCI format drops
``HEALTHCHECK``; it also gets ``--timestamp`` so the layers are reproducible.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from modelport.errors import InvalidInput, Unavailable
from modelport.packaging.context import SOURCE_DATE_EPOCH

__all__ = ["ENGINES", "Engine", "ImageFacts", "find_engine"]

ENGINES = ("docker", "podman")


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What ``inspect`` says about a built image."""

    id: str
    size: int
    """Bytes of the whole image."""
    base_size: int | None
    """Bytes of the base image, when the engine knows it."""

    @property
    def added(self) -> int | None:
        return None if self.base_size is None else self.size - self.base_size


@dataclass(frozen=True, slots=True)
class Engine:
    name: str
    program: str

    def build_command(
        self, context: Path, tag: str, base: str, pull: str, *, reproducible: bool = True
    ) -> list[str]:
        cmd = [self.program, "build", "--tag", tag, "--file", str(context / "Containerfile"),
               "--build-arg", f"BASE={base}", "--network", "none"]
        if self.name == "podman":
            cmd += ["--format", "docker", f"--pull={pull}"]
            if reproducible:  # fixed timestamps; podman then builds every layer anew
                cmd += ["--timestamp", str(SOURCE_DATE_EPOCH)]
        else:
            cmd += ["--build-arg", f"SOURCE_DATE_EPOCH={SOURCE_DATE_EPOCH}"]
            if pull == "always":
                cmd.append("--pull")
        return [*cmd, str(context)]

    def build(
        self, context: Path, tag: str, base: str, pull: str = "missing", *,
        reproducible: bool = True,
    ) -> str:
        """Build; the engine's output. Unavailable (with its last lines) when it fails."""
        command = self.build_command(context, tag, base, pull, reproducible=reproducible)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise Unavailable(f"{self.name} build failed (exit {done.returncode}):\n{tail}")
        return output

    def inspect(self, tag: str, base: str) -> ImageFacts:
        image_id = self._format(tag, "{{.Id}}")
        size = int(self._format(tag, "{{.Size}}"))
        try:
            base_size: int | None = int(self._format(base, "{{.Size}}"))
        except Unavailable:
            base_size = None
        return ImageFacts(id=image_id, size=size, base_size=base_size)

    def _format(self, image: str, template: str) -> str:
        done = subprocess.run([self.program, "image", "inspect", "--format", template, image],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise Unavailable(f"{self.name} image inspect {image} failed: {done.stderr.strip()}")
        return done.stdout.strip()


def _works(program: str) -> bool:
    try:
        return subprocess.run([program, "info"], capture_output=True, timeout=30,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_engine(name: str | None = None) -> Engine:
    """The engine named, or the first of docker and podman that answers ``info``."""
    if name is not None and name not in ENGINES:
        raise InvalidInput(f"--engine must be docker or podman, got {name!r}")
    for candidate in [name] if name else ENGINES:
        program = shutil.which(candidate)
        if program and _works(program):
            return Engine(candidate, program)
    if name:
        raise Unavailable(f"{name} cannot build here: it is not installed or `{name} info` "
                          "fails (is its daemon running?); try --context-only and build "
                          "elsewhere")
    raise Unavailable("neither docker nor podman can build here (`docker info` and "
                      "`podman info` fail); install podman, or use --context-only")
