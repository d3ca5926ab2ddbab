"""Nightly runs: a Kubernetes CronJob manifest, or a crontab line for a plain host.

Both run the very command a person would type (``modelport batch run ...``). Because a run is
resumable, the CronJob lets Kubernetes restart a failed pod (``restartPolicy: OnFailure``):
the restarted run finishes the same output instead of starting over. ``concurrencyPolicy:
Forbid`` keeps two runs from writing one output folder at once.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from modelport import __version__
from modelport.batch.job import DEFAULT_BATCH_SIZE, BatchJob
from modelport.errors import InvalidInput
from modelport.registry.refs import parse_ref

_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_ITEM = r"(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?"
_FIELD = re.compile(rf"{_ITEM}(,{_ITEM})*")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_MAX_CRONJOB_NAME = 52  # Kubernetes appends 11 characters to name the Jobs


@dataclass(frozen=True, slots=True, kw_only=True)
class CronJobSpec:
    """What the CronJob manifest needs besides the command."""

    cron: str
    """Five-field cron expression (minute hour day-of-month month day-of-week) or @daily."""
    name: str
    image: str = f"modelport:{__version__}"
    namespace: str | None = None
    secret: str | None = None
    """Secret whose keys become environment variables (MODELPORT_DATABASE_URL, ...)."""

    def __post_init__(self) -> None:
        check_cron(self.cron)
        if len(self.name) > _MAX_CRONJOB_NAME or not _K8S_NAME.fullmatch(self.name):
            raise InvalidInput(
                f"CronJob name {self.name!r} is not valid for Kubernetes: use at most "
                f"{_MAX_CRONJOB_NAME} lowercase letters, digits and '-', starting and ending "
                "with a letter or digit (for example modelport-batch-fraud)"
            )
        if not self.image.strip():
            raise InvalidInput("--image must name a container image that has modelport installed")


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


def cronjob_manifest(spec: CronJobSpec, args: list[str]) -> dict[str, Any]:
    """A ``batch/v1`` CronJob running ``modelport <args>`` on ``spec.cron``."""
    labels = {
        "app.kubernetes.io/name": "modelport",
        "app.kubernetes.io/component": "batch",
        "app.kubernetes.io/instance": spec.name,
    }
    container: dict[str, Any] = {
        "name": "batch",
        "image": spec.image,
        "command": ["modelport"],
        "args": list(args),
    }
    if spec.secret:
        container["envFrom"] = [{"secretRef": {"name": spec.secret}}]
    metadata: dict[str, Any] = {"name": spec.name, "labels": labels}
    if spec.namespace:
        metadata["namespace"] = spec.namespace
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata,
        "spec": {
            "schedule": spec.cron.strip(),
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 3,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"restartPolicy": "OnFailure", "containers": [container]},
                    },
                }
            },
        },
    }


def crontab_line(
    cron: str, args: list[str], *, program: str = "modelport", log: str | None = None
) -> str:
    """One crontab line (``%`` escaped, as cron requires) running ``program <args>``."""
    command = shlex.join([program, *args])
    if log:
        command += f" >> {shlex.quote(log)} 2>&1"
    return f"{check_cron(cron)} {command.replace('%', chr(92) + '%')}"
