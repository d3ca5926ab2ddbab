"""Batch and stream scoring take a pipeline wherever they take a model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
import redis

from modelport.pipelines import register_pipeline
from modelport.registry import Registry

from .conftest import Run
from .registry_setup import PIPELINE
from .test_register import FULL

RUN = "from modelport.cli.stream_cmd import app; app(prog_name='modelport stream')"


def test_batch_run_scores_a_table_through_the_pipeline(registry: Registry, run: Run,
                                                       tmp_path: Path) -> None:
    register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="t")
    rng = np.random.default_rng(0)
    table = pd.DataFrame({f"f{i}": rng.normal(size=60).astype(np.float32) * 2
                          for i in range(5)}).assign(id=range(60))
    table.to_parquet(tmp_path / "in.parquet")
    code, out, err = run("batch", "run", "fraud-decision", "-i", str(tmp_path / "in.parquet"),
                         "-o", str(tmp_path / "out"), "-p", "1", "--id-column", "id", "--json")
    assert code == 0, err
    assert json.loads(out)["rows_written"] == 60
    scored = pd.read_parquet(tmp_path / "out").sort_values("id")
    review = scored["score.predict_proba_1"] > 0.5
    assert 0 < review.sum() < 60
    assert (scored["decide.decision"] == np.where(review, "review", "approve")).all()
    assert set(scored["decide.reason"][review]) == {"high_risk"}


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("MODELPORT_TEST_REDIS_URL")
    if not url:
        pytest.fail("MODELPORT_TEST_REDIS_URL is not set; run through scripts/test.sh",
                    pytrace=False)
    return url.rstrip("/")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"mp-pipe-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_stream_run_scores_raw_events_through_transform_ensemble_and_rules(
        registry: Registry, home: Path, redis_url: str, prefix: str, tmp_path: Path) -> None:
    register_pipeline(registry, "fraud-full", FULL.replace("name: fraud-decision\n", ""),
                      registered_by="t", alias="production")
    client = redis.Redis.from_url(redis_url)
    events = [{"country": c, "amount": a, "hour": 12.0}
              for c, a in [("NG", 500.0), ("FR", 20000.0), ("FR", 5.0)] * 10]
    for event in events:
        client.xadd(f"{prefix}:tx", {"data": orjson.dumps(event)})
    log = tmp_path / "scorer.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "run", "fraud-full@production",
         "--source", f"{redis_url}?stream={prefix}:tx&group=scorer",
         "--sink", f"{redis_url}?stream={prefix}:decisions", "--max-wait-ms", "5"],
        env={**os.environ, "MODELPORT_HOME": str(home)}, stdout=subprocess.DEVNULL,
        stderr=log.open("wb"))
    try:
        deadline = time.monotonic() + 60
        while client.xlen(f"{prefix}:decisions") < len(events):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out = [orjson.loads(fields[b"data"])
           for _, fields in client.xrange(f"{prefix}:decisions")]
    client.close()
    assert len(out) == len(events)
    assert [o["decide.decision"] for o in out] == ["decline", "review", "approve"] * 10
    assert [o["decide.reason"] for o in out[:3]] == ["blocked_country", "high_risk", "low_risk"]
    assert (out[0]["model"], out[0]["version"]) == ("fraud-full", "1")
    assert len(out[0]["score.predict_proba"]) == 2
