"""Shared pieces of the CLI commands: opening the registry, parsing key=value options."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer

from modelport.config import RegistrySettings
from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


@contextmanager
def open_registry(*, create: bool = False) -> Iterator[Registry]:
    """The registry named by MODELPORT_HOME / MODELPORT_DATABASE_URL, closed afterwards.

    Only commands that add something (``create=True``: register, import, create a key, serve)
    create a registry; the others refuse a missing one, naming where they looked. A model
    that is not found in an empty registry says which registry that was.
    """
    settings = RegistrySettings()
    registry = Registry.open(settings, create=create)
    try:
        yield registry
    except NotFound as exc:
        if "the registry is empty" not in exc.message:
            raise
        raise NotFound(f"{exc.message} (registry: {settings.location()}; "
                       f"MODELPORT_HOME or MODELPORT_DATABASE_URL point elsewhere)") from None
    finally:
        registry.close()


def registry_missing() -> bool:
    """True when the CLI's registry is a SQLite file that does not exist yet."""
    path = RegistrySettings().sqlite_path()
    return path is not None and not path.exists()


def registry_location() -> str:
    """Where the CLI's registry is (the SQLite file or the database URL), for messages."""
    return RegistrySettings().location()


def current_actor() -> str:
    """Who is acting: MODELPORT_USER, else the login name."""
    user = os.environ.get("MODELPORT_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def parse_pairs(option: str, pairs: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``, with an error naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"{option} {pair!r} must look like KEY=VALUE, e.g. {option} auc=0.97"
            )
        out[key.strip()] = value.strip()
    return out


def parse_metrics(pairs: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in parse_pairs("--metric", pairs).items():
        try:
            out[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {key}={value!r}: the value must be a number") from None
    return out
