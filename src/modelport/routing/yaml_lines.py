"""Line numbers for a YAML document, so a rejected deployment file names the line at fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from modelport.errors import InvalidInput

__all__ = ["LineIndex", "load_with_lines"]

Path = tuple[str | int, ...]


class LineIndex:
    """Maps a field path (``("canary", "steps", 2)``) to the 1-based line it was written on."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self._lines = lines

    def line(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest written parent (line 1 for the root)."""
        key = tuple(path)
        while key:
            found = self._lines.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return 1


def load_with_lines(text: str, label: str) -> tuple[Any, LineIndex]:
    """The parsed document and its line index; InvalidInput naming the line on a YAML error."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise InvalidInput(
            f"{label} line {line}: not valid YAML: {exc.problem or exc}",
            details={"errors": [{"line": line, "field": "", "reason": "not valid YAML"}]},
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{label}: not valid YAML: {exc}") from None
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineIndex(lines)


def _walk(node: yaml.Node, path: Path, out: dict[Path, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            out[child] = key.start_mark.line + 1
            _walk(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out[child] = item.start_mark.line + 1
            _walk(item, child, out)
