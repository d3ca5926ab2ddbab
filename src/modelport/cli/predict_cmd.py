"""``modelport predict``: score a small table locally with a registered model, no server."""

from __future__ import annotations

from pathlib import Path

import typer

from modelport.cli.common import open_registry
from modelport.cli.output import print_json_lines, print_table
from modelport.errors import InvalidInput, ModelportError, PredictionFailed
from modelport.protocol.table_codec import frame_to_inputs, outputs_to_rows
from modelport.registry.loader import load_version
from modelport.tabular_files import read_table


def predict(
    ref: str = typer.Argument(..., help="name, name@alias or name:version (plain name = latest)."),
    input_path: Path = typer.Option(..., "--input", "-i", help="CSV, Parquet or JSON Lines rows."),
    json_out: bool = typer.Option(
        False, "--json", help="One JSON object per row with every output."
    ),
    limit: int = typer.Option(50, help="Rows shown in the table (all rows go to --json)."),
) -> None:
    """Predict the rows of a file with a registered model and print every output per row."""
    frame = read_table(input_path)
    if frame.empty:
        raise InvalidInput(f"{input_path} holds no rows")
    with open_registry() as registry:
        info = registry.resolve(ref)
        runtime = load_version(registry, info)
    inputs = frame_to_inputs(frame, info.signature)
    try:
        outputs = runtime.predict(inputs)
    except ModelportError:
        raise
    except Exception as exc:
        raise PredictionFailed(
            f"{info.ref} failed to predict: {type(exc).__name__}: {exc}"
        ) from exc
    rows = outputs_to_rows(outputs)
    if json_out:
        print_json_lines(rows)
        return
    names = list(outputs)
    print_table(
        ["row", *names],
        [(i, *(_short(row[n]) for n in names)) for i, row in enumerate(rows[:limit])],
        title=f"{info.ref}: {len(rows)} row(s)"
        + (f", first {limit} shown" if len(rows) > limit else ""),
    )


def _short(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
