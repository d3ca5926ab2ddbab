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
