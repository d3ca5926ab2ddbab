"""Nightly runs: the command a schedule repeats, and a crontab line for a plain host.

Both run the very command a person would type (``modelport batch run ...``), with every local
path made absolute: cron and Kubernetes start in another directory than the person did. The
Kubernetes CronJob around the same arguments is :mod:`modelport.packaging.k8s_cronjob`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from modelport.batch.job import DEFAULT_BATCH_SIZE, BatchJob
from modelport.errors import InvalidInput
from modelport.registry.refs import parse_ref

_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_ITEM = r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?"
_FIELD = re.compile(rf"{_ITEM}(,{_ITEM})*")
_MAX_CRONJOB_NAME = 52  # Kubernetes appends 11 characters to name the Jobs


def check_cron(expr: str) -> str:
    """``expr`` if it is a valid cron schedule, else InvalidInput showing the form."""
    text = expr.strip()
    if text in _MACROS:
        return text
    fields = text.split()
    if len(fields) != 5 or not all(_FIELD.fullmatch(f) for f in fields):
        raise InvalidInput(
            f"invalid cron schedule {expr!r}: give five fields, minute hour day-of-month "
            'month day-of-week, for example "0 2 * * *" (every night at 02:00), or one of '
            f"{', '.join(sorted(_MACROS))}"
        )
    return text


def default_name(model_ref: str) -> str:
    """``modelport-batch-<model>``, squeezed into a valid Kubernetes name."""
    model = re.sub(r"[^a-z0-9-]+", "-", parse_ref(model_ref).name.lower()).strip("-")
    return f"modelport-batch-{model}"[:_MAX_CRONJOB_NAME].rstrip("-")


def run_arguments(
    job: BatchJob,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    processes: int | None = None,
) -> list[str]:
    """The ``modelport`` arguments that run ``job`` (defaults left out)."""
    args = ["batch", "run", job.model, "--input", job.input, "--output", job.output]
    if job.id_column:
        args += ["--id-column", job.id_column]
    if job.keep:
        args += ["--keep", ",".join(job.keep)]
    if engine != "local":
        args += ["--engine", engine]
    if scheduler:
        args += ["--scheduler", scheduler]
    if processes is not None:
        args += ["--processes", str(processes)]
    if job.batch_size != DEFAULT_BATCH_SIZE:
        args += ["--batch-size", str(job.batch_size)]
    if job.rejects:
        args += ["--rejects", job.rejects]
    if job.overwrite:
        args.append("--overwrite")
    return args


def is_url(path: str) -> bool:
    """``s3://b/k`` and ``file:///x`` are URLs; ``/data/x`` and ``C:/x`` are not."""
    return len(urlsplit(path).scheme) > 1


def absolute(path: str) -> str:
    """A URL as it is; a local path made absolute (``{date}`` placeholders kept)."""
    return path if is_url(path) else str(Path(path).expanduser().absolute())


def crontab_line(
    cron: str,
    args: list[str],
    *,
    program: str = "modelport",
    log: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """One crontab line (``%`` escaped, as cron requires) running ``program <args>``.

    ``env`` (MODELPORT_HOME, MODELPORT_DATABASE_URL, ...) is set on the command itself: cron
    starts with an almost empty environment in the user's home directory.
    """
    assignments = [f"{key}={shlex.quote(value)}" for key, value in (env or {}).items()]
    command = " ".join([*assignments, shlex.join([program, *args])])
    if log:
        command += f" >> {shlex.quote(log)} 2>&1"
    return f"{check_cron(cron)} {command.replace('%', chr(92) + '%')}"
