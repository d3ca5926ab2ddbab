"""The root command: lazy groups, help on every command, usage errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelport.cli.main import COMMANDS, main
from tests.cli.conftest import Run


def test_root_help_lists_every_group_without_importing_them() -> None:
    probe = (
        "import sys\n"
        "from modelport.cli.main import main\n"
        "main(['--help'])\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('modelport.cli.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    for name in COMMANDS:
        assert name in out.stdout
    loaded = out.stdout.split("LOADED", 1)[1]
    assert "models_cmd" not in loaded and "batch_cmd" not in loaded


@pytest.mark.parametrize("group", sorted(COMMANDS))
def test_every_command_has_help(group: str, run: Run) -> None:
    code, out, _ = run(group, "--help")
    assert code == 0 and "Usage: modelport " + group in out.replace("  ", " ")


def test_usage_errors_exit_2_with_a_hint(run: Run) -> None:
    code, _, err = run("nosuch")
    assert code == 2 and "No such command" in err
    code, _, err = run("models", "register")
    assert code == 2 and "Missing argument" in err


def test_version(run: Run, home: Path) -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("modelport ")
    assert main(["--version"]) == 0


def _all_commands() -> list[list[str]]:
    """Every command path, e.g. ["auth", "keys", "create"], walked through the real groups."""
    from modelport.cli.main import LazyGroup

    group = LazyGroup(name="modelport")
    found: list[list[str]] = []

    def walk(path: list[str], command: object) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    for name in COMMANDS:
        walk([name], group.get_command(None, name))  # type: ignore[arg-type]
    return found


def test_one_help_style_for_every_command(run: Run) -> None:
    import re

    paths = _all_commands()
    assert ["auth", "keys", "create"] in paths and ["registry", "backup"] in paths
    for path in paths:
        code, out, _ = run(*path, "--help")
        assert code == 0, path
        assert "<bool>" not in out and "╭" not in out, path  # no Rich boxes or type tags
        assert "--install-completion" not in out, path
        assert not re.search(r"\w \.(\s|$)", out), (path, out)  # no "URL ." left by markup
        if "Commands:" in out:
            listing = out.split("Commands:", 1)[1]
            assert not re.search(r"\.\.\.\s*$", listing, re.M), (path, listing)  # not cut
