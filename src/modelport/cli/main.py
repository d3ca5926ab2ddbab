"""The ``modelport`` command: one Typer app, one module per command group.

Errors print one clear line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click
import typer

from modelport import __version__
from modelport.cli import models_cmd, predict_cmd, serve_cmd
from modelport.cli.output import print_error
from modelport.errors import ModelportError

app = typer.Typer(
    name="modelport",
    help="From a model file to a production endpoint: register, serve, roll out, score, watch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(models_cmd.app, name="models")
app.command("predict")(predict_cmd.predict)
app.command("serve")(serve_cmd.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelport {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """modelport: register models, serve them over REST and gRPC, and keep them healthy."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="modelport", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        print_error("aborted")
        code = 130
    except ModelportError as exc:
        if debug:
            traceback.print_exc()
        print_error(exc.message)
        code = 1
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print_error(
            f"unexpected {type(exc).__name__}: {exc} (re-run with --debug for the traceback)"
        )
        code = 1
    else:
        code = result if isinstance(result, int) else 0
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
