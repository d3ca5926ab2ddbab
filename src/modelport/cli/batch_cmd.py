"""``modelport batch``: score a large table with a registered model, now or every night."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
import typer

from modelport.batch import (
    DEFAULT_BATCH_SIZE,
    BatchJob,
    BatchResult,
    NullProgress,
    RichProgress,
    create_engine,
    crontab_line,
    run_arguments,
)
from modelport.batch.engine import check_engine_options
from modelport.batch.progress import ProgressListener
from modelport.batch.schedule import absolute, check_cron, default_name, is_url
from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.output import print_fields, print_json
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput
from modelport.packaging.k8s_cronjob import CronJobSpec, cronjob_manifest
from modelport.packaging.k8s_yaml import dump_all

app = typer.Typer(
    help="Score large tables offline (Parquet, CSV, JSON Lines), locally or on Dask.",
    no_args_is_help=True,
)


SCHEDULER_ENV = "MODELPORT_DASK_SCHEDULER"


class EngineName(StrEnum):
    local = "local"
    dask = "dask"


_REF = typer.Argument(..., help="name, name@alias or name:version (plain name = latest).")
_INPUT = typer.Option(
    ...,
    "--input",
    "-i",
    help="File, folder, glob or fsspec URL (s3://...) of Parquet, CSV or JSON Lines files. "
    "{date} becomes today's UTC date (YYYY-MM-DD).",
)
_OUTPUT = typer.Option(
    ..., "--output", "-o", help="Folder or fsspec URL for the Parquet parts and _manifest.json."
)
_ID = typer.Option(None, "--id-column", help="Input column written first in every output row.")
_KEEP = typer.Option(
    [], "--keep", help="More input columns to copy into the output: a,b,c (repeatable)."
)
_ENGINE = typer.Option(EngineName.local, "--engine", help="Where to score: local or dask.")
_SCHEDULER = typer.Option(
    None,
    "--scheduler",
    help="Dask scheduler address for --engine dask, e.g. tcp://scheduler:8786 "
    "(default: $MODELPORT_DASK_SCHEDULER).",
)
_PROCESSES = typer.Option(
    None, "--processes", "-p", help="Local engine: scoring processes (default: one per core)."
)
_BATCH = typer.Option(
    DEFAULT_BATCH_SIZE, "--batch-size", help="Rows per model call and per output part."
)
_REJECTS = typer.Option(
    None, "--rejects", help="JSON Lines file for rejected rows (default: OUTPUT/_rejects.jsonl)."
)
_OVERWRITE = typer.Option(
    False, "--overwrite", help="Replace the output of a different job found in --output."
)


@app.command("run")
def run(
    ref: str = _REF,
    input_: str = _INPUT,
    output: str = _OUTPUT,
    id_column: str | None = _ID,
    keep: list[str] = _KEEP,
    engine: EngineName = _ENGINE,
    scheduler: str | None = _SCHEDULER,
    processes: int | None = _PROCESSES,
    batch_size: int = _BATCH,
    rejects: str | None = _REJECTS,
    overwrite: bool = _OVERWRITE,
    json_out: bool = JSON_OPTION,
) -> None:
    """Score every row of --input with a registered model into Parquet parts in --output.

    Killed or failed runs resume: run the same command again and it finishes the same output.
    """
    job = _job(ref, input_, output, id_column, keep, batch_size, rejects, overwrite)
    progress: ProgressListener = NullProgress() if json_out else RichProgress(f"scoring {ref}")
    if engine is EngineName.dask and scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    check_engine_options(engine.value, processes=processes, scheduler=scheduler)
    with open_registry() as registry:
        runner = create_engine(
            engine.value, registry, processes=processes, scheduler=scheduler, progress=progress
        )
        result = runner.run(job)
    if json_out:
        print_json(result.to_dict())
    else:
        _summary(result)


@app.command("schedule")
def schedule(
    ref: str = _REF,
    input_: str = _INPUT,
    output: str = _OUTPUT,
    cron: str = typer.Option(
        ..., "--cron", help='Cron schedule, e.g. "0 2 * * *" (02:00 every night) or @daily.'
    ),
    id_column: str | None = _ID,
    keep: list[str] = _KEEP,
    engine: EngineName = _ENGINE,
    scheduler: str | None = _SCHEDULER,
    processes: int | None = _PROCESSES,
    batch_size: int = _BATCH,
    rejects: str | None = _REJECTS,
    overwrite: bool = _OVERWRITE,
    manifest: str = typer.Option(
        "-", "--manifest", help="Where to write the CronJob YAML ('-' for stdout)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="CronJob name (default: modelport-batch-MODEL)."
    ),
    image: str = typer.Option(
        ..., "--image",
        help="Image modelport build made, e.g. registry.example.com/modelport:0.1.0.",
    ),
    namespace: str | None = typer.Option(None, "--namespace", help="Kubernetes namespace."),
    registry_secret: str = typer.Option(
        "modelport-registry", "--registry-secret",
        help="Secret whose database-url key is the registry URL the pod uses.",
    ),
    artifact_root: str | None = typer.Option(
        None, "--artifact-root",
        help="Artifact store URL the pod reads [default: $MODELPORT_ARTIFACT_ROOT when a URL].",
    ),
    secret: str | None = typer.Option(
        None, "--secret", help="Another Secret loaded as environment (cloud credentials, ...)."
    ),
) -> None:
    """Write a Kubernetes CronJob for a recurring run and print the matching crontab line.

    Use {date} in --input/--output (e.g. --output s3://scores/{date}/) for one folder a night.
    Local paths are made absolute; URLs are kept as they are.
    """
    job = BatchJob(
        model=ref,
        input=absolute(input_),
        output=absolute(output),
        id_column=id_column,
        keep=_split_keep(keep),
        batch_size=batch_size,
        rejects=absolute(rejects) if rejects else None,
        overwrite=overwrite,
    )
    # Without --scheduler the scheduled run reads MODELPORT_DASK_SCHEDULER where it runs.
    check_engine_options(
        engine.value, processes=processes, scheduler=scheduler, need_scheduler=False
    )
    args = run_arguments(job, engine=engine.value, scheduler=scheduler, processes=processes)
    settings = RegistrySettings()
    if artifact_root is None and settings.artifact_root and is_url(settings.artifact_root):
        artifact_root = settings.artifact_root
    spec = CronJobSpec(
        cron=cron, name=name or default_name(ref), image=image, namespace=namespace,
        registry_secret=registry_secret, artifact_root=artifact_root, secret=secret,
    )  # fmt: skip
    text = dump_all([cronjob_manifest(spec, args, schedule=check_cron(cron))])
    line = crontab_line(cron, args, program=shutil.which("modelport") or "modelport",
                        env=_cron_env(settings))
    local = [p for p in (job.input, job.output, job.rejects) if p and not is_url(p)]
    note = (f"note: the CronJob's pod must mount {', '.join(local)} (or use URLs such as "
            "s3://...)\n" if local else "")
    # Plain echo, not Rich: a crontab line must stay one unwrapped line, brackets and all.
    if manifest == "-":
        sys.stdout.write(text)
        typer.echo(f"{note}# crontab line for a plain host:\n{line}", err=True)
        return
    target = Path(manifest)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    except OSError as exc:
        raise InvalidInput(f"cannot write --manifest {manifest}: {exc.strerror}") from None
    typer.echo(f"wrote CronJob {spec.name} to {manifest}\n{note}"
               f"crontab line for a plain host:\n{line}")


def _cron_env(settings: RegistrySettings) -> dict[str, str]:
    """The registry settings spelled out: cron runs in $HOME with an almost empty environment.

    A database password is masked: put the real URL in the crontab yourself.
    """
    env = {"MODELPORT_HOME": str(settings.home.expanduser().absolute())}
    if settings.database_url:
        env["MODELPORT_DATABASE_URL"] = sa.make_url(settings.database_url).render_as_string(
            hide_password=True
        )
    if settings.artifact_root:
        env["MODELPORT_ARTIFACT_ROOT"] = absolute(settings.artifact_root)
    return env


def _job(
    ref: str,
    input_: str,
    output: str,
    id_column: str | None,
    keep: list[str],
    batch_size: int,
    rejects: str | None,
    overwrite: bool,
) -> BatchJob:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return BatchJob(
        model=ref,
        input=input_.replace("{date}", today),
        output=output.replace("{date}", today),
        id_column=id_column,
        keep=_split_keep(keep),
        batch_size=batch_size,
        rejects=rejects.replace("{date}", today) if rejects else None,
        overwrite=overwrite,
    )


def _split_keep(values: list[str]) -> tuple[str, ...]:
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _summary(result: BatchResult) -> None:
    finished_before = result.units_run == 0 and result.units_skipped > 0
    title = "batch run already complete" if finished_before else "batch run finished"
    print_fields(
        [
            ("model", result.model),
            ("run id", result.run_id),
            ("engine", result.engine),
            ("rows read", f"{result.rows_read:,}"),
            ("rows written", f"{result.rows_written:,}"),
            ("rows rejected", f"{result.rows_rejected:,}"),
            ("output parts", result.parts),
            ("work units", f"{result.units_run} run, {result.units_skipped} done before"),
            ("model loads", result.model_loads),
            ("seconds", f"{result.seconds:.1f}"),
            ("rows/s", f"{result.rows_per_second:,.0f}"),
            ("output", result.output),
            ("manifest", result.manifest),
            ("rejects", result.rejects),
        ],
        title=title,
    )
