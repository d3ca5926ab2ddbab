"""Which converter made an edge artifact, and importing converters with a clear error."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

from modelport.errors import MissingDependency

__all__ = ["ToolRecord", "package_version", "require"]


def require(module: str, extra: str) -> ModuleType:
    """Import a converter module, or MissingDependency naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"converting needs {module}; install it with: pip install 'modelport[{extra}]'"
        ) from None


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolRecord:
    """The converter and library versions behind a conversion (kept in ``converted_from``)."""

    tool: str
    versions: dict[str, str | None] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, tool: str, options: dict[str, Any], *frameworks: str) -> ToolRecord:
        names = [tool, "onnx", "onnxruntime", *frameworks]
        return cls(tool=tool, versions={n: package_version(n) for n in names}, options=options)

    def with_options(self, **more: Any) -> ToolRecord:
        return ToolRecord(tool=self.tool, versions=self.versions, options={**self.options, **more})

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "versions": self.versions, "options": self.options}
