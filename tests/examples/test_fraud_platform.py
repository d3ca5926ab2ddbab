"""The fraud-platform case study runs from one command and its timeline has the key events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_demo_scores_alerts_retrains_and_promotes(tmp_path: Path) -> None:
    redis_url = os.environ.get("MODELPORT_TEST_REDIS_URL")
    if not redis_url:
        pytest.fail("MODELPORT_TEST_REDIS_URL is not set; run through scripts/test.sh",
                    pytrace=False)
    summary_file = tmp_path / "summary.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MODELPORT_DATABASE_URL", "MODELPORT_ARTIFACT_ROOT")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples/fraud-platform/demo.py"), "--quick",
         "--redis", redis_url, "--home", str(tmp_path / "home"), "--json", str(summary_file)],
        capture_output=True, text=True, env=env, timeout=500)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fraud platform: summary" in done.stdout
    summary = json.loads(summary_file.read_text())
    kinds = [event["kind"] for event in summary["timeline"]]
    for kind in ("train", "register", "stream", "window", "shift", "alert", "retrain"):
        assert kind in kinds, kinds
    assert kinds.index("shift") < kinds.index("alert") < kinds.index("retrain")
    verdicts = [e["text"] for e in summary["timeline"] if e["kind"] == "canary"]
    assert len(verdicts) == 2 and verdicts[1].startswith(("gates passed", "gates failed"))
    assert "HTTP" not in verdicts[1] and "from fraud-decision:2" in verdicts[1]
    assert ("promote" in kinds) == verdicts[1].startswith("gates passed")
    assert summary["events scored"] == 16_000
    assert summary["alerts fired"] == 1
    assert summary["live AUC after shift"] < 0.95 * summary["live AUC before shift"]
    assert 0 < summary["review-queue rate"] < 0.05
    assert summary["p99 scoring latency ms (stream, end to end)"] > 0
    assert summary["versions trained"] == 4
