"""ServeConfig: settings first, command-line options over them, clear refusals."""

from __future__ import annotations

import pytest

from modelport.config import BatchingSettings, ServerSettings, Settings
from modelport.errors import InvalidInput
from modelport.serving.options import ServeConfig


def settings() -> Settings:
    return Settings(
        server=ServerSettings(port=9000, grpc_port=9001, workers=3, max_loaded_models=5),
        batching=BatchingSettings(max_batch_size=16, max_delay_ms=4),
    )


def test_settings_apply_when_no_option_is_given() -> None:
    config = ServeConfig.from_settings(settings(), ("fraud@production",))
    assert (config.port, config.grpc_port, config.workers) == (9000, 9001, 3)
    assert config.models.refs == ("fraud@production",)
    assert config.models.max_loaded == 5
    assert config.models.options.batch.max_size == 16
    assert config.models.options.cache is None


def test_options_override_settings() -> None:
    config = ServeConfig.from_settings(
        settings(), port=8000, grpc=False, workers=1, max_batch_size=1, cache_size=100,
        cache_ttl_s=5, preload=True,
    )
    assert (config.port, config.grpc_port, config.workers, config.preload) == (
        8000, None, 1, True)
    assert config.models.options.batch.max_size == 1
    cache = config.models.options.cache
    assert cache is not None and (cache.max_entries, cache.ttl_s) == (100, 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be >= 1"),
        ({"port": 70000}, "port must be between 0 and 65535"),
        ({"port": 8080, "grpc_port": 8080}, "give --grpc-port another port"),
        ({"max_body_bytes": 0}, "max_body_bytes must be >= 1"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ServeConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_values_from_the_command_line_teach() -> None:
    with pytest.raises(InvalidInput, match="use 1 to disable batching"):
        ServeConfig.from_settings(settings(), max_batch_size=0)
    with pytest.raises(InvalidInput, match="workers must be >= 1, got 0"):
        ServeConfig.from_settings(settings(), workers=0)
    with pytest.raises(InvalidInput, match="max_loaded_models must be >= 1"):
        ServeConfig.from_settings(settings(), max_loaded_models=0)


def test_per_model_batching_and_cache() -> None:
    config = ServeConfig.from_settings(
        settings(), model_batch=("fraud=8:0.5", "churn=1"), model_cache=("fraud=100:5",),
    )
    per = config.models.per_model
    assert (per["fraud"].batch.max_size, per["fraud"].batch.max_delay_ms) == (8, 0.5)
    assert per["fraud"].cache is not None and per["fraud"].cache.max_entries == 100
    assert (per["churn"].batch.max_size, per["churn"].batch.max_delay_ms) == (1, 4)
    assert per["churn"].cache is None


@pytest.mark.parametrize(
    ("batch", "message"),
    [("fraud", "NAME=NUMBER"), ("fraud=x", "NAME=NUMBER"), ("=3", "NAME=NUMBER"),
     ("fraud=2.5", "whole number"), ("fraud=0", "use 1 to disable batching")],
)
def test_bad_per_model_options_teach(batch: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ServeConfig.from_settings(settings(), model_batch=(batch,))
