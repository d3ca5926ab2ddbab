"""Printing for the CLI: Rich tables for people, JSON for scripts, one-line errors.

Text that did not come from this package (messages, names, notes, cell values) is escaped
before Rich sees it: ``pip install 'modelport[redis]'`` must not lose ``[redis]`` as a tag.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(value: Any) -> None:
    """One JSON document on stdout (numpy values and datetimes are serialised)."""
    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
        + "\n"
    )


def print_json_lines(rows: Iterable[Any]) -> None:
    for row in rows:
        sys.stdout.write(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    _print_whole(table)


def print_fields(fields: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """A two-column key/value table."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in fields:
        table.add_row(key, _cell(value))
    _print_whole(table)


def _print_whole(table: Table) -> None:
    """On a terminal, fit its width; piped or redirected, keep every cell whole (no 80-column
    cut): a script or a file gets the full values."""
    if console.is_terminal:
        console.print(table)
        return
    needed = console.measure(table, options=console.options.update_width(100_000)).maximum
    if needed <= console.width:
        console.print(table)
        return
    Console(width=needed, file=console.file, no_color=console.no_color).print(table)


def print_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def print_line(text: str, *, err: bool = False) -> None:
    """One line of plain text, printed as it is (no markup, no highlighting)."""
    (err_console if err else console).print(escape(text), highlight=False, soft_wrap=True)


def _cell(value: Any) -> str:
    return escape(_text(value))


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)
