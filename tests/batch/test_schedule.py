"""CronJob manifests and crontab lines for recurring runs."""

from __future__ import annotations

import pytest

from modelport.batch import BatchJob, crontab_line, run_arguments
from modelport.batch.schedule import absolute, check_cron, default_name, is_url
from modelport.errors import InvalidInput


@pytest.mark.parametrize("expr", ["0 2 * * *", "*/15 0-6 1,15 * mon-fri", "@daily", " 5 4 * * 0 "])
def test_valid_cron_schedules_pass(expr: str) -> None:
    assert check_cron(expr) == expr.strip()


@pytest.mark.parametrize("expr", ["0 2 * *", "nightly", "0 2 * * * *", "0 2 ? * *", "@sometimes"])
def test_invalid_cron_schedules_say_what_a_schedule_looks_like(expr: str) -> None:
    with pytest.raises(InvalidInput, match=r'for example "0 2 \* \* \*"'):
        check_cron(expr)


def test_run_arguments_repeat_the_job_and_leave_defaults_out() -> None:
    job = BatchJob(model="fraud@prod", input="in/", output="out/")
    assert run_arguments(job) == [
        "batch",
        "run",
        "fraud@prod",
        "--input",
        "in/",
        "--output",
        "out/",
    ]
    full = BatchJob(
        model="fraud", input="i", output="o", id_column="id", keep=("a", "b"),
        batch_size=10, rejects="r.jsonl", overwrite=True,
    )  # fmt: skip
    assert run_arguments(full, engine="dask", scheduler="tcp://s:8786")[7:] == [
        "--id-column", "id", "--keep", "a,b", "--engine", "dask", "--scheduler",
        "tcp://s:8786", "--batch-size", "10", "--rejects", "r.jsonl", "--overwrite",
    ]  # fmt: skip


def test_crontab_lines_quote_arguments_and_escape_percent_signs() -> None:
    line = crontab_line(
        "@daily", ["batch", "run", "m", "--output", "out dir/%Y"], log="/var/log/b.log"
    )
    assert line == "@daily modelport batch run m --output 'out dir/\\%Y' >> /var/log/b.log 2>&1"


def test_crontab_lines_set_the_registry_environment_on_the_command() -> None:
    line = crontab_line(
        "0 2 * * *", ["batch", "run", "m"], program="/opt/mp/bin/modelport",
        env={"MODELPORT_HOME": "/srv/model port", "MODELPORT_DATABASE_URL": "postgresql://h/db"},
    )  # fmt: skip
    assert line == (
        "0 2 * * * MODELPORT_HOME='/srv/model port' MODELPORT_DATABASE_URL=postgresql://h/db "
        "/opt/mp/bin/modelport batch run m"
    )


def test_local_paths_become_absolute_and_urls_stay() -> None:
    assert is_url("s3://bucket/x/{date}/") and is_url("file:///data/x")
    assert not is_url("data/x") and not is_url("C:/data")
    assert absolute("s3://bucket/{date}/") == "s3://bucket/{date}/"
    made = absolute("scores/{date}")
    assert made.startswith("/") and made.endswith("/scores/{date}")


def test_names_must_suit_kubernetes() -> None:
    assert default_name("Fraud_Detector.v2@production") == "modelport-batch-fraud-detector-v2"
    assert len(default_name("m" * 100)) <= 52
