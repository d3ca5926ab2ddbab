"""Structured logs: JSON lines, and one access line per inference call under --log-format json."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest

from modelport.errors import InvalidInput, PredictionFailed
from modelport.monitoring.config import MonitoringConfig
from modelport.monitoring.json_logs import ACCESS, JsonFormatter, configure_logging
from modelport.monitoring.monitor import Monitor

from .test_monitor import Ctx, answer, req


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The access logger at INFO into a JSON-formatting buffer, as --log-format json sets it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    ACCESS.addHandler(handler)
    level = ACCESS.level
    ACCESS.setLevel(logging.INFO)
    yield out
    ACCESS.removeHandler(handler)
    ACCESS.setLevel(level)


async def test_every_request_is_one_json_line_with_id_model_version_status_latency(
    lines: io.StringIO,
) -> None:
    infer = Monitor(MonitoringConfig(metrics=False)).observe(answer)
    await infer(Ctx(), req(1.0, rid="r-1"))
    with pytest.raises(PredictionFailed):
        await infer(Ctx(version="3"), req(-1.0, rid="r-2"))
    docs = [orjson.loads(line) for line in lines.getvalue().splitlines()]
    assert len(docs) == 2
    ok, failed = docs
    assert {k: ok[k] for k in ("request_id", "model", "version", "protocol", "status")} == {
        "request_id": "r-1", "model": "fraud", "version": "2", "protocol": "grpc", "status": "ok",
    }  # fmt: skip
    assert ok["latency_ms"] >= 0 and ok["level"] == "INFO" and ok["logger"] == "modelport.access"
    assert (failed["request_id"], failed["status"], failed["version"]) == (
        "r-2", "prediction_failed", "3",
    )  # fmt: skip


async def test_without_json_logs_the_access_logger_costs_no_stage() -> None:
    assert not ACCESS.isEnabledFor(logging.INFO)
    assert Monitor(MonitoringConfig(metrics=False)).observe(answer) is answer


def test_exceptions_stay_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: boom" in orjson.loads(line)["exception"]


def test_an_unknown_log_format_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="text or json"):
        configure_logging("xml")


def test_json_logging_puts_modelport_at_info_and_others_at_warning() -> None:
    code = (
        "import logging\n"
        "from modelport.monitoring.json_logs import configure_logging\n"
        "configure_logging('json')\n"
        "logging.getLogger('modelport.serving.models').info('fraud@production serves 2')\n"
        "logging.getLogger('uvicorn').info('chatty')\n"
        "logging.getLogger('uvicorn').warning('worth seeing')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    docs = [orjson.loads(line) for line in proc.stderr.splitlines()]
    assert [(d["logger"], d["level"], d["message"]) for d in docs] == [
        ("modelport.serving.models", "INFO", "fraud@production serves 2"),
        ("uvicorn", "WARNING", "worth seeing"),
    ]


def test_the_cli_refuses_an_unknown_log_format() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from modelport.cli.main import main; "
         "sys.exit(main(sys.argv[1:]))", "--log-format", "xml", "models", "list"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode != 0 and "--log-format must be text or json" in proc.stderr
    assert "Traceback" not in proc.stderr
