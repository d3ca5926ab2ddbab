from __future__ import annotations

import orjson
import pytest
import redis
from typer.testing import CliRunner

from modelport.cli.stream_cmd import app
from modelport.config import RegistrySettings
from modelport.errors import InvalidInput, NotFound
from modelport.registry import VersionInfo

runner = CliRunner()


@pytest.fixture
def env(registry_settings: RegistrySettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(registry_settings.home))
    monkeypatch.setenv("MODELPORT_DATABASE_URL", str(registry_settings.database_url))
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", str(registry_settings.artifact_root))


def fill(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for i in range(5):
        client.xadd(f"{prefix}:tx", {"data": orjson.dumps({"n": i})})
    client.xgroup_create(f"{prefix}:tx", "scorer", id="0")
    client.xreadgroup("scorer", "host-fraud", {f"{prefix}:tx": ">"}, count=3)
    client.xadd(f"{prefix}:tx.dead-letter", {"data": b"{}"})
    client.close()


def test_status_json_lists_groups_with_lag_pending_and_dead_letters(
    redis_url: str, prefix: str
) -> None:
    fill(redis_url, prefix)
    result = runner.invoke(
        app, ["status", "--source", f"{redis_url}?stream={prefix}:tx", "--window", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    (group,) = orjson.loads(result.stdout)
    assert group["group"] == "scorer" and group["length"] == 5
    assert (group["lag"], group["pending"], group["dead_letters"]) == (2, 3, 1)
    assert group["consumers"] == [
        {"name": "host-fraud", "pending": 3, "idle_ms": group["consumers"][0]["idle_ms"]}
    ]


def test_status_table_shows_groups_and_consumers(redis_url: str, prefix: str) -> None:
    fill(redis_url, prefix)
    result = runner.invoke(
        app,
        ["status", "--source", f"{redis_url}?stream={prefix}:tx&group=scorer", "--window", "0.1"],
    )
    assert result.exit_code == 0, result.output
    assert "consumer groups" in result.stdout and "host-fraud" in result.stdout


@pytest.mark.parametrize(
    ("args", "error", "needle"),
    [
        (["--source", "redis://h:1/0?stream=s"], InvalidInput, "names no consumer group"),
        (["--source", "nats://h/s"], InvalidInput, "unsupported stream URL"),
        (["--max-batch", "0"], InvalidInput, "max_batch must be an integer >= 1"),
        (["--claim-idle", "-1"], InvalidInput, "--claim-idle must be >= 0"),
        (["--sink", "SOURCE"], InvalidInput, "is the source stream itself"),
    ],
)
def test_run_refuses_bad_options_before_starting(
    redis_url: str, prefix: str, env: None, version: VersionInfo,
    args: list[str], error: type[Exception], needle: str,
) -> None:  # fmt: skip
    source = f"{redis_url}?stream={prefix}:tx&group=g"
    given = dict(zip(args[::2], args[1::2], strict=True))
    opts = {"--source": source, "--sink": f"{redis_url}?stream={prefix}:out", **given}
    if opts["--sink"] == "SOURCE":
        opts["--sink"] = f"{redis_url}?stream={prefix}:tx"
    flat = [x for pair in opts.items() for x in pair]
    result = runner.invoke(app, ["run", "fraud@production", *flat])
    assert isinstance(result.exception, error), result.output
    assert needle in str(result.exception)


def test_run_names_an_unknown_model(redis_url: str, prefix: str, env: None,
                                    version: VersionInfo) -> None:
    result = runner.invoke(
        app,
        [
            "run", "nope@production",
            "--source", f"{redis_url}?stream={prefix}:tx&group=g",
            "--sink", f"{redis_url}?stream={prefix}:out",
        ],
    )  # fmt: skip
    assert isinstance(result.exception, NotFound)
    assert "no model named 'nope'" in str(result.exception)
