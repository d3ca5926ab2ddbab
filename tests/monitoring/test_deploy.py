"""deploy/monitoring: the alert rules and the Grafana dashboard parse, use only metrics the
server exports, and (with promtool installed) pass Prometheus's own checks and unit tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from modelport.monitoring.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
_NAME = re.compile(r"\bmodelport_[a-z_]+\b")
_SUFFIXES = ("", "_total", "_bucket", "_sum", "_count", "_created")


def exported() -> set[str]:
    names = set()
    for family in text_string_to_metric_families(Metrics().render().decode()):
        names.update(family.name + s for s in _SUFFIXES)
    return names


def test_alert_rules_parse_and_use_exported_metrics() -> None:
    doc = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    rules = [r for group in doc["groups"] for r in group["rules"]]
    names = {r["alert"] for r in rules}
    assert {"ModelportHighErrorRate", "ModelportHighLatency", "ModelportDataDrift",
            "ModelportPerformanceDegraded"} <= names
    known = exported()
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        used = set(_NAME.findall(rule["expr"]))
        assert used and used <= known, (rule["alert"], used - known)


def test_dashboard_parses_and_uses_exported_metrics() -> None:
    dash = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dash["uid"] == "modelport-overview"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    known = exported()
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    for expr in exprs:
        used = set(_NAME.findall(expr))
        assert used and used <= known, (expr, used - known)
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for topic in ("latency", "queue", "batch", "cache", "drift", "contract", "baseline"):
        assert topic in titles


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


@pytest.mark.parametrize(
    "args",
    [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"],
     ["check", "config", "prometheus.yml"]],
)
def test_promtool_accepts_the_rules_and_their_unit_tests(args: list[str]) -> None:
    done = subprocess.run([_promtool(), *args], cwd=DEPLOY, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
