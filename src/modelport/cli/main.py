"""The ``modelport`` command: one Typer app, one module per command group.

Errors print one clear line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import typer
from typer._click import Command, Context, HelpFormatter  # Typer vendors its own click
from typer.core import TyperGroup

from modelport import __version__
from modelport.cli.output import print_error
from modelport.errors import ModelportError
from modelport.monitoring.json_logs import configure_logging

#: command -> (module, attribute, one-line help). Modules are imported only when their command
#: runs, so ``modelport models list`` does not pay for Dask, SciPy or gRPC.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "models": ("modelport.cli.models_cmd", "app", "Register models; manage versions and aliases."),
    "pipelines": ("modelport.cli.pipelines_cmd", "app",
                  "Pipelines: transforms, models, ensembles, rules as one."),
    "predict": ("modelport.cli.predict_cmd", "predict", "Predict the rows of a file locally."),
    "serve": ("modelport.cli.serve_cmd", "serve", "Serve models over REST and gRPC (OIP V2)."),
    "deploy": ("modelport.cli.deploy_cmd", "app", "Roll versions out: canary, blue-green, A/B."),
    "build": ("modelport.cli.build_cmd", "build", "Build an OCI image serving a model."),
    "batch": ("modelport.cli.batch_cmd", "app", "Score large tables offline, locally or on Dask."),
    "stream": ("modelport.cli.stream_cmd", "app", "Score Redis Streams or Kafka events."),
    "monitor": ("modelport.cli.monitor_cmd", "app", "Drift, live performance, data contracts."),
    "auth": ("modelport.cli.auth_cmd", "app", "API keys and signing keys."),
    "audit": ("modelport.cli.audit_cmd", "app", "Read and verify the audit log."),
    "ui": ("modelport.cli.ui_cmd", "ui", "Serve the web console for the registry."),
    "registry": ("modelport.cli.registry_cmd", "app", "Back up the registry database."),
    "convert": ("modelport.cli.convert_cmd", "convert", "Convert a version to ONNX, checked."),
    "edge": ("modelport.cli.edge_cmd", "app", "Edge bundles, the OTA agent and device fleets."),
    "explain": ("modelport.cli.explain_cmd", "explain", "Why a logged prediction came out so."),
    "evaluate": ("modelport.cli.evaluate_cmd", "evaluate", "Evaluate a version on labelled data."),
    "policy": ("modelport.cli.policy_cmd", "app", "Promotion policy and acceptance criteria."),
    "privacy": ("modelport.cli.privacy_cmd", "app", "Erase a data subject; log retention, keys."),
    "apply": ("modelport.cli.apply_cmd", "apply", "Make the registry match declared files."),
    "export": ("modelport.cli.apply_cmd", "export", "Write the registry's state as files."),
}


def _plain(app: typer.Typer) -> None:
    """One help style for every command, as the root's: plain text, no boxes, no ``<bool>``
    tags, no shell-completion options, and ``[default: ...]`` kept as text (Rich markup
    would swallow it)."""
    app.rich_markup_mode = None
    app._add_completion = False
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _plain(group.typer_instance)


def _whole_summaries(command: Command) -> None:
    """Command lists show each command's whole first sentence, never one cut with '...'."""
    for sub in getattr(command, "commands", {}).values():
        if sub.help and not sub.short_help:
            first = sub.help.strip().split("\n\n", 1)[0]
            sub.short_help = " ".join(first.split())
        _whole_summaries(sub)


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attr, _ = spec
        target: Any = getattr(importlib.import_module(module_name), attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False, rich_markup_mode=None)
            single.command(cmd_name)(target)
            target = single
        _plain(target)
        command = typer.main.get_command(target)
        command.name = cmd_name
        _whole_summaries(command)
        return command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec[2]) for name, spec in COMMANDS.items()])


app = typer.Typer(
    name="modelport",
    cls=LazyGroup,
    help="From a model file to a production endpoint: register, serve, roll out, score, watch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelport {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    log_format: str = typer.Option(
        "text", "--log-format",
        help="text, or json: one JSON object per line (with a line per inference request: "
        "request id, model, version, status, latency), modelport's logs at INFO.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """modelport: register models, serve them over REST and gRPC, and keep them healthy."""
    configure_logging(log_format, debug=debug)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="modelport", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print_error("aborted")
        code = 130
    except KeyboardInterrupt:
        print_error("interrupted")
        code = 130
    except ModelportError as exc:
        if debug:
            traceback.print_exc()
        print_error(exc.message)
        code = 1
    except typer.TyperException as exc:  # usage errors: missing option, unknown command, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print_error(str(exc))
        code = int(getattr(exc, "exit_code", 2))
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print_error(f"unexpected {type(exc).__name__}: {exc} (--debug shows the traceback)")
        code = 1
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
